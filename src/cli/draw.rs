//! `rasp draw FILE [--sop NAME] --input INPUT [-o FILE] [--format svg|dot]`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::run::{load_program, report};
use super::{EXIT_FAILURE, EXIT_USAGE};
use crate::draw::{default_path, flow, Format};
use crate::Interpreter;

/// The drawing formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// An SVG picture, laid out by `rasp` itself.
    Svg,
    /// A graphviz graph (`dot -Tsvg` lays it out).
    Dot,
}

/// Arguments of `rasp draw`.
#[derive(Debug, clap::Args)]
pub struct DrawArgs {
    /// The program file.
    pub file: PathBuf,
    /// The s-op to draw (default: the last s-op the program assigned or
    /// printed at top level).
    #[arg(long, value_name = "NAME")]
    pub sop: Option<String>,
    /// The input to draw the computation on, as for `rasp run`.
    #[arg(short, long, value_name = "INPUT")]
    pub input: String,
    /// Where to write the drawing (`-` for standard output; default:
    /// `NAME.svg`, or `NAME.dot` with `--format dot`).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The format (default: from the output's extension, `.dot` or `.gv`
    /// for DOT, else SVG).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

/// An output file that does not say what `rasp draw` writes.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
enum DrawUsage {
    #[error("`{path}` is not a name for what `rasp draw` writes")]
    #[diagnostic(
        code(rasp::cli::draw_format),
        help("a drawing is SVG (`-o flow.svg`) or graphviz DOT (`-o flow.dot`, `.gv`); for a PNG, convert the SVG (`rsvg-convert flow.svg -o flow.png`) or the DOT (`dot -Tpng flow.dot -o flow.png`)")
    )]
    Extension { path: String },
    #[error("`--format {format}` does not match the name `{path}`")]
    #[diagnostic(
        code(rasp::cli::draw_format),
        help("give the file the format's extension, or leave `--format` out to take it from the name")
    )]
    Mismatch { path: String, format: &'static str },
}

/// Runs `rasp draw`.
pub fn run_draw(args: &DrawArgs) -> ExitCode {
    let input = match Interpreter::parse_input(&args.input) {
        Ok(i) => i,
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let loaded = match load_program(&args.file, args.sop.as_deref()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let asked = args.format.map(|f| match f {
        FormatArg::Svg => Format::Svg,
        FormatArg::Dot => Format::Dot,
    });
    let format = match (asked, args.output.as_deref()) {
        (asked, Some(path)) if path.as_os_str() != "-" => match (asked, Format::for_path(path)) {
            (Some(a), Some(f)) if a != f => {
                report(&DrawUsage::Mismatch {
                    path: path.display().to_string(),
                    format: a.extension(),
                });
                return ExitCode::from(EXIT_USAGE);
            }
            (_, Some(f)) => f,
            (_, None) => {
                report(&DrawUsage::Extension {
                    path: path.display().to_string(),
                });
                return ExitCode::from(EXIT_USAGE);
            }
        },
        (asked, _) => asked.unwrap_or(Format::Svg),
    };
    let drawn = match flow(&loaded.sop, &loaded.name, &input, None) {
        Ok(f) => f,
        Err(crate::draw::DrawError::Eval(e)) => {
            report(&e.on_input(&args.input));
            return ExitCode::from(EXIT_FAILURE);
        }
        Err(e) => {
            report(&e);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| default_path(&loaded.name, format));
    if path.as_os_str() == "-" {
        super::out::write(&format.render(&drawn));
        return ExitCode::SUCCESS;
    }
    if let Err(e) = crate::draw::write(&drawn, &path, format) {
        report(&e);
        return ExitCode::from(EXIT_FAILURE);
    }
    let heads: usize = drawn.layers.iter().map(|l| l.heads.len()).sum();
    super::out::write(&format!(
        "drawn to {}: {} on [{}], {} layer{}, {heads} head{}\n",
        path.display(),
        drawn.name,
        drawn.input.join(", "),
        drawn.layers.len() - 1,
        if drawn.layers.len() == 2 { "" } else { "s" },
        if heads == 1 { "" } else { "s" }
    ));
    ExitCode::SUCCESS
}
