//! The element type of a model: how its weights are stored in a file and the
//! precision its forward pass runs in.
//!
//! [`crate::model::Model`] keeps every weight as `f64`. An [`Dtype::F32`]
//! model's weights are meant to be `f32` values (a compiler rounds them;
//! loading an F32 file widens them exactly); whatever they are, they are
//! rounded to the nearest `f32` when the model is written or run, and the
//! forward pass runs in `f32`. An [`Dtype::F64`] model is written and run in
//! `f64`.

use serde::{Deserialize, Serialize};

/// A model's element type, spelled as safetensors spells tensor dtypes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dtype {
    /// 32-bit floats (the default, and every file written before dtypes
    /// were recorded).
    #[default]
    F32,
    /// 64-bit floats, for programs whose values need more than f32's 24
    /// bits of mantissa.
    F64,
}

impl Dtype {
    /// The safetensors name: `"F32"` or `"F64"`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
        }
    }

    /// The name TransformerLens' config and PyTorch use: `"float32"` or `"float64"`.
    pub fn torch_name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
        }
    }

    /// The dtype whose [`Dtype::torch_name`] is `name`.
    pub fn from_torch_name(name: &str) -> Option<Dtype> {
        [Dtype::F32, Dtype::F64]
            .into_iter()
            .find(|d| d.torch_name() == name)
    }

    /// Bytes per value in a file.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    /// `x` as this dtype holds it: rounded to the nearest `f32` for F32
    /// (huge values become infinite), unchanged for F64.
    pub fn round(self, x: f64) -> f64 {
        match self {
            Dtype::F32 => f64::from(x as f32),
            Dtype::F64 => x,
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The float types the forward pass runs in: `f32` for [`Dtype::F32`]
/// models, `f64` for [`Dtype::F64`] ones.
pub trait Real: ndarray::NdFloat + std::iter::Sum + for<'a> std::iter::Sum<&'a Self> {
    /// The model dtype that runs in this type.
    const DTYPE: Dtype;
    /// `exp(x)` rounds to exactly 0 in this type for every `x` below this,
    /// so softmax may skip computing it.
    const EXP_ZERO: Self;
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
    /// This value widened to `f64` (exact).
    fn widen(self) -> f64;
}

impl Real for f32 {
    const DTYPE: Dtype = Dtype::F32;
    /// Half the smallest positive f32 is about `e^-103.97`.
    const EXP_ZERO: f32 = -110.0;
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn widen(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    const DTYPE: Dtype = Dtype::F64;
    /// Half the smallest positive f64 (`2^-1075`) is about `e^-745.13`.
    const EXP_ZERO: f64 = -750.0;
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn widen(self) -> f64 {
        self
    }
}
