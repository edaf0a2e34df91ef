//! Attention: selectors as scores, aggregates as heads, widths as codes.
//!
//! A selector is a conjunction of *groups*, one per `and`-ed part: each
//! group compares one keys node and one queries node (each a node of the
//! part itself onto which every other node it compares is a function, or
//! failing that the one-hot tuple of those nodes, built by an MLP), through
//! a predicate table over their values. Selected keys score `s` (the
//! model's sharpness), BOS `s/2` (a query that selects nothing attends to
//! BOS, whose value is the default), others at most 0; a counting head
//! scores BOS `ln β` above a selected key, so BOS receives `β/(w+β)`
//! (`1/(w+1)` for β = 1; a larger β, chosen by a reader of two counts, makes
//! the code nearly linear in `w`). The
//! BOS query attends to BOS alone, so every attention output at position 0
//! is a known constant, which key and value maps cancel through the `bos`
//! dimension.
//!
//! A select `keys == queries` of numbers whose keys are a function of the
//! index is scored by squared differences ([`super::square`]).

use std::collections::HashMap;
use std::rc::Rc;

use super::blocks::{row_step, row_unit, Head, HeadAbout, Unit, BOS, ONE};
use super::precision::{attention_rounding, sum_rounding, Err};
use super::square::{numeric_eq, square_score_maps, NumEq};
use super::{next_sublayer, Lowerer, Number, OneHot};
use crate::compile::error::{CompileError, CompileErrorKind};
use crate::compile::graph::{NodeId, Op, SelId, SelOp};
use crate::compile::values::set::{number, same_atom};
use crate::compile::values::{Shape, ValueSet, MAX_VALUES};
use crate::eval::atom::Atom;
use crate::model::SOpRole;

/// One `and`-ed part of a selector.
pub struct Group {
    pub keys: OneHot,
    pub queries: OneHot,
    /// `pred[k][q]`: a key of value index `k` is selected by a query of
    /// value index `q`.
    pub pred: Vec<Vec<bool>>,
}

/// The groups of selector `sel`.
pub fn groups(l: &mut Lowerer, sel: SelId) -> Result<Vec<Group>, CompileError> {
    let graph = l.graph;
    let mut out: Vec<Group> = Vec::new();
    for conjunct in graph.conjuncts(sel) {
        let leaves = graph.leaves(conjunct);
        let sides: Vec<(NodeId, NodeId)> = leaves
            .iter()
            .filter_map(|&leaf| match graph.selectors[leaf].op {
                SelOp::Select { keys, queries, .. } => Some((keys, queries)),
                _ => None,
            })
            .collect();
        let mut found: Vec<(OneHot, Vec<Vec<Option<Atom>>>)> = Vec::with_capacity(2);
        for side in [0usize, 1] {
            let nodes: Vec<NodeId> = sides
                .iter()
                .map(|p| if side == 0 { p.0 } else { p.1 })
                .collect();
            // A node of this side first, then of the other; one whose
            // one-hot values are built already before any, then `tokens` or
            // `indices` themselves (the two sides of
            // `select(indices, indices - 1, ==)` share `indices`, and so do
            // all the shifts of one program).
            let (this, other): (Vec<NodeId>, Vec<NodeId>) = if side == 0 {
                (
                    sides.iter().map(|p| p.0).collect(),
                    sides.iter().map(|p| p.1).collect(),
                )
            } else {
                (
                    sides.iter().map(|p| p.1).collect(),
                    sides.iter().map(|p| p.0).collect(),
                )
            };
            let mut candidates: Vec<NodeId> = this.into_iter().chain(other).collect();
            // Embeddings built already are bases too (a select of `indices`
            // reads them through `indices + 1` where a table built that).
            candidates.extend(
                (0..graph.nodes.len())
                    .filter(|&c| matches!(l.desc[c], super::Desc::Embed) && l.has_onehot(c)),
            );
            candidates.sort_by_key(|&c| {
                let raw = matches!(graph.nodes[c].op, Op::Tokens(_) | Op::Indices);
                (!l.has_onehot(c), !raw)
            });
            let mut chosen = None;
            for &base in &candidates {
                let views: Option<Vec<Vec<Option<Atom>>>> =
                    nodes.iter().map(|&n| view_on(l, n, base)).collect();
                if let Some(v) = views {
                    chosen = Some((l.onehot_of(base)?, v));
                    break;
                }
            }
            let chosen = match chosen {
                Some(c) => c,
                None => {
                    let mut distinct: Vec<NodeId> = Vec::new();
                    for &n in &nodes {
                        if !distinct.contains(&n) {
                            distinct.push(n);
                        }
                    }
                    let (hot, tuples) = product(l, sel, &distinct)?;
                    let views = nodes
                        .iter()
                        .map(|n| {
                            let at = distinct.iter().position(|d| d == n).unwrap_or(0);
                            tuples.iter().map(|t| t.get(at).cloned()).collect()
                        })
                        .collect();
                    (hot, views)
                }
            };
            found.push(chosen);
        }
        let (queries, query_views) = found
            .pop()
            .ok_or_else(|| CompileError::internal("no queries"))?;
        let (keys, key_views) = found
            .pop()
            .ok_or_else(|| CompileError::internal("no keys"))?;
        let ops: Vec<crate::syntax::ast::CmpOp> = leaves
            .iter()
            .filter_map(|&leaf| match graph.selectors[leaf].op {
                SelOp::Select { op, .. } => Some(op),
                _ => None,
            })
            .collect();
        let (nk, nq) = (keys.dims.len(), queries.dims.len());
        let mut pred = vec![vec![false; nq]; nk];
        let mut truth = vec![false; leaves.len()];
        for (k, row) in pred.iter_mut().enumerate() {
            for (q, cell) in row.iter_mut().enumerate() {
                for (i, t) in truth.iter_mut().enumerate() {
                    *t = match (&key_views[i][k], &query_views[i][q]) {
                        (Some(kv), Some(qv)) => Atom::compare(ops[i], kv, qv).unwrap_or(false),
                        _ => false,
                    };
                }
                *cell = graph.eval_tree(conjunct, &leaves, &truth);
            }
        }
        // Values sharing a dimension must be selected alike.
        let first_key = first_index_by_dim(&keys.dims);
        let first_query = first_index_by_dim(&queries.dims);
        for k in 0..nk {
            for q in 0..nq {
                if pred[k][q] != pred[first_key[k]][first_query[q]] {
                    return Err(shared_conflict(l, sel));
                }
            }
        }
        out.push(Group {
            keys,
            queries,
            pred,
        });
    }
    Ok(out)
}

