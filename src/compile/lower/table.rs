//! Tables: a map over the values its sources take together.
//!
//! The rows are the distinct tuples of source values that occur together on
//! some input (from the value analysis: the local contexts, or the tuple
//! space of the map), each with the map's value there. A table is built as
//! one unit per row over exact one-hot sources (`ReLU(Σx − (k−1))`), two per
//! row (a clean step on the sum) over attention outputs, or, when one source
//! is a number, as steps on that number gated by the others' rows.

use std::collections::HashMap;
use std::rc::Rc;

use super::blocks::{
    lookup, lookup_gap, lookup_scale, lookup_variation, row_step, row_unit, Point, Unit,
};
use super::precision::{feasible, sum_rounding, Err};
use super::{next_sublayer, Lowerer, OneHot, MAX_ROWS};
use crate::compile::error::CompileError;
use crate::compile::graph::NodeId;
use crate::compile::values::set::number;
use crate::compile::values::Shape;

/// A map's rows over its sources.
#[derive(Debug, Clone)]
pub struct Rows {
    pub sources: Vec<NodeId>,
    /// For each row: the index of each source's value in its value set, and
    /// the index of the map's value in its own.
    pub rows: Vec<(Vec<u32>, u32)>,
    /// Read every source as one-hot (no number read).
    pub onehot_only: bool,
    /// The rows over the map's own arguments, where these fuse some of
    /// them: built instead when the fused table can only be a table of
    /// one-hot sources (its gates too inexact for steps, say).
    pub unfused: Option<Rc<Rows>>,
}

impl Rows {
    pub fn all_onehot(&self) -> Rows {
        Rows {
            onehot_only: true,
            ..self.clone()
        }
    }
}

