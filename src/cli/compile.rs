//! `rasp compile`, `rasp exec` and `rasp verify`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;

use super::progress::progress_bar;
use super::run::{
    atom_json, atoms_json, for_each_block, load_program, print_block, report, CliError, LineOutput,
    Loaded,
};
use super::{stderr_color, EXIT_FAILURE, EXIT_USAGE};
use crate::compile::verify::{checks, report_json, verify_parallel, Report};
use crate::compile::{compile_noting, CompileError, CompileOptions};
use crate::eval::atom::Atom;
use crate::eval::run::PreparedSOp;
use crate::model::forward::{Prediction, Runner};
use crate::model::inspect::summary;
use crate::model::{Dtype, Model, OutputDecoding};
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
    /// The weights' type, and the precision the model runs in: f64 for
    /// programs whose values f32 cannot tell apart.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    pub dtype: DtypeArg,
}

/// `--dtype`: a model's [`Dtype`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DtypeArg {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl From<DtypeArg> for Dtype {
    fn from(arg: DtypeArg) -> Dtype {
        match arg {
            DtypeArg::F32 => Dtype::F32,
            DtypeArg::F64 => Dtype::F64,
        }
    }
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
    /// Inputs to try when there are more than a million: the hard ones of
    /// length max_len first (constant, alternating, all but one token
    /// equal), then random ones. At least 1, at most 100,000,000.
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
fn compile_target(target: &Target) -> Result<(Model, Loaded), ExitCode> {
    let vocab = Interpreter::parse_vocab(&target.vocab).map_err(|e| {
        report(&e);
        ExitCode::from(EXIT_USAGE)
    })?;
    let loaded = load_program(&target.file, target.sop.as_deref())?;
    let options = CompileOptions {
        dtype: target.dtype.into(),
    };
    let (model, warnings) = compile_noting(
        &loaded.sop,
        &loaded.name,
        &loaded.text,
        &vocab,
        target.max_len,
        &options,
    )
    .map_err(|e: CompileError| {
        report(&e);
        ExitCode::from(EXIT_FAILURE)
    })?;
    for w in &warnings {
        report(w);
    }
    Ok((model, loaded))
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
        super::out::write(&format!(
            "{}\n",
            super::json::compile_json(&model, &args.output)
        ));
        return ExitCode::SUCCESS;
    }
    super::out::write(&format!(
        "{}  written to {}\n",
        summary(&model),
        args.output.display()
    ));
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
    let runner = match Runner::new(&model) {
        Ok(r) => r,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let texts = Texts::new(&model);
    let color = stderr_color();
    let mut ran: Vec<(String, Vec<Atom>)> = Vec::new();
    let mut ok = for_each_block(&args.inputs, "inputs", args.json, &mut |block, bar| {
        if args.plot.is_some() {
            for text in block {
                // Inputs that fail are reported once, by the run itself.
                match Interpreter::parse_input(text) {
                    Ok(atoms) if model.encode(&atoms).is_ok() => ran.push((text.clone(), atoms)),
                    _ => {}
                }
            }
        }
        print_block(
            &exec_block(&model, &runner, &texts, block, args.json, color),
            bar,
        )
    });
    if let Some(dir) = &args.plot {
        ok &= super::plot::plot(&model, &ran, dir);
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

/// What `rasp exec` prints, rendered once per model: an output line is then
/// a join of ready strings (measured 30-60% faster than formatting atoms per
/// line, the JSON lines most).
struct Texts {
    /// Token ids of the one-character string tokens (the first entry wins,
    /// as in [`Model::encode`]).
    char_ids: HashMap<char, u32>,
    /// Each vocabulary token as JSON.
    vocab_json: Vec<String>,
    /// Each output value as `rasp run` prints it, and as JSON.
    value_text: Vec<String>,
    value_json: Vec<String>,
    /// Each output value as the other number type (`1.0` for `1`, `1` for
    /// `1.0`), as printed and as JSON, where there is one; and whether the
    /// value itself is a float.
    other_text: Vec<Option<(String, String)>>,
    is_float: Vec<bool>,
    /// The kind of the number at each position (numerical outputs).
    kinds: Vec<crate::model::NumberKind>,
    max_len: usize,
}

impl Texts {
    fn new(model: &Model) -> Texts {
        let mut char_ids = HashMap::new();
        for (i, token) in model.meta.vocab.iter().enumerate() {
            if let Atom::Str(s) = token {
                let mut chars = s.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    char_ids.entry(c).or_insert(i as u32 + 1);
                }
            }
        }
        let values = match &model.meta.output {
            OutputDecoding::Categorical { values } | OutputDecoding::Numerical { values, .. } => {
                values
            }
        };
        Texts {
            char_ids,
            vocab_json: model
                .meta
                .vocab
                .iter()
                .map(|a| atom_json(a).to_string())
                .collect(),
            value_text: values.iter().map(Atom::short).collect(),
            value_json: values.iter().map(|a| atom_json(a).to_string()).collect(),
            other_text: values
                .iter()
                .map(|a| {
                    use crate::model::NumberKind;
                    let other = match a {
                        Atom::Int(_) => NumberKind::Float.apply(a.clone()),
                        Atom::Float(_) => NumberKind::Int.apply(a.clone()),
                        _ => return None,
                    };
                    matches!(other, Atom::Int(_) | Atom::Float(_))
                        .then_some(())
                        .filter(|()| std::mem::discriminant(&other) != std::mem::discriminant(a))
                        .map(|()| (other.short(), atom_json(&other).to_string()))
                })
                .collect(),
            is_float: values.iter().map(|a| matches!(a, Atom::Float(_))).collect(),
            kinds: match &model.meta.output {
                OutputDecoding::Numerical { kinds, .. } => kinds.clone(),
                OutputDecoding::Categorical { .. } => Vec::new(),
            },
            max_len: model.meta.max_len,
        }
    }

    /// The token ids of a plain string input, if every character is a
    /// token and it is not too long (anything else takes the general path,
    /// which reports the problem).
    fn encode(&self, text: &str) -> Option<Vec<u32>> {
        if text.trim_start().starts_with('[') {
            return None;
        }
        let mut ids = Vec::with_capacity(text.len() + 1);
        ids.push(0);
        for c in text.chars() {
            ids.push(*self.char_ids.get(&c)?);
        }
        (ids.len() > 1 && ids.len() <= self.max_len + 1).then_some(ids)
    }

    /// The JSON of the tokens of `ids` (BOS first, then ids of the
    /// vocabulary).
    fn ids_json(&self, ids: &[u32]) -> String {
        let tokens: Vec<&str> = ids[1..]
            .iter()
            .map(|&id| {
                self.vocab_json
                    .get(id as usize - 1)
                    .map_or("null", String::as_str)
            })
            .collect();
        format!("[{}]", tokens.join(","))
    }

    /// The text of prediction `p` at user position `position`.
    fn value(&self, p: Prediction, position: usize, json: bool) -> String {
        use crate::model::NumberKind;
        if let (Prediction::Value(i), Some(kind)) = (p, self.kinds.get(position)) {
            let listed_float = self.is_float.get(i as usize).copied().unwrap_or(false);
            let wanted_other = match kind {
                NumberKind::Float => !listed_float,
                NumberKind::Int => listed_float,
                NumberKind::Either => false,
            };
            if let Some(Some((text, json_text))) =
                self.other_text.get(i as usize).filter(|_| wanted_other)
            {
                return if json {
                    json_text.clone()
                } else {
                    text.clone()
                };
            }
        }
        let (texts, index) = match p {
            Prediction::Value(i) => (
                if json {
                    &self.value_json
                } else {
                    &self.value_text
                },
                i,
            ),
            Prediction::NonFinite => return "nan".to_string(),
            Prediction::Number(x) => {
                let atom = Atom::Float(x);
                return if json {
                    atom_json(&atom).to_string()
                } else {
                    atom.short()
                };
            }
        };
        texts
            .get(index as usize)
            .cloned()
            .unwrap_or_else(|| "nan".to_string())
    }

    /// One output line, as `rasp run` prints it; `input` is the JSON of
    /// the input's tokens.
    fn line(&self, input: impl FnOnce() -> String, outputs: &[Prediction], json: bool) -> String {
        let shown: Vec<String> = outputs
            .iter()
            .enumerate()
            .map(|(i, &p)| self.value(p, i, json))
            .collect();
        if json {
            format!("{{\"input\":{},\"output\":[{}]}}", input(), shown.join(","))
        } else {
            format!("[{}]", shown.join(", "))
        }
    }
}

/// Runs one block of `rasp exec` inputs: encoding and formatting in
/// parallel, one batched forward pass, inputs that need the interpreter's
/// parser (lists, errors) on this thread.
fn exec_block(
    model: &Model,
    runner: &Runner,
    texts: &Texts,
    block: &[String],
    json: bool,
    color: bool,
) -> Vec<LineOutput> {
    let fast: Vec<Option<Vec<u32>>> = block.par_iter().map(|t| texts.encode(t)).collect();
    let mut lines: Vec<Option<LineOutput>> = Vec::with_capacity(block.len());
    // The general path: a parsed input and its ids, or the failure line.
    let mut general: Vec<Option<Vec<Atom>>> = Vec::with_capacity(block.len());
    let mut batch: Vec<Vec<u32>> = Vec::with_capacity(block.len());
    for (text, ids) in block.iter().zip(fast) {
        if let Some(ids) = ids {
            batch.push(ids);
            general.push(None);
            lines.push(None);
            continue;
        }
        let input = match Interpreter::parse_input(text) {
            Ok(i) => i,
            Err(e) => {
                let shown = serde_json::Value::String(text.clone());
                lines.push(Some(LineOutput::failure(
                    || shown.to_string(),
                    &e,
                    json,
                    color,
                )));
                general.push(None);
                continue;
            }
        };
        match model.encode(&input) {
            Ok(ids) => {
                batch.push(ids);
                general.push(Some(input));
                lines.push(None);
            }
            Err(e) => {
                lines.push(Some(LineOutput::failure(
                    || atoms_json(&input).to_string(),
                    &e,
                    json,
                    color,
                )));
                general.push(None);
            }
        }
    }
    let predictions = match model.predict(runner, &batch) {
        Ok(p) => p,
        Err(e) => {
            // Every input of the block gets the error line and the
            // diagnostic (the model could not run them).
            return block
                .iter()
                .map(|text| {
                    let shown = serde_json::Value::String(text.clone());
                    LineOutput::failure(|| shown.to_string(), &e, json, color)
                })
                .collect();
        }
    };
    // Pair each pending line with its ids and predictions, in order.
    let mut pending = batch.iter().zip(&predictions);
    let jobs: Vec<(usize, &Vec<u32>, &Vec<Prediction>)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_none())
        .filter_map(|(i, _)| pending.next().map(|(ids, p)| (i, ids, p)))
        .collect();
    let parsed: Vec<bool> = general.iter().map(Option::is_some).collect();
    let formatted: Vec<Option<String>> = jobs
        .par_iter()
        .map(|&(i, ids, outputs)| {
            (!parsed[i]).then(|| texts.line(|| texts.ids_json(ids), outputs, json))
        })
        .collect();
    for ((i, ids, outputs), text) in jobs.iter().zip(formatted) {
        if let Some(at) = outputs.iter().position(|p| *p == Prediction::NonFinite) {
            let e = crate::model::ModelError::NonFiniteOutput { position: at + 1 };
            let input = match &general[*i] {
                Some(atoms) => atoms_json(atoms).to_string(),
                None => texts.ids_json(ids),
            };
            lines[*i] = Some(LineOutput::failure(|| input, &e, json, color));
            continue;
        }
        let text = text.unwrap_or_else(|| {
            let input = general[*i].as_deref().unwrap_or_default();
            texts.line(|| atoms_json(input).to_string(), outputs, json)
        });
        lines[*i] = Some(LineOutput {
            stdout: Some(text),
            stderr: None,
        });
    }
    lines
        .into_iter()
        .map(|l| {
            l.unwrap_or(LineOutput {
                stdout: None,
                stderr: None,
            })
        })
        .collect()
}

