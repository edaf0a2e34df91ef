//! Value sets: finite sets of typed atoms in a canonical order.
//!
//! Numbers are the interpreter's own f64 values (a value set lists what the
//! interpreter can print, computed with its arithmetic), ints and floats kept
//! apart (`2` and `2.0` print differently). A set that came from means of
//! non-integers carries a `radius`: the interpreter sums such values in
//! position order, so each listed float stands for every float within
//! `radius` of it (a proven bound on the summation's rounding, not a guess).

use std::collections::HashMap;

use crate::eval::atom::{Atom, AtomKey};

/// A finite set of atoms: numbers ascending (an int before an equal float),
/// then bools, then strings.
#[derive(Debug, Clone, Default)]
pub struct ValueSet {
    values: Vec<Atom>,
    index: HashMap<(u8, AtomKey), u32>,
    /// How far the interpreter's value may be from a listed float.
    pub radius: f64,
}

fn type_tag(a: &Atom) -> u8 {
    match a {
        Atom::Int(_) => 0,
        Atom::Float(_) => 1,
        Atom::Bool(_) => 2,
        Atom::Str(_) => 3,
    }
}

/// The canonical order of atoms.
pub fn canonical_cmp(a: &Atom, b: &Atom) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let group = |x: &Atom| match x {
        Atom::Int(_) | Atom::Float(_) => 0,
        Atom::Bool(_) => 1,
        Atom::Str(_) => 2,
    };
    match group(a).cmp(&group(b)) {
        Ordering::Equal => {}
        other => return other,
    }
    match (a, b) {
        (Atom::Str(x), Atom::Str(y)) => x.cmp(y),
        (Atom::Bool(x), Atom::Bool(y)) => x.cmp(y),
        _ => number(a)
            .partial_cmp(&number(b))
            .unwrap_or(Ordering::Equal)
            .then(type_tag(a).cmp(&type_tag(b)))
            .then_with(|| a.key().cmp(&b.key())),
    }
}

/// An atom as an f64: ints and floats as numbers, bools as 0 and 1, strings
/// as NaN.
pub fn number(a: &Atom) -> f64 {
    match a {
        Atom::Int(i) => *i as f64,
        Atom::Float(x) => *x,
        Atom::Bool(b) => f64::from(u8::from(*b)),
        Atom::Str(_) => f64::NAN,
    }
}

/// Whether two atoms are the same value of the same type.
pub fn same_atom(a: &Atom, b: &Atom) -> bool {
    type_tag(a) == type_tag(b) && a.key() == b.key()
}

impl ValueSet {
    /// The set of the given atoms (exact: radius 0).
    pub fn from_atoms(atoms: impl IntoIterator<Item = Atom>) -> ValueSet {
        let mut values: Vec<Atom> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for a in atoms {
            if seen.insert((type_tag(&a), a.key())) {
                values.push(a);
            }
        }
        values.sort_by(canonical_cmp);
        ValueSet::sorted(values, 0.0)
    }

    /// The set of `atoms`, where each float stands for the floats within
    /// `radius`: floats closer than `2 * radius` are one value (the one
    /// with the shortest spelling is kept).
    pub fn with_radius(atoms: impl IntoIterator<Item = Atom>, radius: f64) -> ValueSet {
        let set = ValueSet::from_atoms(atoms);
        if radius <= 0.0 {
            return set;
        }
        let mut kept: Vec<Atom> = Vec::with_capacity(set.len());
        for a in set.values {
            if let (Some(Atom::Float(last)), Atom::Float(x)) = (kept.last_mut(), &a) {
                if (*x - *last).abs() <= 2.0 * radius {
                    if shorter(*x, *last) {
                        *last = *x;
                    }
                    continue;
                }
            }
            kept.push(a);
        }
        ValueSet::sorted(kept, radius)
    }

