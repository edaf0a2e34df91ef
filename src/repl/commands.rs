//! REPL commands: the reference REPL's (`set example E`, `show example`,
//! `examples on|off`, `full seq display on|off`, `exit`, `quit`, each also
//! for `s-op` or `selector` examples alone) and ours, which start with `:`
//! and are listed by `:help`.
//!
//! A command is recognised only at the start of a line, and only in its
//! exact form ([`crate::syntax::command::recognize`]): `set = 3;` is still
//! an assignment. Typed at the prompt, `set example` takes an unbound bare
//! word as a string (`set example hey`); in a program it is an expression.

use std::path::{Path, PathBuf};

use miette::Diagnostic;

use super::{Example, Output, Session, Status};
use crate::draw::{default_path, Format};
use crate::eval::input::input_atoms;
use crate::eval::run::{check_input, eval_sop};
use crate::eval::sop::SOp;
use crate::eval::value::Value;
use crate::eval::Event;
use crate::eval::Interpreter;
use crate::model::inspect::summary;
use crate::syntax::ast::{Stmt, StmtKind};
use crate::syntax::command::{recognize, Command, Subset, Words};
use crate::syntax::span::source;
use crate::syntax::{parse_expression, parse_program};

/// Our commands, with a one-line description each, as `:help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", "list the commands"),
    (":load FILE", "run a RASP file in this session"),
    (
        ":names",
        "the names bound in this session, with their kinds",
    ),
    (":names all", "also the builtins and the library"),
    (
        ":type EXPR",
        "the kind of a value (and an s-op's type on the example)",
    ),
    (":analyze NAME", "layers and attention heads of an s-op"),
    (
        ":draw EXPR [FILE]",
        "draw an s-op on the running example (NAME.svg; FILE.dot for DOT)",
    ),
    (
        ":compile NAME VOCAB N [FILE]",
        "compile an s-op for VOCAB (`a,b,c` or `[1, 2]`) and max_len N, into FILE or NAME.safetensors",
    ),
    (
        ":view NAME VOCAB N [FILE]",
        "compile as :compile does and write the viewer on the running example, into FILE or NAME.html",
    ),
    (":quit", "end the session (also `exit`, `quit`, Ctrl-D)"),
];

/// The reference REPL's commands, as `:help` lists them.
pub const REFERENCE_COMMANDS: &[(&str, &str)] = &[
    (
        "set example E",
        "set the running example: a string or a list of atoms",
    ),
    ("show example", "print the running example"),
    (
        "examples on|off",
        "show s-ops and selectors on the running example",
    ),
    (
        "set|show s-op|selector example",
        "the example of s-ops, or of selectors, alone",
    ),
    (
        "s-op|selector examples on|off",
        "show s-ops, or selectors, on their example or not",
    ),
    (
        "full seq display on|off",
        "show examples as aligned input/output rows",
    ),
    ("exit, quit", "end the session"),
];

/// A problem with a command (the program's own errors have their own types).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CommandError {
    /// `:frobnicate`.
    #[error("unknown command `{command}`")]
    #[diagnostic(code(rasp::repl::unknown_command), help("{help}"))]
    Unknown { command: String, help: String },
    /// `:load` with no file, `examples maybe`.
    #[error("`{command}` needs {what}")]
    #[diagnostic(code(rasp::repl::usage), help("`:help` lists the commands"))]
    Usage { command: String, what: String },
    /// `:load missing.rasp`.
    #[error("cannot read `{path}`: {reason}")]
    #[diagnostic(code(rasp::repl::read_file))]
    ReadFile { path: String, reason: String },
    /// `:type x = 3;`.
    #[error("`{command}` takes one expression, such as `{command} reverse`")]
    #[diagnostic(code(rasp::repl::not_an_expression))]
    NotAnExpression { command: String },
    /// `:analyze` of something that is not an s-op.
    #[error("`{name}` is {what}, not an s-op")]
    #[diagnostic(code(rasp::repl::not_an_sop))]
    NotAnSOp { name: String, what: String },
}

/// Whether `line` is a command rather than RASP source.
pub fn is_command(line: &str) -> bool {
    let line = line.trim();
    line.starts_with(':') || recognize(line).is_some()
}