fn shared_conflict(l: &Lowerer, sel: SelId) -> CompileError {
    CompileError::at_selector(
        CompileErrorKind::Precision,
        &l.graph.selectors[sel],
        "this selector tells apart numbers that are equal as numbers (an int and a float, \
         or floats within rounding), which the model does not carry"
            .into(),
        Some("round the values, or give them one type".into()),
    )
}

/// The values of node `id` wherever node `base` holds each of its values,
/// if `id` is a function of `base` on every position.
pub fn view_on(l: &Lowerer, id: NodeId, base: NodeId) -> Option<Vec<Option<Atom>>> {
    let an = &*l.an;
    let base_values = &an.nodes[base].all;
    if id == base {
        return Some(base_values.values().iter().cloned().map(Some).collect());
    }
    if let Shape::Const(c) = &an.nodes[id].shape {
        return Some(vec![Some(c.clone()); base_values.len()]);
    }
    let (Shape::Local(t), Shape::Local(b)) = (&an.nodes[id].shape, &an.nodes[base].shape) else {
        return None;
    };
    let reads = t.reads.union(b.reads);
    let mut of: Vec<Option<Atom>> = vec![None; base_values.len()];
    let mut seen = vec![false; base_values.len()];
    for i in 0..an.max_len {
        for c in crate::compile::values::local::contexts_at(reads, an.vocab.len(), an.max_len, i) {
            let value = t.at(c);
            let Some(bv) = b.at(c) else {
                if value.is_some() {
                    return None;
                }
                continue;
            };
            let j = base_values.position(bv)?;
            if seen[j] {
                let same = match (&of[j], value) {
                    (Some(x), Some(y)) => same_atom(x, y),
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    return None;
                }
            } else {
                seen[j] = true;
                of[j] = value.cloned();
            }
        }
    }
    Some(of)
}

