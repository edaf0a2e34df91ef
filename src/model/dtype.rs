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

/// A float type a forward pass may run in, whatever type the weights are
/// stored in: the types PyTorch users run models in. A model's record lists
/// the ones its compiler proved it exact in ([`crate::model::ModelMeta::safe_dtypes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FloatType {
    /// 16 bits: 8 of mantissa, f32's exponent range.
    Bfloat16,
    /// IEEE half precision: 11 bits of mantissa, largest finite 65504.
    Float16,
    /// IEEE single precision.
    Float32,
    /// IEEE double precision.
    Float64,
}

impl FloatType {
    /// Every float type, narrowest first.
    pub const ALL: [FloatType; 4] = [
        FloatType::Bfloat16,
        FloatType::Float16,
        FloatType::Float32,
        FloatType::Float64,
    ];

    /// PyTorch's name: `"bfloat16"`, `"float16"`, `"float32"`, `"float64"`.
    pub fn name(self) -> &'static str {
        match self {
            FloatType::Bfloat16 => "bfloat16",
            FloatType::Float16 => "float16",
            FloatType::Float32 => "float32",
            FloatType::Float64 => "float64",
        }
    }

    /// The float type whose [`FloatType::name`] is `name`.
    pub fn from_name(name: &str) -> Option<FloatType> {
        FloatType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The unit roundoff: half the gap between 1 and the next number.
    pub fn unit_roundoff(self) -> f64 {
        match self {
            FloatType::Bfloat16 => 2f64.powi(-8),
            FloatType::Float16 => 2f64.powi(-11),
            FloatType::Float32 => 2f64.powi(-24),
            FloatType::Float64 => 2f64.powi(-53),
        }
    }

    /// The largest finite value.
    pub fn max_finite(self) -> f64 {
        match self {
            FloatType::Bfloat16 => (2.0 - 2f64.powi(-7)) * 2f64.powi(127),
            FloatType::Float16 => 65504.0,
            FloatType::Float32 => f64::from(f32::MAX),
            FloatType::Float64 => f64::MAX,
        }
    }

    /// The smallest positive normal value (below it precision is lost).
    pub fn min_positive_normal(self) -> f64 {
        match self {
            FloatType::Bfloat16 | FloatType::Float32 => f64::from(f32::MIN_POSITIVE),
            FloatType::Float16 => 2f64.powi(-14),
            FloatType::Float64 => f64::MIN_POSITIVE,
        }
    }

    /// Bits per value.
    pub fn bits(self) -> u32 {
        match self {
            FloatType::Bfloat16 | FloatType::Float16 => 16,
            FloatType::Float32 => 32,
            FloatType::Float64 => 64,
        }
    }
}

impl From<Dtype> for FloatType {
    fn from(dtype: Dtype) -> FloatType {
        match dtype {
            Dtype::F32 => FloatType::Float32,
            Dtype::F64 => FloatType::Float64,
        }
    }
}

impl std::fmt::Display for FloatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
