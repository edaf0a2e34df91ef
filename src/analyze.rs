//! The paper's layer analysis: how many attention layers, and how many heads
//! in each, an s-op needs.
//!
//! The rule of "Thinking Like Transformers": element-wise maps are free; a
//! `select` sits one layer above the later of its keys and queries; an
//! aggregate sits at the later of its selector's layer and its values' layer
//! plus one; `selector_width` costs one head in its selector's layer (and
//! `length`, which the paper builds from `selector_width`, one head in layer
//! 1). The heads of a layer are its distinct selectors, where structurally
//! identical selects (the same comparison of the same computations) count
//! once.

use std::collections::HashMap;

use crate::eval::sop::{topological_order, Node, NodeId, SOp, SOpKind, Selector, SelectorKind};

/// The analysis of one s-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The name of the analysed s-op.
    pub sop: String,
    /// Layer 1 first; each holds its heads.
    pub layers: Vec<LayerInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub heads: Vec<HeadInfo>,
}

/// One attention head: a selector and what it computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadInfo {
    /// The selector, described (`select(indices, length - indices - 1, ==)`
    /// or its name).
    pub selector: String,
    /// The aggregates and selector widths that use it.
    pub uses: Vec<String>,
}

impl Analysis {
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    pub fn max_heads(&self) -> usize {
        self.layers.iter().map(|l| l.heads.len()).max().unwrap_or(0)
    }