/// Whether `line`, a `set example E`, is read as a program (whose
/// statements the interpreter reports) rather than as a typed command:
/// when `E` goes on past the line (`set example [1,`), as the reference
/// reads it, or more statements follow it (`set example "ab"; x = 1;`).
pub fn reads_as_program(line: &str) -> bool {
    let line = line.trim();
    let Some(found) = recognize(line) else {
        return false;
    };
    if !matches!(found.words, Words::SetExample(_)) || line[found.consumed..].trim().is_empty() {
        return false;
    }
    match parse_program(&source(super::INPUT_NAME, line.to_string())) {
        Ok(program) => program.stmts.len() > 1,
        Err(e) => e.is_incomplete(),
    }
}

/// Runs a command line (already known to be one).
pub fn run(session: &mut Session, line: &str) -> Output {
    let mut out = Output::new(Status::Ready);
    let line = line.trim();
    if let Some(found) = recognize(line) {
        match found.words {
            Words::SetExample(subset) => {
                // The expression as the parser finds it, without a `;` or
                // a comment after it.
                let src = source(super::INPUT_NAME, line.to_string());
                let expr = match parse_program(&src) {
                    Ok(program) => match program.stmts.as_slice() {
                        [stmt] => match &stmt.kind {
                            StmtKind::SetExample { example, .. } => {
                                line.get(example.span.start..example.span.end)
                            }
                            _ => None,
                        },
                        _ => None,
                    },
                    Err(e) if e.is_incomplete() => Some(""),
                    Err(e) => {
                        session.report(&mut out, &e);
                        return out;
                    }
                };
                let expr = expr.unwrap_or_else(|| line[found.consumed..].trim());
                set_example_typed(session, subset, expr, &mut out);
            }
            Words::Command(command) => {
                apply(session, command, &mut out);
                out.text.push_str(&confirmation(command));
            }
        }
        return out;
    }
    let line = line.trim_end_matches(';').trim_end();
    let (head, rest) = match line.split_once(char::is_whitespace) {
        Some((h, r)) => (h, r.trim()),
        None => (line, ""),
    };
    match (head, rest) {
        (":quit" | ":q" | ":exit", _) => out.status = Status::Exit,
        (":help" | ":h" | ":?", _) => out.text.push_str(&help()),
        (":load", "") => usage(session, &mut out, ":load", "a file name"),
        (":load", path) => load(session, path, &mut out),
        (":names", which) => names(session, which == "all", &mut out),
        (":type" | ":t", "") => usage(session, &mut out, ":type", "an expression"),
        (":type" | ":t", expr) => type_of(session, expr, &mut out),
        (":analyze", "") => usage(session, &mut out, ":analyze", "the name of an s-op"),
        (":analyze", name) => analyze(session, name, &mut out),
        (":draw", "") => usage(
            session,
            &mut out,
            ":draw",
            "an s-op, such as `:draw reverse`",
        ),
        (":draw", rest) => draw(session, rest, &mut out),
        (":compile", "") => usage(
            session,
            &mut out,
            ":compile",
            "an s-op, a vocabulary and a length, such as `:compile reverse a,b,c 8`",
        ),
        (":compile", rest) => compile(session, rest, &mut out),
        (":view", "") => usage(
            session,
            &mut out,
            ":view",
            "an s-op, a vocabulary and a length, such as `:view reverse a,b,c 8`",
        ),
        (":view", rest) => view(session, rest, &mut out),
        (other, _) => {
            let help = match suggestion(other) {
                Some(command) => format!("did you mean `{command}`? (`:help` lists the commands)"),
                None => "`:help` lists the commands".to_string(),
            };
            let error = CommandError::Unknown {
                command: other.to_string(),
                help,
            };
            session.report(&mut out, &error)
        }
    }
    out
}

fn usage(session: &Session, out: &mut Output, command: &str, what: &str) {
    let error = CommandError::Usage {
        command: command.to_string(),
        what: what.to_string(),
    };
    session.report(out, &error);
}

