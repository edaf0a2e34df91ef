//! The `rasp` command line: argument parsing and the subcommands.
//!
//! `src/main.rs` only calls [`main`]; every command's work is done by the
//! library, and this module turns results into output and exit codes:
//! 0 success, 1 a program or input failed, 2 bad command-line usage.

mod compile;
mod draw;
mod json;
mod out;
mod plot;
mod progress;
mod repl;
pub mod run;
mod sample;
mod view;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// RASP: the language of "Thinking Like Transformers".
#[derive(Debug, Parser)]
#[command(name = "rasp", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The most time one evaluation may take, in seconds (the program's top
    /// level, one input's s-op, one compilation); 0 for no limit. Default:
    /// none for commands, 120 in the REPL. Past it, the evaluation stops
    /// with a limit diagnostic naming the s-op that was running.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// The most memory the process may hold while evaluating, in MiB, all
    /// threads together (default: 8 GiB or half the machine's memory,
    /// whichever is less). Inputs run in parallel that pass it are run again
    /// one at a time; one that passes it alone gets a limit diagnostic.
    #[arg(long, global = true, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    memory: Option<u64>,
}

/// The REPL's time limit per evaluation unless `--timeout` says otherwise.
pub const REPL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// `--timeout`: seconds, a whole or decimal number, at most a year.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.0..=365.0 * 86_400.0).contains(&secs) {
        return Err(format!("`{text}` is not between 0 and a year of seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a program's s-op on inputs.
    Run(RunArgs),
    /// Count the attention layers and heads an s-op needs (the paper's analysis).
    Analyze(AnalyzeArgs),
    /// Compile an s-op to transformer weights (a .safetensors file).
    Compile(compile::CompileArgs),
    /// Run a compiled model on inputs, as `rasp run` runs the program.
    Exec(compile::ExecArgs),
    /// Compile, then compare the model with the interpreter.
    Verify(compile::VerifyArgs),
    /// Draw an s-op's computation on an input, by layer and head (SVG or DOT).
    Draw(draw::DrawArgs),
    /// Show a compiled model: sizes, layers, residual stream, vocabulary, program.
    Inspect(plot::InspectArgs),
    /// Build a corpus of random programs, each compiled and verified.
    Sample(sample::SampleArgs),
    /// Explore a compiled model on inputs in one HTML page: each head's
    /// attention, selector and s-ops, the residual stream after every sub-layer.
    View(view::ViewArgs),
    /// Print a shell completion script (e.g. `rasp completions bash > rasp.bash`).
    Completions(CompletionsArgs),
    /// Start the interactive session (also what `rasp` alone does).
    Repl,
}

/// Arguments of `rasp analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// The program file.
    pub file: PathBuf,
    /// The s-op to analyse (default: the last s-op the program assigned or
    /// printed at top level).
    #[arg(long, value_name = "NAME")]
    pub sop: Option<String>,
    /// Print the analysis as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `rasp run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The program file.
    pub file: PathBuf,
    /// An input: text starting with `[` is a list of literal atoms (`[3,1,2]`,
    /// never evaluated),
    /// anything else a string split into characters. Repeatable; without
    /// it, inputs are read one per line from standard input.
    #[arg(short, long = "input", value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// The s-op to run (default: the last s-op the program assigned or
    /// printed at top level).
    #[arg(long, value_name = "NAME")]
    pub sop: Option<String>,
    /// One JSON object per input and line: {"input": [...], "output": [...]}.
    #[arg(long)]
    pub json: bool,
    /// Also print the values of the program's top-level expression statements.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Arguments of `rasp completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Runs `rasp completions`: the script, generated from this CLI's definition.
fn completions(args: &CompletionsArgs) -> ExitCode {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "rasp", &mut script);
    out::write_bytes(&script);
    ExitCode::SUCCESS
}

/// Exit codes.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

pub use run::MAX_LINE_BYTES;

/// Whether diagnostics on standard error get colours.
pub fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Runs `rasp analyze`.
fn analyze(args: &AnalyzeArgs) -> ExitCode {
    let loaded = match run::load_program(&args.file, args.sop.as_deref()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let analysis = crate::analyze::analyze(&loaded.sop, &loaded.name);
    if args.json {
        out::write(&format!("{}\n", analysis.to_json()));
    } else {
        out::write(&analysis.table());
    }
    ExitCode::SUCCESS
}

/// Parses arguments and runs the command.
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let repl = matches!(cli.command, Some(Command::Repl) | None);
    let timeout = match cli.timeout {
        Some(t) if t.is_zero() => None,
        Some(t) => Some(t),
        None if repl => Some(REPL_TIMEOUT),
        None => None,
    };
    crate::memory::set_time_limit(timeout);
    if let Some(mib) = cli.memory {
        let bytes = usize::try_from(mib << 20).unwrap_or(usize::MAX);
        crate::memory::set_process_limit(bytes);
    }
    let code = match cli.command {
        Some(Command::Run(args)) => run::run(&args),
        Some(Command::Analyze(args)) => analyze(&args),
        Some(Command::Compile(args)) => compile::run_compile(&args),
        Some(Command::Exec(args)) => compile::run_exec(&args),
        Some(Command::Verify(args)) => compile::run_verify(&args),
        Some(Command::Draw(args)) => draw::run_draw(&args),
        Some(Command::Inspect(args)) => plot::run_inspect(&args),
        Some(Command::Sample(args)) => sample::run_sample(&args),
        Some(Command::View(args)) => view::run_view(&args),
        Some(Command::Completions(args)) => completions(&args),
        Some(Command::Repl) | None => repl::repl(),
    };
    out::finish(code)
}

/// Output piped into a reader that stops early (`rasp ... | head`) ends the
/// process quietly, as for other command-line tools, rather than failing a
/// write: Rust ignores SIGPIPE by default; this restores the default action.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists; it
    // only resets one signal's disposition to the system default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
