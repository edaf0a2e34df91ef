//! How to evaluate a graph: its nodes in dependency order, each in a slot of
//! its own, what each reads, how many read it, and the chains of affine
//! integer maps that run as one.
//!
//! Worked out once per program ([`super::run::PreparedSOp`]) and read by every
//! input's run, so a run keeps its columns in a vector indexed by slot
//! rather than in maps keyed by node id.
//!
//! **Fused chains.** A loop such as `for i in range(1000000) { s = s + 1; }`
//! makes a million maps, each reading the one before. Evaluated one column
//! pass each, that is a million passes over the input. Every map of the form
//! `x + c`, `c + x`, `x - c`, `c - x`, `x * c`, `c * x` or `-x` (`c` an int
//! constant) is an affine function `a·x + b` of its input on ints; a chain of
//! them, each read only by the next, is one affine function, and its column
//! one pass over the chain's input ([`Chain`]). Ints overflow as errors, so
//! the fused pass is taken only when no step can overflow on any position:
//! step `k` computes `A_k·x + B_k` exactly, a line in `x`, so checking it at
//! the column's least and greatest value checks every position. Otherwise,
//! or when the input column holds anything but ints, the chain runs step by
//! step, with the errors and values an unfused run gives.

use foldhash::{HashMap, HashSet, HashSetExt};

use super::atom::Atom;
use super::error::{EvalError, EvalResult};
use super::map::MapFn;
use super::sop::{topological_slots, Node, NodeId, Origin, SOp, SOpKind};
use crate::syntax::ast::{BinaryOp, UnaryOp};

/// A node's place in a [`Plan`]: its index in the evaluation order.
pub(super) type Slot = usize;

/// How to evaluate some roots.
pub(super) struct Plan {
    pub order: Vec<Node>,
    /// `children[slot]`: the slots `order[slot]` reads (a fused chain's
    /// last step reads the chain's input; its other steps read nothing).
    pub children: Vec<Vec<Slot>>,
    /// How many nodes read each slot.
    pub readers: Vec<u32>,
    /// The slot of the first reader of each slot, if any (errors in builtin
    /// nodes such as `tokens_int` point there).
    first_reader: Vec<Option<Slot>>,
    slots: HashMap<NodeId, Slot>,
    pub roots: Vec<Slot>,
    /// What each slot is evaluated as.
    pub steps: Vec<Step>,
}

/// What a run does at one slot.
pub(super) enum Step {
    /// Evaluates the node.
    Node,
    /// Nothing: a constant read where it is used, or a step of a fused
    /// chain, computed by the chain's last step.
    Skip,
    /// Evaluates a fused chain whose last step is this slot.
    Chain(Chain),
}

/// Affine int maps, each read only by the next, evaluated as one.
pub(super) struct Chain {
    /// The node the first step reads.
    pub input: SOp,
    /// The steps, first to last, each with its composed function of the
    /// chain's input, `A·x + B` (exact; `None` past 128 bits).
    pub steps: Vec<(SOp, Option<(i128, i128)>)>,
}