/// The text of `:help`.
pub fn help() -> String {
    let width = COMMANDS
        .iter()
        .chain(REFERENCE_COMMANDS)
        .map(|(c, _)| c.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Type RASP statements, ending each with `;`. Commands:\n");
    for (command, what) in REFERENCE_COMMANDS.iter().chain(COMMANDS) {
        text.push_str(&format!("  {command:<width$}  {what}\n"));
    }
    text.push_str("Unfinished input continues on the next line; Ctrl-C abandons it.\n");
    text
}

/// Does one of the reference's commands other than `set example`, typed
/// or reported by a program.
pub(super) fn apply(session: &mut Session, command: Command, out: &mut Output) {
    match command {
        Command::ShowExample(subset) => show_example(session, subset, out),
        Command::Examples { subset, on } => {
            if subset.sops() {
                session.display.show_examples = on;
            }
            if subset.selectors() {
                session.display.show_selector_examples = on;
            }
        }
        Command::FullSeqDisplay(on) => session.display.full_seq_display = on,
        Command::Exit => out.status = Status::Exit,
    }
}

/// A file name stem made of `name` (letters, digits, `-`, `_`).
fn safe_file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "model".into()
    } else {
        stem
    }
}

/// What a typed display switch says it did (`examples off`: "examples are
/// off"); nothing for other commands.
fn confirmation(command: Command) -> String {
    let state = |on: bool| if on { "on" } else { "off" };
    match command {
        Command::Examples { subset, on } => {
            let which = match subset {
                Subset::Both => "examples of s-ops and selectors",
                Subset::SOps => "examples of s-ops",
                Subset::Selectors => "examples of selectors",
            };
            format!("{which} are {}\n", state(on))
        }
        Command::FullSeqDisplay(on) => format!("full seq display is {}\n", state(on)),
        Command::ShowExample(_) | Command::Exit => String::new(),
    }
}

/// The command a mistyped line most likely meant, for a "did you mean":
/// `show exmaple` is `show example`, `:compil` is `:compile`.
pub fn suggestion(line: &str) -> Option<&'static str> {
    const TYPED: &[&str] = &[
        "set example",
        "set s-op example",
        "set selector example",
        "show example",
        "show s-op example",
        "show selector example",
        "examples on",
        "examples off",
        "s-op examples on",
        "s-op examples off",
        "selector examples on",
        "selector examples off",
        "full seq display on",
        "full seq display off",
        "exit",
        "quit",
        ":help",
        ":load",
        ":names",
        ":type",
        ":analyze",
        ":draw",
        ":compile",
        ":quit",
    ];
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = words.first()?;
    TYPED
        .iter()
        .filter_map(|&command| {
            let n = command.split_whitespace().count();
            // `set example E` and `:load FILE` take more words after theirs.
            let takes_more = command.starts_with("set ") || command.starts_with(':');
            if words.len() < n || (words.len() > n && !takes_more) {
                return None;
            }
            let typed = words[..n].join(" ");
            let distance = strsim::damerau_levenshtein(&typed, command);
            // The first word close too, so `x = 1` never looks like `exit`.
            let first_close =
                strsim::damerau_levenshtein(first, command.split(' ').next().unwrap_or("")) <= 2;
            (distance > 0 && distance <= 2.max(command.len() / 6) && first_close)
                .then_some((distance, command))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, command)| command)
}

/// `show [s-op|selector] example`: one line when the examples shown are
/// the same, else one for each.
fn show_example(session: &Session, subset: Subset, out: &mut Output) {
    let sops = session.display.example.text();
    let selectors = session.display.selector_example.text();
    let text = match subset {
        Subset::Both if sops == selectors => format!("running example is: {sops}\n"),
        Subset::Both => format!("s-op example is: {sops}\nselector example is: {selectors}\n"),
        Subset::SOps => format!("s-op example is: {sops}\n"),
        Subset::Selectors => format!("selector example is: {selectors}\n"),
    };
    out.text.push_str(&text);
}

/// `set [s-op|selector] example E`, typed or reported by a program: makes
/// `example` the running example (of s-ops, selectors or both) and shows it.
pub(super) fn set_example(
    session: &mut Session,
    subset: Subset,
    example: Example,
    out: &mut Output,
) {
    if subset.selectors() {
        session.display.selector_example = example.clone();
    }
    if subset.sops() {
        session.display.example = example;
    }
    show_example(session, subset, out);
}

