//! How the REPL shows a value, in the reference REPL's layout:
//!
//! ```text
//!      s-op: reverse
//!          Example: reverse("hello") = [o, l, l, e, h] (strings)
//!      selector: s
//!          Example:
//!                  h e l l o
//!              h | 1
//!      value: x = 3
//! ```
//!
//! S-ops are shown on the s-op example, selectors on the selector example
//! (the same unless `set s-op example` or `set selector example` made them
//! differ). With `full seq display on`, an s-op's example is two aligned rows,
//! `input:` and `output:`. An s-op or selector that fails on the running
//! example is still bound: the failure is shown beside it.

use super::{Example, Output};
use crate::diagnostics::render;
use crate::eval::atom::Atom;
use crate::eval::print::{matrix_text, sequence_typed, value_repr, value_text};
use crate::eval::run::{eval_selector, eval_sop};
use crate::eval::value::{SeqType, Sequence, Value};

/// Indentation of a value's header line and of its example lines.
const HEAD: &str = "     ";
const BODY: &str = "         ";
const ROWS: &str = "             ";

/// How values are shown: the running examples and the display switches
/// (the REPL's, or `rasp run --verbose`'s on its first input).
#[derive(Debug, Clone)]
pub struct Display {
    /// The running example s-ops are shown on (and drawn on).
    pub example: Example,
    /// The running example selectors are shown on: the reference keeps
    /// its own (`set selector example E`); `set example E` sets both.
    pub selector_example: Example,
    pub show_examples: bool,
    pub show_selector_examples: bool,
    pub full_seq_display: bool,
    /// Whether diagnostics get ANSI colours.
    pub color: bool,
}

impl Display {
    /// Both examples `example`, every example shown, short sequences.
    pub fn new(example: Example) -> Display {
        Display {
            selector_example: example.clone(),
            example,
            show_examples: true,
            show_selector_examples: true,
            full_seq_display: false,
            color: false,
        }
    }
}

/// The lines `rasp run --verbose` prints for a top-level value: atoms,
/// lists and dicts as `rasp run` prints values (`64`, `[1, 'x']`), an s-op
/// as its value on the example (`tokens_str("abc") = [a, b, c] (strings)`,
/// or why it fails there), a selector as its matrix on the example.
pub fn verbose_value(display: &Display, value: &Value) -> String {
    match value {
        Value::SOp(sop) => {
            let call = format!("{}({})", callee(&sop.label()), display.example.text());
            match eval_sop(sop, &display.example.atoms) {
                Ok(seq) => format!("{call} = {}\n", sequence_typed(&seq)),
                Err(e) => format!("{call} fails: {e}\n"),
            }
        }
        Value::Selector(selector) => {
            let example = &display.selector_example;
            let call = format!("{}({})", callee(&selector.label()), example.text());
            match eval_selector(selector, &example.atoms) {
                Ok(m) => {
                    let labels: Vec<String> = example.atoms.iter().map(Atom::short).collect();
                    let mut text = format!("{call} =\n");
                    push_indented(&mut text, &matrix_text(&m, Some(&labels)), "    ");
                    text
                }
                Err(e) => format!("{call} fails: {e}\n"),
            }
        }
        other => format!("{}\n", value_text(other)),
    }
}

/// The lines the REPL prints for `value`: bound to `name` when `bound`
/// (`     s-op: reverse` and its example), else the value of the expression
/// whose text is `name`. For front ends that show values without a
/// session (a notebook).
pub fn value_lines(display: &Display, name: Option<&str>, value: &Value, bound: bool) -> String {
    let mut out = Output::new(super::Status::Ready);
    named_value(display, name, value, bound, &mut out);
    out.text
}

