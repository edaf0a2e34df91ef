//! The JSON form of `rasp compile --json` (`rasp verify --json` is
//! [`crate::compile::verify::report_json`]).

use serde_json::{json, Value};

use crate::model::inspect::inspect_json;
use crate::model::Model;

/// `rasp compile --json`: the model's report (as `rasp inspect --json`) and
/// where it was written.
pub fn compile_json(model: &Model, written_to: &std::path::Path) -> Value {
    let mut report = inspect_json(model);
    report["written_to"] = json!(written_to.display().to_string());
    report
}
