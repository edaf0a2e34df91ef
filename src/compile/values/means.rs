//! The values of attention outputs over one selector, taken together.
//!
//! Aggregates and widths over the same selector see the same selected keys,
//! so their values are not independent: `opens - closes` of two prefix means
//! has one count `m` and sums that add up to at most `m`. A *group* is such a
//! set of members; its joint values at each query index are computed here
//! from the values the members' value nodes take together at one key (the
//! key tuples) and the selector's possible counts:
//!
//! - no key selected: every aggregate gives its default, every width 0;
//! - one key: each aggregate gives that key's value unchanged;
//! - `m >= 2` keys: a mean of numbers is the interpreter's `sum / m` (ints
//!   summed exactly; floats summed in some order, so the result carries a
//!   radius), a non-number is defined only if all `m` values are identical.
//!
//! Sums of `m` key tuples are built one key at a time (a set of partial
//! states per count), which is exact for keys whose tuples do not depend on
//! the key's position and a superset otherwise. Selectors of positions alone
//! over position-only values are instead evaluated input length by input
//! length, exactly as the interpreter computes them.

use std::collections::{HashMap, HashSet};

use super::set::number;
use crate::eval::atom::Atom;

/// What one member of a group computes.
#[derive(Debug, Clone)]
pub enum Member {
    /// An aggregate; `column` is its position in the key tuples.
    Aggregate {
        column: usize,
        default: Atom,
        numeric: bool,
        float: bool,
    },
    Width,
}

/// The most partial states a group may build before it is judged too large.
pub const STATE_BUDGET: usize = 1 << 16;

/// Too many states or tuples.
#[derive(Debug, Clone, Copy)]
pub struct TooLarge {
    pub size: usize,
}

/// A partial sum: per aggregate member, an int sum, the bits of a float sum,
/// or the index of the common value (categorical).
type State = Box<[i128]>;

/// Member values per count, by members and key tuples.
pub type LevelCache = HashMap<(String, Vec<usize>), Vec<Vec<Vec<Atom>>>>;

/// Every combination of member values for `m` selected keys whose tuples
/// are drawn from `key_tuples`, for each `m` in `counts` (each combination
/// once). The radius bounds how far a float mean may be from its listed
/// value.
pub fn joint_values(
    members: &[Member],
    key_tuples: &[Vec<Atom>],
    counts: &[bool],
    cache: &mut LevelCache,
    tuple_ids: &[usize],
) -> Result<Vec<Vec<Atom>>, TooLarge> {
    let max_m = counts.iter().rposition(|&b| b).unwrap_or(0);
    // Per count, the member values (cached per set of key tuples, for all
    // counts up to the largest asked so far).
    // The levels depend on the members (their defaults and forms) as well
    // as on the key tuples.
    let key = (format!("{members:?}"), tuple_ids.to_vec());
    let have = cache.get(&key).map_or(0, |c| c.len());
    if have <= max_m {
        let levels = build_levels(members, key_tuples, max_m)?;
        cache.insert(key.clone(), levels);
    }
    let levels = cache.get(&key).map(Vec::as_slice).unwrap_or(&[]);
    let mut out = Vec::new();
    let mut seen: HashSet<Vec<AtomId>> = HashSet::new();
    for (m, level) in levels.iter().enumerate() {
        if !counts.get(m).copied().unwrap_or(false) {
            continue;
        }
        for tuple in level {
            if seen.insert(tuple.iter().map(AtomId::of).collect()) {
                out.push(tuple.clone());
            }
        }
    }
    Ok(out)
}

/// An atom as a hashable identity (type and value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AtomId(u8, crate::eval::atom::AtomKey);

impl AtomId {
    fn of(a: &Atom) -> AtomId {
        let tag = match a {
            Atom::Int(_) => 0,
            Atom::Float(_) => 1,
            Atom::Bool(_) => 2,
            Atom::Str(_) => 3,
        };
        AtomId(tag, a.key())
    }
}