/// The most inputs `rasp verify --samples` checks (minutes, not days).
const MAX_SAMPLES: usize = 100_000_000;

/// Runs `rasp verify`.
pub fn run_verify(args: &VerifyArgs) -> ExitCode {
    if args.samples == 0 {
        report(&CliError::NoSamples);
        return ExitCode::from(EXIT_USAGE);
    }
    if args.samples > MAX_SAMPLES {
        report(&CliError::TooManySamples {
            samples: args.samples,
            limit: MAX_SAMPLES,
        });
        return ExitCode::from(EXIT_USAGE);
    }
    let (model, loaded) = match compile_target(&args.target) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let vocab = model.meta.vocab.clone();
    let started = std::time::Instant::now();
    let max_len = args.target.max_len;
    let checks = checks(&vocab, max_len, args.samples, args.seed);
    let bar = progress_bar(Some(checks.total), "inputs");
    let progress = |done: usize| bar.set_position(done as u64);
    let report = verify_parallel(&model, &loaded.sop, checks.inputs, progress);
    let mode = checks.mode;
    bar.finish_and_clear();
    let always_undefined = always_undefined(&report, &loaded, &vocab, max_len, args);
    let failed = report.mismatch_count > 0 || always_undefined.is_some();
    if args.json {
        let seconds = started.elapsed().as_secs_f64();
        let json = report_json(&model, &report, &mode, max_len, seconds);
        super::out::write(&format!("{json}\n"));
        if let Some(e) = &always_undefined {
            super::run::report(e);
        }
        return ExitCode::from(if failed { EXIT_FAILURE } else { 0 });
    }
    super::out::write(&summary(&model));
    super::out::write(&format!(
        "checked {mode} of length 1..={}: {} inputs, {} agree, {} undefined (the interpreter fails), {} disagree ({:.1} s)\n",
        args.target.max_len,
        report.total,
        report.matched,
        report.undefined,
        report.mismatch_count,
        started.elapsed().as_secs_f64()
    ));
    for (input, want, got) in &report.mismatches {
        let show = |v: &[Atom]| {
            format!(
                "[{}]",
                v.iter().map(Atom::short).collect::<Vec<_>>().join(", ")
            )
        };
        super::out::write(&format!(
            "  input {}: interpreter {}, model {}\n",
            show(input),
            show(want),
            show(got)
        ));
    }
    if let Some(e) = &always_undefined {
        super::run::report(e);
    }
    if failed {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// [`CliError::AlwaysUndefined`] when the interpreter failed on every
/// input checked, with its error on the first of them.
fn always_undefined(
    report: &Report,
    loaded: &Loaded,
    vocab: &[Atom],
    max_len: usize,
    args: &VerifyArgs,
) -> Option<CliError> {
    if report.total == 0 || report.undefined < report.total {
        return None;
    }
    // The first input checked, as the run took it.
    let first = checks(vocab, max_len, args.samples, args.seed)
        .inputs
        .next();
    let error = first
        .as_ref()
        .and_then(|input| PreparedSOp::new(&loaded.sop).eval(input).err());
    let shown = first.map_or_else(String::new, |input| {
        let tokens: Vec<String> = input.iter().map(Atom::short).collect();
        format!("[{}]", tokens.join(", "))
    });
    let first = match &error {
        Some(_) => format!("on the first, {shown}, the interpreter fails as follows"),
        None => format!("the first was {shown}"),
    };
    Some(CliError::AlwaysUndefined {
        inputs: report.total,
        first,
        errors: error.into_iter().collect(),
    })
}
