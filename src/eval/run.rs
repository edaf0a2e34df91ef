//! Evaluating the s-op DAG on one input, a whole vector per node.
//!
//! Nodes are visited once each in topological order (an explicit order, no
//! recursion, so graphs of any depth are fine); each node's column is kept
//! only until its last reader has run. Every column is checked to be a
//! homogeneous sequence, as in the reference, so a type error is reported at
//! the node that produced it.
//!
//! Selectors are not evaluated as n×n matrices when they need not be: a
//! selector built from comparisons of exactly comparable columns stays a
//! [`Form`], and `aggregate` and `selector_width` read it through a
//! [`SelectPlan`] in O(n log n) or O(n log² n) (`kernels/`). Any other
//! selector is materialised as a bit matrix ([`Selection`]), whose size is
//! limited by bytes. [`Kernels::Bitset`] materialises every selector, the
//! straightforward evaluation the fast one is tested against.

use foldhash::{HashMap, HashMapExt};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use super::atom::Atom;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::kernels::{exact_keys, string_ranks, Form, Keys, Mean, SelectPlan, Term};
use super::matrix::Selection;
use super::sop::{
    topological_order, Node, NodeId, Origin, SOp, SOpKind, Selector, SelectorKind, TokenConv,
};
use super::value::{SeqType, Sequence};
use crate::syntax::ast::CmpOp;

/// The longest input an s-op is evaluated on. Selectors that need an n×n
/// bit matrix are limited further, by [`MAX_SELECTION_BYTES`].
pub const MAX_INPUT_LEN: usize = 4_000_000;

/// The most memory the bit-matrix selections alive at one time may take.
pub const MAX_SELECTION_BYTES: usize = 2 << 30;

/// How selectors are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// Comparisons kept symbolic and read in O(n log n) where possible;
    /// bit matrices otherwise.
    Fast,
    /// Every selector materialised as an n×n bit matrix.
    Bitset,
}

/// Evaluates `sop` on `input`.
pub fn eval_sop(sop: &SOp, input: &[Atom]) -> EvalResult<Sequence> {
    eval_sop_with(sop, input, Kernels::Fast)
}

/// Evaluates `sop` on `input` with the given selector kernels (the results
/// are the same; [`Kernels::Bitset`] is the reference for tests).
pub fn eval_sop_with(sop: &SOp, input: &[Atom], kernels: Kernels) -> EvalResult<Sequence> {
    PreparedSOp::new(sop).eval_with(input, kernels)
}

/// Evaluates `selector` on `input`, as a bit matrix.
pub fn eval_selector(selector: &Selector, input: &[Atom]) -> EvalResult<Selection> {
    let plan = Plan::new(&[Node::Selector(selector.clone())]);
    let mut run = Run::new(input, &plan, Kernels::Fast)?;
    run.execute()?;
    let value = run.selections.remove(&selector.id()).ok_or_else(|| {
        EvalError::new(ErrorKind::Type("internal: root not evaluated".into()), None)
    })?;
    let bits = run.read_bits(selector, &value)?;
    drop(value);
    Ok(Rc::try_unwrap(bits).unwrap_or_else(|rc| (*rc).clone()))
}

