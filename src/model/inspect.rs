//! What a compiled model is, for people: the summary `rasp compile` prints
//! and the fuller report of `rasp inspect` (as text or JSON).
//!
//! Layers are padded to a common head count and MLP width; the sizes here
//! are the real ones, counting a head whose output weights are not all zero
//! and an MLP unit whose output row is not all zero.

use ndarray::Axis;
use serde_json::json;

use super::file::{atom_to_json, decode_rule, input_json, min_dtype, transformer_lens_json};
use super::{Model, OutputDecoding, FORMAT_VERSION};
use crate::eval::atom::Atom;

/// The heads and MLP units one layer really uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSizes {
    /// The indices of the heads in use (of `n_heads`).
    pub heads: Vec<usize>,
    /// MLP units in use (of `d_mlp`).
    pub mlp_units: usize,
}

/// Each layer's real sizes.
pub fn layer_sizes(model: &Model) -> Vec<LayerSizes> {
    let c = &model.config;
    model
        .layers
        .iter()
        .map(|layer| LayerSizes {
            heads: (0..c.n_heads.min(layer.attn.w_o.len_of(Axis(0))))
                .filter(|&h| {
                    layer
                        .attn
                        .w_o
                        .index_axis(Axis(0), h)
                        .iter()
                        .any(|x| *x != 0.0)
                })
                .collect(),
            mlp_units: layer
                .mlp
                .w_out
                .rows()
                .into_iter()
                .filter(|row| row.iter().any(|x| *x != 0.0))
                .count(),
        })
        .collect()
}

/// The first line of [`summary`] and of [`inspect_text`].
fn headline(model: &Model) -> String {
    let c = &model.config;
    format!(
        "{}: {} layer{}, d_model {}, {} parameters ({} non-zero)\n",
        model.meta.sop,
        c.n_layers,
        if c.n_layers == 1 { "" } else { "s" },
        c.d_model,
        model.parameter_count(),
        model.nonzero_parameter_count()
    )
}

/// One line per layer: `  layer 1: 2 heads, MLP 34 units`.
fn layer_lines(model: &Model) -> String {
    let mut out = String::new();
    for (l, sizes) in layer_sizes(model).iter().enumerate() {
        out.push_str(&format!(
            "  layer {}: {} head{}, MLP {} units\n",
            l + 1,
            sizes.heads.len(),
            if sizes.heads.len() == 1 { "" } else { "s" },
            sizes.mlp_units
        ));
    }
    out
}

/// A one-screen summary of a model.
pub fn summary(model: &Model) -> String {
    let c = &model.config;
    let mut out = headline(model);
    out.push_str(&layer_lines(model));
    let output = output_text(&model.meta.output);
    out.push_str(&format!(
        "  vocabulary {} tokens, max_len {}, heads padded to {} × d_head {}, d_mlp {}, output {output}, dtype {}\n",
        model.meta.vocab.len(),
        model.meta.max_len,
        c.n_heads,
        c.d_head,
        c.d_mlp,
        model.dtype
    ));
    out
}

fn output_text(output: &OutputDecoding) -> String {
    match output {
        OutputDecoding::Categorical { values } => format!("categorical, {} values", values.len()),
        OutputDecoding::Numerical {
            values,
            bound: Some(b),
            ..
        } if values.is_empty() => {
            format!("numerical, a raw number within {b:.1e} of the program's")
        }
        OutputDecoding::Numerical { values, .. } => format!("numerical, {} values", values.len()),
    }
}

/// `[a, b, c]`, at most `max` items then `... (N in all)`.
fn list(items: &[String], max: usize) -> String {
    let mut shown: Vec<String> = items.iter().take(max).cloned().collect();
    if items.len() > max {
        shown.push(format!("... ({} in all)", items.len()));
    }
    format!("[{}]", shown.join(", "))
}

