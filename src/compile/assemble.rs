//! Assembly: a lowered program to a [`Model`].
//!
//! Dimension 0 (`one`) of the lowered residual stream becomes the biases;
//! the model's residual stream starts at `bos`. Heads over one selector in
//! one layer are merged (one query and key map, the value and output maps
//! side by side); every MLP unit is switched off at position 0, where the
//! residual stream holds known constants; the query maps are scaled by the
//! sharpness the precision analysis chose; and the weights are padded into
//! the model's dense arrays.

use ndarray::{Array1, Array2, Array3};

use super::error::CompileError;
use super::graph::Graph;
use super::lower::blocks::{Head, Unit, BOS, ONE};
use super::lower::{Lowered, OutputEnc};
use crate::eval::atom::Atom;
use crate::model::{
    Attention, Dtype, Layer, Mlp, Model, ModelConfig, ModelMeta, OutputDecoding, FORMAT_VERSION,
    NUMERICAL_LOGITS,
};

/// The most parameters a compiled model may have (400 MB of f32 weights).
pub const MAX_PARAMETERS: usize = 100_000_000;

/// Builds the model of a lowered program.
pub fn assemble(
    graph: &Graph,
    mut low: Lowered,
    vocab: &[Atom],
    max_len: usize,
    source: &str,
    sop_name: &str,
) -> Result<Model, CompileError> {
    let d_model = low.labels.len();
    let d_out = d_model - 1;
    let n_layers = low.heads.len().max(low.units.len()).max(1);
    low.heads.resize_with(n_layers, Vec::new);
    low.units.resize_with(n_layers, Vec::new);
    for layer in &mut low.heads {
        share_heads(layer);
    }
    for layer in &mut low.units {
        for unit in layer.iter_mut() {
            gate_at_bos(unit, &low.bos);
        }
    }
    check_size(graph, &low, d_model, vocab.len(), max_len)?;
    let head_records = super::record::head_records(graph, &low.heads);
    let mlp_records = super::record::mlp_records(graph, &low.unit_owners, n_layers);
    let n_heads = low.heads.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let d_head = low
        .heads
        .iter()
        .flatten()
        .map(|h| h.qk.max(h.ov))
        .max()
        .unwrap_or(1)
        .max(1);
    let d_mlp = low.units.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let scale = (d_head as f64).sqrt() * low.sharpness;
    let mut layers = Vec::with_capacity(n_layers);
    for (layer_heads, layer_units) in low.heads.iter().zip(&low.units) {
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
            // Scores are divided by sqrt(d_head); the sharpness scales all
            // but the fixed terms.
            let root = (d_head as f64).sqrt();
            let q: Vec<(usize, usize, f64)> = head
                .q
                .iter()
                .map(|&(r, c, x)| (r, c, x * scale))
                .chain(head.q_fixed.iter().map(|&(r, c, x)| (r, c, x * root)))
                .collect();
            let maps = [
                (&q, &mut attn.w_q, &mut attn.b_q),
                (&head.k, &mut attn.w_k, &mut attn.b_k),
                (&head.v, &mut attn.w_v, &mut attn.b_v),
            ];
            for (from, weights, biases) in maps {
                for &(r, c, x) in from {
                    if r == ONE {
                        biases[[h, c]] += x;
                    } else {
                        weights[[h, r - 1, c]] += x;
                    }
                }
            }
            for &(c, d, x) in &head.o {
                if d != ONE {
                    attn.w_o[[h, c, d - 1]] += x;
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
    let mut embed = Array2::zeros((vocab.len() + 1, d_out));
    let mut pos_embed = Array2::zeros((max_len + 1, d_out));
    embed[[0, BOS - 1]] = 1.0;
    for &(row, d, x) in &low.embed {
        embed[[row + 1, d - 1]] += x;
    }
    for &(row, d, x) in &low.pos_embed {
        pos_embed[[row + 1, d - 1]] += x;
    }
    let (unembed, unembed_bias, output) = match &low.output {
        OutputEnc::Numerical {
            form,
            values,
            bound,
            kinds,
        } => {
            // Logit 0 is the number, logit 1 its negation (exactly: the
            // same sums with every sign flipped), so that centring the
            // logits keeps the number.
            let mut u: Array2<f64> = Array2::zeros((d_out, NUMERICAL_LOGITS));
            for &(d, c) in &form.terms {
                if d != ONE {
                    u[[d - 1, 0]] += c;
                }
            }
            for d in 0..d_out {
                u[[d, 1]] = -u[[d, 0]];
            }
            let b = Array1::from_vec(vec![form.constant, -form.constant]);
            (
                u,
                b,
                OutputDecoding::Numerical {
                    values: values.clone(),
                    bound: bound.map(|e| e.at(low.eps)),
                    kinds: kinds.clone(),
                },
            )
        }
        OutputEnc::Categorical { dims, values } => {
            let mut u = Array2::zeros((d_out, values.len()));
            for (i, &d) in dims.iter().enumerate() {
                if d != ONE {
                    u[[d - 1, i]] = 1.0;
                }
            }
            (
                u,
                Array1::zeros(values.len()),
                OutputDecoding::Categorical {
                    values: values.clone(),
                },
            )
        }
    };
    let d_vocab_out = unembed.ncols();
    Ok(Model {
        config: ModelConfig {
            n_layers,
            d_model: d_out,
            n_heads,
            d_head,
            d_mlp,
            n_ctx: max_len + 1,
            d_vocab: vocab.len() + 1,
            d_vocab_out,
        },
        meta: ModelMeta {
            format_version: FORMAT_VERSION,
            bos_token: "BOS".into(),
            vocab: vocab.to_vec(),
            max_len,
            output,
            residual_labels: low.labels[1..].to_vec(),
            source: source.to_string(),
            sop: sop_name.to_string(),
            safe_dtypes: None,
            heads: Some(head_records),
            mlps: Some(mlp_records),
        },
        dtype: Dtype::F64,
        embed,
        pos_embed,
        layers,
        unembed,
        unembed_bias,
    })
}

/// Merges the heads over one selector in a layer: one query and key map,
/// the value and output maps side by side.
fn share_heads(layer: &mut Vec<Head>) {
    let mut kept: Vec<Head> = Vec::with_capacity(layer.len());
    for head in std::mem::take(layer) {
        let same = head
            .share
            .and_then(|s| kept.iter().position(|k| k.share == Some(s)));
        let Some(j) = same else {
            kept.push(head);
            continue;
        };
        let into = &mut kept[j];
        let offset = into.ov;
        into.v
            .extend(head.v.iter().map(|&(d, c, w)| (d, c + offset, w)));
        into.o
            .extend(head.o.iter().map(|&(c, d, w)| (c + offset, d, w)));
        into.ov += head.ov;
        into.about.sops.extend(head.about.sops);
    }
    *layer = kept;
}

/// Switches a unit off at position 0: its pre-activation there becomes -1.
fn gate_at_bos(unit: &mut Unit, bos: &[f64]) {
    let at_bos: f64 = unit
        .w_in
        .iter()
        .map(|&(d, w)| bos.get(d).copied().unwrap_or(0.0) * w)
        .sum::<f64>()
        + unit.bias;
    unit.w_in.push((BOS, -(at_bos + 1.0)));
}

/// The parameters of the padded model of `low` (with its heads shared as
/// [`assemble`] shares them).
pub fn parameters(low: &Lowered, vocab: usize, max_len: usize) -> u128 {
    let mut heads = low.heads.clone();
    for layer in &mut heads {
        share_heads(layer);
    }
    size(&heads, &low.units, low.labels.len(), vocab, max_len)
}

fn size(
    heads: &[Vec<Head>],
    units: &[Vec<Unit>],
    d_model: usize,
    vocab: usize,
    max_len: usize,
) -> u128 {
    let layers = heads.len().max(units.len()).max(1) as u128;
    let n_heads = heads.iter().map(Vec::len).max().unwrap_or(0).max(1) as u128;
    let d_head = heads
        .iter()
        .flatten()
        .map(|h| h.qk.max(h.ov))
        .max()
        .unwrap_or(1) as u128;
    let d_mlp = units.iter().map(Vec::len).max().unwrap_or(0).max(1) as u128;
    let d = d_model as u128;
    let per_layer = 4 * n_heads * d * d_head + 3 * n_heads * d_head + d + 2 * d * d_mlp + d_mlp + d;
    layers * per_layer + d * ((vocab + max_len + 2) as u128 + 64)
}

/// Fails when the padded model would exceed [`MAX_PARAMETERS`], naming the
/// node with the most MLP units.
fn check_size(
    graph: &Graph,
    low: &Lowered,
    d_model: usize,
    vocab: usize,
    max_len: usize,
) -> Result<(), CompileError> {
    let layers = low.heads.len();
    let d = d_model;
    let d_mlp = low.units.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let total = size(&low.heads, &low.units, d_model, vocab, max_len);
    if total <= MAX_PARAMETERS as u128 {
        return Ok(());
    }
    let worst = low.cost.iter().max_by_key(|(_, c)| *c).map(|(id, _)| *id);
    let node = worst.map(|id| &graph.nodes[id]);
    Err(CompileError::model_too_large(
        node.and_then(|n| n.origin.clone()),
        node.map(|n| format!("`{}`", n.label)).unwrap_or_default(),
        format!(
            "the model would have about {total} parameters, more than the limit of {MAX_PARAMETERS} \
             ({layers} layers, d_model {d}, {d_mlp} MLP units in the widest layer{})",
            node.map(|n| format!(", most of them for `{}`", n.label))
                .unwrap_or_default()
        ),
    ))
}
