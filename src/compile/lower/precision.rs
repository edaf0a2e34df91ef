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
//!
//! # Other float types
//!
//! Beside the model's own bound, every [`Err`] carries a *shadow*: the fixed
//! part the same quantity would have if the forward pass ran in each
//! [`FloatType`] (weights and activations rounded to it, matrix products
//! accumulated in float32 or wider and rounded once, as PyTorch computes
//! them). The model is built from the model's own bounds only; the shadows
//! then tell which narrower types keep every requirement ([`safe_types`]).

use crate::model::{Dtype, FloatType};

/// One value per [`FloatType`], in the order of [`FloatType::ALL`].
pub type PerType = [f64; 4];

/// A bound `eps·ε + fixed`, and `eps·ε + shadow[t]` in float type `t`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Err {
    pub eps: f64,
    pub fixed: f64,
    pub shadow: PerType,
}

impl Err {
    pub const ZERO: Err = Err {
        eps: 0.0,
        fixed: 0.0,
        shadow: [0.0; 4],
    };

    /// A bound that is the same in every float type (the interpreter's own
    /// rounding, the spread of float means).
    pub fn fixed(fixed: f64) -> Err {
        Err {
            eps: 0.0,
            fixed,
            shadow: [fixed; 4],
        }
    }

    pub fn plus(self, other: Err) -> Err {
        Err {
            eps: self.eps + other.eps,
            fixed: self.fixed + other.fixed,
            shadow: std::array::from_fn(|t| self.shadow[t] + other.shadow[t]),
        }
    }

    pub fn times(self, k: f64) -> Err {
        Err {
            eps: self.eps * k.abs(),
            fixed: self.fixed * k.abs(),
            shadow: self.shadow.map(|x| x * k.abs()),
        }
    }

    pub fn max(self, other: Err) -> Err {
        Err {
            eps: self.eps.max(other.eps),
            fixed: self.fixed.max(other.fixed),
            shadow: std::array::from_fn(|t| self.shadow[t].max(other.shadow[t])),
        }
    }

    pub fn at(self, eps: f64) -> f64 {
        self.eps * eps + self.fixed
    }

    /// The bound in float type `t` at weight `eps` outside the intended keys.
    pub fn in_type(self, t: FloatType, eps: f64) -> f64 {
        self.eps * eps + self.shadow[type_index(t)]
    }

    /// A rounding: `fixed` in the model's type, `magnitude·relative[t]` in
    /// type `t`.
    fn rounding(fixed: f64, magnitude: f64, relative: PerType) -> Err {
        Err {
            eps: 0.0,
            fixed,
            shadow: relative.map(|r| magnitude.abs() * r),
        }
    }
}

/// The index of `t` in [`FloatType::ALL`].
pub fn type_index(t: FloatType) -> usize {
    FloatType::ALL.iter().position(|&x| x == t).unwrap_or(3)
}

/// Float32's unit roundoff: matrix products accumulate in it or wider.
const ACCUMULATE: f64 = 1.0 / 16_777_216.0;

/// The relative rounding of a sum of `terms` products in type `t`: every
/// addition rounded in `t` for float32 and float64; for the 16-bit types,
/// accumulated in float32, with the weights, the inputs and the result each
/// rounded to `t` once.
fn sum_relative(t: FloatType, terms: usize) -> f64 {
    let k = terms as f64 + 4.0;
    match t {
        FloatType::Float32 | FloatType::Float64 => k * t.unit_roundoff(),
        FloatType::Bfloat16 | FloatType::Float16 => 3.0 * t.unit_roundoff() + k * ACCUMULATE,
    }
}

/// The rounding of a value of `magnitude` stored in the model's float type.
pub fn value_rounding(dtype: Dtype, magnitude: f64) -> Err {
    Err::rounding(
        magnitude * roundoff(dtype),
        magnitude,
        FloatType::ALL.map(FloatType::unit_roundoff),
    )
}

