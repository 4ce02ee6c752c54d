//! AdamW with savable state (for exact resume) and gradient clipping by global norm.
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use crate::ops::adamw::{AdamWScalars, AdamWStep};
use std::cell::RefCell;
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

/// A variable's AdamW moments: the optimiser's own vectors on the in-place CPU path,
/// tensors on any other (and as loaded from a state file, until the first update).
enum Moments {
    Host(Vec<f32>, Vec<f32>),
    Tensors(Tensor, Tensor),
}

/// Decoupled-weight-decay Adam over named variables.
///
/// A variable's moments are allocated by its first update (as PyTorch's are), so they do
/// not sit in memory beside the first step's activations; until then they are zero. f32
/// CPU weights are updated in place, with their moments, in one pass.
pub struct AdamW {
    vars: Vec<(String, Var)>,
    moments: Vec<Option<Moments>>,
    pub step: usize,
    pub params: AdamWParams,
}

impl AdamW {
    /// Optimises every variable of `vars` (sorted by name, so state files are stable).
    pub fn new(vars: &HashMap<String, Var>, params: AdamWParams) -> candle_core::Result<Self> {
        let mut vars: Vec<(String, Var)> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let moments = vars.iter().map(|_| None).collect();
        Ok(Self { vars, moments, step: 0, params })
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.iter().map(|(_, v)| v.clone()).collect()
    }

    /// One update with the learning rate `lr`.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> candle_core::Result<()> {
        self.step += 1;
        for i in 0..self.vars.len() {
            let Some(g) = grads.get(&self.vars[i].1) else { continue };
            if crate::ops::fusable(g) && crate::ops::fusable(self.vars[i].1.as_tensor()) {
                self.update_fused(i, g, lr)?;
            } else {
                self.update_plain(i, g, lr)?;
            }
        }
        Ok(())
    }

    /// Bias corrections `1 - β₁ᵗ`, `1 - β₂ᵗ` at the current step.
    fn corrections(&self) -> (f64, f64) {
        let p = &self.params;
        (1.0 - p.beta1.powi(self.step as i32), 1.0 - p.beta2.powi(self.step as i32))
    }

    /// Variable `i`'s update with candle's tensor ops (any device or dtype): a dozen passes
    /// over memory, each with its own new tensor.
    fn update_plain(&mut self, i: usize, g: &Tensor, lr: f64) -> candle_core::Result<()> {
        let (p, (bc1, bc2)) = (&self.params, self.corrections());
        let var = &self.vars[i].1;
        let (m0, v0) = self.moment_tensors(i)?;
        let m = ((m0 * p.beta1)? + (g * (1.0 - p.beta1))?)?;
        let v = ((v0 * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
        let denom = ((&v / bc2)?.sqrt()? + p.eps)?;
        let update = ((&m / bc1)? / denom)?;
        let theta = ((var.as_tensor() * (1.0 - lr * p.weight_decay))? - (update * lr)?)?;
        var.set(&theta)?;
        self.moments[i] = Some(Moments::Tensors(m, v));
        Ok(())
    }

    /// Variable `i`'s moments as tensors of its shape, zeros where it has none yet.
    fn moment_tensors(&self, i: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let var = self.vars[i].1.as_tensor();
        match &self.moments[i] {
            Some(Moments::Tensors(m, v)) => Ok((m.clone(), v.clone())),
            Some(Moments::Host(m, v)) => {
                let host = |x: &[f32]| Tensor::from_slice(x, var.shape(), var.device());
                Ok((host(m)?, host(v)?))
            }
            None => Ok((var.zeros_like()?, var.zeros_like()?)),
        }
    }

    /// [`AdamW::update_plain`] in one pass, in place, on f32 CPU tensors: the same
    /// operations in the same order (the same bits; tested), each scalar rounded to f32 as
    /// candle's ops round it.
    fn update_fused(&mut self, i: usize, g: &Tensor, lr: f64) -> candle_core::Result<()> {
        let (p, (bc1, bc2)) = (&self.params, self.corrections());
        let f = |x: f64| x as f32;
        let k = AdamWScalars {
            b1: f(p.beta1),
            c1: f(1.0 - p.beta1),
            b2: f(p.beta2),
            c2: f(1.0 - p.beta2),
            ib1: f(1.0 / bc1),
            ib2: f(1.0 / bc2),
            eps: f(p.eps),
            decay: f(1.0 - lr * p.weight_decay),
            lr: f(lr),
        };
        let w = self.vars[i].1.as_tensor().clone();
        let (mut m, mut v) = match self.moments[i].take() {
            Some(Moments::Host(m, v)) => (m, v),
            Some(Moments::Tensors(m, v)) => (m.flatten_all()?.to_vec1::<f32>()?, v.flatten_all()?.to_vec1::<f32>()?),
            None => (vec![0f32; w.elem_count()], vec![0f32; w.elem_count()]),
        };
        let done = w.inplace_op2(&g.contiguous()?, &AdamWStep { k, moments: RefCell::new((&mut m, &mut v)) });
        self.moments[i] = Some(Moments::Host(m, v));
        done
    }

    /// Saves moments and step count (safetensors) so a resumed run continues exactly.
    pub fn save(&self, path: &Path) -> crate::Result<()> {
        let mut t = HashMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            let (m, v) = self.moment_tensors(i)?;
            t.insert(format!("m.{name}"), m);
            t.insert(format!("v.{name}"), v);
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
            self.moments[i] = Some(Moments::Tensors(get(&format!("m.{name}"))?, get(&format!("v.{name}"))?));
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

    /// The one-pass update gives the tensor ops' bits, over steps with weight decay.
    #[test]
    fn fused_update_equals_tensor_ops() -> candle_core::Result<()> {
        let init: Vec<f32> = (0..70_000).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 300.0).collect();
        let (a, b) = (Var::new(init.as_slice(), &Device::Cpu)?, Var::new(init.as_slice(), &Device::Cpu)?);
        let params = AdamWParams { lr: 0.01, weight_decay: 0.1, ..Default::default() };
        let mut fused = AdamW::new(&HashMap::from([("w".to_string(), a.clone())]), params.clone())?;
        let mut plain = AdamW::new(&HashMap::from([("w".to_string(), b.clone())]), params)?;
        for _ in 0..3 {
            // d/dw Σ sin(w)·w: gradients of both signs and many sizes
            let (ga, gb) = ((a.as_tensor().sin()? * a.as_tensor())?.sum_all()?.backward()?, (b.as_tensor().sin()? * b.as_tensor())?.sum_all()?.backward()?);
            fused.step(&ga, 0.01)?;
            plain.step += 1;
            plain.update_plain(0, gb.get(&b).unwrap(), 0.01)?;
        }
        let bits = |t: &Tensor| t.to_vec1::<f32>().map(|v| v.into_iter().map(f32::to_bits).collect::<Vec<_>>());
        assert_eq!(bits(a.as_tensor())?, bits(b.as_tensor())?, "weights");
        let ((fm, fv), (pm, pv)) = (fused.moment_tensors(0)?, plain.moment_tensors(0)?);
        assert!(matches!(fused.moments[0], Some(Moments::Host(..))) && matches!(plain.moments[0], Some(Moments::Tensors(..))));
        assert_eq!(bits(&fm)?, bits(&pm)?, "first moments");
        assert_eq!(bits(&fv)?, bits(&pv)?, "second moments");
        assert_ne!(bits(a.as_tensor())?, init.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
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