/// Shows `value`, bound to `name` when `bound`, or the value of the
/// expression whose text is `name` otherwise.
pub(super) fn named_value(
    session: &Display,
    name: Option<&str>,
    value: &Value,
    bound: bool,
    out: &mut Output,
) {
    match value {
        Value::SOp(sop) => {
            let label = name.map_or_else(|| sop.label(), str::to_string);
            out.text.push_str(&format!("{HEAD}s-op: {label}\n"));
            if session.show_examples {
                let call = format!("{}({})", callee(&label), session.example.text());
                match eval_sop(sop, &session.example.atoms) {
                    Ok(seq) if session.full_seq_display => {
                        full_sequence(&call, &session.example.atoms, &seq, &mut out.text)
                    }
                    Ok(seq) => out.text.push_str(&format!(
                        "{BODY}Example: {call} = {}\n",
                        sequence_typed(&seq)
                    )),
                    Err(e) => failure(session, &call, bound, &e, out),
                }
            }
        }
        Value::Selector(selector) => {
            let label = name.map_or_else(|| selector.label(), str::to_string);
            out.text.push_str(&format!("{HEAD}selector: {label}\n"));
            if session.show_selector_examples {
                let example = &session.selector_example;
                match eval_selector(selector, &example.atoms) {
                    Ok(m) => {
                        let labels: Vec<String> = example.atoms.iter().map(Atom::short).collect();
                        out.text.push_str(&format!("{BODY}Example:\n"));
                        push_indented(&mut out.text, &matrix_text(&m, Some(&labels)), ROWS);
                    }
                    Err(e) => {
                        let call = format!("{}({})", callee(&label), example.text());
                        failure(session, &call, bound, &e, out)
                    }
                }
            }
        }
        Value::Func(_) | Value::Builtin(_) => {
            out.text.push_str(&format!("{HEAD}{}\n", value_repr(value)));
        }
        Value::List(_) | Value::Dict(_) => {
            let kind = value.kind_name();
            let prefix = bound_prefix(name, bound);
            out.text
                .push_str(&format!("{HEAD}{kind}: {prefix}{}\n", value_repr(value)));
        }
        Value::Matrix(m) => {
            let bound_name = name.filter(|_| bound).map(|n| format!(" {n}"));
            out.text.push_str(&format!(
                "{HEAD}selection:{}\n",
                bound_name.unwrap_or_default()
            ));
            push_indented(&mut out.text, &matrix_text(m, None), ROWS);
        }
        Value::Atom(_) | Value::Sequence(_) => {
            let prefix = bound_prefix(name, bound);
            out.text
                .push_str(&format!("{HEAD}value: {prefix}{}\n", value_text(value)));
        }
    }
}

fn bound_prefix(name: Option<&str>, bound: bool) -> String {
    match name {
        Some(n) if bound => format!("{n} = "),
        _ => String::new(),
    }
}

/// `reverse` stays as it is; any other expression text is parenthesized
/// before it is applied to the example.
fn callee(label: &str) -> String {
    let simple = label
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '#');
    if simple {
        label.to_string()
    } else {
        format!("({label})")
    }
}

fn failure(
    session: &Display,
    call: &str,
    bound: bool,
    error: &dyn miette::Diagnostic,
    out: &mut Output,
) {
    let note = if bound { " (the name is bound)" } else { "" };
    out.text
        .push_str(&format!("{BODY}Example: {call} failed{note}:\n"));
    let rendered = render(error, session.color);
    push_indented(&mut out.text, rendered.trim_end(), BODY);
}

fn push_indented(text: &mut String, block: &str, indent: &str) {
    for line in block.lines() {
        if line.is_empty() {
            text.push('\n');
        } else {
            text.push_str(&format!("{indent}{}\n", line.trim_end()));
        }
    }
}

/// The reference's full display: the input and the output in aligned
/// columns. A sequence of identical values is shown short; in a bool row
/// only the rarer value is written (both when they are equally common).
fn full_sequence(call: &str, input: &[Atom], seq: &Sequence, text: &mut String) {
    let first = seq.values.first().map(Atom::repr);
    if seq.values.len() > 1 && seq.values.iter().all(|v| Some(v.repr()) == first) {
        text.push_str(&format!(
            "{BODY}Example: {call} = {} [skipped full display: identical values]\n",
            sequence_typed(seq)
        ));
        return;
    }
    let input_cells = cells(input);
    let output_cells = cells(&seq.values);
    let width = input_cells
        .iter()
        .chain(&output_cells)
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(1);
    let row = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().map(|c| format!("{c:>width$}")).collect();
        padded.join(" ")
    };
    let input_type = SeqType::of(input).map_or("values", SeqType::plural);
    text.push_str(&format!("{BODY}Example:\n"));
    text.push_str(&format!(
        "{ROWS}input:  {} ({input_type})\n",
        row(&input_cells)
    ));
    text.push_str(&format!(
        "{ROWS}output: {} ({})\n",
        row(&output_cells),
        seq.ty.plural()
    ));
}

fn cells(values: &[Atom]) -> Vec<String> {
    let trues = values
        .iter()
        .filter(|v| matches!(v, Atom::Bool(true)))
        .count();
    let falses = values
        .iter()
        .filter(|v| matches!(v, Atom::Bool(false)))
        .count();
    let all_bools = !values.is_empty() && trues + falses == values.len();
    values
        .iter()
        .map(|v| match v {
            Atom::Bool(true) if all_bools && trues > falses => String::new(),
            Atom::Bool(false) if all_bools && falses > trues => String::new(),
            other => other.short(),
        })
        .collect()
}
