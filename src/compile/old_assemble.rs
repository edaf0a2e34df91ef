//! Schedule and assembly: the compile graph to transformer weights.
//!
//! # Residual layout
//!
//! While a model is built, dimension 0 is `one` (1 at every position); in
//! the finished model its weights become the biases (`b_Q`, `b_K`, `b_V`,
//! `b_in`) and the residual stream starts with `bos` (1 at position 0 only);
//! then each node's dimensions: one per value (one-hot) for a
//! categorical node, one holding the number for a numerical node, plus, for
//! `selector_width` and `length`, a scratch dimension holding the width's
//! code `β/(w+β)` (`1/(w+1)` unless a pair read chose a larger β); a width
//! read only as a number has no one-hot dimensions.
//!
//! # BOS
//!
//! Every query scores BOS half as high as a selected key, so a query that
//! selects nothing attends to BOS, whose value vector is the aggregate's
//! default. The BOS query itself is made to attend only to BOS, so every
//! node's content at position 0 is a known constant (`bos_residual`): key and
//! value maps subtract it through the `bos` direction, making BOS's key and
//! value exactly what the head needs, and every MLP unit is switched off at
//! position 0 through the same direction. Nothing at position 0 is decoded.
//!
//! # Exactness
//!
//! Attention is sharp but not hard: with score `s` on selected keys and `s/2`
//! on BOS, at most `2·N·e^(-s/2)` of a query's weight falls outside the
//! intended keys. Each head's `s` is derived from what its result must keep
//! apart: one-hot entries (a tolerance of 1/32), the smallest gap between two
//! possible means times their range, or the smallest gap between two width
//! codes some reader must tell apart (`1/((N+1)(N+2))` for `1/(w+1)`). MLPs read their inputs through clean steps
//! `ReLU(L(x−t)+1) − ReLU(L(x−t))`, exactly 0 or 1 once the input is within a
//! quarter gap of a known value, so their outputs are exact and errors never
//! accumulate through them. A table row over exact one-hot inputs (embeddings
//! and MLP outputs) needs only one unit, `ReLU(Σx − (k−1))`.

use ndarray::{Array1, Array2, Array3};

use super::error::CompileError;
use super::old_graph::{all_tuples, GNode, Graph, Group, Id, Kind, Pair};
use super::old_values::as_f64;
use crate::eval::atom::Atom;
use crate::model::{
    Attention, Dtype, Layer, Mlp, Model, ModelConfig, ModelMeta, OutputDecoding, FORMAT_VERSION,
};

const ONE: usize = 0;
const BOS: usize = 1;

/// Where each node lives in the residual stream and when it is computed.
struct Layout {
    /// First dimension of each node (none for constants).
    start: Vec<Option<usize>>,
    /// The scratch dimension (the code `β/(w+β)`) of width and length nodes.
    scratch: Vec<Option<usize>>,
    labels: Vec<String>,
    /// Sub-layer after which each node is available: -1 for embeddings,
    /// `2l` for attention in layer `l`, `2l+1` for its MLP.
    avail: Vec<i64>,
    /// The residual stream's content at position 0.
    bos: Vec<f64>,
    /// The largest range and smallest gap among numerical nodes.
    numeric_tolerance: (f64, f64),
    /// The smallest difference between width codes some reader needs.
    code_gap: f64,
}

/// A head in f64, before padding: `[d_model, d]` and `[d, d_model]` maps.
struct Head {
    q: Array2<f64>,
    k: Array2<f64>,
    v: Array2<f64>,
    o: Array2<f64>,
    /// For an aggregate's head: the aggregate and its sharpness, so heads
    /// over the same selector can be merged.
    shared: Option<(Id, f64)>,
}

/// MLP units in f64: input weights `[d_model]`, bias, output weights.
struct Unit {
    w_in: Vec<(usize, f64)>,
    bias: f64,
    w_out: Vec<(usize, f64)>,
}