impl Plan {
    /// Fails only when the time or memory budget runs out first (a graph
    /// of millions of nodes takes seconds to order).
    pub fn new(roots: &[Node]) -> EvalResult<Plan> {
        let budget = crate::memory::Budget::start();
        let (order, slots) = topological_slots(roots, || budget.check_now())
            .map_err(|what| ordering_error(roots, what))?;
        let mut children: Vec<Vec<Slot>> = order
            .iter()
            .map(|node| {
                let (sops, sels) = match node {
                    Node::SOp(s) => s.children(),
                    Node::Selector(s) => s.children(),
                };
                let ids = sops
                    .iter()
                    .map(|s| s.id())
                    .chain(sels.iter().map(|s| s.id()));
                ids.filter_map(|id| slots.get(&id).copied()).collect()
            })
            .collect();
        let root_slots: Vec<Slot> = roots
            .iter()
            .filter_map(|r| slots.get(&r.id()).copied())
            .collect();
        let mut steps: Vec<Step> = order
            .iter()
            .enumerate()
            .map(|(slot, node)| match node {
                Node::SOp(s)
                    if matches!(s.kind(), SOpKind::Const(_)) && !root_slots.contains(&slot) =>
                {
                    Step::Skip
                }
                _ => Step::Node,
            })
            .collect();
        fuse_chains(&order, &slots, &root_slots, &mut children, &mut steps);
        let mut readers = vec![0u32; order.len()];
        let mut first_reader = vec![None; order.len()];
        for (slot, reads) in children.iter().enumerate() {
            for &child in reads {
                readers[child] += 1;
                if first_reader[child].is_none() && origin(&order[slot]).is_some() {
                    first_reader[child] = Some(slot);
                }
            }
        }
        Ok(Plan {
            order,
            children,
            readers,
            first_reader,
            slots,
            roots: root_slots,
            steps,
        })
    }

    pub fn slot(&self, id: NodeId) -> Option<Slot> {
        self.slots.get(&id).copied()
    }

    pub fn is_root(&self, slot: Slot) -> bool {
        self.roots.contains(&slot)
    }

    /// Where the first reader of `id` was written.
    pub fn first_reader(&self, id: NodeId) -> Option<&Origin> {
        let reader = self.first_reader[self.slot(id)?]?;
        origin(&self.order[reader])
    }
}

fn origin(node: &Node) -> Option<&Origin> {
    match node {
        Node::SOp(s) => s.origin(),
        Node::Selector(s) => s.origin(),
    }
}

fn ordering_error(roots: &[Node], what: crate::memory::Exceeded) -> EvalError {
    let origin = roots.first().and_then(origin);
    super::run::node_error(
        super::error::ErrorKind::exceeded(what),
        origin,
        "while ordering the nodes this reads".into(),
        None,
    )
}