/// The rounding of an attention head's weighted mean over `keys` keys of
/// values within `magnitude`: the softmax and the weighted sum (`(keys+8)·u`
/// in the model's type; for the 16-bit types the weights, the values and
/// the result each rounded once, the sum accumulated in float32).
pub fn attention_rounding(dtype: Dtype, keys: f64, magnitude: f64) -> Err {
    let k = keys + 8.0;
    Err::rounding(
        magnitude * k * roundoff(dtype),
        magnitude,
        FloatType::ALL.map(|t| match t {
            FloatType::Float32 | FloatType::Float64 => k * t.unit_roundoff(),
            FloatType::Bfloat16 | FloatType::Float16 => 4.0 * t.unit_roundoff() + k * ACCUMULATE,
        }),
    )
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
/// bound in the model's type; [`sum_relative`] in each other type).
pub fn sum_rounding(dtype: Dtype, magnitude: f64, terms: usize) -> Err {
    Err::rounding(
        magnitude * (terms as f64 + 4.0) * roundoff(dtype),
        magnitude,
        FloatType::ALL.map(|t| sum_relative(t, terms)),
    )
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

/// What the float types other than the model's own need checked of a
/// lowered program: its requirements, its `ε`, and how far float rounding
/// may move each head's scores.
#[derive(Debug, Clone)]
pub struct Shadow {
    reqs: Vec<Requirement>,
    eps: f64,
    /// Each head's largest `Σ|q_c·k_c|` (sharpness applied) and query-key
    /// width.
    scores: Vec<(f64, usize)>,
    /// The largest magnitude each residual dimension holds (by label, the
    /// constant first).
    magnitude: Vec<f64>,
}

impl Shadow {
    /// The shadow of `low`, taking its requirements and magnitudes (which
    /// assembling does not need).
    pub fn of(low: &mut super::Lowered) -> Shadow {
        let scores = low
            .heads
            .iter()
            .flatten()
            .map(|h| {
                let fixed: f64 = h.q_fixed.iter().map(|&(_, _, x)| x.abs()).sum();
                (low.sharpness * h.score_bound + fixed, h.qk)
            })
            .collect();
        Shadow {
            reqs: std::mem::take(&mut low.reqs),
            eps: low.eps,
            scores,
            magnitude: std::mem::take(&mut low.magnitude),
        }
    }

    /// The float types `model` (assembled from this program) is exact in:
    /// its own type and the wider ones, and each narrower type in which
    /// every weight is a normal number, every activation stays far from
    /// overflow, and every requirement still holds, with the scores' larger
    /// rounding folded into the weight outside the intended keys.
    pub fn safe_types(&self, model: &crate::model::Model) -> Vec<FloatType> {
        let own = FloatType::from(model.dtype);
        // The weights and activations are measured once, for every type.
        let extent = range::Extent::of(model, &self.magnitude);
        FloatType::ALL
            .into_iter()
            .filter(|&t| t >= own || self.failure(t, model, &extent).is_none())
            .collect()
    }

    /// Why `model`, whose weights and activations span `extent`, is not
    /// safe in `t`, if it is not.
    pub fn failure(
        &self,
        t: FloatType,
        model: &crate::model::Model,
        extent: &range::Extent,
    ) -> Option<String> {
        if let Some(why) = extent.check(t) {
            return Some(why);
        }
        let d_model = model.config.d_model;
        let delta = self
            .scores
            .iter()
            .map(|&(s, qk)| s * score_relative(t, qk, d_model))
            .fold(0.0, f64::max);
        // Scores off by δ move the weight outside the intended keys by a
        // factor e^{2δ}, and the weights of the intended keys apart by as
        // much: weight e^{2δ} − 1 moved among them.
        let grow = (2.0 * delta).exp();
        let eps = self.eps * grow + (grow - 1.0);
        if !below(eps, 1.0) {
            return Some(format!(
                "its attention scores may move by {delta:.3e} in {t}, too much for hard attention"
            ));
        }
        self.reqs
            .iter()
            .find(|r| !below(r.err.in_type(t, eps), r.tolerance))
            .map(|r| {
                format!(
                    "{}: the error could reach {:.3e} in {t}, where it must stay below {:.3e}",
                    r.what,
                    r.err.in_type(t, eps),
                    r.tolerance
                )
            })
    }
}

/// Whether `x < limit` (false for NaN).
fn below(x: f64, limit: f64) -> bool {
    x.partial_cmp(&limit) == Some(std::cmp::Ordering::Less)
}

/// The relative rounding of a score (the queries and keys each a sum of up
/// to `d_model` terms, their dot product `qk`): for the 16-bit types the
/// weights, the residual, the queries, the keys and the score each rounded
/// once, the sums accumulated in float32.
fn score_relative(t: FloatType, qk: usize, d_model: usize) -> f64 {
    let k = (qk + 2 * d_model + 8) as f64;
    match t {
        FloatType::Float32 | FloatType::Float64 => k * t.unit_roundoff(),
        FloatType::Bfloat16 | FloatType::Float16 => 5.0 * t.unit_roundoff() + k * ACCUMULATE,
    }
}

/// Whether a model's weights and activations fit a float type.
pub mod range {
    use crate::model::{FloatType, Model};
    use ndarray::{ArrayView1, ArrayView2};

    /// How large and small a model's numbers get: its weights, and its
    /// activations as bounded from each residual dimension's largest value
    /// (doubled for its error) through each sub-layer's weights.
    #[derive(Debug, Clone)]
    pub struct Extent {
        /// A weight that is not finite, if any.
        non_finite: Option<f64>,
        largest_weight: f64,
        /// The smallest non-zero weight magnitude (infinite if none).
        smallest_weight: f64,
        /// The largest activation bound, and where it is.
        largest: (f64, String),
    }

    impl Extent {
        /// Measures `model`, whose residual dimensions hold at most
        /// `magnitude` (by label, the constant first).
        pub fn of(model: &Model, magnitude: &[f64]) -> Extent {
            let mut extent = Extent {
                non_finite: None,
                largest_weight: 0.0,
                smallest_weight: f64::INFINITY,
                largest: (0.0, String::new()),
            };
            let mut scan = |ws: &mut dyn Iterator<Item = &f64>| {
                for &w in ws {
                    if !w.is_finite() {
                        extent.non_finite.get_or_insert(w);
                    } else if w != 0.0 {
                        extent.largest_weight = extent.largest_weight.max(w.abs());
                        extent.smallest_weight = extent.smallest_weight.min(w.abs());
                    }
                }
            };
            scan(
                &mut model
                    .embed
                    .iter()
                    .chain(model.pos_embed.iter())
                    .chain(model.unembed.iter())
                    .chain(model.unembed_bias.iter()),
            );
            for layer in &model.layers {
                let (a, m) = (&layer.attn, &layer.mlp);
                scan(
                    &mut a
                        .w_q
                        .iter()
                        .chain(a.w_k.iter())
                        .chain(a.w_v.iter())
                        .chain(a.w_o.iter())
                        .chain(a.b_q.iter())
                        .chain(a.b_k.iter())
                        .chain(a.b_v.iter())
                        .chain(a.b_o.iter())
                        .chain(m.w_in.iter())
                        .chain(m.b_in.iter())
                        .chain(m.w_out.iter())
                        .chain(m.b_out.iter()),
                );
            }
            let residual: Vec<f64> = (0..model.config.d_model)
                .map(|r| 2.0 * magnitude.get(r + 1).copied().unwrap_or(1.0))
                .collect();
            let mut note = |what: &str, xs: &[f64]| {
                for &x in xs {
                    if x.is_nan() || x > extent.largest.0 {
                        extent.largest = (x, what.to_string());
                    }
                }
            };
            note("the residual stream", &residual);
            for (l, layer) in model.layers.iter().enumerate() {
                let a = &layer.attn;
                for h in 0..model.config.n_heads {
                    let head = |w| head_of(w, h);
                    let q = through(head(&a.w_q), Some(a.b_q.row(h)), &residual);
                    let k = through(head(&a.w_k), Some(a.b_k.row(h)), &residual);
                    let v = through(head(&a.w_v), Some(a.b_v.row(h)), &residual);
                    note(&format!("the queries of layer {l}"), &q);
                    note(&format!("the keys of layer {l}"), &k);
                    note(&format!("the values of layer {l}"), &v);
                    let out = through(head(&a.w_o), None, &v);
                    note(&format!("the attention output of layer {l}"), &out);
                }
                let m = &layer.mlp;
                let pre = through(m.w_in.view(), Some(m.b_in.view()), &residual);
                note(&format!("the MLP pre-activations of layer {l}"), &pre);
                let out = through(m.w_out.view(), Some(m.b_out.view()), &pre);
                note(&format!("the MLP output of layer {l}"), &out);
            }
            let logits = through(
                model.unembed.view(),
                Some(model.unembed_bias.view()),
                &residual,
            );
            note("a logit", &logits);
            extent
        }

        /// Why the model does not fit `t`, if it does not: a weight that is
        /// not finite or not a normal number of `t` (it would lose its
        /// relative precision), or an activation that may come within a
        /// factor 2 of `t`'s largest finite value.
        pub fn check(&self, t: FloatType) -> Option<String> {
            let max = t.max_finite() / 2.0;
            if let Some(w) = self.non_finite {
                return Some(format!("a weight is {w}"));
            }
            if !super::below(self.largest_weight, max) {
                let w = self.largest_weight;
                return Some(format!("a weight of {w:e} is too large for {t}"));
            }
            if self.smallest_weight < t.min_positive_normal() {
                let w = self.smallest_weight;
                return Some(format!("a weight of {w:e} is not a normal {t} number"));
            }
            let (x, what) = &self.largest;
            (!super::below(*x, max)).then(|| format!("{what} may reach {x:e}"))
        }
    }

    /// Head `h`'s matrix of a `[n_heads, ..]` weight.
    fn head_of(w: &ndarray::Array3<f64>, h: usize) -> ArrayView2<'_, f64> {
        w.slice(ndarray::s![h, .., ..])
    }

    /// Bounds on `x·w + b` for `|x| <= x` elementwise.
    fn through(w: ArrayView2<f64>, b: Option<ArrayView1<f64>>, x: &[f64]) -> Vec<f64> {
        (0..w.ncols())
            .map(|c| {
                let sum: f64 = (0..w.nrows()).map(|r| w[[r, c]].abs() * x[r]).sum();
                sum + b.map_or(0.0, |b| b[c].abs())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shadow_of_the_models_own_type_is_its_bound() {
        for (dtype, t) in [
            (Dtype::F32, FloatType::Float32),
            (Dtype::F64, FloatType::Float64),
        ] {
            for (magnitude, terms) in [(1.0, 1), (3.5, 7), (1e6, 200)] {
                for e in [
                    sum_rounding(dtype, magnitude, terms),
                    value_rounding(dtype, magnitude),
                    attention_rounding(dtype, terms as f64, magnitude),
                ] {
                    let own = e.shadow[type_index(t)];
                    assert!((own - e.fixed).abs() <= 1e-12 * e.fixed, "{e:?}");
                    // Narrower types round more.
                    for narrow in [FloatType::Bfloat16, FloatType::Float16] {
                        assert!(e.shadow[type_index(narrow)] > e.fixed, "{narrow}: {e:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn bounds_combine_type_by_type() {
        let a = sum_rounding(Dtype::F32, 2.0, 3).plus(Err::fixed(0.5));
        let b = Err {
            eps: 2.0,
            ..value_rounding(Dtype::F32, 8.0)
        };
        let sum = a.plus(b).times(-3.0);
        for t in FloatType::ALL {
            let i = type_index(t);
            let want = 3.0 * (a.shadow[i] + b.shadow[i]);
            assert!((sum.shadow[i] - want).abs() <= 1e-15 * want, "{t}");
            assert_eq!(sum.in_type(t, 0.0), sum.shadow[i]);
            assert_eq!(a.max(b).shadow[i], a.shadow[i].max(b.shadow[i]));
        }
        // The type-independent part is in every shadow.
        assert!(a.shadow.iter().all(|&s| s >= 0.5));
        assert_eq!(
            sum.in_type(FloatType::Float16, 1e-3),
            6.0 * 1e-3 + sum.shadow[1]
        );
    }

    #[test]
    fn weights_and_activations_must_fit_the_type() {
        let program = "task = tokens_asis * 3 - 1;";
        let mut interp = crate::Interpreter::new().expect("starts");
        interp
            .run(
                &crate::syntax::span::source("<test>", program.to_string()),
                None,
                &mut |_| {},
            )
            .expect("runs");
        let Some(crate::eval::value::Value::SOp(sop)) = interp.get("task") else {
            panic!("an s-op");
        };
        let vocab = [1, 2, 3].map(crate::eval::atom::Atom::Int);
        let model = crate::compile::compile(&sop, "task", program, &vocab, 4).expect("compiles");
        let ones = vec![1.0; model.config.d_model + 1];
        let check = |m: &crate::model::Model, t, magnitude: &[f64]| {
            range::Extent::of(m, magnitude).check(t)
        };
        for t in FloatType::ALL {
            assert_eq!(check(&model, t, &ones), None, "{t}");
        }
        // A residual dimension near float16's largest finite value.
        let mut big = ones.clone();
        big[2] = 20_000.0;
        let why = check(&model, FloatType::Float16, &big).expect("too big");
        assert!(why.contains("residual stream"), "{why}");
        assert_eq!(check(&model, FloatType::Bfloat16, &big), None);
        // A weight below float16's normal numbers, one above its range.
        let mut tiny = model.clone();
        tiny.embed[[1, 0]] = 1e-6;
        let why = check(&tiny, FloatType::Float16, &ones).expect("subnormal");
        assert!(why.contains("not a normal float16"), "{why}");
        assert_eq!(check(&tiny, FloatType::Float32, &ones), None);
        let mut huge = model.clone();
        huge.layers[0].mlp.b_in[0] = 1e5;
        assert!(check(&huge, FloatType::Float16, &ones).is_some());
    }
}
