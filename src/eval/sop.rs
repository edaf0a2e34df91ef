//! The s-op DAG: lazy sequence operators and selectors.
//!
//! Evaluating a RASP program never computes a sequence by itself: it builds
//! this graph. Each node is immutable, atomically reference-counted (so one
//! graph serves every thread of a batch) and numbered in creation order, so a node's inputs always have smaller ids than the node.
//! The graph has exactly the primitives of the paper:
//!
//! | node | meaning |
//! |---|---|
//! | [`SOpKind::Tokens`] | the input, converted element-wise |
//! | [`SOpKind::Indices`], [`SOpKind::Length`] | position, sequence length |
//! | [`SOpKind::Const`] | an atom broadcast to every position |
//! | [`SOpKind::Map`] | an element-wise function of one or more s-ops |
//! | [`SOpKind::Aggregate`] | attention: a mean over selected positions |
//! | [`SOpKind::SelectorWidth`] | how many keys each query selects |
//! | [`SelectorKind::Select`] | a comparison of keys with queries |
//! | [`SelectorKind::And`] / `Or` / `Not` | selector combinations |
//!
//! Everything else the language offers (`atom in s`, `s[i]`, library
//! functions) is built from these, so a later stage that walks the graph (the
//! evaluator in `run.rs`, the compiler) needs to know only this table.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::atom::Atom;
use super::map::MapFn;
use crate::syntax::ast::CmpOp;
use crate::syntax::span::{Source, Span};

/// Where a node was created: a source file and a span in it.
#[derive(Clone)]
pub struct Origin {
    pub source: Source,
    pub span: Span,
    /// For code run inside a library function: the user's call that led
    /// there (diagnostics point at it).
    pub call_site: Option<Arc<Origin>>,
}

impl Origin {
    /// The source text the span covers, if it is short and on one line.
    pub fn snippet(&self) -> Option<String> {
        let text = self.source.inner().get(self.span.start..self.span.end)?;
        let text = text.trim();
        (!text.is_empty() && text.len() <= 48 && !text.contains('\n')).then(|| text.to_string())
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:?}", self.source.name(), self.span)
    }
}

/// How many levels of inputs a label built from them shows (deeper ones
/// are `…`).
const LABEL_DEPTH: usize = 3;

/// A unique node number; creation order, so inputs have smaller ids.
pub type NodeId = u64;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> NodeId {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// How `tokens_*` converts each input element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenConv {
    Str,
    Int,
    Float,
    Bool,
    AsIs,
}

impl TokenConv {
    pub fn name(self) -> &'static str {
        match self {
            TokenConv::Str => "tokens_str",
            TokenConv::Int => "tokens_int",
            TokenConv::Float => "tokens_float",
            TokenConv::Bool => "tokens_bool",
            TokenConv::AsIs => "tokens_asis",
        }
    }
}

/// A sequence operator: a lazy function from an input sequence to a sequence
/// of the same length.
#[derive(Clone)]
pub struct SOp(Arc<SOpNode>);

pub struct SOpNode {
    id: NodeId,
    kind: SOpKind,
    origin: Option<Origin>,
    name: OnceLock<Arc<str>>,
}

#[derive(Debug)]
pub enum SOpKind {
    Tokens(TokenConv),
    Indices,
    Length,
    Const(Atom),
    Map {
        func: MapFn,
        args: Vec<SOp>,
    },
    Aggregate {
        selector: Selector,
        values: SOp,
        default: Atom,
    },
    SelectorWidth(Selector),
}

/// A lazy n×n attention pattern: query position `q` selects key position `k`.
#[derive(Clone)]
pub struct Selector(Arc<SelectorNode>);

pub struct SelectorNode {
    id: NodeId,
    kind: SelectorKind,
    origin: Option<Origin>,
    name: OnceLock<Arc<str>>,
}