/// `set example E` typed: E is any expression giving a string or a list of
/// atoms, or an unbound bare word, taken as a string.
fn set_example_typed(session: &mut Session, subset: Subset, expr: &str, out: &mut Output) {
    let command = format!("set {}example", subset.prefix());
    if expr.is_empty() {
        return usage(
            session,
            out,
            &command,
            "a string or a list, such as `\"hello\"`",
        );
    }
    let bare_word = expr.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && expr.chars().all(|c| c.is_alphanumeric() || c == '_');
    let value = if bare_word && session.interp.get(expr).is_none() {
        // `set example hello`: an unbound bare word is taken as a string.
        Value::Atom(crate::eval::atom::Atom::Str(expr.into()))
    } else {
        match evaluate(session, &command, expr, out) {
            Some(v) => v,
            None => return,
        }
    };
    let atoms = input_atoms(&value)
        .map_err(|kind| crate::eval::error::EvalError::new(kind, None))
        .and_then(|atoms| check_input(&atoms).map(|()| atoms));
    match atoms {
        Ok(atoms) => set_example(session, subset, Example { value, atoms }, out),
        Err(mut e) => {
            // An example that is no input points at the example typed.
            e.at.get_or_insert_with(|| crate::eval::sop::Origin {
                source: source(super::INPUT_NAME, expr.to_string()),
                span: crate::syntax::span::Span::new(0, expr.len()),
                call_site: None,
            });
            session.report(out, &e);
        }
    }
}

/// Evaluates one expression in the session without binding anything. The
/// expression is parsed as typed (no `;` added), so a diagnostic shows
/// exactly that text.
fn evaluate(session: &mut Session, command: &str, expr: &str, out: &mut Output) -> Option<Value> {
    let src = source(super::INPUT_NAME, expr.to_string());
    let expr = match parse_expression(&src) {
        Ok(Some(expr)) => expr,
        Ok(None) => {
            let error = CommandError::NotAnExpression {
                command: command.to_string(),
            };
            session.report(out, &error);
            return None;
        }
        Err(e) => {
            session.report(out, &e);
            return None;
        }
    };
    let stmt = Stmt {
        span: expr.span,
        kind: StmtKind::Expr(expr),
    };
    let mut value = None;
    let result = session
        .interp
        .run_statements(&src, &[stmt], None, &mut |event| {
            if let Event::Value { value: v, .. } = event {
                value = Some(v);
            }
        });
    if let Err(e) = result {
        session.report(out, &e);
        return None;
    }
    value
}

/// `:load FILE`: runs the file in the session, listing the names it bound.
fn load(session: &mut Session, path: &str, out: &mut Output) {
    let path = path.trim_matches('"');
    let text = match crate::files::read_program(std::path::Path::new(path)) {
        Ok(t) => t,
        Err(e) => {
            let error = CommandError::ReadFile {
                path: path.to_string(),
                reason: e.to_string(),
            };
            return session.report(out, &error);
        }
    };
    let src = source(path, text.clone());
    let mut bound: Vec<String> = Vec::new();
    let mut values = Vec::new();
    let result = session
        .interp
        .run(&src, Path::new(path).parent(), &mut |event| match event {
            Event::Assigned(names) => bound.extend(names.into_iter().map(|(n, _)| n.to_string())),
            // As with `load "FILE";` (and the reference's `load`), the
            // file's `examples on|off` ends with it and its `exit` ends
            // only the file.
            Event::Command(Command::Examples { .. } | Command::Exit) => {}
            shown @ (Event::Value { .. }
            | Event::Draw { .. }
            | Event::SetExample { .. }
            | Event::Command(_)) => values.push(shown),
        });
    for event in values {
        session.show_event(event, out);
    }
    let mut seen = std::collections::HashSet::new();
    bound.retain(|n| seen.insert(n.clone()));
    if result.is_ok() {
        session.program.push_str(&text);
        session.program.push('\n');
    }
    if !bound.is_empty() {
        out.text
            .push_str(&format!("loaded {path}: {}\n", bound.join(", ")));
    } else if result.is_ok() {
        out.text
            .push_str(&format!("loaded {path}: no names bound\n"));
    }
    if let Err(e) = result {
        session.report(out, &e);
    }
}