/// Compiles a graph into a model.
pub fn assemble(graph: &Graph, source: &str, sop_name: &str) -> Result<Model, CompileError> {
    let live = live_nodes(graph);
    let layout = layout(graph, &live)?;
    // Internally dimension 0 is `one`; in the model it becomes the biases.
    let d_model = layout.labels.len();
    let d_out = d_model - 1;
    let n = graph.max_len;
    let last = live.iter().map(|&id| layout.avail[id]).max().unwrap_or(-1);
    let n_layers = usize::try_from(last.max(0) / 2 + 1).unwrap_or(1);
    let mut heads: Vec<Vec<Head>> = (0..n_layers).map(|_| Vec::new()).collect();
    let mut units: Vec<Vec<Unit>> = (0..n_layers).map(|_| Vec::new()).collect();
    // MLP units per node, to name the costliest when a model is too large.
    let mut cost: Vec<(Id, usize)> = Vec::new();
    for &id in &live {
        let at = layout.avail[id];
        let before: usize = units.iter().map(Vec::len).sum();
        add_node(graph, &layout, id, at, d_model, &mut heads, &mut units)?;
        cost.push((id, units.iter().map(Vec::len).sum::<usize>() - before));
    }
    share_heads(graph, &mut heads);
    for layer_units in &mut units {
        for unit in layer_units.iter_mut() {
            gate_at_bos(unit, &layout.bos);
        }
    }
    check_size(graph, &heads, &units, &cost, d_model)?;
    let n_heads = heads.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let d_head = heads
        .iter()
        .flatten()
        .map(|h| h.q.ncols().max(h.v.ncols()))
        .max()
        .unwrap_or(1)
        .max(1);
    let d_mlp = units.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let scale = (d_head as f64).sqrt();
    let mut layers = Vec::with_capacity(n_layers);
    for (layer_heads, layer_units) in heads.iter().zip(&units) {
        let mut attn = Attention {
            w_q: Array3::zeros((n_heads, d_out, d_head)),
            w_k: Array3::zeros((n_heads, d_out, d_head)),
            w_v: Array3::zeros((n_heads, d_out, d_head)),
            w_o: Array3::zeros((n_heads, d_head, d_out)),
            b_q: Array2::zeros((n_heads, d_head)),
            b_k: Array2::zeros((n_heads, d_head)),
            b_v: Array2::zeros((n_heads, d_head)),
            b_o: Array1::zeros(d_out),
        };
        for (h, head) in layer_heads.iter().enumerate() {
            let maps = [
                (&head.q, &mut attn.w_q, &mut attn.b_q, scale),
                (&head.k, &mut attn.w_k, &mut attn.b_k, 1.0),
                (&head.v, &mut attn.w_v, &mut attn.b_v, 1.0),
            ];
            for (from, weights, biases, factor) in maps {
                for ((r, c), x) in from.indexed_iter() {
                    let x = x * factor;
                    if r == ONE {
                        biases[[h, c]] += x;
                    } else {
                        weights[[h, r - 1, c]] += x;
                    }
                }
            }
            for ((r, c), x) in head.o.indexed_iter() {
                if c != ONE {
                    attn.w_o[[h, r, c - 1]] = *x;
                }
            }
        }
        let mut mlp = Mlp {
            w_in: Array2::zeros((d_out, d_mlp)),
            b_in: Array1::zeros(d_mlp),
            w_out: Array2::zeros((d_mlp, d_out)),
            b_out: Array1::zeros(d_out),
        };
        for (u, unit) in layer_units.iter().enumerate() {
            let mut bias = unit.bias;
            for &(d, w) in &unit.w_in {
                if d == ONE {
                    bias += w;
                } else {
                    mlp.w_in[[d - 1, u]] += w;
                }
            }
            mlp.b_in[u] = bias;
            for &(d, w) in &unit.w_out {
                if d != ONE {
                    mlp.w_out[[u, d - 1]] += w;
                }
            }
        }
        layers.push(Layer { attn, mlp });
    }
    let (embed, pos_embed) = embeddings(graph, &layout, &live, d_model);
    let embed = embed.slice(ndarray::s![.., 1..]).to_owned();
    let pos_embed = pos_embed.slice(ndarray::s![.., 1..]).to_owned();
    let out = &graph.nodes[graph.output];
    let out_start = layout.start[graph.output]
        .ok_or_else(|| CompileError::internal("the output has no dimensions"))?;
    let (unembed, output) = if out.numerical {
        let mut u = Array2::zeros((d_out, 1));
        u[[out_start - 1, 0]] = 1.0;
        let mut values: Vec<Atom> = Vec::new();
        for a in out.values.values() {
            if values
                .last()
                .is_none_or(|b| !super::old_values::nearly_equal(as_f64(b), as_f64(a)))
            {
                values.push(a.clone());
            }
        }
        (u, OutputDecoding::Numerical { values })
    } else {
        let mut u = Array2::zeros((d_out, out.values.len()));
        for i in 0..out.values.len() {
            u[[out_start - 1 + i, i]] = 1.0;
        }
        (
            u,
            OutputDecoding::Categorical {
                values: out.values.values().to_vec(),
            },
        )
    };
    let d_vocab_out = unembed.ncols();
    Ok(Model {
        config: ModelConfig {
            n_layers,
            d_model: d_out,
            n_heads,
            d_head,
            d_mlp,
            n_ctx: n + 1,
            d_vocab: graph.vocab.len() + 1,
            d_vocab_out,
        },
        meta: ModelMeta {
            format_version: FORMAT_VERSION,
            bos_token: "BOS".into(),
            vocab: graph.vocab.clone(),
            max_len: n,
            output,
            residual_labels: layout.labels[1..].to_vec(),
            source: source.to_string(),
            sop: sop_name.to_string(),
        },
        // Weights as computed; `compile_with` sets the dtype asked for.
        dtype: Dtype::F64,
        embed,
        pos_embed,
        layers,
        unembed,
        unembed_bias: Array1::zeros(d_vocab_out),
    })
}

/// Adds the heads and MLP units of node `id`, available after sub-layer `at`.
#[allow(clippy::too_many_arguments, reason = "the assembly state")]
fn add_node(
    graph: &Graph,
    layout: &Layout,
    id: Id,
    at: i64,
    d_model: usize,
    heads: &mut [Vec<Head>],
    units: &mut [Vec<Unit>],
) -> Result<(), CompileError> {
    let node = &graph.nodes[id];
    {
        match &node.kind {
            Kind::Token(_) | Kind::Position(_) | Kind::Const(_) => {}
            Kind::Map { .. } | Kind::Convert { .. } | Kind::Product { .. } => {
                let layer = usize::try_from(at / 2).unwrap_or(0);
                units[layer].extend(map_units(graph, layout, id)?);
            }
            Kind::Aggregate {
                groups,
                values,
                default,
            } => {
                let layer = usize::try_from(at / 2).unwrap_or(0);
                heads[layer].push(aggregate_head(
                    graph, layout, id, groups, *values, default, d_model,
                ));
            }
            Kind::Width { groups } => {
                let layer = usize::try_from(at / 2).unwrap_or(0);
                heads[layer].push(width_head(graph, layout, id, groups, d_model));
                units[layer].extend(width_units(graph, layout, id, false));
            }
            Kind::Length => {
                let layer = usize::try_from(at / 2).unwrap_or(0);
                heads[layer].push(width_head(graph, layout, id, &[], d_model));
                units[layer].extend(width_units(graph, layout, id, true));
            }
        }
    }
    Ok(())
}

