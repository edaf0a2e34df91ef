//! Decoding: one position's logits to its output, as the weight file's
//! record says (`output.decode`). The forward pass decodes with it
//! ([`Model::predict`]), and so does anyone holding logits computed
//! elsewhere (a TransformerLens run, read back by the Python package), so
//! that every path gives the outputs of `rasp exec`.

use super::{Model, OutputDecoding};
use crate::eval::atom::Atom;

/// One output position, before it becomes an [`Atom`]: an index into the
/// output decoding's values, or (a numerical output with no known values)
/// the number itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prediction {
    Value(u32),
    Number(f64),
    /// A logit was infinite or NaN: the forward pass overflowed (weights
    /// that are finite but too large for the activations), so there is no
    /// output to decode.
    NonFinite,
}

/// A model's decoding rule, prepared once for many positions.
#[derive(Clone, Debug)]
pub struct Decoder {
    /// Numerical outputs: the known values as numbers, ascending (empty
    /// for raw numbers); `None` for a categorical output.
    numerical: Option<Vec<f64>>,
}

impl Decoder {
    pub fn new(output: &OutputDecoding) -> Decoder {
        let numerical = match output {
            OutputDecoding::Categorical { .. } => None,
            OutputDecoding::Numerical { values, .. } => Some(values.iter().map(number).collect()),
        };
        Decoder { numerical }
    }

    /// The prediction of one position's logits, widened to `f64` (exactly,
    /// from any narrower float): the first largest logit's value
    /// (categorical); the value nearest to logit 0, the lower on ties, or
    /// logit 0 itself where no values are listed (numerical);
    /// [`Prediction::NonFinite`] if any logit is infinite or NaN.
    pub fn predict(&self, logits: impl IntoIterator<Item = f64>) -> Prediction {
        let mut logits = logits.into_iter();
        match &self.numerical {
            None => {
                let mut best = (0, f64::NEG_INFINITY);
                for (i, v) in logits.enumerate() {
                    if !v.is_finite() {
                        return Prediction::NonFinite;
                    }
                    if v > best.1 {
                        best = (i, v);
                    }
                }
                Prediction::Value(best.0 as u32)
            }
            Some(values) => {
                let x = logits.next().unwrap_or(f64::NAN);
                if !x.is_finite() || !logits.all(f64::is_finite) {
                    return Prediction::NonFinite;
                }
                let i = values.partition_point(|&v| v < x);
                let mut best: Option<(usize, f64)> = None;
                for j in [i.checked_sub(1), Some(i)].into_iter().flatten() {
                    if let Some(&v) = values.get(j) {
                        let d = (v - x).abs();
                        if best.is_none_or(|(_, b)| d.total_cmp(&b).is_lt()) {
                            best = Some((j, d));
                        }
                    }
                }
                match best {
                    Some((j, _)) => Prediction::Value(j as u32),
                    None => Prediction::Number(x),
                }
            }
        }
    }
}

/// A listed output value as a number (strings, which a numerical output
/// never lists, as NaN).
fn number(a: &Atom) -> f64 {
    match a {
        Atom::Int(i) => *i as f64,
        Atom::Float(f) => *f,
        Atom::Bool(b) => f64::from(u8::from(*b)),
        Atom::Str(_) => f64::NAN,
    }
}

impl Model {
    /// The value a [`Prediction`] at user position `position` (0 the first
    /// token) stands for, as [`Model::decode`] gives it.
    pub fn prediction_value(&self, prediction: Prediction, position: usize) -> Atom {
        let values = match &self.meta.output {
            OutputDecoding::Categorical { values } | OutputDecoding::Numerical { values, .. } => {
                values
            }
        };
        match prediction {
            Prediction::Value(i) => match values.get(i as usize) {
                Some(v) => self.meta.output.kind_at(position).apply(v.clone()),
                None => Atom::Float(f64::NAN),
            },
            Prediction::Number(x) => Atom::Float(x),
            Prediction::NonFinite => Atom::Float(f64::NAN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NumberKind;

    #[test]
    fn logits_decode_as_the_record_says() {
        let categorical = Decoder::new(&OutputDecoding::Categorical {
            values: vec![Atom::str("a"), Atom::str("b")],
        });
        assert_eq!(categorical.predict([1.0, 2.0]), Prediction::Value(1));
        // The first on ties.
        assert_eq!(categorical.predict([2.0, 2.0]), Prediction::Value(0));
        assert_eq!(categorical.predict([1.0, f64::NAN]), Prediction::NonFinite);
        let numerical = Decoder::new(&OutputDecoding::Numerical {
            values: vec![Atom::Int(0), Atom::Float(0.5), Atom::Int(1)],
            bound: None,
            kinds: vec![NumberKind::Either],
        });
        assert_eq!(numerical.predict([0.3, -0.3]), Prediction::Value(1));
        // The lower on ties.
        assert_eq!(numerical.predict([0.25, -0.25]), Prediction::Value(0));
        assert_eq!(
            numerical.predict([f64::INFINITY, 0.0]),
            Prediction::NonFinite
        );
        let raw = Decoder::new(&OutputDecoding::Numerical {
            values: Vec::new(),
            bound: Some(1e-4),
            kinds: Vec::new(),
        });
        assert_eq!(raw.predict([0.125, -0.125]), Prediction::Number(0.125));
    }
}