/// `sop` as an affine function `a·x + b` of its one non-constant input on
/// ints, if it is one.
fn affine_step(sop: &SOp) -> Option<(&SOp, i64, i64)> {
    let SOpKind::Map { func, args } = sop.kind() else {
        return None;
    };
    let int = |s: &SOp| match s.kind() {
        SOpKind::Const(Atom::Int(c)) => Some(*c),
        _ => None,
    };
    let column = |s: &SOp| !matches!(s.kind(), SOpKind::Const(_));
    match (func, args.as_slice()) {
        (MapFn::Unary(UnaryOp::Neg), [x]) if column(x) => Some((x, -1, 0)),
        (MapFn::Binary(op), [x, c]) if column(x) => {
            let c = int(c)?;
            match op {
                BinaryOp::Add => Some((x, 1, c)),
                BinaryOp::Sub => Some((x, 1, c.checked_neg()?)),
                BinaryOp::Mul => Some((x, c, 0)),
                _ => None,
            }
        }
        (MapFn::Binary(op), [c, x]) if column(x) => {
            let c = int(c)?;
            match op {
                BinaryOp::Add => Some((x, 1, c)),
                BinaryOp::Sub => Some((x, -1, c)),
                BinaryOp::Mul => Some((x, c, 0)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Finds the chains of two or more affine int maps in which every step but
/// the last is read only by the next step and is not a root, and marks them
/// in `steps`: the last step evaluates the chain, reading the chain's input.
fn fuse_chains(
    order: &[Node],
    slots: &HashMap<NodeId, Slot>,
    roots: &[Slot],
    children: &mut [Vec<Slot>],
    steps: &mut [Step],
) {
    let mut readers = vec![0u32; order.len()];
    for reads in children.iter() {
        for &child in reads {
            readers[child] += 1;
        }
    }
    // `inner[slot]`: the slot this affine step's input is, when that input
    // is itself an affine step that only this node reads.
    let mut inner: Vec<Option<Slot>> = vec![None; order.len()];
    let mut absorbed = HashSet::new();
    for (slot, node) in order.iter().enumerate() {
        let Node::SOp(sop) = node else { continue };
        let Some((input, ..)) = affine_step(sop) else {
            continue;
        };
        let Some(&input_slot) = slots.get(&input.id()) else {
            continue;
        };
        let Node::SOp(input_sop) = &order[input_slot] else {
            continue;
        };
        if affine_step(input_sop).is_some()
            && readers[input_slot] == 1
            && !roots.contains(&input_slot)
        {
            inner[slot] = Some(input_slot);
            absorbed.insert(input_slot);
        }
    }
    for last in 0..order.len() {
        if inner[last].is_none() || absorbed.contains(&last) {
            continue;
        }
        // Walk back from the last step to the first.
        let mut chain_slots = vec![last];
        let mut at = last;
        while let Some(prev) = inner[at] {
            chain_slots.push(prev);
            at = prev;
        }
        chain_slots.reverse();
        let Node::SOp(first) = &order[chain_slots[0]] else {
            continue;
        };
        let Some((input, ..)) = affine_step(first) else {
            continue;
        };
        let input = input.clone();
        let Some(&input_slot) = slots.get(&input.id()) else {
            continue;
        };
        let mut composed = Some((1i128, 0i128));
        let mut chain_steps = Vec::with_capacity(chain_slots.len());
        for &slot in &chain_slots {
            let Node::SOp(sop) = &order[slot] else {
                continue;
            };
            let Some((_, a, b)) = affine_step(sop) else {
                continue;
            };
            composed = composed.and_then(|(ca, cb)| {
                let (a, b) = (i128::from(a), i128::from(b));
                Some((a.checked_mul(ca)?, a.checked_mul(cb)?.checked_add(b)?))
            });
            chain_steps.push((sop.clone(), composed));
        }
        for &slot in &chain_slots[..chain_slots.len() - 1] {
            steps[slot] = Step::Skip;
            children[slot].clear();
        }
        children[last] = vec![input_slot];
        steps[last] = Step::Chain(Chain {
            input,
            steps: chain_steps,
        });
    }
}

impl Chain {
    /// The chain's column on an input column of ints, when no step
    /// overflows at any position; `None` sends the chain step by step.
    /// `check` is called every few thousand steps and positions (the
    /// time and memory budget).
    pub fn fused(
        &self,
        input: &[Atom],
        mut check: impl FnMut() -> EvalResult<()>,
    ) -> EvalResult<Option<Vec<Atom>>> {
        let mut ints = Vec::with_capacity(input.len());
        for atom in input {
            match atom {
                Atom::Int(x) => ints.push(*x),
                _ => return Ok(None),
            }
        }
        let (Some(&lo), Some(&hi)) = (ints.iter().min(), ints.iter().max()) else {
            return Ok(None);
        };
        let in_range = |v: Option<i128>| {
            v.is_some_and(|v| v >= i128::from(i64::MIN) && v <= i128::from(i64::MAX))
        };
        let mut last = (1, 0);
        for (k, (_, composed)) in self.steps.iter().enumerate() {
            let Some((a, b)) = *composed else {
                return Ok(None);
            };
            let at = |x: i64| a.checked_mul(i128::from(x))?.checked_add(b);
            if !in_range(at(lo)) || !in_range(at(hi)) {
                return Ok(None);
            }
            last = (a, b);
            if k % 4096 == 4095 {
                check()?;
            }
        }
        let (a, b) = last;
        let mut out = Vec::with_capacity(ints.len());
        for (i, x) in ints.into_iter().enumerate() {
            // In range at both ends of the column, so at every position.
            out.push(Atom::Int((a * i128::from(x) + b) as i64));
            if i % 4096 == 4095 {
                check()?;
            }
        }
        Ok(Some(out))
    }
}