/// Member values for each count `0..=max_m`.
fn build_levels(
    members: &[Member],
    key_tuples: &[Vec<Atom>],
    max_m: usize,
) -> Result<Vec<Vec<Vec<Atom>>>, TooLarge> {
    let mut levels: Vec<Vec<Vec<Atom>>> = Vec::with_capacity(max_m + 1);
    // m = 0: defaults.
    levels.push(vec![members
        .iter()
        .map(|m| match m {
            Member::Aggregate { default, .. } => default.clone(),
            Member::Width => Atom::Int(0),
        })
        .collect()]);
    if max_m == 0 {
        return Ok(levels);
    }
    // m = 1: the selected key's values, unchanged.
    let mut level1: Vec<Vec<Atom>> = Vec::new();
    let mut seen1: HashSet<Vec<AtomId>> = HashSet::new();
    for t in key_tuples {
        let v: Vec<Atom> = members
            .iter()
            .map(|m| match m {
                Member::Aggregate { column, .. } => t[*column].clone(),
                Member::Width => Atom::Int(1),
            })
            .collect();
        if seen1.insert(v.iter().map(AtomId::of).collect()) {
            level1.push(v);
        }
    }
    levels.push(level1);
    // Distinct contributions of one key, and the common-value table.
    let mut categories: Vec<Vec<AtomId>> = vec![Vec::new(); members.len()];
    let mut steps: Vec<Vec<i128>> = Vec::new();
    let mut seen_steps: HashSet<Vec<i128>> = HashSet::new();
    for t in key_tuples {
        let mut step = Vec::with_capacity(members.len());
        for (j, m) in members.iter().enumerate() {
            step.push(match m {
                Member::Aggregate {
                    column,
                    numeric: true,
                    float: false,
                    ..
                } => int_of(&t[*column]),
                Member::Aggregate {
                    column,
                    numeric: true,
                    float: true,
                    ..
                } => i128::from(number(&t[*column]).to_bits()),
                Member::Aggregate { column, .. } => {
                    let id = AtomId::of(&t[*column]);
                    let c = match categories[j].iter().position(|x| *x == id) {
                        Some(p) => p,
                        None => {
                            categories[j].push(id);
                            categories[j].len() - 1
                        }
                    };
                    c as i128
                }
                Member::Width => 0,
            });
        }
        if seen_steps.insert(step.clone()) {
            steps.push(step);
        }
    }
    let category_atoms: Vec<Vec<Atom>> = (0..members.len())
        .map(|j| {
            let mut atoms: Vec<Atom> = Vec::new();
            for t in key_tuples {
                if let Member::Aggregate { column, .. } = members[j] {
                    let a = &t[column];
                    if !atoms.iter().any(|x| AtomId::of(x) == AtomId::of(a)) {
                        atoms.push(a.clone());
                    }
                }
            }
            // Order as `categories` numbered them.
            categories[j]
                .iter()
                .filter_map(|id| atoms.iter().find(|a| AtomId::of(a) == *id).cloned())
                .collect()
        })
        .collect();
    if let [Member::Aggregate {
        numeric: true,
        float: false,
        ..
    }] = members
    {
        // One mean of ints: sums alone.
        let steps: Vec<i128> = steps.iter().map(|s| s[0]).collect();
        if let Some(levels) = int_sum_levels(&steps, max_m, levels.clone())? {
            return Ok(levels);
        }
        let mut sums: HashSet<i128> = steps.iter().copied().collect();
        let mut total = sums.len();
        for m in 2..=max_m {
            let mut next: HashSet<i128> = HashSet::with_capacity(sums.len() + steps.len());
            for s in &sums {
                for step in &steps {
                    next.insert(s + step);
                }
            }
            total += next.len();
            if next.len() > STATE_BUDGET || total > STATE_BUDGET * 4 {
                return Err(TooLarge { size: total });
            }
            levels.push(
                next.iter()
                    .map(|&s| vec![Atom::Float(s as f64 / m as f64)])
                    .collect(),
            );
            sums = next;
        }
        return Ok(levels);
    }
    let dedup = members
        .iter()
        .any(|m| matches!(m, Member::Aggregate { float: true, .. }));
    let mut states: HashSet<State> = steps.iter().map(|s| s.clone().into_boxed_slice()).collect();
    let mut total = states.len();
    for m in 2..=max_m {
        let mut next: HashSet<State> = HashSet::with_capacity(states.len() * 2);
        for s in &states {
            for step in &steps {
                if let Some(t) = add(members, s, step) {
                    next.insert(t);
                }
            }
            if next.len() > STATE_BUDGET {
                return Err(TooLarge { size: next.len() });
            }
        }
        total += next.len();
        if total > STATE_BUDGET * 4 {
            return Err(TooLarge { size: total });
        }
        let mut level: Vec<Vec<Atom>> = Vec::with_capacity(next.len());
        let mut seen: HashSet<Vec<AtomId>> = HashSet::new();
        for s in &next {
            let v: Vec<Atom> = members
                .iter()
                .enumerate()
                .map(|(j, mem)| value_of(mem, s[j], m, &category_atoms[j]))
                .collect();
            if !dedup || seen.insert(v.iter().map(AtomId::of).collect()) {
                level.push(v);
            }
        }
        levels.push(level);
        states = next;
    }
    Ok(levels)
}

