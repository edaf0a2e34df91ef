//! Evaluating the s-op DAG on one input, a whole vector per node.
//!
//! Nodes are visited once each in topological order (an explicit order, no
//! recursion, so graphs of any depth are fine); each node's column is kept
//! only until its last reader has run. Every column is checked to be a
//! homogeneous sequence, as in the reference, so a type error is reported at
//! the node that produced it.

use std::collections::HashMap;
use std::rc::Rc;

use super::atom::Atom;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::matrix::Selection;
use super::sop::{
    topological_order, Node, NodeId, Origin, SOp, SOpKind, Selector, SelectorKind, TokenConv,
};
use super::value::{SeqType, Sequence};
use crate::syntax::ast::CmpOp;

/// The longest input an s-op is evaluated on (selections are n×n bits).
pub const MAX_INPUT_LEN: usize = 20_000;

/// The most memory the selections alive at one time may take.
pub const MAX_SELECTION_BYTES: usize = 2 << 30;

/// Evaluates `sop` on `input`.
pub fn eval_sop(sop: &SOp, input: &[Atom]) -> EvalResult<Sequence> {
    let mut run = Run::new(input, &[Node::SOp(sop.clone())])?;
    run.execute()?;
    run.columns
        .remove(&sop.id())
        .map(|c| Rc::try_unwrap(c).unwrap_or_else(|rc| (*rc).clone()))
        .ok_or_else(|| EvalError::new(ErrorKind::Type("internal: root not evaluated".into()), None))
}

/// Evaluates `selector` on `input`.
pub fn eval_selector(selector: &Selector, input: &[Atom]) -> EvalResult<Selection> {
    let mut run = Run::new(input, &[Node::Selector(selector.clone())])?;
    run.execute()?;
    run.selections
        .remove(&selector.id())
        .map(|c| Rc::try_unwrap(c).unwrap_or_else(|rc| (*rc).clone()))
        .ok_or_else(|| EvalError::new(ErrorKind::Type("internal: root not evaluated".into()), None))
}

/// Checks that an input is non-empty and not too long.
pub fn check_input(input: &[Atom]) -> EvalResult<()> {
    if input.is_empty() {
        return Err(EvalError::new(
            ErrorKind::InvalidInput("the input is empty".into()),
            None,
        ));
    }
    if input.len() > MAX_INPUT_LEN {
        return Err(EvalError::new(
            ErrorKind::Limit(format!(
                "an input of length {} is longer than the limit of {MAX_INPUT_LEN}",
                input.len()
            )),
            None,
        ));
    }
    Ok(())
}

struct Run<'a> {
    input: &'a [Atom],
    n: usize,
    order: Vec<Node>,
    /// How many not-yet-run nodes read each node.
    readers_left: HashMap<NodeId, usize>,
    /// Where the first reader of each node was written (errors in builtin
    /// nodes such as `tokens_int` point there).
    first_reader: HashMap<NodeId, Origin>,
    roots: Vec<NodeId>,
    columns: HashMap<NodeId, Rc<Sequence>>,
    selections: HashMap<NodeId, Rc<Selection>>,
}