/// A selector's value during a run.
enum SelValue {
    /// Comparisons, never materialised; the plan is built on first use.
    Form {
        form: Form,
        plan: OnceCell<Option<Rc<SelectPlan>>>,
    },
    /// A bit matrix.
    Bits(Rc<Selection>),
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

/// How to evaluate some roots: their nodes in dependency order, what each
/// reads, and how many nodes read each. Worked out once per program, used
/// for every input.
struct Plan {
    order: Vec<Node>,
    /// `children[i]`: the nodes `order[i]` reads.
    children: Vec<Vec<NodeId>>,
    /// How many nodes read each node.
    readers: HashMap<NodeId, usize>,
    /// Where the first reader of each node was written (errors in builtin
    /// nodes such as `tokens_int` point there).
    first_reader: HashMap<NodeId, Origin>,
    roots: Vec<NodeId>,
}

impl Plan {
    fn new(roots: &[Node]) -> Plan {
        let order = topological_order(roots);
        let children: Vec<Vec<NodeId>> = order.iter().map(child_ids).collect();
        let mut readers = HashMap::new();
        let mut first_reader = HashMap::new();
        for (node, children) in order.iter().zip(&children) {
            let origin = match node {
                Node::SOp(s) => s.origin(),
                Node::Selector(s) => s.origin(),
            };
            for &child in children {
                *readers.entry(child).or_insert(0) += 1;
                if let Some(o) = origin {
                    first_reader.entry(child).or_insert_with(|| o.clone());
                }
            }
        }
        Plan {
            order,
            children,
            readers,
            first_reader,
            roots: roots.iter().map(Node::id).collect(),
        }
    }
}

/// An s-op prepared for evaluation on many inputs: [`eval_sop`] without
/// working out the evaluation order again for each.
pub struct PreparedSOp {
    sop: SOp,
    plan: Plan,
}

impl PreparedSOp {
    pub fn new(sop: &SOp) -> PreparedSOp {
        PreparedSOp {
            sop: sop.clone(),
            plan: Plan::new(&[Node::SOp(sop.clone())]),
        }
    }

    pub fn sop(&self) -> &SOp {
        &self.sop
    }

    /// Evaluates the s-op on `input` (as [`eval_sop`]).
    pub fn eval(&self, input: &[Atom]) -> EvalResult<Sequence> {
        self.eval_with(input, Kernels::Fast)
    }

    fn eval_with(&self, input: &[Atom], kernels: Kernels) -> EvalResult<Sequence> {
        let mut run = Run::new(input, &self.plan, kernels)?;
        run.execute()?;
        run.columns
            .remove(&self.sop.id())
            .map(|c| Rc::try_unwrap(c).unwrap_or_else(|rc| (*rc).clone()))
            .ok_or_else(|| {
                EvalError::new(ErrorKind::Type("internal: root not evaluated".into()), None)
            })
    }
}

struct Run<'a> {
    input: &'a [Atom],
    n: usize,
    plan: &'a Plan,
    /// How many not-yet-run nodes read each node.
    readers_left: HashMap<NodeId, usize>,
    columns: HashMap<NodeId, Rc<Sequence>>,
    selections: HashMap<NodeId, Rc<SelValue>>,
    kernels: Kernels,
    /// The memory this evaluation may hold (see [`crate::memory`]).
    budget: crate::memory::Budget,
    /// Key columns of live forms by the hash of their values
    /// ([`Run::intern`]); held weakly, so a column goes with its last form.
    interned: RefCell<Vec<(u64, std::rc::Weak<Vec<f64>>)>>,
}