#[derive(Debug)]
pub enum SelectorKind {
    /// Selects `k` for `q` iff `keys[k] op queries[q]`.
    Select {
        keys: SOp,
        queries: SOp,
        op: CmpOp,
    },
    And(Selector, Selector),
    Or(Selector, Selector),
    Not(Selector),
}

impl SOp {
    pub fn new(kind: SOpKind, origin: Option<Origin>) -> SOp {
        SOp(Arc::new(SOpNode {
            id: next_id(),
            kind,
            origin,
            name: OnceLock::new(),
        }))
    }

    pub fn id(&self) -> NodeId {
        self.0.id
    }

    pub fn kind(&self) -> &SOpKind {
        &self.0.kind
    }

    pub fn origin(&self) -> Option<&Origin> {
        self.0.origin.as_ref()
    }

    /// The name the node was first bound to, if any.
    pub fn name(&self) -> Option<&str> {
        self.0.name.get().map(|n| &**n)
    }

    /// Names the node unless it already has a name (first binding wins, so
    /// `y = x;` never renames `x`).
    pub fn name_if_unnamed(&self, name: &str) {
        if self.0.name.get().is_none() {
            let _ = self.0.name.set(Arc::from(name));
        }
    }

    /// The s-ops and selectors this node reads.
    pub fn children(&self) -> (Vec<&SOp>, Vec<&Selector>) {
        match &self.0.kind {
            SOpKind::Tokens(_) | SOpKind::Indices | SOpKind::Length | SOpKind::Const(_) => {
                (vec![], vec![])
            }
            SOpKind::Map { args, .. } => (args.iter().collect(), vec![]),
            SOpKind::Aggregate {
                selector, values, ..
            } => (vec![values], vec![selector]),
            SOpKind::SelectorWidth(selector) => (vec![], vec![selector]),
        }
    }

    /// A short description of the node, for messages and drawings: its
    /// name, else the source text that made it when that is short, else
    /// the expression built from its inputs' labels
    /// (`selector_width(select(key, key, ==) and select(indices, indices, <))`).
    pub fn label(&self) -> String {
        self.label_within(LABEL_DEPTH)
    }

    fn label_within(&self, depth: usize) -> String {
        if let Some(name) = self.name() {
            return name.to_string();
        }
        match &self.0.kind {
            SOpKind::Tokens(conv) => conv.name().to_string(),
            SOpKind::Indices => "indices".into(),
            SOpKind::Length => "length".into(),
            SOpKind::Const(atom) => atom.repr(),
            _ => {
                if let Some(text) = self.origin().and_then(Origin::snippet) {
                    return text;
                }
                if depth == 0 {
                    return "…".into();
                }
                let sop = |s: &SOp| s.label_within(depth - 1);
                let sel = |s: &Selector| s.label_within(depth - 1);
                match &self.0.kind {
                    SOpKind::Map { func, args } => {
                        func.call_text(&args.iter().map(sop).collect::<Vec<_>>())
                    }
                    SOpKind::Aggregate {
                        selector, values, ..
                    } => format!("aggregate({}, {})", sel(selector), sop(values)),
                    SOpKind::SelectorWidth(selector) => {
                        format!("selector_width({})", sel(selector))
                    }
                    _ => String::new(),
                }
            }
        }
    }
}

impl Selector {
    pub fn new(kind: SelectorKind, origin: Option<Origin>) -> Selector {
        Selector(Arc::new(SelectorNode {
            id: next_id(),
            kind,
            origin,
            name: OnceLock::new(),
        }))
    }

    pub fn id(&self) -> NodeId {
        self.0.id
    }

    pub fn kind(&self) -> &SelectorKind {
        &self.0.kind
    }

    pub fn origin(&self) -> Option<&Origin> {
        self.0.origin.as_ref()
    }

    pub fn name(&self) -> Option<&str> {
        self.0.name.get().map(|n| &**n)
    }

    pub fn name_if_unnamed(&self, name: &str) {
        if self.0.name.get().is_none() {
            let _ = self.0.name.set(Arc::from(name));
        }
    }

