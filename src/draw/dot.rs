//! A [`Flow`] as a graphviz DOT graph, for those who want graphviz's own
//! layout: one cluster per layer, one node per head and per layer's
//! element-wise steps (each an HTML-like table with the same rows and colours
//! as the SVG), and an edge wherever a node reads what another computed.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use super::{escape_html as escape, Flow, FlowHead, Row};
use crate::eval::sop::NodeId;

/// `text` escaped for a double-quoted DOT string.
fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// One table row: a tag, a label, `query_columns` empty cells (above a
/// matrix's query columns), then the values.
fn row(out: &mut String, tag: &str, colour: &str, r: &Row, query_columns: usize) {
    let label = if r.output {
        format!("<b>{}</b>", escape(&r.label))
    } else {
        escape(&r.label)
    };
    // The label spans the matrix's query columns too: no empty cells.
    let _ = write!(
        out,
        "<tr><td bgcolor=\"{colour}\">{tag}</td><td bgcolor=\"{colour}\" align=\"left\" colspan=\"{}\">{label}</td>",
        1 + query_columns
    );
    for v in &r.values {
        let _ = write!(out, "<td bgcolor=\"{colour}\">{}</td>", escape(v));
    }
    out.push_str("</tr>");
}

fn head_label(number: usize, h: &FlowHead) -> String {
    let q = h.queries.len();
    let mut out = format!(
        "<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\"><tr><td colspan=\"{}\" align=\"left\"><b>head {number}: {}</b></td></tr>",
        2 + q + h.matrix.len(),
        escape(&h.selector)
    );
    for k in &h.keys {
        row(&mut out, "key", "#97ffff", k, q);
    }
    for query in &h.queries {
        row(&mut out, "query", "#9aff9a", query, q);
    }
    // What the matrix shows, beside it (in the tag and label columns).
    let predicate = h.predicate();
    for (qi, selected) in h.matrix.iter().enumerate() {
        out.push_str("<tr>");
        if qi == 0 {
            let _ = write!(
                out,
                "<td colspan=\"2\" rowspan=\"{}\" align=\"left\" valign=\"top\"><i>{}</i></td>",
                h.matrix.len(),
                escape(&predicate)
            );
        }
        for query in &h.queries {
            let v = query.values.get(qi).map_or("", String::as_str);
            let _ = write!(out, "<td bgcolor=\"#9aff9a\">{}</td>", escape(v));
        }
        for on in selected {
            if *on {
                out.push_str("<td bgcolor=\"#dda0dd\">1</td>");
            } else {
                out.push_str("<td bgcolor=\"#fff5ea\"> </td>");
            }
        }
        out.push_str("</tr>");
    }
    for used in &h.uses {
        if let Some(values) = &used.values {
            row(&mut out, "values", "#ffb6c1", values, q);
        }
        row(&mut out, "result", "#ffd39b", &used.result, q);
    }
    out.push_str("</table>>");
    out
}

fn steps_label(rows: &[Row], input: bool) -> String {
    let mut out = String::from("<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\">");
    for r in rows {
        let (tag, colour) = if input && r.reads.is_empty() && !r.output {
            ("input", "#e0e0e0")
        } else {
            ("map", "#ffd39b")
        };
        row(&mut out, tag, colour, r, 0);
    }
    out.push_str("</table>>");
    out
}

/// The flow as a DOT digraph.
pub fn render(flow: &Flow) -> String {
    let mut out = String::from("digraph flow {\n");
    let _ = writeln!(
        out,
        "  label=\"{}\"; labelloc=t; fontname=\"monospace\";",
        quoted(&format!("{} on [{}]", flow.name, flow.input.join(", ")))
    );
    out.push_str("  node [shape=plaintext, fontname=\"monospace\", fontsize=10];\n");
    // Which graph node computes each s-op.
    let mut home: HashMap<NodeId, String> = HashMap::new();
    let mut needs: Vec<(String, Vec<NodeId>)> = Vec::new();
    for layer in &flow.layers {
        let _ = writeln!(
            out,
            "  subgraph cluster_layer{} {{\n    label=\"{}\"; style=filled; fillcolor=\"{}\";",
            layer.number,
            if layer.number == 0 {
                "input".to_string()
            } else {
                format!("layer {}", layer.number)
            },
            if layer.number == 0 {
                "#f2f2f2"
            } else {
                "#fffacd"
            }
        );
        // Heads side by side in their order: one rank, linked left to
        // right by invisible edges.
        if layer.heads.len() > 1 {
            let names: Vec<String> = (1..=layer.heads.len())
                .map(|i| format!("l{}_head{i}", layer.number))
                .collect();
            let _ = writeln!(
                out,
                "    {{ rank=same; {} [style=invis]; }}",
                names.join(" -> ")
            );
        }
        for (i, h) in layer.heads.iter().enumerate() {
            let node = format!("l{}_head{}", layer.number, i + 1);
            let _ = writeln!(
                out,
                "    {node} [label={}, style=filled, fillcolor=\"#ffe4c4\"];",
                head_label(i + 1, h)
            );
            let mut reads: Vec<NodeId> = h.keys.iter().chain(&h.queries).map(|r| r.id).collect();
            for used in &h.uses {
                reads.extend(used.values.iter().map(|r| r.id));
                home.insert(used.result.id, node.clone());
            }
            needs.push((node, reads));
        }
        if !layer.steps.is_empty() {
            let node = format!("l{}_steps", layer.number);
            let _ = writeln!(
                out,
                "    {node} [label={}];",
                steps_label(&layer.steps, layer.number == 0)
            );
            let mut reads = Vec::new();
            for r in &layer.steps {
                home.insert(r.id, node.clone());
                reads.extend(r.reads.iter().copied());
            }
            needs.push((node, reads));
        }
        out.push_str("  }\n");
    }
    let mut edges = BTreeSet::new();
    for (node, reads) in &needs {
        for id in reads {
            if let Some(from) = home.get(id) {
                if from != node {
                    edges.insert((from.clone(), node.clone()));
                }
            }
        }
    }
    for (from, to) in edges {
        let _ = writeln!(out, "  {from} -> {to};");
    }
    out.push_str("}\n");
    out
}
