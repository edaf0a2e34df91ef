//! The JSON forms of `rasp compile --json` and `rasp verify --json`.

use serde_json::{json, Value};

use super::run::atoms_json;
use crate::compile::verify::Report;
use crate::model::inspect::inspect_json;
use crate::model::Model;

/// `rasp compile --json`: the model's report (as `rasp inspect --json`) and
/// where it was written.
pub fn compile_json(model: &Model, written_to: &std::path::Path) -> Value {
    let mut report = inspect_json(model);
    report["written_to"] = json!(written_to.display().to_string());
    report
}

/// `rasp verify --json`: the model's sizes and the comparison's counts, with
/// the first disagreements.
pub fn verify_json(
    model: &Model,
    report: &Report,
    mode: &str,
    max_len: usize,
    seconds: f64,
) -> Value {
    json!({
        "sop": model.meta.sop,
        "n_layers": model.config.n_layers,
        "d_model": model.config.d_model,
        "parameters": model.parameter_count(),
        "nonzero_parameters": model.nonzero_parameter_count(),
        "checked": mode,
        "max_len": max_len,
        "inputs": report.total,
        "agree": report.matched,
        "undefined": report.undefined,
        "disagree": report.mismatch_count,
        "seconds": seconds,
        "mismatches": report.mismatches.iter().map(|(input, want, got)| json!({
            "input": atoms_json(input),
            "interpreter": atoms_json(want),
            "model": atoms_json(got),
        })).collect::<Vec<_>>(),
    })
}