/// The rows of map `id` over `sources`, if the analysis knows the values
/// they take together (and the sources determine the map).
pub fn rows(l: &Lowerer, id: NodeId, sources: &[NodeId]) -> Option<Rows> {
    let an = &*l.an;
    let out_set = &an.nodes[id].all;
    let mut seen: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut order: Vec<Vec<u32>> = Vec::new();
    let push = |seen: &mut HashMap<Vec<u32>, u32>,
                order: &mut Vec<Vec<u32>>,
                key: Vec<u32>,
                out: u32|
     -> Option<()> {
        match seen.get(&key) {
            Some(o) if *o != out => None,
            Some(_) => Some(()),
            None => {
                seen.insert(key.clone(), out);
                order.push(key);
                Some(())
            }
        }
    };
    match &an.nodes[id].shape {
        Shape::Local(table) => {
            let locals: Vec<_> = sources
                .iter()
                .map(|s| match &an.nodes[*s].shape {
                    Shape::Local(t) => Some(t.clone()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            for i in 0..an.max_len {
                for c in table.contexts_at(i) {
                    let Some(out) = table.at(c).and_then(|v| out_set.position(v)) else {
                        continue;
                    };
                    let key: Option<Vec<u32>> = locals
                        .iter()
                        .zip(sources)
                        .map(|(t, s)| {
                            t.at(c)
                                .and_then(|v| an.nodes[*s].all.position(v))
                                .map(|p| p as u32)
                        })
                        .collect();
                    push(&mut seen, &mut order, key?, out as u32)?;
                    if seen.len() > MAX_ROWS {
                        return None;
                    }
                }
            }
        }
        Shape::Derived { space, table } => {
            let columns: Vec<Vec<Option<crate::eval::atom::Atom>>> = sources
                .iter()
                .map(|s| an.values_over(*s, space))
                .collect::<Option<_>>()?;
            for (t, out) in table.iter().enumerate() {
                let Some(out) = out.as_ref().and_then(|v| out_set.position(v)) else {
                    continue;
                };
                let key: Option<Vec<u32>> = columns
                    .iter()
                    .zip(sources)
                    .map(|(col, s)| {
                        col[t]
                            .as_ref()
                            .and_then(|v| an.nodes[*s].all.position(v))
                            .map(|p| p as u32)
                    })
                    .collect();
                let Some(key) = key else { continue };
                push(&mut seen, &mut order, key, out as u32)?;
                if seen.len() > MAX_ROWS {
                    return None;
                }
            }
        }
        _ => return None,
    }
    let rows = order
        .into_iter()
        .map(|k| {
            let o = seen[&k];
            (k, o)
        })
        .collect();
    Some(Rows {
        sources: sources.to_vec(),
        rows,
        onehot_only: false,
        unfused: None,
    })
}

/// Builds a table's units; its output is one-hot.
pub fn materialize(l: &mut Lowerer, id: NodeId, rows: &Rc<Rows>) -> Result<OneHot, CompileError> {
    let values = l.an.nodes[id].all.clone();
    let label = l.graph.nodes[id].label.clone();
    let numberish: Vec<usize> = if rows.onehot_only {
        Vec::new()
    } else {
        (0..rows.sources.len())
            .filter(|&i| l.numberish(rows.sources[i]))
            .collect()
    };
    // At most one number is read; any other becomes one-hot first.
    // Else a count not yet one-hot is read through its code `β/(w+β)`
    // (ready one MLP sooner).
    let read = numberish.last().copied().or_else(|| {
        if rows.onehot_only {
            return None;
        }
        (0..rows.sources.len())
            .rev()
            .find(|&i| {
                let s = rows.sources[i];
                matches!(l.desc[s], super::Desc::Width) && !l.has_onehot(s)
            })
            .or_else(|| {
                // An affine map of one-hot nodes not one-hot itself yet
                // (`n_opens - n_closes`): steps on its number.
                (0..rows.sources.len()).rev().find(|&i| {
                    let s = rows.sources[i];
                    matches!(l.desc[s], super::Desc::Affine { .. }) && !l.has_onehot(s)
                })
            })
    });
    // Two counts of one attention layer, neither one-hot yet: read together
    // through `code₁ + λ·code₂` when some λ keeps the rows apart.
    if numberish.is_empty() && !rows.onehot_only {
        let counts: Vec<usize> = (0..rows.sources.len())
            .filter(|&i| {
                let s = rows.sources[i];
                matches!(l.desc[s], super::Desc::Width) && !l.has_onehot(s)
            })
            .collect();
        if let [a, b] = counts[..] {
            let n = l.n as f64;
            let (sa, sb) = (rows.sources[a], rows.sources[b]);
            // BOS weights: a count whose code exists keeps its β; else 1, or
            // large enough that the code is nearly linear in the count.
            let choices = |s: NodeId, l: &Lowerer| {
                if l.has_code(s) {
                    vec![l.beta[s]]
                } else {
                    vec![1.0, n * n, 2.0 * n * n]
                }
            };
            let (ba, bb) = (choices(sa, l), choices(sb, l));
            let (keep_a, keep_b) = (l.beta[sa], l.beta[sb]);
            for &beta_a in &ba {
                for &beta_b in &bb {
                    for lambda in [1.0, 2.0, 0.5, n + 1.0, 1.0 / (n + 1.0), n * n + 1.0] {
                        // An attempt that failed may have built a code: its
                        // β is then fixed.
                        let fixed =
                            |s: NodeId, b: f64, l: &Lowerer| l.has_code(s) && l.beta[s] != b;
                        if fixed(sa, beta_a, l) || fixed(sb, beta_b, l) {
                            continue;
                        }
                        l.beta[sa] = beta_a;
                        l.beta[sb] = beta_b;
                        let reads = [(a, 1.0), (b, lambda)];
                        if let Some(h) = gated(l, id, rows, &reads, &values, &label, true)? {
                            return Ok(h);
                        }
                    }
                }
            }
            if !l.has_code(sa) {
                l.beta[sa] = keep_a;
            }
            if !l.has_code(sb) {
                l.beta[sb] = keep_b;
            }
        }
    }
    if let Some(r) = read {
        if let Some(h) = gated(l, id, rows, &[(r, 1.0)], &values, &label, false)? {
            return Ok(h);
        }
    }
    // Every source one-hot; or, if this table fused its arguments' and
    // reads a number that has no cheap one-hot form (a mean, not a count),
    // the unfused table, whose arguments read it.
    if read.is_some_and(|r| l.numberish(rows.sources[r])) {
        if let Some(unfused) = &rows.unfused {
            return materialize(l, id, unfused);
        }
    }
    let mut hots: Vec<OneHot> = Vec::with_capacity(rows.sources.len());
    for &s in &rows.sources {
        hots.push(l.onehot_of(s)?);
    }
    let exact = hots.iter().all(|h| h.err.eps == 0.0 && h.err.fixed <= 1e-6);
    let in_err = hots.iter().fold(Err::ZERO, |e, h| e.plus(h.err));
    let avail = hots.iter().map(|h| h.avail).max().unwrap_or(-1);
    let at = next_sublayer(avail, true);
    // Sources whose equal numbers share a dimension give one row per
    // dimension tuple. The map's values keep a dimension each unless two
    // such rows differ only by the type of an equal number (`3` and `3.0`):
    // then equal numbers share one; any other difference is refused.
    let keyed: Vec<(Vec<usize>, usize)> = rows
        .rows
        .iter()
        .map(|(key, out)| {
            let ins = key
                .iter()
                .zip(&hots)
                .map(|(&v, h)| h.dims[v as usize])
                .filter(|&d| d != super::blocks::ONE)
                .collect();
            (ins, *out as usize)
        })
        .collect();
    let conflicts = |class: &[usize]| {
        let mut seen: HashMap<&[usize], usize> = HashMap::new();
        keyed
            .iter()
            .any(|(ins, out)| *seen.entry(ins.as_slice()).or_insert(class[*out]) != class[*out])
    };
    let own: Vec<usize> = (0..values.len()).collect();
    let merge = conflicts(&own);
    if merge && conflicts(&super::class_ids(&values)) {
        return Err(l.too_close(
            id,
            "its inputs' values (numbers equal as numbers that the map treats differently)",
        ));
    }
    let dims = super::value_dims(l, &values, &label, merge);
    let mut units: Vec<Unit> = Vec::with_capacity(rows.rows.len());
    let mut done: std::collections::HashSet<&[usize]> = std::collections::HashSet::new();
    for (ins, out) in &keyed {
        if !done.insert(ins.as_slice()) {
            continue;
        }
        let od = dims[*out];
        let o = [(od, 1.0)];
        if exact {
            units.push(row_unit(ins, &o));
        } else {
            units.extend(row_step(ins, &o));
        }
    }
    let err = if exact {
        in_err
    } else {
        l.require(
            id,
            in_err,
            0.2,
            format!("the table of `{label}` reading attention outputs"),
        );
        sum_rounding(l.dtype, 4.0 * rows.sources.len() as f64, rows.sources.len())
    };
    l.add_units(id, at, units);
    Ok(OneHot {
        dims,
        values,
        err,
        avail: at,
        view_err: None,
    })
}

/// Steps on the number of source `r`, gated by the others' one-hot rows;
/// `None` if the number cannot tell the rows apart (then a table of one-hot
/// sources is built instead).
#[allow(clippy::too_many_arguments, reason = "one table's whole description")]
fn gated(
    l: &mut Lowerer,
    id: NodeId,
    rows: &Rows,
    reads: &[(usize, f64)],
    values: &Rc<crate::compile::values::ValueSet>,
    label: &str,
    pair: bool,
) -> Result<Option<OneHot>, CompileError> {
    // The number read: `Σ coef·x` over the read sources, each its number or,
    // for a count, its code `β/(w+β)`.
    let read_at: Vec<usize> = reads.iter().map(|r| r.0).collect();
    let mut parts = Vec::with_capacity(reads.len());
    for &(r, c) in reads {
        let src = rows.sources[r];
        // A count's code is `β/(w+β)`; a number reads as itself.
        let beta = matches!(l.desc[src], super::Desc::Width).then_some(l.beta[src]);
        let set = l.an.nodes[src].all.clone();
        parts.push((r, c, beta, set));
    }
    let read = |beta: Option<f64>, v: f64| beta.map_or(v, |b| b / (v + b));
    let x_of = |key: &[u32]| -> f64 {
        parts
            .iter()
            .map(|(r, c, beta, set)| c * read(*beta, number(&set.values()[key[*r] as usize])))
            .sum()
    };
    // Points per gate tuple: (x, output index).
    let mut by_gate: HashMap<Vec<u32>, Vec<(f64, u32)>> = HashMap::new();
    let mut gate_order: Vec<Vec<u32>> = Vec::new();
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (key, out) in &rows.rows {
        let x = x_of(key);
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        let gate: Vec<u32> = key
            .iter()
            .enumerate()
            .filter(|(i, _)| !read_at.contains(i))
            .map(|(_, v)| *v)
            .collect();
        let list = by_gate.entry(gate.clone()).or_insert_with(|| {
            gate_order.push(gate);
            Vec::new()
        });
        list.push((x, *out));
    }
    // The map's values keep a dimension each, unless one number read maps
    // to an int and a float of one value (`3` and `3.0`): then equal
    // numbers share one.
    let gap_with = |by_gate: &HashMap<Vec<u32>, Vec<(f64, u32)>>, class: &[usize]| {
        let mut gap = f64::INFINITY;
        for list in by_gate.values() {
            let mut list: Vec<(f64, usize)> =
                list.iter().map(|&(x, o)| (x, class[o as usize])).collect();
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            list.dedup();
            for w in list.windows(2) {
                if w[0].1 != w[1].1 {
                    gap = gap.min(w[1].0 - w[0].0);
                }
            }
        }
        gap
    };
    let own: Vec<usize> = (0..values.len()).collect();
    let mut merge = false;
    let mut gap = gap_with(&by_gate, &own);
    if gap <= 0.0 {
        merge = true;
        let class = super::class_ids(values);
        gap = gap_with(&by_gate, &class);
        for list in by_gate.values_mut() {
            for p in list.iter_mut() {
                p.1 = class[p.1 as usize] as u32;
            }
        }
    }
    for list in by_gate.values_mut() {
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        list.dedup();
    }
    if gap <= 0.0 {
        return Ok(None);
    }
    // A pair read must keep its rows well apart for its steps' slopes.
    if pair && (gap.is_infinite() || (x_hi - x_lo) / gap > 1024.0) {
        return Ok(None);
    }
    // The steps' float rounding must fit their ramps (checked before any
    // head is built for the read).
    let x_bound: f64 = parts
        .iter()
        .map(|(_, c, beta, set)| {
            c.abs()
                * set
                    .numbers()
                    .iter()
                    .map(|&v| read(*beta, v).abs())
                    .fold(0.0, f64::max)
        })
        .sum();
    let step_scale = by_gate
        .values()
        .flat_map(|list| list.windows(2))
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| {
            let gap = w[1].0 - w[0].0;
            (4.0 / gap) * (x_bound + w[1].0.abs() + gap)
        })
        .fold(0.0, f64::max);
    let terms = rows.sources.len() + 4;
    if !feasible(sum_rounding(l.dtype, step_scale, terms), 1.0 / 16.0) {
        return Ok(None);
    }
    // The gates first: the heads the number needs may then read their
    // keys and queries through the gates' embeddings.
    let mut gates: Vec<OneHot> = Vec::new();
    for (i, &s) in rows.sources.iter().enumerate() {
        if !read_at.contains(&i) {
            gates.push(l.onehot_of(s)?);
        }
    }
    // Gate tuples whose one-hot dimensions coincide (an int and a float of
    // one number share a dimension) are one gate: their points merge, and
    // must still be apart where their outputs differ.
    let gate_dims_of = |gate: &[u32]| -> Vec<usize> {
        gate.iter()
            .zip(&gates)
            .map(|(&v, h)| h.dims[v as usize])
            .filter(|&d| d != super::blocks::ONE)
            .collect()
    };
    let mut merged: HashMap<Vec<usize>, Vec<(f64, u32)>> = HashMap::new();
    let mut merged_order: Vec<Vec<usize>> = Vec::new();
    for gate in &gate_order {
        let dims = gate_dims_of(gate);
        let list = merged.entry(dims.clone()).or_insert_with(|| {
            merged_order.push(dims);
            Vec::new()
        });
        list.extend(by_gate[gate].iter().copied());
    }
    if merged_order.len() < gate_order.len() {
        for list in merged.values_mut() {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            list.dedup();
        }
        let apart = merged.values().all(|list| {
            list.windows(2)
                .all(|w| w[0].1 == w[1].1 || w[1].0 - w[0].0 >= gap)
        });
        if !apart {
            return Ok(None);
        }
    }
    let mut num = super::Number {
        form: super::blocks::Form::default(),
        err: Err::ZERO,
        avail: -1,
    };
    for (r, c, beta, _) in &parts {
        let src = rows.sources[*r];
        let part = if beta.is_some() {
            l.code_of(src)?
        } else {
            l.number_of(src)?
        };
        num.form.add_scaled(&part.form, *c);
        num.err = num.err.plus(part.err.times(*c));
        num.avail = num.avail.max(part.avail);
    }
    let src = rows.sources[reads[0].0];
    if gap.is_finite() && !feasible(num.err, 0.3 * gap) {
        return Ok(None);
    }
    let x_mag = num.form.magnitude(&l.magnitude);
    let mut scale: f64 = 0.0;
    for list in merged.values() {
        for w in list.windows(2) {
            if w[0].1 != w[1].1 {
                let gap = w[1].0 - w[0].0;
                scale = scale.max((4.0 / gap) * (x_mag + w[1].0.abs() + gap));
            }
        }
    }
    let gate_err = gates.iter().fold(Err::ZERO, |e, h| e.plus(h.err));
    if !gates.is_empty() && !feasible(gate_err.times(scale + 3.0), 1.0 / 8.0) {
        return Ok(None);
    }
    let dims = super::value_dims(l, values, label, merge);
    let avail = gates
        .iter()
        .map(|h| h.avail)
        .chain([num.avail])
        .max()
        .unwrap_or(-1);
    let at = next_sublayer(avail, true);
    // Where the read can be anywhere (gates off): every combination of the
    // parts' extremes.
    let range = parts
        .iter()
        .fold((0.0, 0.0), |(lo, hi), (_, c, beta, set)| {
            let (a, b) = super::number_range(set);
            let (a, b) = (read(*beta, a), read(*beta, b));
            let (p, q) = (c * a.min(b), c * a.max(b));
            (lo + p.min(q), hi + p.max(q))
        });
    let mut units = Vec::new();
    let mut variation: f64 = 0.0;
    for gate_dims in &merged_order {
        let list = &merged[gate_dims];
        let points: Vec<Point> = list
            .iter()
            .map(|&(x, o)| Point {
                x,
                out: vec![(dims[o as usize], 1.0)],
            })
            .collect();
        let number_at = |out: &[(usize, f64)]| {
            let p = out
                .first()
                .and_then(|o| dims.iter().position(|d| *d == o.0));
            p.map_or(f64::NAN, |p| number(&values.values()[p]))
        };
        variation = variation.max(lookup_variation(&points, number_at));
        debug_assert!(lookup_scale(&points, x_mag) <= scale * (1.0 + 1e-12));
        debug_assert!(lookup_gap(&points) >= gap);
        units.extend(lookup(&num.form, &points, gate_dims, range));
    }
    if gap.is_finite() {
        l.require(
            id,
            num.err,
            0.3 * gap,
            format!(
                "telling apart the values of `{}` that `{label}` maps differently (gap {gap:.3e})",
                l.graph.nodes[src].label
            ),
        );
    }
    if !gates.is_empty() {
        l.require(
            id,
            gate_err.times(scale + 3.0),
            1.0 / 8.0,
            format!("the gates of `{label}`"),
        );
    }
    let rounding = sum_rounding(l.dtype, scale, num.form.terms.len() + gates.len() + 2);
    l.require(id, rounding, 1.0 / 16.0, format!("the steps of `{label}`"));
    if units.len() > 2 * MAX_ROWS {
        return Err(CompileError::too_large_tuples(
            &l.graph.nodes[id],
            units.len(),
        ));
    }
    l.add_units(id, at, units);
    Ok(Some(OneHot {
        dims,
        values: values.clone(),
        err: rounding,
        avail: at,
        // Only the active gate's steps are on; its first row reads the gates.
        view_err: variation.is_finite().then(|| {
            let first = values.magnitude();
            rounding
                .times(variation + 1.0)
                .plus(gate_err.plus(rounding).times(first))
        }),
    }))
}
