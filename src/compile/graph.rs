//! The program as the compiler sees it: the interpreter's s-op DAG copied
//! into two flat tables (s-op nodes and selector nodes) indexed by id.
//!
//! Nodes are stored once, inputs before readers, and refer to each other by
//! id: a subexpression shared by many readers is one entry, never a cloned
//! tree, and every later stage walks the tables with loops, never recursion.
//! Only what the compiled s-op needs is copied.

use std::collections::HashMap;

use super::error::CompileError;
use crate::eval::atom::Atom;
use crate::eval::map::MapFn;
use crate::eval::sop::{self, topological_order, Origin, SOp, SOpKind, SelectorKind, TokenConv};
use crate::syntax::ast::{BinaryOp, CmpOp};

/// An s-op node's index in [`Graph::nodes`].
pub type NodeId = usize;
/// A selector's index in [`Graph::selectors`].
pub type SelId = usize;

/// What an s-op node computes.
#[derive(Debug, Clone)]
pub enum Op {
    Tokens(TokenConv),
    Indices,
    Length,
    Const(Atom),
    Map {
        func: MapFn,
        args: Vec<NodeId>,
    },
    Aggregate {
        selector: SelId,
        values: NodeId,
        default: Atom,
    },
    Width(SelId),
}

/// What a selector node computes.
#[derive(Debug, Clone, Copy)]
pub enum SelOp {
    Select {
        keys: NodeId,
        queries: NodeId,
        op: CmpOp,
    },
    And(SelId, SelId),
    Or(SelId, SelId),
    Not(SelId),
}

/// An s-op node with what a diagnostic needs to name it.
#[derive(Debug, Clone)]
pub struct Node {
    pub op: Op,
    pub label: String,
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone)]
pub struct SelNode {
    pub op: SelOp,
    pub label: String,
    pub origin: Option<Origin>,
}

/// The compiled s-op's DAG.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Inputs before readers.
    pub nodes: Vec<Node>,
    pub selectors: Vec<SelNode>,
    pub output: NodeId,
}

impl Op {
    /// The s-op nodes this node reads directly (not through a selector).
    pub fn args(&self) -> &[NodeId] {
        match self {
            Op::Map { args, .. } => args,
            Op::Aggregate { values, .. } => std::slice::from_ref(values),
            _ => &[],
        }
    }

    /// The selector this node reads, if any.
    pub fn selector(&self) -> Option<SelId> {
        match self {
            Op::Aggregate { selector, .. } | Op::Width(selector) => Some(*selector),
            _ => None,
        }
    }
}

