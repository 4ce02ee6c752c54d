//! AdamW with savable state (for exact resume) and gradient clipping by global norm.
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

/// AdamW hyper-parameters (PyTorch's defaults but for the learning rate).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWParams {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

/// Decoupled-weight-decay Adam over named variables.
pub struct AdamW {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    pub step: usize,
    pub params: AdamWParams,
}

impl AdamW {
    /// Optimises every variable of `vars` (sorted by name, so state files are stable).
    pub fn new(vars: &HashMap<String, Var>, params: AdamWParams) -> candle_core::Result<Self> {
        let mut vars: Vec<(String, Var)> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let m = vars.iter().map(|(_, v)| v.zeros_like()).collect::<candle_core::Result<Vec<_>>>()?;
        let v = vars.iter().map(|(_, v)| v.zeros_like()).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { vars, m, v, step: 0, params })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.iter().map(|(_, v)| v.clone()).collect()
    }

    /// One update with the learning rate `lr`.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> candle_core::Result<()> {
        self.step += 1;
        let p = &self.params;
        let bc1 = 1.0 - p.beta1.powi(self.step as i32);
        let bc2 = 1.0 - p.beta2.powi(self.step as i32);
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            let m = ((&self.m[i] * p.beta1)? + (g * (1.0 - p.beta1))?)?;
            let v = ((&self.v[i] * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
            let denom = ((&v / bc2)?.sqrt()? + p.eps)?;
            let update = ((&m / bc1)? / denom)?;
            let theta = ((var.as_tensor() * (1.0 - lr * p.weight_decay))? - (update * lr)?)?;
            var.set(&theta)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Saves moments and step count (safetensors) so a resumed run continues exactly.
    pub fn save(&self, path: &Path) -> crate::Result<()> {
        let mut t = HashMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            t.insert(format!("m.{name}"), self.m[i].clone());
            t.insert(format!("v.{name}"), self.v[i].clone());
        }
        t.insert("step".into(), Tensor::new(&[self.step as u32], &Device::Cpu)?);
        let tmp = crate::fsutil::tmp_path(path);
        candle_core::safetensors::save(&t, &tmp)?;
        std::fs::rename(&tmp, path).map_err(|e| crate::Error::io(path, e))
    }

    pub fn load(&mut self, path: &Path) -> crate::Result<()> {
        let dev = self.vars.first().map(|v| v.1.device().clone()).unwrap_or(Device::Cpu);
        let t = candle_core::safetensors::load(path, &dev).map_err(|e| crate::Error::Invalid(format!("{}: {e}", path.display())))?;
        let get = |k: &str| {
            t.get(k).cloned().ok_or_else(|| crate::Error::MissingTensor { path: path.into(), name: k.into(), shape: vec![] })
        };
        for (i, (name, _)) in self.vars.iter().enumerate() {
            self.m[i] = get(&format!("m.{name}"))?;
            self.v[i] = get(&format!("v.{name}"))?;
        }
        self.step = get("step")?.to_vec1::<u32>()?[0] as usize;
        Ok(())
    }
}

/// Scales the gradients of `vars` in place so their global L2 norm is at most
/// `max_norm`; returns the norm before clipping (PyTorch's `clip_grad_norm_`).
pub fn clip_grad_norm(vars: &[Var], grads: &mut GradStore, max_norm: f64) -> candle_core::Result<f64> {
    let mut sq = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            sq += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
    }
    let norm = sq.sqrt();
    if norm > max_norm && norm.is_finite() {
        let scale = max_norm / (norm + 1e-6);
        for v in vars {
            if let Some(g) = grads.remove(v) {
                grads.insert(v, (g * scale)?);
            }
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against PyTorch's documented AdamW algorithm, written out in plain Python:
    /// ```python
    /// w=[1.0,-2.0]; m=[0,0]; v=[0,0]; lr=0.1; wd=0.01; b1=0.9; b2=0.999; eps=1e-8
    /// for t in range(1,4):
    ///     g=[2*x for x in w]                     # d/dw sum(w**2)
    ///     for i in range(2):
    ///         w[i]*=1-lr*wd
    ///         m[i]=b1*m[i]+(1-b1)*g[i]; v[i]=b2*v[i]+(1-b2)*g[i]**2
    ///         w[i]-=lr*(m[i]/(1-b1**t))/(math.sqrt(v[i]/(1-b2**t))+eps)
    /// print(w)  # [0.6989111831582322, -1.6949445143849768]
    /// ```
    /// (`torch.optim.AdamW([w], lr=0.1, weight_decay=0.01)` gives the same.)
    #[test]
    fn adamw_matches_hand_computation() -> candle_core::Result<()> {
        let w = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
        let vars = HashMap::from([("w".to_string(), w.clone())]);
        let mut opt = AdamW::new(&vars, AdamWParams { lr: 0.1, ..Default::default() })?;
        for _ in 0..3 {
            let grads = w.as_tensor().sqr()?.sum_all()?.backward()?;
            opt.step(&grads, 0.1)?;
        }
        let got = w.as_tensor().to_vec1::<f32>()?;
        assert!((got[0] - 0.698_911_2).abs() < 1e-5, "{got:?}");
        assert!((got[1] + 1.694_944_5).abs() < 1e-5, "{got:?}");
        Ok(())
    }

    #[test]
    fn clipping_scales_to_the_max_norm() -> candle_core::Result<()> {
        let w = Var::new(&[3.0f32, 4.0], &Device::Cpu)?;
        // d/dw of w·[3,4]... gradient of sum(w * w)/2 is w: norm 5
        let mut grads = (w.as_tensor().sqr()?.sum_all()? * 0.5)?.backward()?;
        let n = clip_grad_norm(&[w.clone()], &mut grads, 1.0)?;
        assert!((n - 5.0).abs() < 1e-6);
        let g = grads.get(&w).unwrap().to_vec1::<f32>()?;
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5, "{g:?}");
        Ok(())
    }
}
