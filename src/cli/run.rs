//! `rasp run FILE [--input INPUT]... [--sop NAME] [--json] [--verbose]`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use miette::Diagnostic;

use super::{stderr_color, RunArgs, EXIT_FAILURE, EXIT_USAGE};
use crate::diagnostics::render;
use crate::eval::atom::Atom;
use crate::eval::print::{sequence_text, value_text};
use crate::eval::run::eval_sop;
use crate::eval::sop::SOp;
use crate::eval::value::Value;
use crate::eval::{Event, Interpreter};
use crate::syntax::span::source;

/// A command-line problem that is not about the program's code.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CliError {
    /// The program file could not be read.
    #[error("cannot read `{path}`: {reason}")]
    #[diagnostic(code(rasp::cli::read_file))]
    ReadFile { path: String, reason: String },
    /// `--sop NAME` names nothing, or not an s-op.
    #[error("`{name}` is {what}, not an s-op")]
    #[diagnostic(
        code(rasp::cli::not_an_sop),
        help("`--sop` takes the name of an s-op the program binds at top level")
    )]
    NotAnSOp { name: String, what: String },
    /// The program binds no s-op to run.
    #[error("`{path}` defines no s-op to run")]
    #[diagnostic(
        code(rasp::cli::no_sop),
        help(
            "assign an s-op at top level, as in `result = reverse(tokens);`, or pass `--sop NAME`"
        )
    )]
    NoSOp { path: String },
}

pub fn report(diagnostic: &dyn Diagnostic) {
    eprint!("{}", render(diagnostic, stderr_color()));
}

/// A program loaded for a command: its interpreter and the s-op it runs.
pub struct Loaded {
    pub sop: SOp,
    /// The program's text.
    pub text: String,
    pub name: String,
}

/// What to do with the program's `draw(...)` statements.
#[derive(Clone, Copy)]
pub enum Draws<'a> {
    /// Nothing (commands that only need the s-op).
    Ignore,
    /// Draw each, on its own input or else on this one (`rasp run`'s
    /// first `--input`), reporting the file on standard error.
    Carry(Option<&'a [Atom]>),
}

/// Loads `file`, runs it (printing top-level values with `verbose`) and
/// picks the s-op: `--sop NAME`, or the last one the program bound or
/// printed. On failure, reports and returns the exit code.
pub fn load_program(
    file: &std::path::Path,
    sop_name: Option<&str>,
    verbose: bool,
) -> Result<Loaded, ExitCode> {
    load_program_with(file, sop_name, verbose, Draws::Ignore)
}

/// [`load_program`], doing `draws` with the program's `draw` statements.
pub fn load_program_with(
    file: &std::path::Path,
    sop_name: Option<&str>,
    verbose: bool,
    draws: Draws<'_>,
) -> Result<Loaded, ExitCode> {
    let path = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| {
        report(&CliError::ReadFile {
            path: path.clone(),
            reason: e.to_string(),
        });
        ExitCode::from(EXIT_FAILURE)
    })?;
    let mut interp = Interpreter::new().map_err(|e| {
        report(&e);
        ExitCode::from(EXIT_FAILURE)
    })?;
    let src = source(&path, text.clone());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut last: Option<(String, SOp)> = None;
    let mut draw_failed = false;
    let result = interp.run(&src, file.parent(), &mut |event| match event {
        Event::Value { value, .. } => {
            if let Value::SOp(s) = &value {
                last = Some((s.label(), s.clone()));
            }
            if verbose {
                let _ = writeln!(out, "{}", value_text(&value));
            }
        }
        Event::Assigned(bound) => {
            for (name, v) in bound {
                if let Value::SOp(s) = v {
                    last = Some((name.to_string(), s));
                }
            }
        }
        Event::Draw {
            sop,
            name,
            input,
            origin,
        } => {
            if let Draws::Carry(fallback) = draws {
                let _ = out.flush();
                match crate::draw::draw_statement(&sop, &name, input.as_deref(), fallback, &origin)
                {
                    Ok(path) => eprintln!("drawn to {}", path.display()),
                    Err(e) => {
                        report(&e);
                        draw_failed = true;
                    }
                }
            }
        }
    });
    let _ = out.flush();
    if let Err(e) = result {
        report(&e);
        return Err(ExitCode::from(EXIT_FAILURE));
    }
    if draw_failed {
        return Err(ExitCode::from(EXIT_FAILURE));
    }
    let (name, sop) = match sop_name {
        Some(name) => match interp.get(name) {
            Some(Value::SOp(s)) => (name.to_string(), s),
            other => {
                report(&CliError::NotAnSOp {
                    name: name.to_string(),
                    what: other.map_or_else(|| "not defined".to_string(), |v| v.describe()),
                });
                return Err(ExitCode::from(EXIT_USAGE));
            }
        },
        None => match last {
            Some(found) => found,
            None => {
                report(&CliError::NoSOp { path });
                return Err(ExitCode::from(EXIT_FAILURE));
            }
        },
    };
    Ok(Loaded { sop, text, name })
}

/// Runs `rasp run`.
pub fn run(args: &RunArgs) -> ExitCode {
    let first_input = args
        .inputs
        .first()
        .and_then(|text| Interpreter::parse_input(text).ok());
    let draws = Draws::Carry(first_input.as_deref());
    let loaded = match load_program_with(&args.file, args.sop.as_deref(), args.verbose, draws) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let sop = loaded.sop;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let mut run_one = |text: &str, out: &mut dyn Write| {
        if !run_input(&sop, text, args.json, out) {
            failed = true;
        }
    };
    if args.inputs.is_empty() {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else {
                failed = true;
                break;
            };
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            run_one(line, &mut out);
        }
    } else {
        for text in &args.inputs {
            run_one(text, &mut out);
        }
    }
    let _ = out.flush();
    if failed {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one input and prints its line; false if it failed.
fn run_input(sop: &SOp, text: &str, json: bool, out: &mut dyn Write) -> bool {
    let input = match Interpreter::parse_input(text) {
        Ok(i) => i,
        Err(e) => {
            if json {
                let line = serde_json::json!({"input": text, "error": e.to_string()});
                let _ = writeln!(out, "{line}");
            }
            report(&e);
            return false;
        }
    };
    match eval_sop(sop, &input) {
        Ok(seq) => {
            let _ = if json {
                let line = serde_json::json!({
                    "input": atoms_json(&input),
                    "output": atoms_json(&seq.values),
                });
                writeln!(out, "{line}")
            } else {
                writeln!(out, "{}", sequence_text(&seq))
            };
            true
        }
        Err(e) => {
            let e = e.on_input(text);
            if json {
                let line = serde_json::json!({"input": atoms_json(&input), "error": e.to_string()});
                let _ = writeln!(out, "{line}");
            }
            let _ = out.flush();
            report(&e);
            false
        }
    }
}

/// Atoms as JSON values of their real types.
pub fn atoms_json(atoms: &[Atom]) -> serde_json::Value {
    serde_json::Value::Array(
        atoms
            .iter()
            .map(|a| match a {
                Atom::Bool(b) => serde_json::Value::Bool(*b),
                Atom::Int(i) => serde_json::Value::from(*i),
                Atom::Float(x) => serde_json::Number::from_f64(*x)
                    .map(serde_json::Value::Number)
                    .unwrap_or_else(|| serde_json::Value::String(a.to_py_str())),
                Atom::Str(s) => serde_json::Value::String(s.to_string()),
            })
            .collect(),
    )
}
