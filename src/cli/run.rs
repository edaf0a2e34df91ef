//! `rasp run FILE [--input INPUT]... [--sop NAME] [--json] [--verbose]`.

use std::io::BufRead;
use std::process::ExitCode;

use indicatif::ProgressBar;
use miette::Diagnostic;

use super::progress::{progress_bar, show_progress, PROGRESS_MIN};
use super::{stderr_color, RunArgs, EXIT_FAILURE, EXIT_USAGE};
use crate::diagnostics::render;
use crate::eval::atom::Atom;
use crate::eval::batch::{out_of_memory, run_batch};
use crate::eval::run::PreparedSOp;
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
    /// `rasp verify --samples 0`.
    #[error("`--samples` must be at least 1")]
    #[diagnostic(
        code(rasp::cli::no_samples),
        help("`--samples K` is how many inputs `rasp verify` checks when there are more than a million of length 1 to max_len (the hard ones first, then random ones); 0 would check nothing")
    )]
    NoSamples,
    /// `rasp verify --samples` past the limit.
    #[error("`--samples` must be at most {limit}, not {samples}")]
    #[diagnostic(
        code(rasp::cli::too_many_samples),
        help("a billion inputs take hours; sample fewer, or verify every input of a smaller `--max-len`")
    )]
    TooManySamples { samples: usize, limit: usize },
    /// A line of standard input that is not an input.
    #[error("line {line} of standard input is not an input: {reason}")]
    #[diagnostic(
        code(rasp::cli::input_line),
        help(
            "each line of standard input is one input, as text in UTF-8; the other lines are run"
        )
    )]
    BadInputLine { line: usize, reason: String },
    /// `rasp verify` found the interpreter failing on every input.
    #[error("the program fails on every input checked ({inputs} inputs), so the model was compared on none")]
    #[diagnostic(
        code(rasp::cli::always_undefined),
        help("{first}; the model can only be checked on inputs the program runs on")
    )]
    AlwaysUndefined {
        inputs: usize,
        /// What the interpreter says on the first input.
        first: String,
        #[related]
        errors: Vec<crate::eval::error::EvalError>,
    },
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

/// Loads `file`, runs it and picks the s-op: `--sop NAME`, or the last one
/// the program bound or printed. On failure, reports and returns the exit
/// code.
pub fn load_program(file: &std::path::Path, sop_name: Option<&str>) -> Result<Loaded, ExitCode> {
    load_program_with(file, sop_name, None, Draws::Ignore)
}

/// `rasp run --verbose`: show the program's top-level values.
pub struct Verbose {
    /// The example s-ops are shown on, unless the program sets one.
    pub first_input: Option<crate::repl::Example>,
    /// Whether standard output is for JSON lines only.
    pub json: bool,
}

