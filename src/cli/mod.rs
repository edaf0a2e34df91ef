//! The `rasp` command line: argument parsing and the subcommands.
//!
//! `src/main.rs` only calls [`main`]; every command's work is done by the
//! library, and this module turns results into output and exit codes:
//! 0 success, 1 a program or input failed, 2 bad command-line usage.

mod compile;
mod progress;
mod repl;
pub mod run;

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
    /// An input: text starting with `[` is a RASP list of atoms (`[3,1,2]`),
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

/// Exit codes.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Whether diagnostics on standard error get colours.
pub fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Runs `rasp analyze`.
fn analyze(args: &AnalyzeArgs) -> ExitCode {
    let loaded = match run::load_program(&args.file, args.sop.as_deref(), false) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let analysis = crate::analyze::analyze(&loaded.sop, &loaded.name);
    if args.json {
        println!("{}", analysis.to_json());
    } else {
        print!("{}", analysis.table());
    }
    ExitCode::SUCCESS
}

/// Parses arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match cli.command {
        Some(Command::Run(args)) => run::run(&args),
        Some(Command::Analyze(args)) => analyze(&args),
        Some(Command::Compile(args)) => compile::run_compile(&args),
        Some(Command::Exec(args)) => compile::run_exec(&args),
        Some(Command::Verify(args)) => compile::run_verify(&args),
        Some(Command::Repl) | None => repl::repl(),
    }
}