/// The one-hot tuple of several nodes (values at one position), built by
/// an MLP over the tuples that occur.
fn product(l: &mut Lowerer, sel: SelId, nodes: &[NodeId]) -> Result<super::Product, CompileError> {
    if let Some(p) = l.products.get(nodes) {
        return Ok(p.clone());
    }
    let an = &*l.an;
    let mut tuples: Vec<Vec<u32>> = Vec::new();
    let locals: Option<Vec<_>> = nodes
        .iter()
        .map(|n| match &an.nodes[*n].shape {
            Shape::Local(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let too_many = |size: usize| {
        CompileError::at_selector(
            CompileErrorKind::TooLarge,
            &l.graph.selectors[sel],
            format!(
                "the tuples of the nodes this selector compares number {size}, more than the limit of {MAX_VALUES}"
            ),
            None,
        )
    };
    match locals {
        Some(locals) => {
            let reads = locals.iter().fold(
                Default::default(),
                |r: crate::compile::values::local::Reads, t| r.union(t.reads),
            );
            let mut seen = std::collections::HashSet::new();
            for i in 0..an.max_len {
                for c in
                    crate::compile::values::local::contexts_at(reads, an.vocab.len(), an.max_len, i)
                {
                    let key: Option<Vec<u32>> = locals
                        .iter()
                        .zip(nodes)
                        .map(|(t, n)| {
                            t.at(c)
                                .and_then(|v| an.nodes[*n].all.position(v))
                                .map(|p| p as u32)
                        })
                        .collect();
                    if let Some(key) = key {
                        if seen.insert(key.clone()) {
                            tuples.push(key);
                            if tuples.len() > MAX_VALUES {
                                return Err(too_many(tuples.len()));
                            }
                        }
                    }
                }
            }
        }
        None => {
            let sizes: Vec<usize> = nodes.iter().map(|n| an.nodes[*n].all.len()).collect();
            let total = sizes
                .iter()
                .try_fold(1usize, |a, s| a.checked_mul(*s))
                .unwrap_or(usize::MAX);
            if total > MAX_VALUES {
                return Err(too_many(total));
            }
            let mut digits = vec![0u32; nodes.len()];
            'outer: loop {
                tuples.push(digits.clone());
                for i in (0..nodes.len()).rev() {
                    digits[i] += 1;
                    if (digits[i] as usize) < sizes[i] {
                        continue 'outer;
                    }
                    digits[i] = 0;
                }
                break;
            }
        }
    }
    let atoms: Vec<Vec<Atom>> = tuples
        .iter()
        .map(|t| {
            t.iter()
                .zip(nodes)
                .map(|(&v, n)| an.nodes[*n].all.values()[v as usize].clone())
                .collect()
        })
        .collect();
    let mut hots = Vec::with_capacity(nodes.len());
    for &n in nodes {
        hots.push(l.onehot_of(n)?);
    }
    let label = format!(
        "({})",
        nodes
            .iter()
            .map(|n| l.graph.nodes[*n].label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Tuples whose values share dimensions (equal numbers) share one.
    let mut dims = Vec::with_capacity(atoms.len());
    let mut by_source: HashMap<Vec<usize>, usize> = HashMap::new();
    let mut fresh = vec![false; atoms.len()];
    for (i, t) in atoms.iter().enumerate() {
        let key: Vec<usize> = tuples[i]
            .iter()
            .zip(&hots)
            .map(|(&v, h)| h.dims[v as usize])
            .collect();
        if let Some(&d) = by_source.get(&key) {
            dims.push(d);
            continue;
        }
        let shown: Vec<String> = t.iter().map(Atom::short).collect();
        let d = l.alloc(format!("{label}:({})", shown.join(", ")), 0.0, 1.0);
        by_source.insert(key, d);
        fresh[i] = true;
        dims.push(d);
    }
    let exact = hots.iter().all(|h| h.err.eps == 0.0 && h.err.fixed <= 1e-6);
    let in_err = hots.iter().fold(Err::ZERO, |e, h| e.plus(h.err));
    let avail = hots.iter().map(|h| h.avail).max().unwrap_or(-1);
    let at = next_sublayer(avail, true);
    let mut units: Vec<Unit> = Vec::with_capacity(tuples.len());
    for ((t, &d), _) in tuples.iter().zip(&dims).zip(&fresh).filter(|(_, f)| **f) {
        let ins: Vec<usize> = t
            .iter()
            .zip(&hots)
            .map(|(&v, h)| h.dims[v as usize])
            .filter(|&x| x != ONE)
            .collect();
        if exact {
            units.push(row_unit(&ins, &[(d, 1.0)]));
        } else {
            units.extend(row_step(&ins, &[(d, 1.0)]));
        }
    }
    let owner = nodes[0];
    let err = if exact {
        in_err
    } else {
        l.require(owner, in_err, 0.2, format!("the tuples {label}"));
        sum_rounding(l.dtype, 4.0 * nodes.len() as f64, nodes.len())
    };
    l.add_units(owner, at, units);
    let values = Rc::new(ValueSet::from_atoms(
        (0..atoms.len()).map(|i| Atom::Int(i as i64)),
    ));
    let hot = OneHot {
        dims,
        values,
        err,
        avail: at,
        view_err: None,
    };
    let out = (hot, Rc::new(atoms));
    l.products.insert(nodes.to_vec(), out.clone());
    Ok(out)
}

/// The query and key maps of a conjunction of groups (sharpness 1):
/// selected pairs score 1, others at most 0; BOS scores `bos_score` for
/// every ordinary query and dominates for the BOS query. With no groups,
/// every key but BOS is selected.
fn score_maps(l: &Lowerer, groups: &[Group], bos_score: f64, head: &mut Head) {
    let mut c = 0;
    for g in groups {
        // Values sharing a dimension (equal numbers) are one key, one query.
        let keys = first_of_each_dim(&g.keys.dims);
        let queries = first_of_each_dim(&g.queries.dims);
        for &kv in &keys {
            head.k.push((g.keys.dims[kv], c, 1.0));
            for &qv in &queries {
                if g.pred[kv][qv] {
                    head.q.push((g.queries.dims[qv], c, 1.0));
                }
            }
            c += 1;
        }
    }
    if groups.is_empty() {
        head.q.push((ONE, c, 1.0));
        head.k.push((ONE, c, 1.0));
        head.k.push((BOS, c, -1.0));
        c += 1;
    }
    if groups.len() > 1 {
        head.k.push((ONE, c, 1.0));
        head.q.push((ONE, c, -((groups.len() - 1) as f64)));
        c += 1;
    }
    // Each group: one query value on (its coordinates then at most `1 +
    // D·e`, `D` values off by `e`), one key value on, and BOS's key fixes;
    // then the coordinates of ONE and BOS.
    let mut bound = if groups.is_empty() { 1.0 } else { 0.0 };
    for g in groups {
        let e = g
            .queries
            .err
            .at(super::precision::EPS_CAP)
            .max(g.keys.err.at(super::precision::EPS_CAP));
        let spread = g.queries.dims.len().max(g.keys.dims.len()) as f64 * e;
        bound += (1.0 + spread) * (1.0 + spread) + 2.0 * spread * (1.0 + spread) + 2.0;
    }
    head.score_bound = bound + groups.len().saturating_sub(1) as f64 + bos_score;
    let bos_coord = c;
    head.k.push((BOS, bos_coord, 1.0));
    head.q.push((ONE, bos_coord, bos_score));
    head.q
        .push((BOS, bos_coord, (2 * groups.len().max(1) + 2) as f64));
    head.qk = bos_coord + 1;
    // BOS's key is exactly the BOS coordinate.
    let mut at_bos = vec![0.0; head.qk];
    for &(d, col, w) in &head.k {
        if col != bos_coord {
            at_bos[col] += l.bos[d] * w;
        }
    }
    for (col, x) in at_bos.into_iter().enumerate() {
        if col != bos_coord && x != 0.0 {
            head.k.push((BOS, col, -x));
        }
    }
}

/// The indices of the first value on each distinct dimension, in order.
fn first_of_each_dim(dims: &[usize]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    (0..dims.len()).filter(|&i| seen.insert(dims[i])).collect()
}

/// For each value, the index of the first value on its dimension.
fn first_index_by_dim(dims: &[usize]) -> Vec<usize> {
    let mut first: HashMap<usize, usize> = HashMap::new();
    dims.iter()
        .enumerate()
        .map(|(i, &d)| *first.entry(d).or_insert(i))
        .collect()
}

/// Sets the `bos` row of a value map so that BOS's value is `wanted`.
fn fix_bos_value(l: &Lowerer, head: &mut Head, wanted: &[f64]) {
    let mut at_bos = vec![0.0; wanted.len()];
    for &(d, col, w) in &head.v {
        if col < at_bos.len() {
            at_bos[col] += l.bos[d] * w;
        }
    }
    for (col, want) in wanted.iter().enumerate() {
        let fix = want - at_bos[col];
        if fix != 0.0 {
            head.v.push((BOS, col, fix));
        }
    }
}

/// Requires the keys and queries one-hot values to be clean enough for the
/// score margins.
fn require_clean(l: &mut Lowerer, id: NodeId, groups: &[Group]) {
    for g in groups {
        for h in [&g.keys, &g.queries] {
            if h.err != Err::ZERO {
                let label = l.graph.nodes[id].label.clone();
                l.require(
                    id,
                    h.err,
                    1.0 / 16.0,
                    format!("the keys and queries of `{label}`"),
                );
            }
        }
    }
}

/// The value side of a head: its value map over coordinates `0..out.len()`
/// (each written to the dimension `out[c]`) and BOS's value.
struct Values {
    v: Vec<(usize, usize, f64)>,
    out: Vec<usize>,
    at_bos: Vec<f64>,
    avail: i64,
}

/// Adds the head of node `id` over `groups` (BOS scoring `bos_score` for
/// ordinary queries) carrying `values`, described by `about`; returns its
/// sub-layer.
fn add_attention(
    l: &mut Lowerer,
    id: NodeId,
    groups: &[Group],
    eq: Option<&NumEq>,
    bos_score: f64,
    values: Values,
    about: HeadAbout,
) -> i64 {
    let avail = groups
        .iter()
        .flat_map(|g| [g.keys.avail, g.queries.avail])
        .chain([values.avail])
        .chain(eq.map(|e| e.query.avail))
        .max()
        .unwrap_or(-1);
    let at = next_sublayer(avail, false);
    // Aggregates over one selector in a layer share a head; a count has
    // its own.
    let share = about.selector.filter(|_| about.beta.is_none());
    let mut head = Head {
        share,
        about,
        ov: values.out.len(),
        v: values.v,
        ..Head::default()
    };
    match eq {
        Some(eq) => square_score_maps(l, eq, bos_score, &mut head),
        None => score_maps(l, groups, bos_score, &mut head),
    }
    fix_bos_value(l, &mut head, &values.at_bos);
    for (c, &d) in values.out.iter().enumerate() {
        head.o.push((c, d, 1.0));
    }
    require_clean(l, id, groups);
    l.add_head(at, head);
    at
}

/// A mean of numbers: one head writing one dimension.
pub fn aggregate_number(l: &mut Lowerer, id: NodeId) -> Result<Number, CompileError> {
    let Op::Aggregate {
        selector,
        values,
        default,
    } = l.graph.nodes[id].op.clone()
    else {
        return Err(CompileError::internal("not an aggregate"));
    };
    let eq = numeric_eq(l, id, selector)?;
    let groups = match eq {
        Some(_) => Vec::new(),
        None => groups(l, selector)?,
    };
    let num = l.number_of(values)?;
    let label = l.graph.nodes[id].label.clone();
    let ins = l.an.nodes[values].all.clone();
    let out = l.an.nodes[id].all.clone();
    let d = number(&default);
    let nums: Vec<f64> = ins.values().iter().map(number).chain([d]).collect();
    let hi = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lo = nums.iter().copied().fold(f64::INFINITY, f64::min);
    let magnitude = hi.abs().max(lo.abs());
    let dim = l.alloc(label, d, magnitude);
    let v = num
        .form
        .with_one()
        .into_iter()
        .map(|(dd, w)| (dd, 0, w))
        .collect();
    let values = Values {
        v,
        out: vec![dim],
        at_bos: vec![d],
        avail: num.avail,
    };
    let about = HeadAbout {
        selector: Some(selector),
        sops: vec![(id, SOpRole::Mean)],
        beta: None,
    };
    let at = add_attention(l, id, &groups, eq.as_ref(), 0.5, values, about);
    let n = l.n as f64;
    let v_mag = num.form.magnitude(&l.magnitude);
    let fixed = sum_rounding(l.dtype, v_mag, num.form.terms.len())
        .plus(attention_rounding(l.dtype, n, magnitude))
        .plus(Err::fixed(out.radius))
        .plus(Err::fixed(magnitude * (n + 2.0) * f64::EPSILON));
    Ok(Number {
        form: super::blocks::Form::dim(dim),
        err: Err {
            eps: hi - lo,
            ..fixed
        }
        .plus(num.err),
        avail: at,
    })
}

/// A categorical read: one-hot values carried through the head.
pub fn aggregate_onehot(l: &mut Lowerer, id: NodeId) -> Result<OneHot, CompileError> {
    let Op::Aggregate {
        selector,
        values,
        default,
    } = l.graph.nodes[id].op.clone()
    else {
        return Err(CompileError::internal("not an aggregate"));
    };
    let eq = numeric_eq(l, id, selector)?;
    let groups = match eq {
        Some(_) => Vec::new(),
        None => groups(l, selector)?,
    };
    let ins = l.onehot_of(values)?;
    let label = l.graph.nodes[id].label.clone();
    let out = l.an.nodes[id].all.clone();
    // Equal numbers share output dimensions only where they share input
    // ones.
    let merge = first_of_each_dim(&ins.dims).len() < ins.dims.len();
    let dims = super::value_dims(l, &out, &label, merge);
    if let Some(j) = out.position(&default) {
        l.bos[dims[j]] = 1.0;
    }
    // Coordinates: one per output dimension.
    let out_dims: Vec<usize> = first_of_each_dim(&dims).iter().map(|&i| dims[i]).collect();
    let coords: HashMap<usize, usize> = out_dims.iter().enumerate().map(|(c, &d)| (d, c)).collect();
    let coord = |d: usize| coords.get(&d).copied().unwrap_or(0);
    let mut v: Vec<(usize, usize, f64)> = Vec::new();
    let mut written: HashMap<usize, usize> = HashMap::new();
    for (i, a) in ins.values.values().iter().enumerate() {
        if let Some(j) = out.position(a) {
            let (dim, c) = (ins.dims[i], coord(dims[j]));
            match written.get(&dim) {
                Some(&p) if p == c => continue,
                Some(_) => return Err(shared_conflict(l, selector)),
                None => {
                    written.insert(dim, c);
                    v.push((dim, c, 1.0));
                }
            }
        }
    }
    let mut at_bos = vec![0.0; out_dims.len()];
    if let Some(j) = out.position(&default) {
        at_bos[coord(dims[j])] = 1.0;
    }
    let values = Values {
        v,
        out: out_dims,
        at_bos,
        avail: ins.avail,
    };
    let about = HeadAbout {
        selector: Some(selector),
        sops: vec![(id, SOpRole::Read)],
        beta: None,
    };
    let at = add_attention(l, id, &groups, eq.as_ref(), 0.5, values, about);
    let n = l.n as f64;
    Ok(OneHot {
        dims,
        values: out,
        err: Err {
            eps: 1.0,
            ..attention_rounding(l.dtype, n, 1.0)
        }
        .plus(ins.err),
        avail: at,
        view_err: None,
    })
}

/// A counting head: BOS's weight `β/(w+β)` written to one dimension.
pub fn width_code(l: &mut Lowerer, id: NodeId) -> Result<Number, CompileError> {
    let selector = l.graph.nodes[id].op.selector();
    let groups = match selector {
        Some(sel) => groups(l, sel)?,
        None => Vec::new(),
    };
    let label = l.graph.nodes[id].label.clone();
    let beta = l.beta[id];
    let code = crate::model::record::code_text(beta);
    let dim = l.alloc(format!("{label}:{code}"), 1.0, 1.0);
    let values = Values {
        v: Vec::new(),
        out: vec![dim],
        at_bos: vec![1.0],
        avail: -1,
    };
    let about = HeadAbout {
        selector,
        sops: vec![(id, SOpRole::Count)],
        beta: Some(beta),
    };
    let at = add_attention(l, id, &groups, None, 1.0, values, about);
    if beta != 1.0 {
        // BOS's coordinate is the last; `ln β` on it for every query.
        if let Some(head) = l.last_head_mut(at) {
            let bos_coord = head.qk - 1;
            head.q_fixed.push((ONE, bos_coord, beta.ln()));
        }
    }
    let n = l.n as f64;
    Ok(Number {
        form: super::blocks::Form::dim(dim),
        err: Err {
            eps: 1.0,
            ..attention_rounding(l.dtype, n, 1.0)
        },
        avail: at,
    })
}