    /// As [`SOp::label`]: the name, the short source text, or the
    /// expression (`select(key, key, ==) and select(indices, indices, <)`).
    pub fn label(&self) -> String {
        self.label_within(LABEL_DEPTH)
    }

    fn label_within(&self, depth: usize) -> String {
        if let Some(name) = self.name() {
            return name.to_string();
        }
        if let Some(text) = self.origin().and_then(Origin::snippet) {
            return text;
        }
        if depth == 0 {
            return "…".into();
        }
        let sop = |s: &SOp| s.label_within(depth - 1);
        let sel = |s: &Selector| s.label_within(depth - 1);
        match &self.0.kind {
            SelectorKind::Select { keys, queries, op } => {
                format!("select({}, {}, {})", sop(keys), sop(queries), op.symbol())
            }
            SelectorKind::And(a, b) => format!("({} and {})", sel(a), sel(b)),
            SelectorKind::Or(a, b) => format!("({} or {})", sel(a), sel(b)),
            SelectorKind::Not(a) => format!("(not {})", sel(a)),
        }
    }

    /// The s-ops and selectors this selector reads.
    pub fn children(&self) -> (Vec<&SOp>, Vec<&Selector>) {
        match &self.0.kind {
            SelectorKind::Select { keys, queries, .. } => (vec![keys, queries], vec![]),
            SelectorKind::And(a, b) | SelectorKind::Or(a, b) => (vec![], vec![a, b]),
            SelectorKind::Not(a) => (vec![], vec![a]),
        }
    }
}

impl fmt::Debug for SOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SOp({})", self.label())
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Selector({})", self.label())
    }
}

/// Dropping a long chain of nodes (a loop that builds 100,000 maps) must not
/// recurse once per node: unlink the children of uniquely owned nodes onto an
/// explicit stack first.
impl Drop for SOpNode {
    fn drop(&mut self) {
        let mut sops: Vec<SOp> = Vec::new();
        let mut sels: Vec<Selector> = Vec::new();
        take_children(&mut self.kind, &mut sops, &mut sels);
        drain(sops, sels);
    }
}

impl Drop for SelectorNode {
    fn drop(&mut self) {
        let mut sops: Vec<SOp> = Vec::new();
        let mut sels: Vec<Selector> = Vec::new();
        take_selector_children(&mut self.kind, &mut sops, &mut sels);
        drain(sops, sels);
    }
}

/// A childless node put in place of a child being moved out during drop.
fn placeholder_sop() -> SOp {
    SOp(Arc::new(SOpNode {
        id: 0,
        kind: SOpKind::Indices,
        origin: None,
        name: OnceLock::new(),
    }))
}

fn placeholder_selector() -> Selector {
    Selector(Arc::new(SelectorNode {
        id: 0,
        kind: SelectorKind::Select {
            keys: placeholder_sop(),
            queries: placeholder_sop(),
            op: CmpOp::Eq,
        },
        origin: None,
        name: OnceLock::new(),
    }))
}

fn take_children(kind: &mut SOpKind, sops: &mut Vec<SOp>, sels: &mut Vec<Selector>) {
    match kind {
        SOpKind::Map { args, .. } => sops.append(args),
        SOpKind::Aggregate {
            selector, values, ..
        } => {
            sops.push(std::mem::replace(values, placeholder_sop()));
            sels.push(std::mem::replace(selector, placeholder_selector()));
        }
        SOpKind::SelectorWidth(selector) => {
            sels.push(std::mem::replace(selector, placeholder_selector()))
        }
        _ => {}
    }
}

fn take_selector_children(kind: &mut SelectorKind, sops: &mut Vec<SOp>, sels: &mut Vec<Selector>) {
    match kind {
        SelectorKind::Select { keys, queries, .. } => {
            sops.push(std::mem::replace(keys, placeholder_sop()));
            sops.push(std::mem::replace(queries, placeholder_sop()));
        }
        SelectorKind::And(a, b) | SelectorKind::Or(a, b) => {
            sels.push(std::mem::replace(a, placeholder_selector()));
            sels.push(std::mem::replace(b, placeholder_selector()));
        }
        SelectorKind::Not(a) => sels.push(std::mem::replace(a, placeholder_selector())),
    }
}