/// `:names [all]`: bound names and their kinds, aligned.
fn names(session: &Session, all: bool, out: &mut Output) {
    let globals = session.interp.globals();
    let names = if all {
        globals.all_names()
    } else {
        globals.own_names()
    };
    if names.is_empty() {
        out.text
            .push_str("no names bound yet (`:names all` lists the builtins and the library)\n");
        return;
    }
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for name in names {
        if let Some(value) = globals.get(&name) {
            out.text
                .push_str(&format!("  {name:<width$}  {}\n", kind_text(&value)));
        }
    }
}

/// A value's kind, with a function's parameters.
fn kind_text(value: &Value) -> String {
    match value {
        Value::Func(_) | Value::Builtin(_) => crate::eval::print::value_repr(value),
        other => other.kind_name().to_string(),
    }
}

/// `:type EXPR`.
fn type_of(session: &mut Session, expr: &str, out: &mut Output) {
    let Some(value) = evaluate(session, ":type", expr, out) else {
        return;
    };
    let text = match &value {
        Value::SOp(sop) => match eval_sop(sop, &session.display.example.atoms) {
            Ok(seq) => format!(
                "s-op of {} (on {})",
                seq.ty.plural(),
                session.display.example.text()
            ),
            Err(_) => format!("s-op (fails on {})", session.display.example.text()),
        },
        other => kind_text(other),
    };
    out.text.push_str(&format!("{expr} : {text}\n"));
}

/// `:analyze NAME`: the attention layers and heads an s-op needs.
fn analyze(session: &mut Session, name: &str, out: &mut Output) {
    let Some(value) = evaluate(session, ":analyze", name, out) else {
        return;
    };
    let Value::SOp(sop) = &value else {
        let error = CommandError::NotAnSOp {
            name: name.to_string(),
            what: value.describe(),
        };
        return session.report(out, &error);
    };
    out.text
        .push_str(&crate::analyze::analyze(sop, name).table());
}

/// Evaluates `expr` and requires an s-op.
fn sop_of(session: &mut Session, command: &str, expr: &str, out: &mut Output) -> Option<SOp> {
    let value = evaluate(session, command, expr, out)?;
    match value {
        Value::SOp(sop) => Some(sop),
        other => {
            let error = CommandError::NotAnSOp {
                name: expr.to_string(),
                what: other.describe(),
            };
            session.report(out, &error);
            None
        }
    }
}

/// A name for what `expr` gives: the expression itself when it is short
/// (as `draw(...)` names it), else the s-op's label.
fn drawn_name(expr: &str, sop: &SOp) -> String {
    if expr.chars().count() <= 48 {
        expr.to_string()
    } else {
        sop.label()
    }
}

/// `:draw EXPR [FILE]`: the computation flow on the running example.
fn draw(session: &mut Session, rest: &str, out: &mut Output) {
    let (expr, file) = match rest.rsplit_once(char::is_whitespace) {
        Some((expr, file))
            if [".svg", ".dot", ".gv"]
                .iter()
                .any(|ext| file.ends_with(ext)) =>
        {
            (expr.trim(), Some(PathBuf::from(file)))
        }
        _ => (rest, None),
    };
    let Some(sop) = sop_of(session, ":draw", expr, out) else {
        return;
    };
    let name = drawn_name(expr, &sop);
    let format = file
        .as_deref()
        .and_then(Format::for_path)
        .unwrap_or(Format::Svg);
    let path = file.unwrap_or_else(|| default_path(&name, format));
    let drawn = crate::draw::flow(&sop, &name, &session.display.example.atoms, None)
        .and_then(|f| crate::draw::write(&f, &path, format).map(|()| f));
    match drawn {
        Ok(f) => {
            let heads: usize = f.layers.iter().map(|l| l.heads.len()).sum();
            out.text.push_str(&format!(
                "drawn to {}: {name} on {}, {} layer{}, {heads} head{}\n",
                path.display(),
                session.display.example.text(),
                f.layers.len() - 1,
                if f.layers.len() == 2 { "" } else { "s" },
                if heads == 1 { "" } else { "s" }
            ));
        }
        Err(e) => session.report(out, &e),
    }
}

