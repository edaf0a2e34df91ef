//! `rasp compile`, `rasp exec` and `rasp verify`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::run::{atoms_json, load_program, report};
use super::{EXIT_FAILURE, EXIT_USAGE};
use crate::compile::verify::{all_inputs, random_inputs, verify};
use crate::compile::{compile, CompileError};
use crate::eval::atom::Atom;
use crate::model::inspect::summary;
use crate::model::Model;
use crate::Interpreter;

/// What to compile: a program, its s-op, the inputs the model must handle.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The program file.
    pub file: PathBuf,
    /// The input tokens: `a,b,c` (strings), or a RASP list such as `[1, 2, 3]`.
    #[arg(long, value_name = "TOKENS")]
    pub vocab: String,
    /// The longest input the model must handle.
    #[arg(long, value_name = "N")]
    pub max_len: usize,
    /// The s-op to compile (default: the last s-op the program assigned).
    #[arg(long, value_name = "NAME")]
    pub sop: Option<String>,
}

/// Arguments of `rasp compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub target: Target,
    /// Where to write the weights (a `.safetensors` file).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Print the model's report (as `rasp inspect --json`) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `rasp exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// A compiled model (`.safetensors`).
    pub model: PathBuf,
    /// An input, as for `rasp run`. Repeatable; without it, inputs are read
    /// one per line from standard input.
    #[arg(short, long = "input", value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// One JSON object per input and line, as `rasp run --json` prints.
    #[arg(long)]
    pub json: bool,
    /// Also write, for each input, PNG heatmaps of every head's attention
    /// and of the residual stream after each layer into DIR, with an
    /// `index.html` showing them together.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
}

/// Arguments of `rasp verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: Target,
    /// Random inputs to try when there are more than a million inputs.
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
    /// The seed of the random inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Loads and compiles a target; on failure, reports and gives the exit code.
fn compile_target(target: &Target) -> Result<(Model, crate::eval::sop::SOp), ExitCode> {
    let vocab = Interpreter::parse_vocab(&target.vocab).map_err(|e| {
        report(&e);
        ExitCode::from(EXIT_USAGE)
    })?;
    let loaded = load_program(&target.file, target.sop.as_deref(), false)?;
    let model = compile(
        &loaded.sop,
        &loaded.name,
        &loaded.text,
        &vocab,
        target.max_len,
    )
    .map_err(|e: CompileError| {
        report(&e);
        ExitCode::from(EXIT_FAILURE)
    })?;
    Ok((model, loaded.sop))
}

/// Runs `rasp compile`.
pub fn run_compile(args: &CompileArgs) -> ExitCode {
    let (model, _) = match compile_target(&args.target) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let Err(e) = model.save(&args.output) {
        report(&e);
        return ExitCode::from(EXIT_FAILURE);
    }
    if args.json {
        println!("{}", super::json::compile_json(&model, &args.output));
        return ExitCode::SUCCESS;
    }
    print!("{}", summary(&model));
    println!("  written to {}", args.output.display());
    ExitCode::SUCCESS
}

/// Runs `rasp exec`.
pub fn run_exec(args: &ExecArgs) -> ExitCode {
    let model = match Model::load(&args.model) {
        Ok(m) => m,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let mut ran: Vec<(String, Vec<Atom>)> = Vec::new();
    let mut one = |text: &str, out: &mut dyn Write| {
        if !exec_input(&model, text, args.json, out) {
            failed = true;
        } else if args.plot.is_some() {
            if let Ok(atoms) = Interpreter::parse_input(text) {
                ran.push((text.to_string(), atoms));
            }
        }
    };
    if args.inputs.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else {
                failed = true;
                break;
            };
            let line = line.trim_end_matches('\r');
            if !line.is_empty() {
                one(line, &mut out);
            }
        }
    } else {
        for text in &args.inputs {
            one(text, &mut out);
        }
    }
    let _ = out.flush();
    if let Some(dir) = &args.plot {
        if !super::plot::plot(&model, &ran, dir) {
            failed = true;
        }
    }
    if failed {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

fn exec_input(model: &Model, text: &str, json: bool, out: &mut dyn Write) -> bool {
    let fail = |message: String, input: serde_json::Value, out: &mut dyn Write| {
        if json {
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({"input": input, "error": message})
            );
        }
    };
    let input = match Interpreter::parse_input(text) {
        Ok(i) => i,
        Err(e) => {
            fail(e.to_string(), serde_json::Value::String(text.into()), out);
            report(&e);
            return false;
        }
    };
    let result = model
        .encode(&input)
        .and_then(|ids| model.forward(&[ids], false))
        .map(|fwd| model.decode(&fwd));
    match result {
        Ok(mut outputs) => {
            let values = outputs.pop().unwrap_or_default();
            if json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({"input": atoms_json(&input), "output": atoms_json(&values)})
                );
            } else {
                let shown: Vec<String> = values.iter().map(Atom::short).collect();
                let _ = writeln!(out, "[{}]", shown.join(", "));
            }
            true
        }
        Err(e) => {
            fail(e.to_string(), atoms_json(&input), out);
            let _ = out.flush();
            report(&e);
            false
        }
    }
}

/// Runs `rasp verify`.
pub fn run_verify(args: &VerifyArgs) -> ExitCode {
    let (model, sop) = match compile_target(&args.target) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let vocab = model.meta.vocab.clone();
    let started = std::time::Instant::now();
    let (report, mode) = match all_inputs(&vocab, args.target.max_len, 1_000_000) {
        Some(inputs) => (
            verify(&model, &sop, inputs, |_| {}),
            "every input".to_string(),
        ),
        None => (
            verify(
                &model,
                &sop,
                random_inputs(&vocab, args.target.max_len, args.samples, args.seed),
                |_| {},
            ),
            format!("{} random inputs (seed {})", args.samples, args.seed),
        ),
    };
    if args.json {
        let seconds = started.elapsed().as_secs_f64();
        let max_len = args.target.max_len;
        let json = super::json::verify_json(&model, &report, &mode, max_len, seconds);
        println!("{json}");
        return ExitCode::from(if report.mismatch_count > 0 {
            EXIT_FAILURE
        } else {
            0
        });
    }
    print!("{}", summary(&model));
    println!(
        "checked {mode} of length 1..={}: {} inputs, {} agree, {} undefined (the interpreter fails), {} disagree ({:.1} s)",
        args.target.max_len,
        report.total,
        report.matched,
        report.undefined,
        report.mismatch_count,
        started.elapsed().as_secs_f64()
    );
    for (input, want, got) in &report.mismatches {
        let show = |v: &[Atom]| {
            format!(
                "[{}]",
                v.iter().map(Atom::short).collect::<Vec<_>>().join(", ")
            )
        };
        println!(
            "  input {}: interpreter {}, model {}",
            show(input),
            show(want),
            show(got)
        );
    }
    if report.mismatch_count > 0 {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}
