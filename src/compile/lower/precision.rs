//! Error bounds and the sharpness they ask of attention.
//!
//! Every encoded quantity carries a bound on how far the model's value can be
//! from the interpreter's, as [`Err`]: `eps·ε + fixed`, where `ε` is the most
//! attention weight any head puts outside the keys it means to attend to
//! (one number for the whole model, chosen last) and `fixed` collects what no
//! sharpness removes: the interpreter's own float rounding against exact
//! arithmetic, the spread of float means, and the rounding of the model's
//! float type. Every place that must tell values apart states a
//! [`Requirement`]; the model's `ε` is the largest that meets them all, and a
//! requirement whose fixed part alone exceeds its tolerance is a refusal: no
//! sharpness makes it right.
//!
//! Attention: scores are `s` on selected keys, `s/2` on BOS (`s` for a
//! counting head) and at most 0 elsewhere; inputs off by at most 1/16 move a
//! score by at most `s/8`. The weight outside the intended keys is then at
//! most `(n+1)·e^{−3s/8}` over `n` keys, so `s = (8/3)·ln((n+1)/ε)` bounds it
//! by `ε`.

use crate::model::Dtype;

/// A bound `eps·ε + fixed`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Err {
    pub eps: f64,
    pub fixed: f64,
}

impl Err {
    pub const ZERO: Err = Err {
        eps: 0.0,
        fixed: 0.0,
    };

    pub fn fixed(fixed: f64) -> Err {
        Err { eps: 0.0, fixed }
    }

    pub fn plus(self, other: Err) -> Err {
        Err {
            eps: self.eps + other.eps,
            fixed: self.fixed + other.fixed,
        }
    }

    pub fn times(self, k: f64) -> Err {
        Err {
            eps: self.eps * k.abs(),
            fixed: self.fixed * k.abs(),
        }
    }

    pub fn max(self, other: Err) -> Err {
        Err {
            eps: self.eps.max(other.eps),
            fixed: self.fixed.max(other.fixed),
        }
    }

    pub fn at(self, eps: f64) -> f64 {
        self.eps * eps + self.fixed
    }
}

/// A place where an error must stay below a tolerance.
#[derive(Debug, Clone)]
pub struct Requirement {
    pub err: Err,
    pub tolerance: f64,
    /// The node it concerns and what is told apart there.
    pub node: usize,
    pub what: String,
}

/// The unit roundoff of the model's float type.
pub fn roundoff(dtype: Dtype) -> f64 {
    match dtype {
        Dtype::F32 => f64::from(f32::EPSILON) / 2.0,
        Dtype::F64 => f64::EPSILON / 2.0,
    }
}

/// The rounding error of evaluating a sum of `terms` products whose
/// magnitudes add up to `magnitude` (a generous `(terms+4)·u` relative
/// bound).
pub fn sum_rounding(dtype: Dtype, magnitude: f64, terms: usize) -> f64 {
    magnitude * (terms as f64 + 4.0) * roundoff(dtype)
}

/// The weight ε may not exceed this whatever the requirements (keeps
/// one-hot attention outputs clean enough for every reader).
pub const EPS_CAP: f64 = 1e-3;

/// The smallest ε the model will use (sharpness about 190 at 512 keys).
pub const EPS_FLOOR: f64 = 1e-30;

/// The largest ε meeting every requirement, or the first requirement no ε
/// meets.
pub fn solve(reqs: &[Requirement]) -> Result<f64, &Requirement> {
    let mut eps = EPS_CAP;
    for r in reqs {
        let room = r.tolerance - r.err.fixed;
        if room.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(r);
        }
        if r.err.eps > 0.0 {
            let e = room / r.err.eps;
            if e < EPS_FLOOR {
                return Err(r);
            }
            eps = eps.min(e);
        }
    }
    Ok(eps)
}

/// The score for selected keys that keeps the weight outside the intended
/// keys below `eps` with `keys` keys (BOS included).
pub fn sharpness(keys: usize, eps: f64) -> f64 {
    (8.0 / 3.0) * ((keys as f64 + 1.0) / eps).ln() + 1.0
}

/// Whether a requirement's fixed part leaves room (a quick check while
/// choosing between encodings; `solve` has the last word).
pub fn feasible(err: Err, tolerance: f64) -> bool {
    tolerance > 2.0 * err.fixed && tolerance > 0.0
}
