//! The viewer's data: the model's shape and records, and each input's
//! recorded forward pass, as the JSON the renderer reads.
//!
//! ```text
//! { sop, source, vocab, labels, summary,
//!   stages: [{name, hook}]                 embedding, then each sub-layer
//!   layers: [{heads: [{index, record}], mlp, mlp_units}]   heads in use
//!   inputs: [{text, tokens, positions, output,
//!             patterns: [layer][head in use][query][key],
//!             residuals: [stage][position][dimension]}] }
//! ```
//!
//! Numbers keep six significant digits (the page shows four); a number that
//! is not finite is `null`.

use serde_json::{json, Value};

use super::{position_labels, script_json, ViewError, MAX_NUMBERS};
use crate::eval::atom::Atom;
use crate::model::inspect::{layer_sizes, LayerSizes};
use crate::model::{Forward, Model, ModelError};

/// The page's data as script-safe JSON ([`script_json`]).
pub fn page_data(model: &Model, inputs: &[(String, Vec<Atom>)]) -> Result<String, ViewError> {
    let sizes = layer_sizes(model);
    let heads: usize = sizes.iter().map(|s| s.heads.len()).sum();
    let snapshots = 2 * model.config.n_layers as u128 + 1;
    let numbers: u128 = inputs
        .iter()
        .map(|(_, atoms)| {
            let n = atoms.len() as u128 + 1;
            snapshots * n * model.config.d_model as u128 + heads as u128 * n * n
        })
        .sum();
    if numbers > MAX_NUMBERS {
        return Err(ViewError::TooLarge { numbers });
    }
    let meta = &model.meta;
    let layers: Vec<Value> = sizes
        .iter()
        .enumerate()
        .map(|(l, s)| {
            let records = meta.heads.as_ref().and_then(|h| h.get(l));
            json!({
                "heads": s.heads.iter().map(|&h| json!({
                    "index": h,
                    "record": records.and_then(|r| r.get(h)),
                })).collect::<Vec<_>>(),
                "mlp": meta.mlps.as_ref().and_then(|m| m.get(l)),
                "mlp_units": s.mlp_units,
            })
        })
        .collect();
    let stages: Vec<Value> = (0..=2 * model.config.n_layers)
        .map(|s| {
            let name = match s {
                0 => "embedding".to_string(),
                s if s % 2 == 1 => format!("layer {} attention", s / 2 + 1),
                s => format!("layer {} MLP", s / 2),
            };
            json!({"name": name, "hook": Forward::residual_name(s)})
        })
        .collect();
    let mut runs: Vec<Value> = Vec::with_capacity(inputs.len());
    for (text, atoms) in inputs {
        runs.push(run(model, &sizes, text, atoms)?);
    }
    let data = json!({
        "sop": meta.sop,
        "source": meta.source,
        "vocab": meta.vocab.iter().map(Atom::short).collect::<Vec<_>>(),
        "labels": meta.residual_labels,
        "summary": {
            "n_layers": model.config.n_layers,
            "d_model": model.config.d_model,
            "heads": heads,
            "max_len": meta.max_len,
            "dtype": model.dtype.name(),
        },
        "stages": stages,
        "layers": layers,
        "inputs": runs,
    });
    Ok(script_json(&data))
}

/// One input's recorded forward pass.
fn run(
    model: &Model,
    sizes: &[LayerSizes],
    text: &str,
    atoms: &[Atom],
) -> Result<Value, ModelError> {
    let fwd = model.forward(&[model.encode(atoms)?], true)?;
    let item = 0;
    let rows = fwd.rows(item);
    let patterns: Vec<Vec<Value>> = sizes
        .iter()
        .enumerate()
        .map(|(l, s)| {
            s.heads
                .iter()
                .map(|&h| matrix(fwd.pattern(item, l, h)))
                .collect()
        })
        .collect();
    let residuals: Vec<Value> = fwd
        .residuals
        .iter()
        .map(|r| matrix(r.slice(ndarray::s![rows.clone(), ..])))
        .collect();
    let output: Vec<String> = model
        .decode(&fwd)
        .pop()
        .unwrap_or_default()
        .iter()
        .map(Atom::short)
        .collect();
    Ok(json!({
        "text": text,
        "tokens": atoms.iter().map(Atom::short).collect::<Vec<_>>(),
        "positions": position_labels(&model.meta.bos_token, atoms),
        "output": output,
        "patterns": patterns,
        "residuals": residuals,
    }))
}

/// A matrix as rows of rounded numbers.
fn matrix(m: ndarray::ArrayView2<'_, f64>) -> Value {
    Value::Array(
        m.rows()
            .into_iter()
            .map(|row| Value::Array(row.iter().map(|&x| number(x)).collect()))
            .collect(),
    )
}

/// `x` to six significant digits; `null` if it is not finite.
fn number(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let rounded: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    let rounded = if rounded == 0.0 { 0.0 } else { rounded };
    serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
}