/// Merges the heads of aggregates over the same selector in one layer into
/// one head: the sharper query map (every entry scales with the sharpness),
/// the same key map, and the value and output maps side by side.
fn share_heads(graph: &Graph, heads: &mut [Vec<Head>]) {
    let groups = |head: &Head| match head.shared.map(|(id, _)| &graph.nodes[id].kind) {
        Some(Kind::Aggregate { groups, .. }) => Some(groups),
        _ => None,
    };
    for layer in heads.iter_mut() {
        let mut kept: Vec<Head> = Vec::with_capacity(layer.len());
        for head in std::mem::take(layer) {
            let same = groups(&head).and_then(|g| kept.iter().position(|k| groups(k) == Some(g)));
            let Some(j) = same else {
                kept.push(head);
                continue;
            };
            let into = &mut kept[j];
            if let (Some((_, s)), Some((owner, t))) = (head.shared, into.shared) {
                if s > t {
                    into.q = head.q;
                    into.shared = Some((owner, s));
                }
            }
            into.v = ndarray::concatenate![ndarray::Axis(1), into.v, head.v];
            into.o = ndarray::concatenate![ndarray::Axis(0), into.o, head.o];
        }
        *layer = kept;
    }
}

/// The most parameters a compiled model may have (400 MB of f32 weights).
pub const MAX_PARAMETERS: usize = 100_000_000;

/// Fails when the padded model would exceed [`MAX_PARAMETERS`], naming the
/// node with the most MLP units.
fn check_size(
    graph: &Graph,
    heads: &[Vec<Head>],
    units: &[Vec<Unit>],
    cost: &[(Id, usize)],
    d_model: usize,
) -> Result<(), CompileError> {
    let layers = heads.len() as u128;
    let n_heads = heads.iter().map(Vec::len).max().unwrap_or(0).max(1) as u128;
    let d_head = heads
        .iter()
        .flatten()
        .map(|h| h.q.ncols().max(h.v.ncols()))
        .max()
        .unwrap_or(1) as u128;
    let d_mlp = units.iter().map(Vec::len).max().unwrap_or(0).max(1) as u128;
    let d = d_model as u128;
    let per_layer = 4 * n_heads * d * d_head + 3 * n_heads * d_head + d + 2 * d * d_mlp + d_mlp + d;
    let total = layers * per_layer + d * ((graph.vocab.len() + graph.max_len + 2) as u128 + 64);
    if total <= MAX_PARAMETERS as u128 {
        return Ok(());
    }
    let worst = cost.iter().max_by_key(|(_, c)| *c).map(|(id, _)| *id);
    let node = worst.map(|id| &graph.nodes[id]);
    Err(CompileError::model_too_large(
        node.and_then(|n| n.origin.clone()),
        node.map(|n| format!("`{}`", n.label)).unwrap_or_default(),
        format!(
            "the model would have about {total} parameters, more than the limit of {MAX_PARAMETERS} \
             ({layers} layers, d_model {d}, {d_mlp} MLP units in the widest layer{})",
            node.map(|n| format!(", most of them for `{}`", n.label)).unwrap_or_default()
        ),
    ))
}

/// The nodes the output needs, in dependency order.
fn live_nodes(graph: &Graph) -> Vec<Id> {
    let mut live = vec![false; graph.nodes.len()];
    live[graph.output] = true;
    for id in (0..graph.nodes.len()).rev() {
        if !live[id] {
            continue;
        }
        for input in inputs(&graph.nodes[id]) {
            live[input] = true;
        }
    }
    (0..graph.nodes.len()).filter(|&id| live[id]).collect()
}

fn inputs(node: &GNode) -> Vec<Id> {
    match &node.kind {
        Kind::Token(_) | Kind::Position(_) | Kind::Const(_) | Kind::Length => vec![],
        Kind::Map { sources, .. } => sources.clone(),
        Kind::Convert { source } => vec![*source],
        Kind::Product { sources, .. } => sources.clone(),
        Kind::Aggregate { groups, values, .. } => {
            let mut v: Vec<Id> = groups.iter().flat_map(|g| [g.keys, g.queries]).collect();
            v.push(*values);
            v
        }
        Kind::Width { groups } => groups.iter().flat_map(|g| [g.keys, g.queries]).collect(),
    }
}

/// The first odd (MLP) or even (attention) sub-layer after `after`.
fn next_sublayer(after: i64, mlp: bool) -> i64 {
    let mut s = after + 1;
    if (s.rem_euclid(2) == 1) != mlp {
        s += 1;
    }
    s
}