    fn sorted(values: Vec<Atom>, radius: f64) -> ValueSet {
        let index = values
            .iter()
            .enumerate()
            .map(|(i, a)| ((type_tag(a), a.key()), i as u32))
            .collect();
        ValueSet {
            values,
            index,
            radius,
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn values(&self) -> &[Atom] {
        &self.values
    }

    /// The position of `a` in the set (same type and value; within the
    /// radius for floats of a set that has one).
    pub fn position(&self, a: &Atom) -> Option<usize> {
        if let Some(i) = self.index.get(&(type_tag(a), a.key())) {
            return Some(*i as usize);
        }
        match a {
            Atom::Float(x) if self.radius > 0.0 => self.nearest_float(*x),
            _ => None,
        }
    }

    fn nearest_float(&self, x: f64) -> Option<usize> {
        let i = self.values.partition_point(|v| number(v) < x);
        [i.checked_sub(1), Some(i)]
            .into_iter()
            .flatten()
            .filter(|&j| {
                matches!(self.values.get(j), Some(Atom::Float(v)) if (v - x).abs() <= 2.0 * self.radius)
            })
            .min_by(|&p, &q| {
                (number(&self.values[p]) - x)
                    .abs()
                    .total_cmp(&(number(&self.values[q]) - x).abs())
            })
    }

    /// Whether every value is an int or a float.
    pub fn is_numeric(&self) -> bool {
        !self.values.is_empty()
            && self
                .values
                .iter()
                .all(|a| matches!(a, Atom::Int(_) | Atom::Float(_)))
    }

    /// Whether some value is an int or a float.
    pub fn has_numbers(&self) -> bool {
        self.values
            .iter()
            .any(|a| matches!(a, Atom::Int(_) | Atom::Float(_)))
    }

    /// The union of sets (the larger radius).
    pub fn union_all<'a>(sets: impl IntoIterator<Item = &'a ValueSet>) -> ValueSet {
        let mut atoms = Vec::new();
        let mut radius: f64 = 0.0;
        for s in sets {
            atoms.extend(s.values.iter().cloned());
            radius = radius.max(s.radius);
        }
        ValueSet::with_radius(atoms, radius)
    }

    /// The distinct numbers of the set, ascending (ints and equal floats
    /// once; bools as 0/1).
    pub fn numbers(&self) -> Vec<f64> {
        let mut out: Vec<f64> = self
            .values
            .iter()
            .map(number)
            .filter(|x| !x.is_nan())
            .collect();
        out.sort_by(f64::total_cmp);
        out.dedup();
        out
    }

    /// The smallest difference between two distinct numbers of the set
    /// (infinite with fewer than two), less twice the radius.
    pub fn number_gap(&self) -> f64 {
        let n = self.numbers();
        n.windows(2)
            .map(|w| w[1] - w[0] - 2.0 * self.radius)
            .fold(f64::INFINITY, f64::min)
    }

    /// The largest absolute number in the set (0 if none).
    pub fn magnitude(&self) -> f64 {
        self.numbers().iter().fold(0.0, |m, x| m.max(x.abs()))
    }
}

/// Whether `a` is spelled shorter than `b` (`1.0` rather than `0.9999999999999999`).
fn shorter(a: f64, b: f64) -> bool {
    crate::eval::atom::format_float_repr(a).len() < crate::eval::atom::format_float_repr(b).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_typed_membership() {
        let set = ValueSet::from_atoms([
            Atom::str("b"),
            Atom::Float(2.0),
            Atom::Int(2),
            Atom::Int(-1),
            Atom::Bool(true),
            Atom::str("a"),
            Atom::Int(2),
        ]);
        let shown: Vec<String> = set.values().iter().map(|a| a.repr()).collect();
        assert_eq!(shown, ["-1", "2", "2.0", "True", "'a'", "'b'"]);
        assert_eq!(set.position(&Atom::Float(2.0)), Some(2));
        assert_eq!(set.position(&Atom::Int(3)), None);
    }

    #[test]
    fn distinct_floats_stay_apart_without_a_radius() {
        // 1/49*49 is not 1.0 in f64: the interpreter prints both.
        let x = 1.0 / 49.0 * 49.0;
        assert_ne!(x, 1.0);
        let set = ValueSet::from_atoms([Atom::Float(x), Atom::Float(1.0)]);
        assert_eq!(set.len(), 2);
        let merged = ValueSet::with_radius([Atom::Float(x), Atom::Float(1.0)], 1e-15);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged.values()[0].repr(), "1.0");
        assert_eq!(merged.position(&Atom::Float(x)), Some(0));
    }
}