impl Graph {
    /// Copies the DAG under `root` (iteratively; shared nodes once).
    pub fn build(root: &SOp) -> Result<Graph, CompileError> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut selectors: Vec<SelNode> = Vec::new();
        let mut sop_ids: HashMap<sop::NodeId, NodeId> = HashMap::new();
        let mut sel_ids: HashMap<sop::NodeId, SelId> = HashMap::new();
        let missing = || CompileError::internal("a node was read before it was copied");
        for node in topological_order(&[sop::Node::SOp(root.clone())]) {
            match node {
                sop::Node::SOp(s) => {
                    let find = |x: &SOp| sop_ids.get(&x.id()).copied().ok_or_else(missing);
                    let op = match s.kind() {
                        SOpKind::Tokens(conv) => Op::Tokens(*conv),
                        SOpKind::Indices => Op::Indices,
                        SOpKind::Length => Op::Length,
                        SOpKind::Const(a) => Op::Const(a.clone()),
                        SOpKind::Map { func, args } => Op::Map {
                            func: func.clone(),
                            args: args.iter().map(find).collect::<Result<_, _>>()?,
                        },
                        SOpKind::Aggregate {
                            selector,
                            values,
                            default,
                        } => Op::Aggregate {
                            selector: sel_ids.get(&selector.id()).copied().ok_or_else(missing)?,
                            values: find(values)?,
                            default: default.clone(),
                        },
                        SOpKind::SelectorWidth(selector) => {
                            let sel = sel_ids.get(&selector.id()).copied().ok_or_else(missing)?;
                            match split_width(&selectors, sel) {
                                Some(parts) => {
                                    // The width of selectors that never overlap is
                                    // the sum of their widths: one head each, not
                                    // one head over the product of their nodes.
                                    let origin = s.origin().cloned();
                                    let label = s.label();
                                    let count = parts.len();
                                    let mut widths = Vec::with_capacity(count);
                                    for (i, part) in parts.into_iter().enumerate() {
                                        widths.push(nodes.len());
                                        nodes.push(Node {
                                            op: Op::Width(part),
                                            label: format!("{label} (part {} of {count})", i + 1),
                                            origin: origin.clone(),
                                        });
                                    }
                                    let add = |args| Op::Map {
                                        func: MapFn::Binary(BinaryOp::Add),
                                        args,
                                    };
                                    let mut acc = widths[0];
                                    for (i, &w) in widths.iter().enumerate().take(count - 1).skip(1)
                                    {
                                        nodes.push(Node {
                                            op: add(vec![acc, w]),
                                            label: format!("{label} (parts 1 to {})", i + 1),
                                            origin: origin.clone(),
                                        });
                                        acc = nodes.len() - 1;
                                    }
                                    add(vec![acc, widths[count - 1]])
                                }
                                None => Op::Width(sel),
                            }
                        }
                    };
                    sop_ids.insert(s.id(), nodes.len());
                    nodes.push(Node {
                        op,
                        label: s.label(),
                        origin: s.origin().cloned(),
                    });
                }
                sop::Node::Selector(s) => {
                    let find = |x: &SOp| sop_ids.get(&x.id()).copied().ok_or_else(missing);
                    let find_sel =
                        |x: &sop::Selector| sel_ids.get(&x.id()).copied().ok_or_else(missing);
                    let op = match s.kind() {
                        SelectorKind::Select { keys, queries, op } => SelOp::Select {
                            keys: find(keys)?,
                            queries: find(queries)?,
                            op: *op,
                        },
                        SelectorKind::And(a, b) => SelOp::And(find_sel(a)?, find_sel(b)?),
                        SelectorKind::Or(a, b) => SelOp::Or(find_sel(a)?, find_sel(b)?),
                        SelectorKind::Not(a) => SelOp::Not(find_sel(a)?),
                    };
                    sel_ids.insert(s.id(), selectors.len());
                    selectors.push(SelNode {
                        op,
                        label: s.label(),
                        origin: s.origin().cloned(),
                    });
                }
            }
        }
        let output = sop_ids.get(&root.id()).copied().ok_or_else(missing)?;
        Ok(Graph {
            nodes,
            selectors,
            output,
        })
    }

    /// How many nodes read each node (s-op args, selects' keys and queries,
    /// and the output once).
    pub fn reader_counts(&self) -> Vec<u32> {
        let mut count = vec![0u32; self.nodes.len()];
        for node in &self.nodes {
            for &a in node.op.args() {
                count[a] += 1;
            }
        }
        for sel in &self.selectors {
            if let SelOp::Select { keys, queries, .. } = sel.op {
                count[keys] += 1;
                count[queries] += 1;
            }
        }
        count[self.output] += 1;
        count
    }

    /// The selector as an `and` of conjuncts (each not an `and`), in order.
    pub fn conjuncts(&self, sel: SelId) -> Vec<SelId> {
        let mut out = Vec::new();
        let mut stack = vec![sel];
        while let Some(s) = stack.pop() {
            match self.selectors[s].op {
                SelOp::And(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                _ => out.push(s),
            }
        }
        out
    }

    /// The selects (leaves) of a selector tree, in order, each once.
    pub fn leaves(&self, sel: SelId) -> Vec<SelId> {
        let mut out = Vec::new();
        let mut stack = vec![sel];
        while let Some(s) = stack.pop() {
            match self.selectors[s].op {
                SelOp::Select { .. } => {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                SelOp::And(a, b) | SelOp::Or(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                SelOp::Not(a) => stack.push(a),
            }
        }
        out
    }

    /// Evaluates a selector tree given each leaf's truth (`leaf(i)` for the
    /// `i`-th of [`Graph::leaves`]); iterative, post-order.
    pub fn eval_tree(&self, sel: SelId, leaves: &[SelId], truth: &[bool]) -> bool {
        // (node, expanded)
        let mut stack: Vec<(SelId, bool)> = vec![(sel, false)];
        let mut values: Vec<bool> = Vec::new();
        while let Some((s, expanded)) = stack.pop() {
            match self.selectors[s].op {
                SelOp::Select { .. } => {
                    let i = leaves.iter().position(|l| *l == s).unwrap_or(0);
                    values.push(truth.get(i).copied().unwrap_or(false));
                }
                SelOp::And(a, b) | SelOp::Or(a, b) if !expanded => {
                    stack.push((s, true));
                    stack.push((b, false));
                    stack.push((a, false));
                }
                SelOp::Not(a) if !expanded => {
                    stack.push((s, true));
                    stack.push((a, false));
                }
                SelOp::And(..) => {
                    let (y, x) = (values.pop(), values.pop());
                    values.push(x.unwrap_or(false) && y.unwrap_or(false));
                }
                SelOp::Or(..) => {
                    let (y, x) = (values.pop(), values.pop());
                    values.push(x.unwrap_or(false) || y.unwrap_or(false));
                }
                SelOp::Not(_) => {
                    let x = values.pop();
                    values.push(!x.unwrap_or(false));
                }
            }
        }
        values.pop().unwrap_or(false)
    }
}

/// The disjuncts of `sel` when it is an `or` of selectors that can never
/// select the same key for the same query and whose width is cheaper as a
/// sum: the disjuncts compare more than one node on a side, which one head
/// could only read through a table of their tuples.
fn split_width(selectors: &[SelNode], sel: SelId) -> Option<Vec<SelId>> {
    if !matches!(selectors[sel].op, SelOp::Or(..)) {
        return None;
    }
    let mut parts = Vec::new();
    let mut stack = vec![sel];
    while let Some(s) = stack.pop() {
        match selectors[s].op {
            SelOp::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            _ => parts.push(s),
        }
    }
    let selects: Vec<Vec<(NodeId, NodeId, CmpOp)>> = parts
        .iter()
        .map(|&p| conjunct_selects(selectors, p))
        .collect();
    let mut keys: Vec<NodeId> = Vec::new();
    let mut queries: Vec<NodeId> = Vec::new();
    for &(k, q, _) in selects.iter().flatten() {
        if !keys.contains(&k) {
            keys.push(k);
        }
        if !queries.contains(&q) {
            queries.push(q);
        }
    }
    if keys.len() < 2 && queries.len() < 2 {
        return None;
    }
    for i in 0..parts.len() {
        for j in i + 1..parts.len() {
            let apart = selects[i].iter().any(|&(k, q, x)| {
                selects[j]
                    .iter()
                    .any(|&(k2, q2, y)| k == k2 && q == q2 && outcomes(x) & outcomes(y) == 0)
            });
            if !apart {
                return None;
            }
        }
    }
    Some(parts)
}

/// The selects that `sel` is a conjunction of (others, such as an `or` or
/// a `not` inside it, are left out: they only narrow it further).
fn conjunct_selects(selectors: &[SelNode], sel: SelId) -> Vec<(NodeId, NodeId, CmpOp)> {
    let mut out = Vec::new();
    let mut stack = vec![sel];
    while let Some(s) = stack.pop() {
        match selectors[s].op {
            SelOp::And(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            SelOp::Select { keys, queries, op } => out.push((keys, queries, op)),
            SelOp::Or(..) | SelOp::Not(_) => {}
        }
    }
    out
}

/// The orderings of a key against a query (bits: less, equal, greater)
/// for which `op` holds.
fn outcomes(op: CmpOp) -> u8 {
    const LESS: u8 = 1;
    const EQUAL: u8 = 2;
    const GREATER: u8 = 4;
    match op {
        CmpOp::Eq => EQUAL,
        CmpOp::Ne => LESS | GREATER,
        CmpOp::Lt => LESS,
        CmpOp::Le => LESS | EQUAL,
        CmpOp::Gt => GREATER,
        CmpOp::Ge => GREATER | EQUAL,
    }
}