/// The levels of one mean of ints whose values span a small range, by
/// bitsets of the sums (shifted by the smallest value), or `None` when the
/// range is too wide for that.
fn int_sum_levels(
    steps: &[i128],
    max_m: usize,
    mut levels: Vec<Vec<Vec<Atom>>>,
) -> Result<Option<Vec<Vec<Vec<Atom>>>>, TooLarge> {
    let (Some(&lo), Some(&hi)) = (steps.iter().min(), steps.iter().max()) else {
        return Ok(Some(levels));
    };
    let span = (hi - lo) as u128;
    if span.saturating_mul(max_m as u128) > 1 << 24 {
        return Ok(None);
    }
    let offsets: Vec<usize> = steps.iter().map(|s| (s - lo) as usize).collect();
    // bits[x]: the sum lo*m + x occurs.
    let mut bits: Vec<bool> = vec![false; span as usize + 1];
    for &o in &offsets {
        bits[o] = true;
    }
    let mut total = 0usize;
    for m in 2..=max_m {
        let mut next = vec![false; bits.len() + span as usize];
        for (x, _) in bits.iter().enumerate().filter(|(_, b)| **b) {
            for &o in &offsets {
                next[x + o] = true;
            }
        }
        let count = next.iter().filter(|b| **b).count();
        total += count;
        if count > STATE_BUDGET || total > STATE_BUDGET * 4 {
            return Err(TooLarge { size: total });
        }
        let base = lo * m as i128;
        levels.push(
            next.iter()
                .enumerate()
                .filter(|(_, b)| **b)
                .map(|(x, _)| vec![Atom::Float((base + x as i128) as f64 / m as f64)])
                .collect(),
        );
        bits = next;
    }
    Ok(Some(levels))
}

fn int_of(a: &Atom) -> i128 {
    match a {
        Atom::Int(i) => i128::from(*i),
        Atom::Bool(b) => i128::from(*b),
        _ => 0,
    }
}

/// One more key: sums add, categories must agree.
fn add(members: &[Member], s: &[i128], step: &[i128]) -> Option<State> {
    let mut out = Vec::with_capacity(members.len());
    for (j, m) in members.iter().enumerate() {
        out.push(match m {
            Member::Aggregate {
                numeric: true,
                float: false,
                ..
            } => s[j].checked_add(step[j])?,
            Member::Aggregate {
                numeric: true,
                float: true,
                ..
            } => {
                let x = f64::from_bits(s[j] as u64) + f64::from_bits(step[j] as u64);
                i128::from(x.to_bits())
            }
            Member::Aggregate { .. } => {
                if s[j] != step[j] {
                    return None;
                }
                s[j]
            }
            Member::Width => 0,
        });
    }
    Some(out.into_boxed_slice())
}

fn value_of(member: &Member, acc: i128, m: usize, categories: &[Atom]) -> Atom {
    match member {
        Member::Aggregate {
            numeric: true,
            float: false,
            ..
        } => Atom::Float(acc as f64 / m as f64),
        Member::Aggregate {
            numeric: true,
            float: true,
            ..
        } => Atom::Float(f64::from_bits(acc as u64) / m as f64),
        Member::Aggregate { .. } => categories
            .get(acc as usize)
            .cloned()
            .unwrap_or(Atom::Bool(false)),
        Member::Width => Atom::Int(m as i64),
    }
}

/// The radius of float means over at most `max_len` keys of values of
/// magnitude at most `magnitude`: summing `m` values in another order moves
/// the sum by at most `m² · 2⁻⁵³ · magnitude`, the mean by `m` times less.
pub fn float_radius(max_len: usize, magnitude: f64) -> f64 {
    2.0 * max_len as f64 * f64::EPSILON * magnitude
}