fn layout(graph: &Graph, live: &[Id]) -> Result<Layout, CompileError> {
    let count = graph.nodes.len();
    let mut l = Layout {
        start: vec![None; count],
        scratch: vec![None; count],
        labels: vec!["one".into(), "bos".into()],
        avail: vec![-1; count],
        bos: vec![1.0, 1.0],
        numeric_tolerance: numeric_tolerance(graph),
        code_gap: smallest_code_gap(graph),
    };
    // Widths that every reader reads as a number need no one-hot dimensions.
    let mut one_hot_read = vec![false; count];
    one_hot_read[graph.output] = true;
    for &id in live {
        let node = &graph.nodes[id];
        match &node.kind {
            Kind::Map {
                sources,
                numeric,
                pair,
                ..
            } => {
                for (i, &s) in sources.iter().enumerate() {
                    let read =
                        Some(i) == *numeric || pair.is_some_and(|p| p.first == i || p.second == i);
                    one_hot_read[s] |= !read;
                }
            }
            _ => {
                for s in inputs(node) {
                    one_hot_read[s] = true;
                }
            }
        }
    }
    for &id in live {
        let node = &graph.nodes[id];
        let ready = match &node.kind {
            // A width read as a number is ready after its attention.
            Kind::Map {
                sources,
                numeric,
                pair,
                ..
            } if numeric.is_some() || pair.is_some() => sources
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    let read =
                        Some(i) == *numeric || pair.is_some_and(|p| p.first == i || p.second == i);
                    if read && graph.nodes[s].is_width() {
                        l.avail[s] - 1
                    } else {
                        l.avail[s]
                    }
                })
                .max()
                .unwrap_or(-1),
            _ => inputs(node).iter().map(|&i| l.avail[i]).max().unwrap_or(-1),
        };
        l.avail[id] = match &node.kind {
            Kind::Token(_) | Kind::Position(_) | Kind::Const(_) => -1,
            Kind::Map { .. } | Kind::Convert { .. } | Kind::Product { .. } => {
                next_sublayer(ready, true)
            }
            Kind::Aggregate { .. } => next_sublayer(ready, false),
            Kind::Width { .. } | Kind::Length => next_sublayer(ready, false) + 1,
        };
        if matches!(node.kind, Kind::Const(_)) {
            continue;
        }
        if node.is_width() && !one_hot_read[id] {
            l.scratch[id] = Some(l.labels.len());
            l.labels
                .push(format!("{}:{}", node.label, code_label(node)));
            l.bos.push(1.0);
            continue;
        }
        l.start[id] = Some(l.labels.len());
        if node.numerical {
            l.labels.push(node.label.clone());
            let bos = match &node.kind {
                Kind::Aggregate { default, .. } => as_f64(default),
                _ => 0.0,
            };
            l.bos.push(bos);
        } else {
            for (i, v) in node.values.values().iter().enumerate() {
                let value = match &node.kind {
                    Kind::Product { tuples, .. } => format!(
                        "({})",
                        tuples[i]
                            .iter()
                            .map(Atom::short)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => v.short(),
                };
                l.labels.push(format!("{}:{value}", node.label));
                let bos = match &node.kind {
                    Kind::Aggregate { default, .. } if same_atom(v, default) => 1.0,
                    _ => 0.0,
                };
                l.bos.push(bos);
            }
        }
        if matches!(node.kind, Kind::Width { .. } | Kind::Length) {
            l.scratch[id] = Some(l.labels.len());
            l.labels
                .push(format!("{}:{}", node.label, code_label(node)));
            l.bos.push(1.0);
        }
    }
    if l.labels.len() > 1_000_000 {
        return Err(CompileError::internal("the residual stream is too wide"));
    }
    Ok(l)
}

/// The label of a width's code dimension: `1/(w+1)`, or `β/(w+β)`.
fn code_label(node: &GNode) -> String {
    if node.bos_weight == 1.0 {
        "1/(w+1)".to_string()
    } else {
        format!("{0}/(w+{0})", node.bos_weight)
    }
}

fn same_atom(a: &Atom, b: &Atom) -> bool {
    a.type_name() == b.type_name() && a.py_eq(b)
}

/// The residual dimension holding value index `i` of a categorical node
/// (a constant reads `one`).
fn value_dim(graph: &Graph, layout: &Layout, id: Id, i: usize) -> usize {
    match (&graph.nodes[id].kind, layout.start[id]) {
        (Kind::Const(_), _) | (_, None) => ONE,
        (_, Some(start)) => start + i,
    }
}

/// Softmax sharpness for a head whose output must keep `gap` apart over a
/// range `range`, with `n` keys.
fn sharpness(n: usize, range: f64, gap: f64) -> f64 {
    let n = n.max(2) as f64;
    2.0 * (16.0 * n * range.max(1.0) / gap.max(1e-9)).ln() + 2.0
}

/// Adds the query/key coordinates of a conjunction of groups: selected
/// pairs score `s`, others at most 0; BOS scores `bos_score` for ordinary
/// queries and dominates for the BOS query. Returns (Q, K).
fn score_maps(
    graph: &Graph,
    layout: &Layout,
    groups: &[Group],
    s: f64,
    bos_score: f64,
    d_model: usize,
) -> (Array2<f64>, Array2<f64>) {
    let coords: usize = groups.iter().map(|g| g.pred.len()).sum::<usize>() + 2;
    let mut q = Array2::zeros((d_model, coords));
    let mut k = Array2::zeros((d_model, coords));
    let mut c = 0;
    for g in groups {
        for (kv, row) in g.pred.iter().enumerate() {
            k[[value_dim(graph, layout, g.keys, kv), c]] += 1.0;
            for (qv, &selected) in row.iter().enumerate() {
                if selected {
                    q[[value_dim(graph, layout, g.queries, qv), c]] += s;
                }
            }
            c += 1;
        }
    }
    // The conjunction: every non-BOS key loses (G - 1)·s.
    let shift = c;
    if groups.len() > 1 {
        k[[ONE, shift]] = 1.0;
        q[[ONE, shift]] = -((groups.len() - 1) as f64) * s;
    }
    let bos_coord = shift + 1;
    k[[BOS, bos_coord]] = 1.0;
    q[[ONE, bos_coord]] = bos_score;
    q[[BOS, bos_coord]] = (2 * groups.len().max(1) + 2) as f64 * s;
    // BOS's key is exactly the BOS coordinate: subtract whatever the node
    // dimensions hold at position 0.
    for col in 0..coords {
        if col == bos_coord {
            continue;
        }
        let at_bos: f64 = (0..d_model).map(|d| layout.bos[d] * k[[d, col]]).sum();
        k[[BOS, col]] -= at_bos;
    }
    (q, k)
}

