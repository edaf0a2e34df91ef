//! Value sets: the finite set of values each node of the s-op DAG can take
//! on inputs over a vocabulary, of lengths `1..=max_len`.
//!
//! Maps apply their function to every tuple of their inputs' values;
//! aggregates of numbers range over the means of every multiset of at most
//! `max_len` values (computed exactly for ints, by sums per count); everything
//! else is read off the vocabulary and `max_len`. Ints and floats are kept
//! apart (`2` and `2.0` print differently), so a value set is a set of typed
//! atoms in a canonical order.

use std::collections::{BTreeSet, HashMap};

use crate::eval::atom::{Atom, AtomKey};

/// A finite set of atoms in canonical order: numbers ascending (an int
/// before an equal float), then bools, then strings.
#[derive(Debug, Clone, Default)]
pub struct ValueSet {
    values: Vec<Atom>,
    index: HashMap<(u8, AtomKey), usize>,
}

fn type_tag(a: &Atom) -> u8 {
    match a {
        Atom::Int(_) => 0,
        Atom::Float(_) => 1,
        Atom::Bool(_) => 2,
        Atom::Str(_) => 3,
    }
}

/// The canonical order of atoms within a value set.
fn canonical_cmp(a: &Atom, b: &Atom) -> std::cmp::Ordering {
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
        _ => {
            let (x, y) = (as_f64(a), as_f64(b));
            x.partial_cmp(&y)
                .unwrap_or(Ordering::Equal)
                .then(type_tag(a).cmp(&type_tag(b)))
                .then_with(|| a.key().cmp(&b.key()))
        }
    }
}

/// A number as f64 (bools as 0/1; strings as NaN, never compared here).
pub fn as_f64(a: &Atom) -> f64 {
    match a {
        Atom::Int(i) => *i as f64,
        Atom::Float(x) => *x,
        Atom::Bool(b) => f64::from(u8::from(*b)),
        Atom::Str(_) => f64::NAN,
    }
}

impl ValueSet {
    /// The set of the given atoms.
    pub fn from_atoms(atoms: impl IntoIterator<Item = Atom>) -> ValueSet {
        let mut values: Vec<Atom> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for a in atoms {
            if seen.insert((type_tag(&a), a.key())) {
                values.push(a);
            }
        }
        values.sort_by(canonical_cmp);
        let index = values
            .iter()
            .enumerate()
            .map(|(i, a)| ((type_tag(a), a.key()), i))
            .collect();
        ValueSet { values, index }
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

    /// The position of `a` in the set (same type and value), if present.
    pub fn position(&self, a: &Atom) -> Option<usize> {
        self.index.get(&(type_tag(a), a.key())).copied()
    }

    /// Whether every value is a number (ints, floats; bools count as ints
    /// only among ints, as in sequences).
    pub fn is_numeric(&self) -> bool {
        !self.values.is_empty()
            && self
                .values
                .iter()
                .all(|a| matches!(a, Atom::Int(_) | Atom::Float(_)))
    }

    /// The union of two sets.
    pub fn union(&self, other: &ValueSet) -> ValueSet {
        ValueSet::from_atoms(self.values.iter().chain(other.values.iter()).cloned())
    }
}

/// Why a value set could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSetError {
    /// More values (or tuples to try) than the limit.
    TooLarge { size: u128, limit: usize },
}

