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

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use super::atom::Atom;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::kernels::{exact_keys, string_ranks, Form, Keys, Mean, SelectPlan, Term};
use super::map::MapFn;
use super::matrix::Selection;
use super::order::{Chain, Plan, Slot, Step};
use super::sop::{Node, Origin, SOp, SOpKind, Selector, SelectorKind, TokenConv};
use super::value::{SeqType, Sequence};
use crate::syntax::ast::{BinaryOp, CmpOp};

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
    let plan = Plan::new(&[Node::Selector(selector.clone())])?;
    let mut run = Run::new(input, &plan, Kernels::Fast)?;
    run.execute()?;
    let value = plan
        .slot(selector.id())
        .and_then(|slot| run.selections[slot].take())
        .ok_or_else(|| {
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

/// Checks that an input is non-empty and not too long (its items may mix
/// types: `tokens` makes strings of them all; `tokens_asis` of a mixed
/// input is the error).
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

/// An s-op prepared for evaluation on many inputs: [`eval_sop`] without
/// working out the evaluation order again for each.
pub struct PreparedSOp {
    sop: SOp,
    /// The budget may run out while the plan is made: then every input
    /// gets that error.
    plan: EvalResult<Plan>,
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
        let plan = self.plan.as_ref().map_err(Clone::clone)?;
        let mut run = Run::new(input, plan, kernels)?;
        run.execute()?;
        plan.slot(self.sop.id())
            .and_then(|slot| run.columns[slot].take())
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
    /// How many not-yet-run nodes read each slot.
    readers_left: Vec<u32>,
    /// Each slot's column, from its evaluation until its last reader ran.
    columns: Vec<Option<Rc<Sequence>>>,
    selections: Vec<Option<Rc<SelValue>>>,
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
            columns: vec![None; plan.order.len()],
            selections: vec![None; plan.order.len()],
            kernels,
            budget: crate::memory::Budget::start(),
            interned: RefCell::new(Vec::new()),
        })
    }

    fn execute(&mut self) -> EvalResult<()> {
        let plan = self.plan;
        for (slot, (node, step)) in plan.order.iter().zip(&plan.steps).enumerate() {
            match (node, step) {
                (_, Step::Skip) => {}
                (Node::SOp(sop), Step::Chain(chain)) => {
                    let column = self.chain_column(chain)?;
                    self.columns[slot] = Some(Rc::new(column));
                    self.check_memory(sop)?;
                }
                (Node::SOp(sop), _) => {
                    let column = self.sop_column(sop)?;
                    self.columns[slot] = Some(Rc::new(column));
                    self.check_memory(sop)?;
                }
                (Node::Selector(sel), _) => {
                    let value = self.selection(sel)?;
                    self.selections[slot] = Some(Rc::new(value));
                }
            }
            for &child in &plan.children[slot] {
                let left = &mut self.readers_left[child];
                *left = left.saturating_sub(1);
                if *left == 0 && !plan.is_root(child) {
                    self.columns[child] = None;
                    self.selections[child] = None;
                }
            }
        }
        Ok(())
    }

    /// A fused chain's column: in one pass where no step can overflow,
    /// else step by step as unfused maps.
    fn chain_column(&mut self, chain: &Chain) -> EvalResult<Sequence> {
        let input = self.column(&chain.input);
        let Some((last, _)) = chain.steps.last() else {
            return Ok((*input).clone());
        };
        let fused = chain.fused(&input.values, || self.check_memory(last))?;
        if let Some(values) = fused {
            return Ok(Sequence {
                values,
                ty: SeqType::Int,
            });
        }
        let mut previous: Option<Slot> = None;
        for (sop, _) in &chain.steps {
            let SOpKind::Map { func, args } = sop.kind() else {
                return Err(self.fail(sop, ErrorKind::Type("internal: not a map".into()), None));
            };
            let column = self.map_column(sop, func, args)?;
            self.check_memory(sop)?;
            if let Some(slot) = previous.take() {
                self.columns[slot] = None;
            }
            if std::ptr::eq(sop, last) {
                return Ok(column);
            }
            let slot = self
                .plan
                .slot(sop.id())
                .ok_or_else(|| self.fail(sop, ErrorKind::Type("internal: no slot".into()), None))?;
            self.columns[slot] = Some(Rc::new(column));
            previous = Some(slot);
        }
        Ok((*input).clone())
    }

    /// Fails when the evaluation holds more memory than its budget.
    fn check_memory(&self, sop: &SOp) -> EvalResult<()> {
        match self.budget.check_now() {
            Ok(()) => Ok(()),
            Err(what) => Err(self.fail(sop, ErrorKind::exceeded(what), None)),
        }
    }

    fn column(&self, sop: &SOp) -> Rc<Sequence> {
        let held = self
            .plan
            .slot(sop.id())
            .and_then(|slot| self.columns[slot].as_ref());
        match held {
            Some(c) => c.clone(),
            None if matches!(sop.kind(), SOpKind::Const(_)) => {
                let SOpKind::Const(atom) = sop.kind() else {
                    unreachable!("matched above")
                };
                let values = vec![atom.clone(); self.n];
                let ty = SeqType::of(&values).unwrap_or(SeqType::Int);
                Rc::new(Sequence { values, ty })
            }
            // Unreachable by construction (inputs run first); an empty
            // column makes any mistake here visible as an error, not a panic.
            None => Rc::new(Sequence {
                values: Vec::new(),
                ty: SeqType::Int,
            }),
        }
    }

    /// Whether the run holds a column for `sop` (a constant has one only
    /// as a root).
    fn holds(&self, sop: &SOp) -> bool {
        self.plan
            .slot(sop.id())
            .is_some_and(|slot| self.columns[slot].is_some())
    }

    fn sel(&self, sel: &Selector) -> Rc<SelValue> {
        let held = self
            .plan
            .slot(sel.id())
            .and_then(|slot| self.selections[slot].as_ref());
        match held {
            Some(s) => s.clone(),
            None => Rc::new(SelValue::Bits(Rc::new(Selection::empty(self.n)))),
        }
    }

    /// Fails unless `extra` more n×n matrices fit beside the ones alive.
    fn reserve_bits(&self, sel: &Selector, extra: usize) -> EvalResult<()> {
        let bytes = self.n.saturating_mul(self.n.div_ceil(64) * 8);
        let alive = self
            .selections
            .iter()
            .flatten()
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
        let origin = match self.plan.first_reader(sop.id()) {
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
            SOpKind::Map { func, args } => return self.map_column(sop, func, args),
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
        let ty = SeqType::of(&values).ok_or_else(|| {
            let kind = if matches!(sop.kind(), SOpKind::Tokens(_)) {
                // Only `tokens_asis` keeps the items' types.
                ErrorKind::MixedInput(describe_mix(&values))
            } else {
                ErrorKind::MixedSequence(describe_mix(&values))
            };
            self.fail(sop, kind, None)
        })?;
        Ok(Sequence { values, ty })
    }

    /// A map's column: its function at every position. Constant inputs
    /// are read as their atom; a binary operator on two ints takes a loop
    /// of machine arithmetic, any other case (an overflow among them) the
    /// function itself.
    fn map_column(&self, sop: &SOp, func: &MapFn, args: &[SOp]) -> EvalResult<Sequence> {
        let n = self.n;
        let held: Vec<Arg> = args
            .iter()
            .map(|a| match a.kind() {
                SOpKind::Const(atom) if !self.holds(a) => Arg::Const(atom),
                _ => Arg::Column(self.column(a)),
            })
            .collect();
        if held
            .iter()
            .any(|a| matches!(a, Arg::Column(c) if c.values.len() != n))
        {
            return Err(self.fail(sop, ErrorKind::Type("internal: short column".into()), None));
        }
        let mut out = Vec::with_capacity(n);
        let general = |i: usize, out: &mut Vec<Atom>| -> EvalResult<()> {
            let value = match held.as_slice() {
                [a] => func.apply(&[a.at(i)]),
                [a, b] => func.apply(&[a.at(i), b.at(i)]),
                [a, b, c] => func.apply(&[a.at(i), b.at(i), c.at(i)]),
                more => {
                    let row: Vec<&Atom> = more.iter().map(|a| a.at(i)).collect();
                    func.apply(&row)
                }
            };
            out.push(value.map_err(|e| self.fail(sop, e, Some(i)))?);
            Ok(())
        };
        let mut every_int = false;
        if let (MapFn::Binary(op), [a, b]) = (func, held.as_slice()) {
            let int_op: Option<fn(i64, i64) -> Option<Atom>> = match op {
                BinaryOp::Add => Some(|x, y| x.checked_add(y).map(Atom::Int)),
                BinaryOp::Sub => Some(|x, y| x.checked_sub(y).map(Atom::Int)),
                BinaryOp::Mul => Some(|x, y| x.checked_mul(y).map(Atom::Int)),
                BinaryOp::Cmp(CmpOp::Eq) => Some(|x, y| Some(Atom::Bool(x == y))),
                BinaryOp::Cmp(CmpOp::Ne) => Some(|x, y| Some(Atom::Bool(x != y))),
                BinaryOp::Cmp(CmpOp::Lt) => Some(|x, y| Some(Atom::Bool(x < y))),
                BinaryOp::Cmp(CmpOp::Gt) => Some(|x, y| Some(Atom::Bool(x > y))),
                BinaryOp::Cmp(CmpOp::Le) => Some(|x, y| Some(Atom::Bool(x <= y))),
                BinaryOp::Cmp(CmpOp::Ge) => Some(|x, y| Some(Atom::Bool(x >= y))),
                _ => None,
            };
            if let (Some(int_op), true, true) = (int_op, a.may_be_int(), b.may_be_int()) {
                every_int = true;
                for i in 0..n {
                    match (a.at(i), b.at(i)) {
                        (Atom::Int(x), Atom::Int(y)) => match int_op(*x, *y) {
                            Some(v) => out.push(v),
                            None => general(i, &mut out)?,
                        },
                        _ => {
                            every_int = false;
                            general(i, &mut out)?;
                        }
                    }
                    if i % 4096 == 4095 {
                        self.check_memory(sop)?;
                    }
                }
            }
        }
        if !every_int && out.is_empty() {
            for i in 0..n {
                general(i, &mut out)?;
                // A map may build a long string at every position.
                if i % 1024 == 1023 {
                    self.check_memory(sop)?;
                }
            }
        }
        let ty = match func {
            // Every position took the machine loop (an overflow is an error).
            MapFn::Binary(BinaryOp::Cmp(_)) if every_int => Some(SeqType::Bool),
            MapFn::Binary(_) if every_int => Some(SeqType::Int),
            _ => SeqType::of(&out),
        };
        let ty =
            ty.ok_or_else(|| self.fail(sop, ErrorKind::MixedSequence(describe_mix(&out)), None))?;
        Ok(Sequence { values: out, ty })
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
pub(super) fn node_error(
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

/// One input of a map: a column, or a constant's atom.
enum Arg<'c> {
    Column(Rc<Sequence>),
    Const(&'c Atom),
}

impl Arg<'_> {
    fn at(&self, i: usize) -> &Atom {
        match self {
            Arg::Column(c) => &c.values[i],
            Arg::Const(atom) => atom,
        }
    }

    /// Whether every value may be an int (bools can sit among ints).
    fn may_be_int(&self) -> bool {
        match self {
            Arg::Column(c) => c.ty == SeqType::Int,
            Arg::Const(atom) => matches!(atom, Atom::Int(_)),
        }
    }
}