/// Sets the `bos` row of a value map so that BOS's value is `wanted`.
fn fix_bos_value(v: &mut Array2<f64>, layout: &Layout, wanted: &[f64]) {
    for (col, want) in wanted.iter().enumerate() {
        let at_bos: f64 = (0..v.nrows()).map(|d| layout.bos[d] * v[[d, col]]).sum();
        v[[BOS, col]] += want - at_bos;
    }
}

#[allow(clippy::too_many_arguments, reason = "one head's whole description")]
fn aggregate_head(
    graph: &Graph,
    layout: &Layout,
    id: Id,
    groups: &[Group],
    values: Id,
    default: &Atom,
    d_model: usize,
) -> Head {
    let node = &graph.nodes[id];
    let n = graph.max_len;
    let vnode = &graph.nodes[values];
    let Some(out) = layout.start[id] else {
        return empty_head(d_model);
    };
    if node.numerical {
        // Its error flows into every later mean and step that reads it, so
        // the gap to keep is the smallest of any numerical node, with room
        // for errors to add up along a chain of means.
        let (range, gap) = layout.numeric_tolerance;
        let s = sharpness(n, range, gap / 8.0);
        let (q, k) = score_maps(graph, layout, groups, s, s / 2.0, d_model);
        let mut v = Array2::zeros((d_model, 1));
        match (vnode.numerical, layout.start[values]) {
            (true, Some(start)) => v[[start, 0]] = 1.0,
            _ => {
                for (i, a) in vnode.values.values().iter().enumerate() {
                    v[[value_dim(graph, layout, values, i), 0]] += as_f64(a);
                }
            }
        }
        fix_bos_value(&mut v, layout, &[as_f64(default)]);
        let mut o = Array2::zeros((1, d_model));
        o[[0, out]] = 1.0;
        return Head {
            q,
            k,
            v,
            o,
            shared: Some((id, s)),
        };
    }
    // A categorical result may become the keys or queries of a later
    // `selector_width`, whose code for `w` keys must stay within a fraction of
    // the smallest gap any reader of a code tells apart (`1/((N+1)(N+2))` for
    // the usual `1/(w+1)`): keep the weight that leaks outside the intended
    // keys below that gap over `N+1`, not merely below 1/2.
    let tight = layout.code_gap / (n + 1) as f64;
    let s = sharpness(n, 1.0, tight);
    let (q, k) = score_maps(graph, layout, groups, s, s / 2.0, d_model);
    let width = node.values.len();
    let mut v = Array2::zeros((d_model, width));
    for (i, a) in vnode.values.values().iter().enumerate() {
        if let Some(j) = node.values.position(a) {
            v[[value_dim(graph, layout, values, i), j]] += 1.0;
        }
    }
    let mut wanted = vec![0.0; width];
    if let Some(j) = node.values.position(default) {
        wanted[j] = 1.0;
    }
    fix_bos_value(&mut v, layout, &wanted);
    let mut o = Array2::zeros((width, d_model));
    for j in 0..width {
        o[[j, out + j]] = 1.0;
    }
    Head {
        q,
        k,
        v,
        o,
        shared: Some((id, s)),
    }
}

fn empty_head(d_model: usize) -> Head {
    Head {
        q: Array2::zeros((d_model, 1)),
        k: Array2::zeros((d_model, 1)),
        v: Array2::zeros((d_model, 1)),
        o: Array2::zeros((1, d_model)),
        shared: None,
    }
}

/// The smallest difference between two width codes that some reader must
/// tell apart, over every width node (`1/((N+1)(N+2))` with no widths).
fn smallest_code_gap(graph: &Graph) -> f64 {
    let n = graph.max_len;
    let mut gap = 1.0 / ((n + 1) * (n + 2)) as f64;
    for node in graph.nodes.iter().filter(|node| node.is_width()) {
        gap = (0..n)
            .map(|w| node.width_code(w as f64) - node.width_code(w as f64 + 1.0))
            .fold(gap.min(node.read_gap), f64::min);
    }
    gap
}