impl<'a> Run<'a> {
    fn new(input: &'a [Atom], plan: &'a Plan, kernels: Kernels) -> EvalResult<Run<'a>> {
        check_input(input)?;
        Ok(Run {
            input,
            n: input.len(),
            plan,
            readers_left: plan.readers.clone(),
            columns: HashMap::new(),
            selections: HashMap::new(),
            kernels,
            budget: crate::memory::Budget::start(),
            interned: RefCell::new(Vec::new()),
        })
    }

    fn execute(&mut self) -> EvalResult<()> {
        let plan = self.plan;
        for (node, children) in plan.order.iter().zip(&plan.children) {
            match node {
                Node::SOp(sop) => {
                    let column = self.sop_column(sop)?;
                    self.columns.insert(sop.id(), Rc::new(column));
                    self.check_memory(sop)?;
                }
                Node::Selector(sel) => {
                    let value = self.selection(sel)?;
                    self.selections.insert(sel.id(), Rc::new(value));
                }
            }
            for child in children {
                if let Some(left) = self.readers_left.get_mut(child) {
                    *left -= 1;
                    if *left == 0 && !plan.roots.contains(child) {
                        self.columns.remove(child);
                        self.selections.remove(child);
                    }
                }
            }
        }
        Ok(())
    }

    /// Fails when the evaluation holds more memory than its budget.
    fn check_memory(&self, sop: &SOp) -> EvalResult<()> {
        match self.budget.check_now() {
            Ok(()) => Ok(()),
            Err(what) => Err(self.fail(sop, ErrorKind::exceeded(what), None)),
        }
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

    fn sel(&self, sel: &Selector) -> Rc<SelValue> {
        match self.selections.get(&sel.id()) {
            Some(s) => s.clone(),
            None => Rc::new(SelValue::Bits(Rc::new(Selection::empty(self.n)))),
        }
    }

    /// Fails unless `extra` more n×n matrices fit beside the ones alive.
    fn reserve_bits(&self, sel: &Selector, extra: usize) -> EvalResult<()> {
        let bytes = self.n.saturating_mul(self.n.div_ceil(64) * 8);
        let alive = self
            .selections
            .values()
            .filter(|v| matches!(***v, SelValue::Bits(_)))
            .count();
        if (alive + extra).saturating_mul(bytes) > MAX_SELECTION_BYTES {
            return Err(node_error(
                ErrorKind::Limit(format!(
                    "this selector has no fast kernel, and on an input of length {} its {}×{} bit matrices need more than the limit of {} MiB",
                    self.n,
                    self.n,
                    self.n,
                    MAX_SELECTION_BYTES >> 20
                )),
                sel.origin(),
                format!("`{}` is evaluated as a bit matrix", sel.label()),
                None,
            ));
        }
        Ok(())
    }

    /// A selector's value as a bit matrix, materialising a normal form
    /// (after [`Run::reserve_bits`]).
    fn bits(&self, value: &SelValue) -> Rc<Selection> {
        match value {
            SelValue::Bits(b) => b.clone(),
            SelValue::Form { form, .. } => Rc::new(form_selection(form, self.n)),
        }
    }

    /// A selector's value as a bit matrix, for a reader.
    fn read_bits(&self, sel: &Selector, value: &SelValue) -> EvalResult<Rc<Selection>> {
        if matches!(value, SelValue::Form { .. }) {
            self.reserve_bits(sel, 1)?;
        }
        Ok(self.bits(value))
    }

    /// A selector's plan, if it has one.
    fn plan(&self, value: &SelValue) -> Option<Rc<SelectPlan>> {
        match value {
            SelValue::Bits(_) => None,
            SelValue::Form { form, plan } => plan
                .get_or_init(|| SelectPlan::build(form, self.n).map(Rc::new))
                .clone(),
        }
    }

    /// `select(keys, queries, op)` as a form, when both columns compare
    /// exactly as `f64` (numbers, or strings by rank).
    fn compare_form(&self, keys: &Rc<Sequence>, queries: &Rc<Sequence>, op: CmpOp) -> Option<Form> {
        let (k, q) = if Rc::ptr_eq(keys, queries) {
            let k = self.intern(match exact_keys(keys) {
                Some(k) => k,
                None => string_ranks(keys, keys)?.0,
            });
            (k.clone(), k)
        } else {
            let (k, q) = match (exact_keys(keys), exact_keys(queries)) {
                (Some(k), Some(q)) => (k, q),
                _ => string_ranks(keys, queries)?,
            };
            (self.intern(k), self.intern(q))
        };
        Some(Form::compare(k, q, op))
    }

    /// The one shared copy of a key column with these values, so that forms
    /// can tell columns apart by pointer.
    fn intern(&self, values: Vec<f64>) -> Keys {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = foldhash::fast::FixedState::default().build_hasher();
        for v in &values {
            hasher.write_u64(v.to_bits());
        }
        let hash = hasher.finish();
        let mut interned = self.interned.borrow_mut();
        interned.retain(|(_, c)| c.strong_count() > 0);
        let found = interned
            .iter()
            .filter(|(h, _)| *h == hash)
            .filter_map(|(_, c)| c.upgrade())
            .find(|c| **c == values);
        if let Some(found) = found {
            return found;
        }
        let keys = Rc::new(values);
        interned.push((hash, Rc::downgrade(&keys)));
        keys
    }

    fn fail(&self, sop: &SOp, kind: impl Into<ErrorKind>, position: Option<usize>) -> EvalError {
        let builtin = sop.origin().is_none_or(|o| o.source.name() == "<builtin>");
        let origin = match self.plan.first_reader.get(&sop.id()) {
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
                    // A map may build a long string at every position.
                    if i % 1024 == 1023 {
                        self.check_memory(sop)?;
                    }
                }
                out
            }
            SOpKind::Aggregate {
                selector,
                values,
                default,
            } => {
                let value = self.sel(selector);
                let vals = self.column(values);
                if let Some(plan) = self.plan(&value) {
                    plan.aggregate(&vals, default)
                        .map_err(|(kind, q)| self.fail(sop, kind, Some(q)))?
                } else {
                    let sel = self.read_bits(selector, &value)?;
                    let mut out = Vec::with_capacity(n);
                    for q in 0..n {
                        out.push(self.aggregate_one(sop, &sel, &vals, default, q)?);
                    }
                    out
                }
            }
            SOpKind::SelectorWidth(selector) => {
                let value = self.sel(selector);
                if let Some(plan) = self.plan(&value) {
                    plan.widths()
                        .into_iter()
                        .map(|w| Atom::Int(w as i64))
                        .collect()
                } else {
                    let sel = self.read_bits(selector, &value)?;
                    (0..n).map(|q| Atom::Int(sel.width(q) as i64)).collect()
                }
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

    /// A selector node's value: a form where one exists (read through a
    /// plan if it has one, else materialised by its reader), else a bit
    /// matrix.
    fn selection(&self, sel: &Selector) -> EvalResult<SelValue> {
        let n = self.n;
        let fast = self.kernels == Kernels::Fast;
        let form = |form: Option<Form>| {
            form.filter(|_| fast).map(|form| SelValue::Form {
                form,
                plan: OnceCell::new(),
            })
        };
        let operand = |s: &Selector| -> (Rc<SelValue>, Option<Form>) {
            let value = self.sel(s);
            let f = match &*value {
                SelValue::Form { form, .. } => Some(form.clone()),
                SelValue::Bits(_) => None,
            };
            (value, f)
        };
        Ok(match sel.kind() {
            SelectorKind::Select { keys, queries, op } => {
                let keys = self.column(keys);
                let queries = self.column(queries);
                if let Some(value) = form(self.compare_form(&keys, &queries, *op)) {
                    return Ok(value);
                }
                self.reserve_bits(sel, 1)?;
                let bits = select_matrix(&keys, &queries, *op, n).map_err(|(kind, q)| {
                    node_error(
                        kind,
                        sel.origin(),
                        format!("`{}` fails", sel.label()),
                        Some(q),
                    )
                })?;
                SelValue::Bits(Rc::new(bits))
            }
            SelectorKind::And(a, b) | SelectorKind::Or(a, b) => {
                let ((va, fa), (vb, fb)) = (operand(a), operand(b));
                let is_and = matches!(sel.kind(), SelectorKind::And(..));
                let combined = match (&fa, &fb) {
                    (Some(x), Some(y)) if is_and => x.and(y),
                    (Some(x), Some(y)) => x.or(y),
                    _ => None,
                };
                if let Some(value) = form(combined) {
                    return Ok(value);
                }
                let temporaries = [&*va, &*vb]
                    .iter()
                    .filter(|v| matches!(v, SelValue::Form { .. }))
                    .count();
                self.reserve_bits(sel, 1 + temporaries)?;
                let (ba, bb) = (self.bits(&va), self.bits(&vb));
                SelValue::Bits(Rc::new(if is_and {
                    ba.zip_with(&bb, |x, y| x & y)
                } else {
                    ba.zip_with(&bb, |x, y| x | y)
                }))
            }
            SelectorKind::Not(a) => {
                let (va, fa) = operand(a);
                if let Some(value) = form(fa.and_then(|f| f.not())) {
                    return Ok(value);
                }
                let temporaries = usize::from(matches!(*va, SelValue::Form { .. }));
                self.reserve_bits(sel, 1 + temporaries)?;
                let ba = self.bits(&va);
                SelValue::Bits(Rc::new(ba.not()))
            }
        })
    }
}

/// A form as a bit matrix, one row at a time: each term's literals
/// intersected, the (disjoint) terms united.
fn form_selection(form: &Form, n: usize) -> Selection {
    let words = n.div_ceil(64);
    let mut term_row = vec![0u64; words];
    let mut scratch = vec![0u64; words];
    Selection::from_rows(n, |q, row| {
        for term in &form.terms {
            term_bits(term, q, n, &mut term_row, &mut scratch);
            for (r, t) in row.iter_mut().zip(&term_row) {
                *r |= t;
            }
        }
    })
}

/// The keys one term selects for query `q`, into `row`.
fn term_bits(term: &Term, q: usize, n: usize, row: &mut [u64], scratch: &mut [u64]) {
    // No literals: every key.
    for (w, word) in row.iter_mut().enumerate() {
        let bits = (n - w * 64).min(64);
        *word = if bits == 64 { !0 } else { (1u64 << bits) - 1 };
    }
    for lit in &term.literals {
        compare_row(&lit.keys, lit.queries[q], lit.op(), scratch);
        for (r, s) in row.iter_mut().zip(scratch.iter()) {
            *r &= s;
        }
    }
}

/// Fills `row` with the bits `keys[k] op query`.
fn compare_row(keys: &[f64], query: f64, op: CmpOp, row: &mut [u64]) {
    match op {
        CmpOp::Eq => fill_row(keys, row, |k| k == query),
        CmpOp::Ne => fill_row(keys, row, |k| k != query),
        CmpOp::Lt => fill_row(keys, row, |k| k < query),
        CmpOp::Gt => fill_row(keys, row, |k| k > query),
        CmpOp::Le => fill_row(keys, row, |k| k <= query),
        CmpOp::Ge => fill_row(keys, row, |k| k >= query),
    }
}

/// One row of comparisons, 64 keys per word (monomorphised per comparison
/// so the loop vectorises).
fn fill_row(keys: &[f64], row: &mut [u64], selected: impl Fn(f64) -> bool) {
    for (word, chunk) in row.iter_mut().zip(keys.chunks(64)) {
        let mut bits = 0u64;
        for (b, &kv) in chunk.iter().enumerate() {
            bits |= u64::from(selected(kv)) << b;
        }
        *word = bits;
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
    let mut acc = Mean::default();
    for v in values {
        acc.add(v)?;
    }
    Ok(acc.finish())
}

/// The selection `keys[k] op queries[q]`, with fast paths for numeric and
/// string columns. An error gives the failing query position.
fn select_matrix(
    keys: &Sequence,
    queries: &Sequence,
    op: CmpOp,
    n: usize,
) -> Result<Selection, (ErrorKind, usize)> {
    let fast = match (exact_keys(keys), exact_keys(queries)) {
        (Some(k), Some(q)) => Some((k, q)),
        _ => string_ranks(keys, queries),
    };
    if let Some((k, q)) = fast {
        return Ok(Selection::from_rows(n, |qi, row| {
            compare_row(&k, q[qi], op, row)
        }));
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

const _: () = {
    const fn thread_safe<T: Send + Sync>() {}
    thread_safe::<PreparedSOp>();
};