/// Drops nodes one at a time; a node whose count falls to zero has its
/// children moved onto the stacks before it is freed.
fn drain(mut sops: Vec<SOp>, mut sels: Vec<Selector>) {
    loop {
        if let Some(sop) = sops.pop() {
            if let Ok(mut node) = Arc::try_unwrap(sop.0) {
                take_children(&mut node.kind, &mut sops, &mut sels);
            }
        } else if let Some(sel) = sels.pop() {
            if let Ok(mut node) = Arc::try_unwrap(sel.0) {
                take_selector_children(&mut node.kind, &mut sops, &mut sels);
            }
        } else {
            break;
        }
    }
}

/// Visits every node reachable from `roots` once, inputs before the nodes
/// that read them (an explicit stack: no recursion on deep graphs).
pub fn topological_order(roots: &[Node]) -> Vec<Node> {
    match topological_order_checked(roots, || Ok::<(), std::convert::Infallible>(())) {
        Ok(order) => order,
        Err(never) => match never {},
    }
}

/// [`topological_order`], calling `check` every few thousand nodes and
/// giving up with its error (a time or memory budget on a graph of
/// millions of nodes).
pub fn topological_order_checked<E>(
    roots: &[Node],
    check: impl FnMut() -> Result<(), E>,
) -> Result<Vec<Node>, E> {
    Ok(topological_slots(roots, check)?.0)
}

/// [`topological_order_checked`], with each node's index in the order.
pub fn topological_slots<E>(
    roots: &[Node],
    mut check: impl FnMut() -> Result<(), E>,
) -> Result<(Vec<Node>, foldhash::HashMap<NodeId, usize>), E> {
    // A node's index once it is placed; `usize::MAX` while its inputs are.
    let mut seen: foldhash::HashMap<NodeId, usize> = foldhash::HashMap::default();
    let mut order = Vec::new();
    let mut stack: Vec<(Node, bool)> = roots.iter().map(|r| (r.clone(), false)).collect();
    let mut steps = 0usize;
    while let Some((node, expanded)) = stack.pop() {
        steps += 1;
        if steps % 4096 == 0 {
            check()?;
        }
        if expanded {
            seen.insert(node.id(), order.len());
            order.push(node);
            continue;
        }
        if seen.contains_key(&node.id()) {
            continue;
        }
        seen.insert(node.id(), usize::MAX);
        let (sops, sels) = node.children();
        stack.push((node, true));
        for sel in sels.into_iter().rev() {
            if !seen.contains_key(&sel.id()) {
                stack.push((Node::Selector(sel), false));
            }
        }
        for sop in sops.into_iter().rev() {
            if !seen.contains_key(&sop.id()) {
                stack.push((Node::SOp(sop), false));
            }
        }
    }
    Ok((order, seen))
}

/// Either kind of graph node.
#[derive(Clone, Debug)]
pub enum Node {
    SOp(SOp),
    Selector(Selector),
}

impl Node {
    pub fn id(&self) -> NodeId {
        match self {
            Node::SOp(s) => s.id(),
            Node::Selector(s) => s.id(),
        }
    }

    fn children(&self) -> (Vec<SOp>, Vec<Selector>) {
        let (sops, sels) = match self {
            Node::SOp(s) => s.children(),
            Node::Selector(s) => s.children(),
        };
        (
            sops.into_iter().cloned().collect(),
            sels.into_iter().cloned().collect(),
        )
    }
}

/// The graph crosses threads: one copy serves every worker of a batch.
const _: () = {
    const fn thread_safe<T: Send + Sync>() {}
    thread_safe::<SOp>();
    thread_safe::<Selector>();
};