/// [`load_program`], showing the top-level values with `verbose` and doing
/// `draws` with the program's `draw` statements.
pub fn load_program_with(
    file: &std::path::Path,
    sop_name: Option<&str>,
    verbose: Option<Verbose>,
    draws: Draws<'_>,
) -> Result<Loaded, ExitCode> {
    let path = file.display().to_string();
    let text = crate::files::read_program(file).map_err(|e| {
        report(&CliError::ReadFile {
            path: path.clone(),
            reason: e.to_string(),
        });
        ExitCode::from(EXIT_FAILURE)
    })?;
    // `--verbose` shows each top-level value as the REPL would, s-ops on
    // the running example: the program's `set example`, else the first
    // `--input`, else the REPL's own. With `--json` it goes to standard
    // error, so that standard output holds only the JSON lines.
    let json = verbose.as_ref().is_some_and(|v| v.json);
    let mut display = crate::repl::show::Display::new(
        verbose
            .as_ref()
            .and_then(|v| v.first_input.clone())
            .unwrap_or_else(crate::repl::Example::hello),
    );
    display.color = json && stderr_color();
    let mut show = |value: &Value, example: Option<&crate::repl::Example>| {
        if verbose.is_none() {
            return;
        }
        if let Some(example) = example {
            display.example = example.clone();
            display.selector_example = example.clone();
        }
        let text = crate::repl::show::verbose_value(&display, value);
        if json {
            eprint!("{text}");
        } else {
            super::out::write(&text);
        }
    };
    let picked = pick_sop(file, &text, sop_name, draws, &mut show);
    match picked {
        Ok((name, sop)) => Ok(Loaded { sop, text, name }),
        Err(Picked::Reported) => Err(ExitCode::from(EXIT_FAILURE)),
        Err(Picked::Failed(e)) => {
            report(&*e);
            Err(ExitCode::from(EXIT_FAILURE))
        }
        Err(Picked::Usage(e)) => {
            report(&*e);
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// Why no s-op was picked.
enum Picked {
    /// The program failed, or binds no s-op.
    Failed(Box<dyn Diagnostic>),
    /// `--sop NAME` names something else.
    Usage(Box<dyn Diagnostic>),
    /// A `draw` statement failed (already reported).
    Reported,
}

/// Runs the program text of `file` and picks its s-op, calling `show` with
/// the value of every top-level expression statement.
fn pick_sop(
    file: &std::path::Path,
    text: &str,
    sop_name: Option<&str>,
    draws: Draws<'_>,
    show: &mut dyn FnMut(&Value, Option<&crate::repl::Example>),
) -> Result<(String, SOp), Picked> {
    let path = file.display().to_string();
    let mut interp = Interpreter::new().map_err(|e| Picked::Failed(Box::new(e)))?;
    let src = source(&path, text.to_string());
    let mut last: Option<(String, SOp)> = None;
    let mut draw_failed = false;
    // The program's `set example`, which later `draw`s use before the
    // first `--input`, as the REPL uses its running example.
    let mut example: Option<crate::repl::Example> = None;
    interp
        .run(&src, file.parent(), &mut |event| match event {
            Event::Value { value, .. } => {
                if let Value::SOp(s) = &value {
                    last = Some((s.label(), s.clone()));
                }
                show(&value, example.as_ref());
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
                    match crate::draw::draw_statement(
                        &sop,
                        &name,
                        input.as_deref(),
                        example.as_ref().map(|e| e.atoms.as_slice()).or(fallback),
                        &origin,
                    ) {
                        Ok(path) => eprintln!("drawn to {}", path.display()),
                        Err(e) => {
                            report(&e);
                            draw_failed = true;
                        }
                    }
                }
            }
            Event::SetExample {
                subset,
                value,
                atoms,
            } => {
                if subset.sops() {
                    example = Some(crate::repl::Example { value, atoms });
                }
            }
            // The REPL's display settings mean nothing here (and `exit`
            // has already ended the program).
            Event::Command(_) => {}
        })
        .map_err(|e| Picked::Failed(Box::new(e)))?;
    if draw_failed {
        return Err(Picked::Reported);
    }
    match sop_name {
        Some(name) => match interp.get(name) {
            Some(Value::SOp(s)) => Ok((name.to_string(), s)),
            other => Err(Picked::Usage(Box::new(CliError::NotAnSOp {
                name: name.to_string(),
                what: other.map_or_else(|| "not defined".to_string(), |v| v.describe()),
            }))),
        },
        None => last.ok_or_else(|| Picked::Failed(Box::new(CliError::NoSOp { path }))),
    }
}

/// Inputs per block of a batch: read, run in parallel, then printed in order.
pub const BLOCK: usize = 4096;

/// Runs `rasp run`.
pub fn run(args: &RunArgs) -> ExitCode {
    let first_input = args
        .inputs
        .first()
        .and_then(|text| Interpreter::parse_input(text).ok());
    let draws = Draws::Carry(first_input.as_deref());
    let verbose = args.verbose.then(|| Verbose {
        first_input: args.inputs.first().and_then(|text| {
            let value = if text.trim_start().starts_with('[') {
                let atoms = Interpreter::parse_input(text).ok()?;
                Value::List(std::rc::Rc::new(
                    atoms.into_iter().map(Value::Atom).collect(),
                ))
            } else {
                Value::Atom(Atom::str(text))
            };
            crate::repl::Example::new(value)
        }),
        json: args.json,
    });
    let loaded = match load_program_with(&args.file, args.sop.as_deref(), verbose, draws) {
        Ok(l) => l,
        Err(code) => return code,
    };
    // One prepared graph, read by every worker.
    let prepared = PreparedSOp::new(&loaded.sop);
    let color = stderr_color();
    let run_block = |texts: &[String]| -> Vec<LineOutput> {
        run_batch(texts, |t| run_input_noting(&prepared, t, args.json, color))
    };
    let ok = for_each_block(&args.inputs, "inputs", args.json, &mut |texts, bar| {
        print_block(&run_block(texts), bar)
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

/// What one input prints: a line on standard output and a diagnostic on
/// standard error, either or both.
pub struct LineOutput {
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

impl LineOutput {
    /// What an input that fails prints: its diagnostic on standard error,
    /// and in its place on standard output an error line, so that output
    /// lines stay in step with input lines: `error: MESSAGE`, or with
    /// `--json` an object whose `input` is `input` (JSON text).
    pub fn failure(
        input: impl FnOnce() -> String,
        error: &dyn Diagnostic,
        json: bool,
        color: bool,
    ) -> LineOutput {
        let message = error.to_string();
        LineOutput {
            stdout: Some(if json {
                format!(
                    "{{\"input\":{},\"error\":{}}}",
                    input(),
                    serde_json::Value::String(message)
                )
            } else {
                format!("error: {}", message.replace('\n', " "))
            }),
            stderr: Some(render(error, color)),
        }
    }
}

/// Feeds the inputs to `block` in blocks of [`BLOCK`]: the `inputs`
/// given, or else the non-empty lines of standard input. Shows a progress
/// bar on standard error (when it is a terminal) once a batch is large.
/// False if reading failed or any block reported a failure.
pub fn for_each_block(
    inputs: &[String],
    what: &str,
    json: bool,
    block: &mut dyn FnMut(&[String], &ProgressBar) -> bool,
) -> bool {
    let known = (!inputs.is_empty()).then_some(inputs.len() as u64);
    let bar = progress_bar(known, what);
    let mut ok = true;
    if !inputs.is_empty() {
        for texts in inputs.chunks(BLOCK) {
            ok &= block(texts, &bar);
            bar.inc(texts.len() as u64);
            if super::out::failed() {
                break;
            }
        }
    } else {
        let stdin = std::io::stdin();
        let mut reader = stdin.lock();
        let mut texts = Vec::with_capacity(BLOCK);
        let mut number = 0usize;
        let mut done = false;
        let mut skip_rest = false;
        while !done {
            texts.clear();
            let mut bytes = 0;
            // A line that is not an input (not UTF-8, too long, unreadable)
            // ends the block; its error follows the block's outputs.
            let mut bad: Option<(usize, String, String)> = None;
            loop {
                if skip_rest {
                    // The rest of a line over the limit, read and dropped
                    // after its error was printed.
                    skip_rest = false;
                    if let Err(e) = skip_line(&mut reader) {
                        bad = Some((number, String::new(), format!("it cannot be read: {e}")));
                        done = true;
                        break;
                    }
                }
                number += 1;
                let line = match read_capped(&mut reader, MAX_LINE_BYTES) {
                    Ok(Line::End) => {
                        done = true;
                        break;
                    }
                    Ok(Line::TooLong) => {
                        bad = Some((
                            number,
                            String::new(),
                            format!(
                                "it is longer than the limit of {} MiB",
                                MAX_LINE_BYTES >> 20
                            ),
                        ));
                        skip_rest = true;
                        break;
                    }
                    Ok(Line::Text(bytes)) => bytes,
                    Err(e) => {
                        bad = Some((number, String::new(), format!("it cannot be read: {e}")));
                        done = true;
                        break;
                    }
                };
                let line = match String::from_utf8(line) {
                    Ok(l) => l,
                    Err(e) => {
                        let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
                        bad = Some((number, shown, "it is not valid UTF-8".into()));
                        break;
                    }
                };
                let line = line.trim_end_matches(['\n', '\r']);
                if line.is_empty() {
                    continue;
                }
                bytes += line.len();
                texts.push(line.to_string());
                if texts.len() == BLOCK || bytes > 1 << 24 {
                    break;
                }
            }
            if let Some((line, shown, reason)) = bad {
                if !texts.is_empty() {
                    block(&texts, &bar);
                    bar.inc(texts.len() as u64);
                }
                let e = CliError::BadInputLine { line, reason };
                let shown = serde_json::Value::String(shown.trim_end_matches(['\n', '\r']).into());
                let out = LineOutput::failure(|| shown.to_string(), &e, json, stderr_color());
                print_block(&[out], &bar);
                ok = false;
                bar.inc(1);
                if super::out::failed() {
                    break;
                }
                continue;
            }
            if texts.is_empty() {
                break;
            }
            ok &= block(&texts, &bar);
            bar.inc(texts.len() as u64);
            if super::out::failed() {
                break;
            }
            if bar.position() >= PROGRESS_MIN && bar.is_hidden() {
                show_progress(&bar);
            }
        }
    }
    bar.finish_and_clear();
    ok
}

/// Prints a block's lines in order; false if any input failed.
pub fn print_block(lines: &[LineOutput], bar: &ProgressBar) -> bool {
    let mut ok = true;
    bar.suspend(|| {
        let mut pending = String::new();
        for line in lines {
            if let Some(text) = &line.stdout {
                pending.push_str(text);
                pending.push('\n');
            }
            if let Some(diagnostic) = &line.stderr {
                ok = false;
                ok &= super::out::write(&pending);
                pending.clear();
                eprint!("{diagnostic}");
            }
        }
        ok &= super::out::write(&pending);
    });
    ok
}

/// Runs one input: its output line, or its diagnostic (and, with `json`,
/// an error line); and whether it failed on the memory budget.
fn run_input_noting(sop: &PreparedSOp, text: &str, json: bool, color: bool) -> (LineOutput, bool) {
    let input = match Interpreter::parse_input(text) {
        Ok(i) => i,
        Err(e) => {
            let line = failure_line(serde_json::Value::String(text.into()), &e, json, color);
            return (line, false);
        }
    };
    match sop.eval(&input) {
        Ok(seq) => (output_line(&input, &seq.values, json), false),
        Err(e) => {
            let memory = out_of_memory(&e);
            let line = failure_line(
                atoms_json(&input),
                &crate::Error::from(e.on_input(text)),
                json,
                color,
            );
            (line, memory)
        }
    }
}

/// What an input that fails prints ([`LineOutput::failure`]).
fn failure_line(
    input: serde_json::Value,
    error: &dyn Diagnostic,
    json: bool,
    color: bool,
) -> LineOutput {
    LineOutput::failure(|| input.to_string(), error, json, color)
}

/// What an input's outputs print: `[a, b]`, or with `--json` a line with
/// the input and output atoms.
fn output_line(input: &[Atom], outputs: &[Atom], json: bool) -> LineOutput {
    LineOutput {
        stdout: Some(if json {
            serde_json::json!({
                "input": atoms_json(input),
                "output": atoms_json(outputs),
            })
            .to_string()
        } else {
            let mut line = String::with_capacity(2 + 3 * outputs.len());
            line.push('[');
            for (i, a) in outputs.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                match a {
                    Atom::Str(s) => line.push_str(s),
                    other => line.push_str(&other.short()),
                }
            }
            line.push(']');
            line
        }),
        stderr: None,
    }
}

pub use crate::eval::print::{atom_json, atoms_json};

/// The longest line of standard input read as one input.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// One line of input, read with a bound.
enum Line {
    /// The bytes of the line, its newline included if it had one.
    Text(Vec<u8>),
    /// A line longer than the bound: what was read of it is dropped, the
    /// rest is still to be skipped ([`skip_line`]).
    TooLong,
    End,
}

/// Reads one line of at most `cap` bytes. A longer one is reported as soon
/// as it passes the bound (an endless line gets its error at once), its
/// rest left unread.
fn read_capped(reader: &mut impl BufRead, cap: usize) -> std::io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let buf = filled(reader)?;
        if buf.is_empty() {
            break;
        }
        let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        if line.len() + n > cap {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(chunk);
        reader.consume(n);
        if end {
            break;
        }
    }
    Ok(if line.is_empty() {
        Line::End
    } else {
        Line::Text(line)
    })
}

/// The reader's buffered bytes, read again after an interrupted read.
fn filled(reader: &mut impl BufRead) -> std::io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    // Filled already: this returns the same bytes without reading.
    reader.fill_buf()
}

/// Reads and drops the rest of a line, its newline included.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = filled(reader)?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}