/// The interpreter's aggregate of the selected `values` (in position
/// order), or `None` where it fails (different non-numbers).
pub fn interpreter_aggregate(values: &[&Atom], default: &Atom) -> Option<Atom> {
    match values {
        [] => Some(default.clone()),
        [one] => Some((*one).clone()),
        _ => {
            let numeric = values
                .iter()
                .any(|v| matches!(v, Atom::Int(_) | Atom::Float(_)));
            if numeric {
                let mut int_sum: i128 = 0;
                let mut float_sum: Option<f64> = None;
                for v in values {
                    match (v, &mut float_sum) {
                        (Atom::Float(x), None) => float_sum = Some(int_sum as f64 + x),
                        (Atom::Float(x), Some(f)) => *f += x,
                        (Atom::Int(i), None) => int_sum += i128::from(*i),
                        (Atom::Bool(b), None) => int_sum += i128::from(*b),
                        (Atom::Int(i), Some(f)) => *f += *i as f64,
                        (Atom::Bool(b), Some(f)) => *f += f64::from(u8::from(*b)),
                        (Atom::Str(_), _) => return None,
                    }
                }
                let total = float_sum.unwrap_or(int_sum as f64);
                Some(Atom::Float(total / values.len() as f64))
            } else {
                let first = values[0];
                values
                    .iter()
                    .all(|v| v.type_name() == first.type_name() && v.py_eq(first))
                    .then(|| first.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each vector as `repr`s joined by commas.
    fn shown(v: &[Vec<Atom>]) -> Vec<String> {
        v.iter()
            .map(|t| t.iter().map(Atom::repr).collect::<Vec<_>>().join(","))
            .collect()
    }

    fn mean(column: usize) -> Member {
        Member::Aggregate {
            column,
            default: Atom::Int(0),
            numeric: true,
            float: false,
        }
    }

    #[test]
    fn two_means_over_one_selector_share_their_count() {
        // opens and closes: a key is "(", ")" or neither.
        let keys = vec![
            vec![Atom::Int(1), Atom::Int(0)],
            vec![Atom::Int(0), Atom::Int(1)],
            vec![Atom::Int(0), Atom::Int(0)],
        ];
        let mut counts = vec![false; 4];
        counts[3] = true;
        let mut cache = HashMap::new();
        let got = joint_values(&[mean(0), mean(1)], &keys, &counts, &mut cache, &[0, 1, 2])
            .expect("small");
        // (a, b) with a + b <= 3: 10 pairs.
        assert_eq!(got.len(), 10);
        let got = shown(&got);
        let pair = format!(
            "{},{}",
            Atom::Float(2.0 / 3.0).repr(),
            Atom::Float(1.0 / 3.0).repr()
        );
        assert!(got.contains(&pair));
        assert!(!got.contains(&"1.0,1.0".to_string()));
    }

    #[test]
    fn one_key_keeps_its_value_and_none_gives_the_default() {
        let keys = vec![vec![Atom::Int(7)]];
        let counts = vec![true, true, true];
        let mut cache = HashMap::new();
        let got = joint_values(&[mean(0), Member::Width], &keys, &counts, &mut cache, &[0])
            .expect("small");
        let got = shown(&got);
        for want in ["0,0", "7,1", "7.0,2"] {
            assert!(got.contains(&want.to_string()), "{want} in {got:?}");
        }
    }

    #[test]
    fn different_categories_never_mix() {
        let cat = Member::Aggregate {
            column: 0,
            default: Atom::str("z"),
            numeric: false,
            float: false,
        };
        let keys = vec![vec![Atom::str("a")], vec![Atom::str("b")]];
        let counts = vec![false, false, true];
        let mut cache = HashMap::new();
        let got = joint_values(&[cat], &keys, &counts, &mut cache, &[0, 1]).expect("small");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn interpreter_means_match_python() {
        let (a, b) = (Atom::Int(1), Atom::Int(2));
        let agg = |v: &[&Atom]| interpreter_aggregate(v, &Atom::Int(0)).map(|a| a.repr());
        assert_eq!(agg(&[&a, &b]).as_deref(), Some("1.5"));
        assert_eq!(agg(&[&a]).as_deref(), Some("1"));
        let (x, y) = (Atom::str("x"), Atom::str("y"));
        assert_eq!(agg(&[&x, &y]), None);
    }
}