impl<'a> Run<'a> {
    fn new(input: &'a [Atom], roots: &[Node]) -> EvalResult<Run<'a>> {
        check_input(input)?;
        let order = topological_order(roots);
        let mut readers_left = HashMap::new();
        let mut first_reader = HashMap::new();
        for node in &order {
            let origin = match node {
                Node::SOp(s) => s.origin(),
                Node::Selector(s) => s.origin(),
            };
            for child in child_ids(node) {
                *readers_left.entry(child).or_insert(0) += 1;
                if let Some(o) = origin {
                    first_reader.entry(child).or_insert_with(|| o.clone());
                }
            }
        }
        Ok(Run {
            input,
            n: input.len(),
            order,
            readers_left,
            first_reader,
            roots: roots.iter().map(Node::id).collect(),
            columns: HashMap::new(),
            selections: HashMap::new(),
        })
    }

    fn execute(&mut self) -> EvalResult<()> {
        let order = std::mem::take(&mut self.order);
        for node in &order {
            match node {
                Node::SOp(sop) => {
                    let column = self.sop_column(sop)?;
                    self.columns.insert(sop.id(), Rc::new(column));
                }
                Node::Selector(sel) => {
                    let bytes = self.n * self.n.div_ceil(64) * 8;
                    if (self.selections.len() + 1) * bytes > MAX_SELECTION_BYTES {
                        return Err(node_error(
                            ErrorKind::Limit(format!(
                                "evaluating this on an input of length {} needs more than {} MiB of selections at once",
                                self.n,
                                MAX_SELECTION_BYTES >> 20
                            )),
                            sel.origin(),
                            format!("`{}` is one of them", sel.label()),
                            None,
                        ));
                    }
                    let selection = self.selection(sel)?;
                    self.selections.insert(sel.id(), Rc::new(selection));
                }
            }
            for child in child_ids(node) {
                if let Some(left) = self.readers_left.get_mut(&child) {
                    *left -= 1;
                    if *left == 0 && !self.roots.contains(&child) {
                        self.columns.remove(&child);
                        self.selections.remove(&child);
                    }
                }
            }
        }
        Ok(())
    }

    fn column(&self, sop: &SOp) -> Rc<Sequence> {
        match self.columns.get(&sop.id()) {
            Some(c) => c.clone(),
            // Unreachable by construction (inputs run first); an empty
            // column makes any mistake here visible as an error, not a panic.
            None => Rc::new(Sequence {
                values: Vec::new(),
                ty: SeqType::Int,
            }),
        }
    }

    fn sel(&self, sel: &Selector) -> Rc<Selection> {
        match self.selections.get(&sel.id()) {
            Some(s) => s.clone(),
            None => Rc::new(Selection::empty(self.n)),
        }
    }

    fn fail(&self, sop: &SOp, kind: impl Into<ErrorKind>, position: Option<usize>) -> EvalError {
        let builtin = sop.origin().is_none_or(|o| o.source.name() == "<builtin>");
        let origin = match self.first_reader.get(&sop.id()) {
            Some(reader) if builtin => Some(reader),
            _ => sop.origin(),
        };
        node_error(kind, origin, format!("`{}` fails", sop.label()), position)
    }

    fn sop_column(&self, sop: &SOp) -> EvalResult<Sequence> {
        let n = self.n;
        let values: Vec<Atom> = match sop.kind() {
            SOpKind::Tokens(conv) => {
                let mut out = Vec::with_capacity(n);
                for (i, x) in self.input.iter().enumerate() {
                    let converted = match conv {
                        TokenConv::Str => Ok(x.to_str()),
                        TokenConv::Int => x.to_int(),
                        TokenConv::Float => x.to_float(),
                        TokenConv::Bool => Ok(x.to_bool()),
                        TokenConv::AsIs => Ok(x.clone()),
                    };
                    out.push(converted.map_err(|e| self.fail(sop, e, Some(i)))?);
                }
                out
            }
            SOpKind::Indices => (0..n).map(|i| Atom::Int(i as i64)).collect(),
            SOpKind::Length => vec![Atom::Int(n as i64); n],
            SOpKind::Const(atom) => vec![atom.clone(); n],
            SOpKind::Map { func, args } => {
                let cols: Vec<Rc<Sequence>> = args.iter().map(|a| self.column(a)).collect();
                let mut out = Vec::with_capacity(n);
                let mut row: Vec<&Atom> = Vec::with_capacity(cols.len());
                for i in 0..n {
                    row.clear();
                    for c in &cols {
                        match c.values.get(i) {
                            Some(v) => row.push(v),
                            None => {
                                return Err(self.fail(
                                    sop,
                                    ErrorKind::Type("internal: short column".into()),
                                    Some(i),
                                ))
                            }
                        }
                    }
                    out.push(func.apply(&row).map_err(|e| self.fail(sop, e, Some(i)))?);
                }
                out
            }
            SOpKind::Aggregate {
                selector,
                values,
                default,
            } => {
                let sel = self.sel(selector);
                let vals = self.column(values);
                let mut out = Vec::with_capacity(n);
                for q in 0..n {
                    out.push(self.aggregate_one(sop, &sel, &vals, default, q)?);
                }
                out
            }
            SOpKind::SelectorWidth(selector) => {
                let sel = self.sel(selector);
                (0..n).map(|q| Atom::Int(sel.width(q) as i64)).collect()
            }
        };
        let ty = SeqType::of(&values)
            .ok_or_else(|| self.fail(sop, ErrorKind::MixedSequence(describe_mix(&values)), None))?;
        Ok(Sequence { values, ty })
    }

    /// One query position of an aggregate: the default if nothing is
    /// selected, the value if one position is, else the mean (numbers) or the
    /// common value (identical non-numbers).
    fn aggregate_one(
        &self,
        sop: &SOp,
        sel: &Selection,
        vals: &Sequence,
        default: &Atom,
        q: usize,
    ) -> EvalResult<Atom> {
        let mut selected = sel.selected(q);
        let Some(first) = selected.next() else {
            return Ok(default.clone());
        };
        let Some(second) = selected.next() else {
            return Ok(vals.values[first].clone());
        };
        let positions = [first, second].into_iter().chain(selected);
        if vals.ty.is_numeric() {
            return mean(positions.map(|k| &vals.values[k]))
                .map_err(|e| self.fail(sop, e, Some(q)));
        }
        let first_value = &vals.values[first];
        let mut all_same = true;
        let mut shown = Vec::new();
        for k in positions {
            let v = &vals.values[k];
            if shown.len() < 6 {
                shown.push(v.short());
            }
            if !(v.type_name() == first_value.type_name() && v.py_eq(first_value)) {
                all_same = false;
            }
        }
        if all_same {
            return Ok(first_value.clone());
        }
        Err(self.fail(
            sop,
            ErrorKind::AverageNonNumbers(format!("[{}]", shown.join(", "))),
            Some(q),
        ))
    }

    fn selection(&self, sel: &Selector) -> EvalResult<Selection> {
        let n = self.n;
        Ok(match sel.kind() {
            SelectorKind::Select { keys, queries, op } => {
                let keys = self.column(keys);
                let queries = self.column(queries);
                select_matrix(&keys, &queries, *op, n).map_err(|(kind, q)| {
                    node_error(
                        kind,
                        sel.origin(),
                        format!("`{}` fails", sel.label()),
                        Some(q),
                    )
                })?
            }
            SelectorKind::And(a, b) => self.sel(a).zip_with(&self.sel(b), |x, y| x & y),
            SelectorKind::Or(a, b) => self.sel(a).zip_with(&self.sel(b), |x, y| x | y),
            SelectorKind::Not(a) => self.sel(a).not(),
        })
    }
}

/// An error at a node. A node made inside a library function is reported
/// at the user's call that made it, with the library line as a note.
fn node_error(
    kind: impl Into<ErrorKind>,
    origin: Option<&Origin>,
    label: String,
    position: Option<usize>,
) -> EvalError {
    let Some(origin) = origin else {
        return EvalError::new(kind, None)
            .with_label(label)
            .at_position(position);
    };
    match &origin.call_site {
        Some(site) => {
            let inner = Origin {
                call_site: None,
                ..origin.clone()
            };
            EvalError::new(kind, Some((**site).clone()))
                .with_label(label)
                .at_position(position)
                .with_frame(inner, "inside the library", "made here")
        }
        None => EvalError::new(kind, Some(origin.clone()))
            .with_label(label)
            .at_position(position),
    }
}

fn child_ids(node: &Node) -> Vec<NodeId> {
    let (sops, sels) = match node {
        Node::SOp(s) => s.children(),
        Node::Selector(s) => s.children(),
    };
    sops.iter()
        .map(|s| s.id())
        .chain(sels.iter().map(|s| s.id()))
        .collect()
}

/// Python's `sum(values) * 1.0 / len(values)`: ints summed exactly, floats
/// left to right.
fn mean<'v>(values: impl Iterator<Item = &'v Atom>) -> Result<Atom, ErrorKind> {
    let mut int_sum: i128 = 0;
    let mut float_sum: Option<f64> = None;
    let mut count: usize = 0;
    for v in values {
        count += 1;
        match (v, &mut float_sum) {
            (Atom::Float(x), None) => float_sum = Some(int_sum as f64 + x),
            (Atom::Float(x), Some(acc)) => *acc += x,
            (Atom::Int(i), None) => int_sum += i128::from(*i),
            (Atom::Bool(b), None) => int_sum += i128::from(*b),
            (Atom::Int(i), Some(acc)) => *acc += *i as f64,
            (Atom::Bool(b), Some(acc)) => *acc += f64::from(u8::from(*b)),
            (Atom::Str(_), _) => {
                return Err(ErrorKind::AverageNonNumbers(v.repr()));
            }
        }
    }
    let total = float_sum.unwrap_or(int_sum as f64);
    Ok(Atom::Float(total / count as f64))
}

