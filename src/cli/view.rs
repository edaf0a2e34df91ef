//! `rasp view MODEL --input X [--input Y ...] [-o view.html]`: the viewer
//! ([`crate::view`]) of a compiled model on inputs, one HTML file.

use std::path::PathBuf;
use std::process::ExitCode;

use super::run::{for_each_block, report};
use super::EXIT_FAILURE;
use crate::eval::atom::Atom;
use crate::model::Model;
use crate::Interpreter;

/// Arguments of `rasp view`.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// A compiled model (`.safetensors`).
    pub model: PathBuf,
    /// An input, as for `rasp exec`. Repeatable: the page switches between
    /// them. Without it, inputs are read one per line from standard input.
    #[arg(short, long = "input", value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Where to write the page (`-` for standard output; default: the
    /// s-op's name with `.html`, in the current directory).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `rasp view`: inputs the model cannot take are reported (exit 1)
/// and left out; the page shows the others.
pub fn run_view(args: &ViewArgs) -> ExitCode {
    let model = match Model::load(&args.model) {
        Ok(m) => m,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let mut inputs: Vec<(String, Vec<Atom>)> = Vec::new();
    let mut ok = for_each_block(&args.inputs, "inputs", false, &mut |block, _| {
        let mut ok = true;
        for text in block {
            match Interpreter::parse_input(text) {
                Ok(atoms) => match model.encode(&atoms) {
                    Ok(_) => inputs.push((text.clone(), atoms)),
                    Err(e) => {
                        report(&e);
                        ok = false;
                    }
                },
                Err(e) => {
                    report(&e);
                    ok = false;
                }
            }
        }
        ok
    });
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| crate::view::default_path(&model.meta.sop));
    let written = if path.as_os_str() == "-" {
        crate::view::page(&model, &inputs).map(|page| {
            super::out::write(&page);
        })
    } else {
        crate::view::write(&model, &inputs, &path).map(|()| {
            super::out::write(&format!(
                "viewer of {} on {} input{} written to {}\n",
                model.meta.sop,
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" },
                path.display()
            ));
        })
    };
    if let Err(e) = written {
        report(&e);
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}