/// The attention half of `selector_width` (and of `length`, with no
/// groups: every key selected): BOS scores `ln β` above the selected keys,
/// so BOS gets `β/(w+β)` (`1/(w+1)` for β = 1), written to the scratch
/// dimension.
fn width_head(graph: &Graph, layout: &Layout, id: Id, groups: &[Group], d_model: usize) -> Head {
    let n = graph.max_len;
    let node = &graph.nodes[id];
    let gap = (0..n)
        .map(|w| node.width_code(w as f64) - node.width_code(w as f64 + 1.0))
        .fold(node.read_gap, f64::min);
    // Keys or queries that are categorical attention results are off by
    // up to `smallest_code_gap/(N+1)` per key (see `aggregate_head`).
    let s = sharpness(n, 1.0, gap);
    let bos_score = s + node.bos_weight.ln();
    let (mut q, mut k) = score_maps(graph, layout, groups, s, bos_score, d_model);
    if groups.is_empty() {
        // Every non-BOS key is selected.
        let extra = q.ncols();
        let mut q2 = Array2::zeros((d_model, extra + 1));
        let mut k2 = Array2::zeros((d_model, extra + 1));
        q2.slice_mut(ndarray::s![.., ..extra]).assign(&q);
        k2.slice_mut(ndarray::s![.., ..extra]).assign(&k);
        q2[[ONE, extra]] = s;
        k2[[ONE, extra]] = 1.0;
        k2[[BOS, extra]] = -1.0;
        q = q2;
        k = k2;
    }
    let mut v = Array2::zeros((d_model, 1));
    fix_bos_value(&mut v, layout, &[1.0]);
    let mut o = Array2::zeros((1, d_model));
    if let Some(scratch) = layout.scratch[id] {
        o[[0, scratch]] = 1.0;
    }
    Head {
        q,
        k,
        v,
        o,
        shared: None,
    }
}

/// The largest range and the smallest gap among the numerical nodes.
fn numeric_tolerance(graph: &Graph) -> (f64, f64) {
    let mut range: f64 = 1.0;
    let mut gap: f64 = 1.0;
    for node in graph.nodes.iter().filter(|n| n.numerical) {
        let numbers: Vec<f64> = node.values.values().iter().map(as_f64).collect();
        let hi = numbers.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lo = numbers.iter().cloned().fold(f64::INFINITY, f64::min);
        if hi.is_finite() && lo.is_finite() {
            range = range.max(hi - lo);
        }
        gap = gap.min(min_gap(&numbers));
    }
    (range, gap)
}

fn min_gap(numbers: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = numbers.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min)
        .min(1.0)
}

/// `ReLU(L(x−t)+1) − ReLU(L(x−t))` over the input `x = Σ w_in`: two units.
fn step(w_in: &[(usize, f64)], threshold: f64, slope: f64, out: &[(usize, f64)]) -> [Unit; 2] {
    let scaled: Vec<(usize, f64)> = w_in.iter().map(|&(d, w)| (d, w * slope)).collect();
    let negated: Vec<(usize, f64)> = out.iter().map(|&(d, w)| (d, -w)).collect();
    [
        Unit {
            w_in: scaled.clone(),
            bias: -slope * threshold + 1.0,
            w_out: out.to_vec(),
        },
        Unit {
            w_in: scaled,
            bias: -slope * threshold,
            w_out: negated,
        },
    ]
}

/// The one-hot output of `value` for node `id` (nothing if it is not one of
/// the node's values).
fn one_hot(graph: &Graph, layout: &Layout, id: Id, value: &Atom) -> Vec<(usize, f64)> {
    match (graph.nodes[id].values.position(value), layout.start[id]) {
        (Some(i), Some(start)) => vec![(start + i, 1.0)],
        _ => Vec::new(),
    }
}

fn difference(a: &[(usize, f64)], b: &[(usize, f64)]) -> Vec<(usize, f64)> {
    a.iter()
        .cloned()
        .chain(b.iter().map(|&(d, w)| (d, -w)))
        .collect()
}

/// Units reading a numerical input `x` (dimension `dim`) with known values
/// `values` into `f(value)` output vectors: a constant unit for the smallest
/// value, then a step at each midpoint adding the difference.
fn numeric_lookup(dim: usize, values: &[(f64, Vec<(usize, f64)>)]) -> Vec<Unit> {
    let mut units = Vec::new();
    let Some((_, first)) = values.first() else {
        return units;
    };
    units.push(Unit {
        w_in: vec![(ONE, 1.0)],
        bias: 0.0,
        w_out: first.clone(),
    });
    for pair in values.windows(2) {
        let (lo, lo_out) = &pair[0];
        let (hi, hi_out) = &pair[1];
        let gap = hi - lo;
        let slope = 4.0 / gap;
        units.extend(step(
            &[(dim, 1.0)],
            (lo + hi) / 2.0,
            slope,
            &difference(hi_out, lo_out),
        ));
    }
    units
}