/// The means `sum * 1.0 / m` of every multiset of `m` values of `values`,
/// for each `m` in `2..=max_len`, as Python computes them; ints summed
/// exactly, floats (rarely exact anyway) summed in sorted order.
pub fn means(values: &[Atom], max_len: usize, limit: usize) -> Result<Vec<f64>, ValueSetError> {
    let numbers: Vec<&Atom> = values
        .iter()
        .filter(|a| matches!(a, Atom::Int(_) | Atom::Float(_) | Atom::Bool(_)))
        .collect();
    if numbers.is_empty() || max_len < 2 {
        return Ok(Vec::new());
    }
    let all_int = numbers.iter().all(|a| !matches!(a, Atom::Float(_)));
    let mut out: BTreeSet<u64> = BTreeSet::new();
    let push = |x: f64, out: &mut BTreeSet<u64>| -> Result<(), ValueSetError> {
        out.insert(x.to_bits());
        if out.len() > limit {
            return Err(ValueSetError::TooLarge {
                size: out.len() as u128,
                limit,
            });
        }
        Ok(())
    };
    if all_int {
        let ints: Vec<i128> = numbers
            .iter()
            .map(|a| match a {
                Atom::Int(i) => i128::from(*i),
                Atom::Bool(b) => i128::from(*b),
                _ => 0,
            })
            .collect();
        let mut sums: BTreeSet<i128> = ints.iter().copied().collect();
        for m in 2..=max_len {
            let mut next = BTreeSet::new();
            for s in &sums {
                for v in &ints {
                    next.insert(s + v);
                }
                if next.len() > limit {
                    return Err(ValueSetError::TooLarge {
                        size: next.len() as u128,
                        limit,
                    });
                }
            }
            sums = next;
            for s in &sums {
                push(*s as f64 / m as f64, &mut out)?;
            }
        }
    } else {
        let floats: Vec<f64> = numbers.iter().map(|a| as_f64(a)).collect();
        let mut sums: BTreeSet<u64> = floats.iter().map(|x| x.to_bits()).collect();
        for m in 2..=max_len {
            let mut next = BTreeSet::new();
            for s in &sums {
                for v in &floats {
                    next.insert((f64::from_bits(*s) + v).to_bits());
                }
                if next.len() > limit {
                    return Err(ValueSetError::TooLarge {
                        size: next.len() as u128,
                        limit,
                    });
                }
            }
            sums = next;
            for s in &sums {
                push(f64::from_bits(*s) / m as f64, &mut out)?;
            }
        }
    }
    let mut sorted: Vec<f64> = out.into_iter().map(f64::from_bits).collect();
    sorted.sort_by(f64::total_cmp);
    // Float sums in different orders differ in the last bits; no model can
    // tell such values apart, so keep one of each cluster.
    let mut merged: Vec<f64> = Vec::with_capacity(sorted.len());
    for x in sorted {
        match merged.last_mut() {
            Some(last) if nearly_equal(*last, x) => {
                if simpler(x, *last) {
                    *last = x;
                }
            }
            _ => merged.push(x),
        }
    }
    Ok(merged)
}

/// Whether `a` is the simpler spelling of a number than `b` (`1.0` rather
/// than `0.9999999999999999`): the one a program most likely means.
pub fn simpler(a: f64, b: f64) -> bool {
    crate::eval::atom::format_float_repr(a).len() < crate::eval::atom::format_float_repr(b).len()
}

/// Whether two numbers are equal up to float rounding (a relative 1e-9).
pub fn nearly_equal(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
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
    fn means_of_zero_one_values_are_all_fractions() {
        let got = means(&[Atom::Int(0), Atom::Int(1)], 4, 1000).expect("small");
        let want = [0.0, 0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 0.75, 1.0];
        assert_eq!(got, want);
    }

    #[test]
    fn means_include_sums_of_mixed_values() {
        // 2/3 and 3/5 are the values a sloppy analysis misses.
        let got = means(&[Atom::Int(0), Atom::Int(1)], 5, 1000).expect("small");
        assert!(got.contains(&(2.0 / 3.0)) && got.contains(&(3.0 / 5.0)));
        let got = means(&[Atom::Int(-1), Atom::Int(1)], 3, 1000).expect("small");
        assert_eq!(got, [-1.0, -1.0 / 3.0, 0.0, 1.0 / 3.0, 1.0]);
    }

    #[test]
    fn means_report_sets_that_grow_too_large() {
        let values: Vec<Atom> = (0..50).map(|i| Atom::Int(i * 1000)).collect();
        assert!(matches!(
            means(&values, 64, 10_000),
            Err(ValueSetError::TooLarge { .. })
        ));
    }
}
