//! `rasp exec MODEL --plot DIR`, `rasp inspect MODEL [--json]` and
//! `rasp completions SHELL`: the commands that show a model or the CLI itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::run::report;
use super::EXIT_FAILURE;
use crate::eval::atom::Atom;
use crate::model::inspect::{inspect_json, inspect_text};
use crate::model::Model;

/// Writes the plots of `inputs` (those `rasp exec` ran) into `dir` and says
/// where on standard error; false if that failed (reported).
pub fn plot(model: &Model, inputs: &[(String, Vec<Atom>)], dir: &Path) -> bool {
    match crate::plot::plot_inputs(model, inputs, dir) {
        Ok(index) => {
            eprintln!(
                "plots of {} input{} in {}",
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" },
                index.display()
            );
            true
        }
        Err(e) => {
            report(&e);
            false
        }
    }
}

/// Arguments of `rasp inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A compiled model (`.safetensors`).
    pub model: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `rasp inspect`.
pub fn run_inspect(args: &InspectArgs) -> ExitCode {
    let model = match Model::load(&args.model) {
        Ok(m) => m,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let text = if args.json {
        format!("{}\n", inspect_json(&model))
    } else {
        inspect_text(&model)
    };
    super::out::write(&text);
    ExitCode::SUCCESS
}
