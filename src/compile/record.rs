//! The model's record of what each head and MLP computes
//! ([`crate::model::record`]), from what the compiler knows at assembly:
//! each head's selector and the s-ops it moves, each MLP unit's owner.

use super::graph::{Graph, NodeId, SelId, SelOp};
use super::lower::blocks::Head;
use crate::eval::sop::Origin;
use crate::model::{HeadKind, HeadRecord, HeadSOp, MlpPart};

/// The most characters of source text a record keeps for one selector or
/// s-op.
const MAX_TEXT: usize = 240;

/// The records of the (merged) heads of each layer.
pub fn head_records(graph: &Graph, heads: &[Vec<Head>]) -> Vec<Vec<HeadRecord>> {
    heads
        .iter()
        .map(|layer| layer.iter().map(|head| head_record(graph, head)).collect())
        .collect()
}

fn head_record(graph: &Graph, head: &Head) -> HeadRecord {
    let about = &head.about;
    let (selector, selector_name) = match about.selector {
        Some(sel) => {
            let text = selector_text(graph, sel);
            // A label that is an identifier is the name the selector was
            // bound to (others are its text or built from its parts).
            let label = &graph.selectors[sel].label;
            let name = (*label != text && is_identifier(label)).then(|| label.clone());
            (text, name)
        }
        None => ("every key".to_string(), None),
    };
    HeadRecord {
        kind: match about.beta {
            Some(beta) => HeadKind::Count { beta },
            None => HeadKind::Aggregate,
        },
        selector,
        selector_name,
        sops: about
            .sops
            .iter()
            .map(|&(id, role)| {
                let node = &graph.nodes[id];
                let source = node
                    .origin
                    .as_ref()
                    .and_then(origin_text)
                    .filter(|text| *text != node.label);
                HeadSOp {
                    name: node.label.clone(),
                    role,
                    source,
                }
            })
            .collect(),
    }
}

/// The MLP parts of each of `n_layers` layers: the nodes whose units they
/// hold, by label, in unit order.
pub fn mlp_records(
    graph: &Graph,
    owners: &[Vec<(NodeId, usize)>],
    n_layers: usize,
) -> Vec<Vec<MlpPart>> {
    (0..n_layers)
        .map(|l| {
            owners
                .get(l)
                .map(|layer| {
                    layer
                        .iter()
                        .filter(|(_, units)| *units > 0)
                        .map(|&(id, units)| MlpPart {
                            sop: graph.nodes[id].label.clone(),
                            units,
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// A selector's source text, or, where it has none, its parts:
/// `select(keys, queries, <)`, `(a) and (b)`.
pub fn selector_text(graph: &Graph, sel: SelId) -> String {
    cut(&selector_text_within(graph, sel, 4))
}

/// [`selector_text`], parts nested at most `depth` deep (deeper ones by
/// their labels).
fn selector_text_within(graph: &Graph, sel: SelId, depth: usize) -> String {
    let node = &graph.selectors[sel];
    if let Some(text) = node.origin.as_ref().and_then(origin_text) {
        return text;
    }
    if depth == 0 {
        return node.label.clone();
    }
    let part = |s: SelId| {
        let text = selector_text_within(graph, s, depth - 1);
        if matches!(graph.selectors[s].op, SelOp::Select { .. }) || !text.contains(' ') {
            text
        } else {
            format!("({text})")
        }
    };
    match node.op {
        SelOp::Select { keys, queries, op } => format!(
            "select({}, {}, {})",
            graph.nodes[keys].label,
            graph.nodes[queries].label,
            op.symbol()
        ),
        SelOp::And(a, b) => format!("{} and {}", part(a), part(b)),
        SelOp::Or(a, b) => format!("{} or {}", part(a), part(b)),
        SelOp::Not(a) => format!("not {}", part(a)),
    }
}

/// The source text an origin covers, whitespace collapsed, at most
/// [`MAX_TEXT`] characters.
fn origin_text(origin: &Origin) -> Option<String> {
    let text = origin
        .source
        .inner()
        .get(origin.span.start..origin.span.end)?;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then(|| cut(&text))
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_TEXT - 1).collect();
    out.push('…');
    out
}