fn map_units(graph: &Graph, layout: &Layout, id: Id) -> Result<Vec<Unit>, CompileError> {
    let node = &graph.nodes[id];
    match &node.kind {
        Kind::Product { sources, tuples } => {
            let k = sources.len() as f64;
            let exact = sources.iter().all(|s| is_exact(graph, *s));
            let mut units = Vec::with_capacity(tuples.len());
            for (i, tuple) in tuples.iter().enumerate() {
                let dims = tuple_dims(graph, layout, sources, tuple);
                let out = one_hot(graph, layout, id, &Atom::Int(i as i64));
                if exact {
                    units.push(row_unit(dims, k, out));
                } else {
                    units.extend(step(&dims, k - 0.5, 8.0, &out));
                }
            }
            Ok(units)
        }
        Kind::Convert { source } => {
            let dim = layout.start[*source]
                .ok_or_else(|| CompileError::internal("a converted node has no dimension"))?;
            let points = numeric_points(&graph.nodes[*source], |a| one_hot(graph, layout, id, a));
            Ok(numeric_lookup(dim, &points))
        }
        Kind::Map {
            sources,
            expr,
            numeric,
            pair,
        } => {
            let read = match (*pair, *numeric) {
                (Some(pair), _) => Some(Read::Pair(pair)),
                (None, Some(p)) => Some(Read::One(p)),
                (None, None) => None,
            };
            if let Some(read) = read {
                return Ok(gated_numeric_units(graph, layout, id, sources, expr, read));
            }
            let sets: Vec<&super::old_values::ValueSet> =
                sources.iter().map(|s| &graph.nodes[*s].values).collect();
            let k = sources.len() as f64;
            let exact = sources.iter().all(|s| is_exact(graph, *s));
            let mut units = Vec::new();
            let tuples = all_tuples(&sets);
            for tuple in tuples {
                let refs: Vec<&Atom> = tuple.iter().collect();
                let Ok(value) = expr.eval(&refs) else {
                    continue;
                };
                let out = one_hot(graph, layout, id, &value);
                if out.is_empty() {
                    continue;
                }
                let dims = tuple_dims(graph, layout, sources, &tuple);
                if exact {
                    units.push(row_unit(dims, k, out));
                } else {
                    units.extend(step(&dims, k - 0.5, 8.0, &out));
                }
            }
            Ok(units)
        }
        _ => Ok(Vec::new()),
    }
}

/// Whether a node's dimensions hold exact 0/1 values (everything but
/// categorical attention outputs, which are sharp but not hard).
fn is_exact(graph: &Graph, id: Id) -> bool {
    graph.nodes[id].numerical || !matches!(graph.nodes[id].kind, Kind::Aggregate { .. })
}

/// One table row over exact one-hot inputs: `ReLU(Σ x − (k−1))` is 1 when
/// all `k` dimensions of the tuple are 1 and 0 otherwise.
fn row_unit(dims: Vec<(usize, f64)>, k: f64, out: Vec<(usize, f64)>) -> Unit {
    Unit {
        w_in: dims,
        bias: 1.0 - k,
        w_out: out,
    }
}

/// The residual dimensions of one tuple of the sources' values.
fn tuple_dims(graph: &Graph, layout: &Layout, sources: &[Id], tuple: &[Atom]) -> Vec<(usize, f64)> {
    sources
        .iter()
        .zip(tuple)
        .filter_map(|(s, a)| {
            graph.nodes[*s]
                .values
                .position(a)
                .map(|i| (value_dim(graph, layout, *s, i), 1.0))
        })
        .collect()
}

/// A map of one number `x` read from the residual stream (a numerical
/// source, a width's code, or a pair read of two widths) and exact
/// categorical sources: for each tuple of the categorical values, a gate (one
/// unit over their exact one-hot sum) gives the output at the smallest `x`,
/// and a step of `x` wherever the output changes adds the difference; a large
/// weight on the gate sum keeps those steps off for the other tuples.
fn gated_numeric_units(
    graph: &Graph,
    layout: &Layout,
    id: Id,
    sources: &[Id],
    expr: &super::old_graph::Expr,
    read: Read,
) -> Vec<Unit> {
    let mut units = Vec::new();
    // The positions read as the number, the residual terms of `x`, and the
    // known values of `x` with the source values behind each.
    let mut points: Vec<(f64, Vec<Atom>)> = Vec::new();
    let (read_at, x_terms): (Vec<usize>, Vec<(usize, f64)>) = match read {
        Read::Pair(pair) => {
            let (a, b) = (
                &graph.nodes[sources[pair.first]],
                &graph.nodes[sources[pair.second]],
            );
            let (Some(da), Some(db)) = (
                layout.scratch[sources[pair.first]],
                layout.scratch[sources[pair.second]],
            ) else {
                return units;
            };
            for x in a.values.values() {
                for y in b.values.values() {
                    let t = a.width_code(as_f64(x)) + pair.weight * b.width_code(as_f64(y));
                    points.push((t, vec![x.clone(), y.clone()]));
                }
            }
            points.sort_by(|p, q| p.0.total_cmp(&q.0));
            (
                vec![pair.first, pair.second],
                vec![(da, 1.0), (db, pair.weight)],
            )
        }
        Read::One(p) => {
            let source = &graph.nodes[sources[p]];
            let dim = match (
                source.is_width(),
                layout.scratch[sources[p]],
                layout.start[sources[p]],
            ) {
                (true, Some(scratch), _) => {
                    for a in source.values.values() {
                        points.push((source.width_code(as_f64(a)), vec![a.clone()]));
                    }
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    scratch
                }
                (false, _, Some(start)) => {
                    for a in source.values.values() {
                        let x = as_f64(a);
                        match points.last_mut() {
                            Some((q, b)) if super::old_values::nearly_equal(*q, x) => {
                                if super::old_values::simpler(x, *q) {
                                    *q = x;
                                    *b = vec![a.clone()];
                                }
                            }
                            _ => points.push((x, vec![a.clone()])),
                        }
                    }
                    start
                }
                _ => return units,
            };
            (vec![p], vec![(dim, 1.0)])
        }
    };
    let Some(x_max) = points.last().map(|(x, _)| *x) else {
        return units;
    };
    let others: Vec<Id> = sources
        .iter()
        .enumerate()
        .filter(|(i, _)| !read_at.contains(i))
        .map(|(_, s)| *s)
        .collect();
    let sets: Vec<&super::old_values::ValueSet> =
        others.iter().map(|s| &graph.nodes[*s].values).collect();
    let k = others.len() as f64;
    let tuples = all_tuples(&sets);
    for tuple in tuples {
        let gate = tuple_dims(graph, layout, &others, &tuple);
        let output_at = |x: &[Atom]| {
            let mut args: Vec<&Atom> = Vec::with_capacity(sources.len());
            let (mut read_values, mut gate_values) = (x.iter(), tuple.iter());
            for i in 0..sources.len() {
                let next = if read_at.contains(&i) {
                    read_values.next()
                } else {
                    gate_values.next()
                };
                match next {
                    Some(a) => args.push(a),
                    None => return Vec::new(),
                }
            }
            match expr.eval(&args) {
                Ok(v) => one_hot(graph, layout, id, &v),
                Err(_) => Vec::new(),
            }
        };
        let outs: Vec<Vec<(usize, f64)>> = points.iter().map(|(_, a)| output_at(a)).collect();
        if outs.iter().all(Vec::is_empty) {
            continue;
        }
        if others.is_empty() {
            units.push(Unit {
                w_in: vec![(ONE, 1.0)],
                bias: 0.0,
                w_out: outs[0].clone(),
            });
        } else if !outs[0].is_empty() {
            units.push(row_unit(gate.clone(), k, outs[0].clone()));
        }
        for j in 1..points.len() {
            if outs[j] == outs[j - 1] {
                continue;
            }
            let (lo, hi) = (points[j - 1].0, points[j].0);
            let slope = 4.0 / (hi - lo);
            let threshold = (lo + hi) / 2.0;
            let g = if others.is_empty() {
                0.0
            } else {
                slope * (x_max - threshold) + 3.0
            };
            let mut w_in: Vec<(usize, f64)> =
                x_terms.iter().map(|&(d, c)| (d, c * slope)).collect();
            w_in.extend(gate.iter().map(|&(d, _)| (d, g)));
            let diff = difference(&outs[j], &outs[j - 1]);
            let base = -slope * threshold - g * k;
            units.push(Unit {
                w_in: w_in.clone(),
                bias: base + 1.0,
                w_out: diff.clone(),
            });
            units.push(Unit {
                w_in,
                bias: base,
                w_out: diff.iter().map(|&(d, w)| (d, -w)).collect(),
            });
        }
    }
    units
}