/// A column's values as exactly representable f64s, if they all are numbers
/// of at most 53 bits (so comparisons can be done on f64 without error).
fn as_exact_f64(col: &Sequence) -> Option<Vec<f64>> {
    const EXACT: i64 = 1 << 53;
    col.values
        .iter()
        .map(|v| match v {
            Atom::Int(i) if (-EXACT..=EXACT).contains(i) => Some(*i as f64),
            Atom::Bool(b) => Some(f64::from(u8::from(*b))),
            Atom::Float(x) => Some(*x),
            _ => None,
        })
        .collect()
}

/// Two string columns as ranks in their joint sorted order, so that
/// comparing ranks compares the strings (code point order).
fn string_ranks(keys: &Sequence, queries: &Sequence) -> Option<(Vec<f64>, Vec<f64>)> {
    if keys.ty != SeqType::Str || queries.ty != SeqType::Str {
        return None;
    }
    let text = |a: &Atom| match a {
        Atom::Str(s) => Some(s.clone()),
        _ => None,
    };
    let mut all: Vec<std::rc::Rc<str>> = keys
        .values
        .iter()
        .chain(&queries.values)
        .filter_map(text)
        .collect();
    all.sort_unstable();
    all.dedup();
    let rank = |col: &Sequence| -> Option<Vec<f64>> {
        col.values
            .iter()
            .map(|a| {
                text(a)
                    .and_then(|s| all.binary_search(&s).ok())
                    .map(|r| r as f64)
            })
            .collect()
    };
    Some((rank(keys)?, rank(queries)?))
}