/// The report of `rasp inspect`: sizes, layers, residual stream, vocabulary
/// and the program.
pub fn inspect_text(model: &Model) -> String {
    let c = &model.config;
    let m = &model.meta;
    let mut out = headline(model);
    out.push_str(&format!(
        "dtype: {} (weights stored and run in {})\n",
        model.dtype,
        model.dtype.torch_name()
    ));
    out.push_str(&format!(
        "padded sizes: {} heads per layer, d_head {}, d_mlp {}, n_ctx {} (max_len {} + BOS), d_vocab {}, d_vocab_out {}\n",
        c.n_heads, c.d_head, c.d_mlp, c.n_ctx, m.max_len, c.d_vocab, c.d_vocab_out
    ));
    out.push_str("layers (heads and MLP units in use):\n");
    out.push_str(&layer_lines(model));
    if m.format_version != FORMAT_VERSION {
        out.push_str(&format!(
            "format: read from a version {} file (this build writes version {FORMAT_VERSION})\n",
            m.format_version
        ));
    }
    let vocab: Vec<String> = m.vocab.iter().map(Atom::repr).collect();
    out.push_str(&format!(
        "vocabulary ({} tokens, ids 1 to {} in this order; BOS `{}` is id 0): {}\n",
        vocab.len(),
        vocab.len(),
        m.bos_token,
        list(&vocab, 50)
    ));
    out.push_str(&format!(
        "input: BOS (id 0) at position 0, always prepended; then 1 to {} token ids; a batch of mixed lengths is padded on the right with a mask that gives padded keys no attention\n",
        m.max_len
    ));
    let (decode, rule) = decode_rule(&m.output);
    out.push_str(&format!(
        "output: {} (decode: {decode}: {rule})\n",
        output_text(&m.output)
    ));
    out.push_str(&match &m.safe_dtypes {
        Some(types) => format!(
            "safe float types: {} (proved by the compiler; the narrowest is {})\n",
            types
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", "),
            min_dtype(types).map_or("none", |t| t.name())
        ),
        None => "safe float types: not stated in the file\n".to_string(),
    });
    out.push_str("TransformerLens:\n");
    if let serde_json::Value::Object(recipe) = transformer_lens_json() {
        for (key, text) in recipe {
            out.push_str(&format!("  {key}: {}\n", text.as_str().unwrap_or_default()));
        }
    }
    out.push_str(&heads_text(model));
    out.push_str(&format!(
        "residual stream ({} dimensions):\n",
        m.residual_labels.len()
    ));
    for (i, label) in m.residual_labels.iter().enumerate() {
        out.push_str(&format!("  {i:>4}  {label}\n"));
    }
    out.push_str(&format!("program (s-op `{}`):\n", m.sop));
    for line in m.source.lines() {
        out.push_str(&format!("  | {line}\n"));
    }
    out
}

/// What each head and MLP computes, as the record says (nothing when it
/// does not).
fn heads_text(model: &Model) -> String {
    let m = &model.meta;
    if m.heads.is_none() && m.mlps.is_none() {
        return "what each head computes: not stated in the file\n".to_string();
    }
    let mut out = String::from("what each head and MLP computes:\n");
    for l in 0..model.config.n_layers {
        let heads = m.heads.as_ref().and_then(|h| h.get(l));
        for (h, head) in heads.into_iter().flatten().enumerate() {
            out.push_str(&format!(
                "  layer {} head {}: {}\n",
                l + 1,
                h + 1,
                head.describe()
            ));
        }
        let parts = m.mlps.as_ref().and_then(|p| p.get(l));
        let parts: Vec<String> = parts
            .into_iter()
            .flatten()
            .map(|p| format!("{} ({} units)", p.sop, p.units))
            .collect();
        if !parts.is_empty() {
            out.push_str(&format!("  layer {} MLP: {}\n", l + 1, parts.join(", ")));
        }
    }
    out
}

/// The same report as JSON.
pub fn inspect_json(model: &Model) -> serde_json::Value {
    let c = &model.config;
    let m = &model.meta;
    let (decode, rule) = decode_rule(&m.output);
    let (kind, values) = match &m.output {
        OutputDecoding::Categorical { values } => ("categorical", values),
        OutputDecoding::Numerical { values, .. } => ("numerical", values),
    };
    json!({
        "sop": m.sop,
        "format_version": m.format_version,
        "dtype": model.dtype.name(),
        "n_layers": c.n_layers,
        "d_model": c.d_model,
        "n_heads": c.n_heads,
        "d_head": c.d_head,
        "d_mlp": c.d_mlp,
        "n_ctx": c.n_ctx,
        "d_vocab": c.d_vocab,
        "d_vocab_out": c.d_vocab_out,
        "max_len": m.max_len,
        "parameters": model.parameter_count(),
        "nonzero_parameters": model.nonzero_parameter_count(),
        "layers": layer_sizes(model).iter().enumerate().map(|(l, s)| json!({
            "layer": l + 1,
            "heads": s.heads.len(),
            "head_indices": s.heads,
            "mlp_units": s.mlp_units,
        })).collect::<Vec<_>>(),
        "bos_token": m.bos_token,
        "bos_id": 0,
        "prepend_bos": true,
        "vocab": m.vocab.iter().map(atom_to_json).collect::<Vec<_>>(),
        "vocab_ids": (1..=m.vocab.len()).collect::<Vec<_>>(),
        "input": input_json(m),
        "output": {
            "kind": kind,
            "values": values.iter().map(atom_to_json).collect::<Vec<_>>(),
            "bound": match &m.output {
                OutputDecoding::Numerical { bound: Some(b), .. } => json!(b),
                _ => serde_json::Value::Null,
            },
            "decode": decode,
            "logit": match &m.output {
                OutputDecoding::Numerical { .. } => json!(0),
                OutputDecoding::Categorical { .. } => serde_json::Value::Null,
            },
            "kinds": match &m.output {
                OutputDecoding::Numerical { kinds, .. } if !kinds.is_empty() => {
                    json!(kinds.iter().map(|k| k.name()).collect::<Vec<_>>())
                }
                _ => serde_json::Value::Null,
            },
            "rule": rule,
        },
        "safe_dtypes": m.safe_dtypes.as_ref().map(|types| types.iter().map(|t| t.name()).collect::<Vec<_>>()),
        "min_dtype": m.safe_dtypes.as_deref().and_then(min_dtype).map(|t| t.name()),
        "transformer_lens": transformer_lens_json(),
        "residual_labels": m.residual_labels,
        "heads": m.heads,
        "mlps": m.mlps,
        "source": m.source,
    })
}