/// `:compile NAME VOCAB N [FILE]`: compiles as `rasp compile` does, with the
/// session's program as the model's record; writes FILE, or
/// NAME.safetensors in the current directory.
fn compile(session: &mut Session, rest: &str, out: &mut Output) {
    let Some((name, model, file)) = compiled(session, ":compile", rest, ".safetensors", out) else {
        return;
    };
    out.text.push_str(&summary(&model));
    let path =
        file.unwrap_or_else(|| PathBuf::from(format!("{}.safetensors", safe_file_stem(&name))));
    match model.save(&path) {
        Ok(()) => out
            .text
            .push_str(&format!("  written to {}\n", path.display())),
        Err(e) => session.report(out, &e),
    }
}

/// `:view NAME VOCAB N [FILE]`: compiles as `:compile` does and writes the
/// viewer of the model on the running example to FILE, or NAME.html in the
/// current directory.
fn view(session: &mut Session, rest: &str, out: &mut Output) {
    let Some((name, model, file)) = compiled(session, ":view", rest, ".html", out) else {
        return;
    };
    let path = file.unwrap_or_else(|| PathBuf::from(format!("{}.html", safe_file_stem(&name))));
    let example = &session.display.example;
    let inputs = [(example.text(), example.atoms.clone())];
    match crate::view::write(&model, &inputs, &path) {
        Ok(()) => {
            let heads: usize = crate::model::inspect::layer_sizes(&model)
                .iter()
                .map(|l| l.heads.len())
                .sum();
            out.text.push_str(&format!(
                "viewer written to {}: {name} on {}, {} layer{}, {heads} head{}\n",
                path.display(),
                example.text(),
                model.config.n_layers,
                if model.config.n_layers == 1 { "" } else { "s" },
                if heads == 1 { "" } else { "s" }
            ));
        }
        Err(e) => session.report(out, &e),
    }
}

/// Reads `NAME VOCAB N [FILE]` (FILE when it ends with `extension`) and
/// compiles NAME for VOCAB and max_len N with the session's program as the
/// model's record, reporting its warnings; reports what goes wrong.
fn compiled(
    session: &mut Session,
    command: &str,
    rest: &str,
    extension: &str,
    out: &mut Output,
) -> Option<(String, crate::model::Model, Option<PathBuf>)> {
    let usage_text =
        format!("an s-op, a vocabulary and a length, such as `{command} reverse a,b,c 8`");
    let Some((name, rest)) = rest.split_once(char::is_whitespace) else {
        usage(session, out, command, &usage_text);
        return None;
    };
    let mut rest = rest.trim();
    let mut file = None;
    if let Some((before, last)) = rest.rsplit_once(char::is_whitespace) {
        if last.ends_with(extension) {
            file = Some(PathBuf::from(last));
            rest = before.trim();
        }
    }
    let Some((vocab_text, max_len)) = rest.rsplit_once(char::is_whitespace) else {
        usage(session, out, command, &usage_text);
        return None;
    };
    let Ok(max_len) = max_len.parse::<usize>() else {
        let what = format!("a whole number as its length, such as `{command} reverse a,b,c 8`");
        usage(session, out, command, &what);
        return None;
    };
    let sop = sop_of(session, command, name, out)?;
    let vocab = match Interpreter::parse_vocab(vocab_text.trim()) {
        Ok(v) => v,
        Err(e) => {
            session.report(out, &e);
            return None;
        }
    };
    let options = crate::compile::CompileOptions::default();
    let compiled =
        crate::compile::compile_noting(&sop, name, &session.program, &vocab, max_len, &options);
    let (model, warnings) = match compiled {
        Ok(m) => m,
        Err(e) => {
            session.report(out, &e);
            return None;
        }
    };
    for warning in &warnings {
        // A warning, not a failure of the command.
        let failed = out.failed;
        session.report(out, warning);
        out.failed = failed;
    }
    Some((name.to_string(), model, file))
}