/// Fills a selection from numeric keys and queries with one comparison,
/// 64 keys at a time (monomorphised per comparison so the loop vectorises).
fn numeric_selection(keys: &[f64], queries: &[f64], cmp: impl Fn(f64, f64) -> bool) -> Selection {
    Selection::from_rows(queries.len(), |qi, row| {
        let qv = queries[qi];
        for (word, chunk) in row.iter_mut().zip(keys.chunks(64)) {
            let mut bits = 0u64;
            for (b, &kv) in chunk.iter().enumerate() {
                bits |= u64::from(cmp(kv, qv)) << b;
            }
            *word = bits;
        }
    })
}

/// The selection `keys[k] op queries[q]`, with fast paths for numeric and
/// string columns. An error gives the failing query position.
fn select_matrix(
    keys: &Sequence,
    queries: &Sequence,
    op: CmpOp,
    n: usize,
) -> Result<Selection, (ErrorKind, usize)> {
    let fast = match (as_exact_f64(keys), as_exact_f64(queries)) {
        (Some(k), Some(q)) => Some((k, q)),
        _ => string_ranks(keys, queries),
    };
    if let Some((k, q)) = fast {
        return Ok(match op {
            CmpOp::Eq => numeric_selection(&k, &q, |a, b| a == b),
            CmpOp::Ne => numeric_selection(&k, &q, |a, b| a != b),
            CmpOp::Lt => numeric_selection(&k, &q, |a, b| a < b),
            CmpOp::Gt => numeric_selection(&k, &q, |a, b| a > b),
            CmpOp::Le => numeric_selection(&k, &q, |a, b| a <= b),
            CmpOp::Ge => numeric_selection(&k, &q, |a, b| a >= b),
        });
    }
    let mut failure = None;
    let sel = Selection::from_rows(n, |qi, row| {
        if failure.is_some() {
            return;
        }
        let qv = &queries.values[qi];
        for (ki, kv) in keys.values.iter().enumerate() {
            match Atom::compare(op, kv, qv) {
                Ok(true) => row[ki / 64] |= 1 << (ki % 64),
                Ok(false) => {}
                Err(e) => {
                    failure = Some((ErrorKind::from(e), qi));
                    return;
                }
            }
        }
    });
    match failure {
        Some(f) => Err(f),
        None => Ok(sel),
    }
}

/// Names the types a mixed column holds, e.g. "ints and strings: [1, a]".
fn describe_mix(values: &[Atom]) -> String {
    let mut types: Vec<&str> = Vec::new();
    for v in values {
        let t = match v {
            Atom::Str(_) => "strings",
            Atom::Bool(_) => "bools",
            Atom::Int(_) => "ints",
            Atom::Float(_) => "floats",
        };
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let shown: Vec<String> = values.iter().take(8).map(Atom::short).collect();
    let more = if values.len() > 8 { ", ..." } else { "" };
    format!("{}: [{}{}]", types.join(" and "), shown.join(", "), more)
}
