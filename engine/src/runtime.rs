//! Where and in which precision models run: a setting of every run config and of every
//! command that loads a model. CPU in f32 by default; CUDA (with f32, bf16 or f16) needs
//! the engine's `cuda` feature.
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The device models run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    #[default]
    Cpu,
    /// The first CUDA GPU.
    Cuda,
}

/// The floating-point type of the weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

/// Device and precision together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Runtime {
    /// `cpu` or `cuda`.
    pub device: DeviceKind,
    /// `f32`, `bf16` or `f16` (the half types on CUDA only).
    pub dtype: Precision,
    /// Decode (sampling, judging) on the CPU through weights quantized to llama.cpp's `q8_0`
    /// or `q4_1` blocks instead of f32: faster where decoding is bound by memory traffic
    /// (steps of a few rows), and not the same numbers (the inputs are quantized to 8 bits
    /// too). Unset: f32. Prefill, larger steps and training stay f32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decode_weights: Option<crate::ops::QuantKind>,
}

impl Runtime {
    /// Refuses combinations the engine cannot run, before any work.
    pub fn validate(&self) -> Result<()> {
        if self.dtype != Precision::F32 && self.device == DeviceKind::Cpu {
            return Err(Error::Invalid(format!("runtime.dtype = {:?} needs runtime.device = cuda (the CPU path is f32)", self.dtype)));
        }
        if let (Some(q), DeviceKind::Cuda) = (self.decode_weights, self.device) {
            return Err(Error::Invalid(format!("runtime.decode_weights = {q} is a CPU decoding path; runtime.device = cuda decodes in its dtype")));
        }
        if self.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
            return Err(Error::Invalid("runtime.device = cuda, but this build has no CUDA (build with `--features engine/cuda`)".into()));
        }
        Ok(())
    }

    pub fn device(&self) -> Result<candle_core::Device> {
        self.validate()?;
        match self.device {
            DeviceKind::Cpu => Ok(candle_core::Device::Cpu),
            DeviceKind::Cuda => Ok(candle_core::Device::new_cuda(0)?),
        }
    }

    pub fn dtype(&self) -> candle_core::DType {
        match self.dtype {
            Precision::F32 => candle_core::DType::F32,
            Precision::Bf16 => candle_core::DType::BF16,
            Precision::F16 => candle_core::DType::F16,
        }
    }

    /// Loads any model source ([`crate::source::ModelSource`]) here.
    pub fn load(&self, source: &str) -> Result<crate::Checkpoint> {
        let mut ck = crate::source::ModelSource::parse(source).load(self.dtype(), &self.device()?)?;
        ck.model.set_decode_quant(self.decode_weights);
        Ok(ck)
    }

    /// Loads a checkpoint folder here.
    pub fn load_dir(&self, dir: &std::path::Path) -> Result<crate::Checkpoint> {
        let mut ck = crate::Checkpoint::load(dir, self.dtype(), &self.device()?)?;
        ck.model.set_decode_quant(self.decode_weights);
        Ok(ck)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_on_cpu_and_cuda_without_the_feature_are_refused() {
        assert!(Runtime::default().validate().is_ok());
        let e = Runtime { device: DeviceKind::Cpu, dtype: Precision::Bf16, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("runtime.dtype") && e.contains("cuda"), "{e}");
        let q = Runtime { device: DeviceKind::Cuda, decode_weights: Some(crate::ops::QuantKind::Q4_1), ..Default::default() };
        let e = q.validate().unwrap_err().to_string();
        assert!(e.contains("runtime.decode_weights = q4_1"), "{e}");
        let t: Runtime = toml::from_str("decode_weights = \"q8_0\"").unwrap();
        assert_eq!(t.decode_weights, Some(crate::ops::QuantKind::Q8_0));
        let r = Runtime { device: DeviceKind::Cuda, dtype: Precision::F32, ..Default::default() }.validate();
        assert_eq!(r.is_ok(), cfg!(feature = "cuda"));
        let t: Runtime = toml::from_str("device = \"cpu\"\ndtype = \"f32\"").unwrap();
        assert_eq!(t, Runtime::default());
    }
}