/// What a map reads as its number.
#[derive(Clone, Copy)]
enum Read {
    /// The source at this position.
    One(usize),
    /// Two widths together.
    Pair(Pair),
}

/// The distinct numbers a numerical node can hold, each with the output
/// `f` gives for the first atom of that number.
fn numeric_points(
    node: &GNode,
    f: impl Fn(&Atom) -> Vec<(usize, f64)>,
) -> Vec<(f64, Vec<(usize, f64)>)> {
    let mut points: Vec<(f64, Vec<(usize, f64)>)> = Vec::new();
    for a in node.values.values() {
        let x = as_f64(a);
        if let Some((p, out)) = points.last_mut() {
            if super::old_values::nearly_equal(*p, x) {
                if super::old_values::simpler(x, *p) {
                    *p = x;
                    *out = f(a);
                }
                continue;
            }
        }
        points.push((x, f(a)));
    }
    points
}

/// The MLP half of `selector_width`/`length`: the code to one-hot `w`.
fn width_units(graph: &Graph, layout: &Layout, id: Id, is_length: bool) -> Vec<Unit> {
    let (Some(scratch), Some(_)) = (layout.scratch[id], layout.start[id]) else {
        return Vec::new();
    };
    let first = usize::from(is_length);
    let node = &graph.nodes[id];
    let mut points: Vec<(f64, Vec<(usize, f64)>)> = (first..=graph.max_len)
        .map(|w| {
            (
                node.width_code(w as f64),
                one_hot(graph, layout, id, &Atom::Int(w as i64)),
            )
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    numeric_lookup(scratch, &points)
}

/// Switches a unit off at position 0: its pre-activation there becomes -1.
fn gate_at_bos(unit: &mut Unit, bos: &[f64]) {
    let at_bos: f64 = unit.w_in.iter().map(|&(d, w)| bos[d] * w).sum::<f64>() + unit.bias;
    unit.w_in.push((BOS, -(at_bos + 1.0)));
}

fn embeddings(
    graph: &Graph,
    layout: &Layout,
    live: &[Id],
    d_model: usize,
) -> (Array2<f64>, Array2<f64>) {
    let mut embed = Array2::zeros((graph.vocab.len() + 1, d_model));
    let mut pos = Array2::zeros((graph.max_len + 1, d_model));
    embed[[0, ONE]] = 1.0;
    embed[[0, BOS]] = 1.0;
    for row in 1..=graph.vocab.len() {
        embed[[row, ONE]] = 1.0;
    }
    for &id in live {
        let (Some(start), node) = (layout.start[id], &graph.nodes[id]) else {
            continue;
        };
        match &node.kind {
            Kind::Token(table) => {
                for (i, value) in table.iter().enumerate() {
                    if let Some(j) = value.as_ref().and_then(|v| node.values.position(v)) {
                        embed[[i + 1, start + j]] = 1.0;
                    }
                }
            }
            Kind::Position(table) => {
                for (i, value) in table.iter().enumerate() {
                    if let Some(j) = value.as_ref().and_then(|v| node.values.position(v)) {
                        pos[[i + 1, start + j]] = 1.0;
                    }
                }
            }
            _ => {}
        }
    }
    (embed, pos)
}