    /// A small table, one row per head.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}: {} attention layer{}, at most {} head{} per layer\n",
            self.sop,
            self.layers.len(),
            if self.layers.len() == 1 { "" } else { "s" },
            self.max_heads(),
            if self.max_heads() == 1 { "" } else { "s" }
        );
        for (i, layer) in self.layers.iter().enumerate() {
            for (h, head) in layer.heads.iter().enumerate() {
                let layer_col = if h == 0 {
                    format!("layer {}", i + 1)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "  {layer_col:<9} head {}  {}  -> {}\n",
                    h + 1,
                    head.selector,
                    head.uses.join(", ")
                ));
            }
        }
        out
    }

    /// The analysis as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sop": self.sop,
            "layers": self.layers.len(),
            "max_heads": self.max_heads(),
            "heads_per_layer": self.layers.iter().map(|l| l.heads.len()).collect::<Vec<_>>(),
            "detail": self.layers.iter().enumerate().map(|(i, l)| serde_json::json!({
                "layer": i + 1,
                "heads": l.heads.iter().map(|h| serde_json::json!({
                    "selector": h.selector,
                    "uses": h.uses,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// A structural key: two nodes with equal keys compute the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Shape {
    Leaf(String),
    Map(String, usize, Vec<usize>),
    Aggregate(usize, usize, String),
    Width(usize),
    Select(usize, usize, &'static str),
    Combine(&'static str, Vec<usize>),
}

/// Where every node of an s-op's graph sits: the paper's schedule, which
/// [`analyze`] summarises and the drawings (`crate::draw`) lay out.
pub struct Schedule {
    /// Every node the s-op reads, inputs first.
    pub order: Vec<Node>,
    /// Each node's attention layer: 0 for what needs no attention (the input,
    /// constants and maps of them), else the layer whose heads (or, for a map,
    /// whose element-wise step after the heads) compute it.
    pub layer: HashMap<NodeId, usize>,
    /// The heads of layer 1, 2, ...: structurally identical selectors used in
    /// one layer share a head.
    pub heads: Vec<Vec<ScheduledHead>>,
}

/// One attention head of a [`Schedule`].
pub struct ScheduledHead {
    /// The selector; `None` for the head that gives `length` (the paper's
    /// `selector_width` of the all-true selector).
    pub selector: Option<Selector>,
    /// The selector described, as [`HeadInfo::selector`].
    pub description: String,
    /// The aggregates and selector widths it computes, in graph order.
    pub uses: Vec<SOp>,
}

impl Schedule {
    /// The layer of a node (0 when unknown).
    pub fn layer_of(&self, id: NodeId) -> usize {
        self.layer.get(&id).copied().unwrap_or(0)
    }
}

/// Analyses the s-op `root`, named `name`.
pub fn analyze(root: &SOp, name: &str) -> Analysis {
    let schedule = schedule(root);
    Analysis {
        sop: name.to_string(),
        layers: schedule
            .heads
            .iter()
            .map(|row| LayerInfo {
                heads: row
                    .iter()
                    .map(|head| {
                        let mut uses: Vec<String> = Vec::new();
                        for label in head.uses.iter().map(SOp::label) {
                            if !uses.contains(&label) {
                                uses.push(label);
                            }
                        }
                        HeadInfo {
                            selector: head.description.clone(),
                            uses,
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Schedules the graph of `root` into layers and heads.
pub fn schedule(root: &SOp) -> Schedule {
    let order = topological_order(&[Node::SOp(root.clone())]);
    let mut canon: HashMap<Shape, usize> = HashMap::new();
    let mut class: HashMap<NodeId, usize> = HashMap::new();
    let mut layer: HashMap<NodeId, usize> = HashMap::new();
    // Heads per layer, each with its selector's class.
    let mut heads: Vec<Vec<(usize, ScheduledHead)>> = Vec::new();
    let add_head = |heads: &mut Vec<Vec<(usize, ScheduledHead)>>,
                    at: usize,
                    sel_class: usize,
                    selector: Option<&Selector>,
                    use_: &SOp| {
        if at == 0 {
            return;
        }
        while heads.len() < at {
            heads.push(Vec::new());
        }
        let row = &mut heads[at - 1];
        match row.iter_mut().find(|(c, _)| *c == sel_class) {
            Some((_, head)) => {
                if !head.uses.iter().any(|u| u.id() == use_.id()) {
                    head.uses.push(use_.clone());
                }
            }
            None => row.push((
                sel_class,
                ScheduledHead {
                    selector: selector.cloned(),
                    description: selector
                        .map_or_else(|| "select(1, 1, ==)".to_string(), describe_selector),
                    uses: vec![use_.clone()],
                },
            )),
        }
    };
    let length_class = usize::MAX;
    for node in &order {
        let get = |id: NodeId, class: &HashMap<NodeId, usize>| {
            class.get(&id).copied().unwrap_or(usize::MAX - 1)
        };
        let (shape, at) = match node {
            Node::SOp(s) => match s.kind() {
                SOpKind::Tokens(conv) => (Shape::Leaf(conv.name().into()), 0),
                SOpKind::Indices => (Shape::Leaf("indices".into()), 0),
                SOpKind::Const(a) => (Shape::Leaf(format!("{}:{}", a.type_name(), a.repr())), 0),
                SOpKind::Length => {
                    add_head(&mut heads, 1, length_class, None, s);
                    (Shape::Leaf("length".into()), 1)
                }
                SOpKind::Map { func, args } => {
                    let ids = args.iter().map(|a| get(a.id(), &class)).collect();
                    let at = args
                        .iter()
                        .map(|a| layer.get(&a.id()).copied().unwrap_or(0))
                        .max()
                        .unwrap_or(0);
                    (Shape::Map(func.describe(), map_identity(func), ids), at)
                }
                SOpKind::Aggregate {
                    selector,
                    values,
                    default,
                } => {
                    let sel_at = layer.get(&selector.id()).copied().unwrap_or(1);
                    let val_at = layer.get(&values.id()).copied().unwrap_or(0) + 1;
                    let at = sel_at.max(val_at);
                    let sel_class = get(selector.id(), &class);
                    add_head(&mut heads, at, sel_class, Some(selector), s);
                    (
                        Shape::Aggregate(sel_class, get(values.id(), &class), default.repr()),
                        at,
                    )
                }
                SOpKind::SelectorWidth(selector) => {
                    let at = layer.get(&selector.id()).copied().unwrap_or(1);
                    let sel_class = get(selector.id(), &class);
                    add_head(&mut heads, at, sel_class, Some(selector), s);
                    (Shape::Width(sel_class), at)
                }
            },
            Node::Selector(sel) => match sel.kind() {
                SelectorKind::Select { keys, queries, op } => {
                    let at = layer
                        .get(&keys.id())
                        .copied()
                        .unwrap_or(0)
                        .max(layer.get(&queries.id()).copied().unwrap_or(0))
                        + 1;
                    (
                        Shape::Select(
                            get(keys.id(), &class),
                            get(queries.id(), &class),
                            op.symbol(),
                        ),
                        at,
                    )
                }
                SelectorKind::And(a, b) | SelectorKind::Or(a, b) => {
                    let word = if matches!(sel.kind(), SelectorKind::And(..)) {
                        "and"
                    } else {
                        "or"
                    };
                    let at = layer
                        .get(&a.id())
                        .copied()
                        .unwrap_or(1)
                        .max(layer.get(&b.id()).copied().unwrap_or(1));
                    (
                        Shape::Combine(word, vec![get(a.id(), &class), get(b.id(), &class)]),
                        at,
                    )
                }
                SelectorKind::Not(a) => (
                    Shape::Combine("not", vec![get(a.id(), &class)]),
                    layer.get(&a.id()).copied().unwrap_or(1),
                ),
            },
        };
        let next = canon.len();
        let c = *canon.entry(shape).or_insert(next);
        class.insert(node.id(), c);
        layer.insert(node.id(), at);
    }
    Schedule {
        order,
        layer,
        heads: heads
            .into_iter()
            .map(|row| row.into_iter().map(|(_, h)| h).collect())
            .collect(),
    }
}

/// Maps with fixed tables are the same map only if they share the table.
fn map_identity(func: &crate::eval::map::MapFn) -> usize {
    use crate::eval::map::MapFn;
    match func {
        MapFn::Lookup(t) => std::sync::Arc::as_ptr(t) as *const u8 as usize,
        MapFn::InList(l) => std::sync::Arc::as_ptr(l) as *const u8 as usize,
        _ => 0,
    }
}

/// `select(keys, queries, op)` with the operands' labels, or the selector's
/// name.
fn describe_selector(sel: &Selector) -> String {
    describe_nested(sel, 0)
}

fn describe_nested(sel: &Selector, depth: usize) -> String {
    if let Some(name) = sel.name() {
        return name.to_string();
    }
    if depth > 4 {
        return sel.label();
    }
    match sel.kind() {
        SelectorKind::Select { keys, queries, op } => {
            format!(
                "select({}, {}, {})",
                keys.label(),
                queries.label(),
                op.symbol()
            )
        }
        SelectorKind::And(a, b) => format!(
            "({} and {})",
            describe_nested(a, depth + 1),
            describe_nested(b, depth + 1)
        ),
        SelectorKind::Or(a, b) => format!(
            "({} or {})",
            describe_nested(a, depth + 1),
            describe_nested(b, depth + 1)
        ),
        SelectorKind::Not(a) => format!("(not {})", describe_nested(a, depth + 1)),
    }
}
