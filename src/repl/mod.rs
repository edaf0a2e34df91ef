//! The REPL backend: a [`Session`] takes lines of input and returns what to
//! print. It knows nothing about terminals; `src/cli/repl.rs` is a thin
//! rustyline front end over it, and tests drive it directly.
//!
//! A line is either a command (the reference REPL's `set example E`,
//! `show example`, `examples on|off`, `full seq display on|off`, `exit`,
//! `quit`, or one of ours starting with `:`, see [`commands`]) or RASP source.
//! The reference's commands are statements of a program too
//! ([`crate::syntax::command`]): in input of several lines or a loaded
//! file, the interpreter reports them as events, which act here as the
//! typed commands do.
//! Source accumulates until the real parser accepts it: when parsing fails
//! only because the input ended early ([`SyntaxError::is_incomplete`]), the
//! session asks for another line instead of reporting an error.
//!
//! Each statement of a complete input runs on its own, so an error abandons
//! only that statement; everything bound before it stays.
//!
//! [`SyntaxError::is_incomplete`]: crate::syntax::SyntaxError::is_incomplete

pub mod commands;
pub mod complete;
pub mod show;

use crate::diagnostics::render;
use crate::error::Error;
use crate::eval::atom::Atom;
use crate::eval::value::Value;
use crate::eval::{Event, Interpreter};
use crate::syntax::ast::Stmt;
use crate::syntax::parse_program;
use crate::syntax::span::{source, Source};

pub use complete::Completer;

/// The primary and continuation prompts, as in the reference (`>> `).
pub const PROMPT: &str = ">> ";
pub const CONTINUATION_PROMPT: &str = ".. ";

/// The name diagnostics give REPL input.
const INPUT_NAME: &str = "<repl>";

/// What the session wants after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Ready for a new statement.
    Ready,
    /// The input so far is unfinished: read a continuation line.
    More,
    /// `exit` or `quit`: end the session.
    Exit,
}

/// What to print after a line, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Text to print (each line ends with `\n`; empty when there is nothing).
    pub text: String,
    pub status: Status,
    /// Whether something failed (a diagnostic is in `text`).
    pub failed: bool,
}

impl Output {
    fn new(status: Status) -> Output {
        Output {
            text: String::new(),
            status,
            failed: false,
        }
    }
}

/// The running example: the input s-ops and selectors are shown on.
#[derive(Debug, Clone)]
pub struct Example {
    /// As the user wrote it, for display: `"hello"`, `[1, 2, 3]`.
    pub value: Value,
    pub atoms: Vec<Atom>,
}

impl Example {
    /// The example of an input value (a string or a list of atoms), if it
    /// is one.
    pub fn new(value: Value) -> Option<Example> {
        let atoms = crate::eval::input::input_atoms(&value).ok()?;
        Some(Example { value, atoms })
    }

    /// The REPL's first running example, `"hello"`.
    pub fn hello() -> Example {
        let hello = Value::Atom(Atom::Str("hello".into()));
        let atoms = crate::eval::input::input_atoms(&hello).unwrap_or_default();
        Example {
            value: hello,
            atoms,
        }
    }

    /// The example as the user wrote it: `"hello"`, `[1, 2, 3]`.
    pub fn text(&self) -> String {
        crate::eval::print::value_text(&self.value)
    }
}

/// One REPL session: an interpreter, the running examples, display
/// switches and the unfinished input.
pub struct Session {
    interp: Interpreter,
    /// The running examples and the display switches.
    display: show::Display,
    pending: String,
    /// The statements that ran without error and the files loaded, in order:
    /// the program `:compile` records in a model.
    program: String,
}

impl Session {
    /// A session with the standard library loaded, running example `"hello"`.
    pub fn new() -> Result<Session, Error> {
        Ok(Session {
            interp: Interpreter::new()?,
            display: show::Display::new(Example::hello()),
            pending: String::new(),
            program: String::new(),
        })
    }

    /// Whether diagnostics get ANSI colours (off by default).
    pub fn with_color(mut self, color: bool) -> Session {
        self.display.color = color;
        self
    }

    /// The greeting of an interactive session.
    pub fn banner(&self) -> String {
        format!(
            "RASP 0.1 (rasp {}): `:help` lists the commands\nrunning example is: {}\n",
            env!("CARGO_PKG_VERSION"),
            self.display.example.text()
        )
    }

    pub fn interpreter(&self) -> &Interpreter {
        &self.interp
    }

    /// True while an unfinished statement waits for more lines.
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Abandons the unfinished input (Ctrl-C).
    pub fn cancel(&mut self) {
        self.pending.clear();
    }

    /// Whether `text` (possibly several lines) is ready to run: a command, a
    /// complete program, or input with an error more lines cannot fix. The
    /// decision is the real parser's.
    pub fn is_complete(&self, text: &str) -> bool {
        if self.pending.is_empty() {
            return is_complete(text);
        }
        is_complete(&format!("{}{text}", self.pending))
    }

    /// Takes one line (or a complete multi-line input) and returns what to
    /// print.
    pub fn feed(&mut self, line: &str) -> Output {
        if self.pending.is_empty()
            && commands::is_command(line)
            && !commands::reads_as_program(line)
        {
            return commands::run(self, line.trim());
        }
        self.pending.push_str(line);
        if !self.pending.ends_with('\n') {
            self.pending.push('\n');
        }
        if self.pending.trim().is_empty() {
            self.pending.clear();
            return Output::new(Status::Ready);
        }
        let src = source(INPUT_NAME, self.pending.clone());
        match parse_program(&src) {
            Err(e) if e.is_incomplete() => Output::new(Status::More),
            Err(e) => {
                let typed = std::mem::take(&mut self.pending);
                let mut out = Output::new(Status::Ready);
                self.report(&mut out, &e);
                // A mistyped command (`show exmaple`) reads as RASP that
                // does not parse: say which command it looks like.
                if !typed.trim().contains('\n') {
                    if let Some(command) = commands::suggestion(typed.trim()) {
                        out.text
                            .push_str(&format!("did you mean the command `{command}`?\n"));
                    }
                }
                out
            }
            Ok(program) => {
                self.pending.clear();
                let mut out = Output::new(Status::Ready);
                for stmt in &program.stmts {
                    let one = std::slice::from_ref(stmt);
                    if self.run_statements(&src, one, &mut out) {
                        if let Some(text) = src.inner().get(stmt.span.start..stmt.span.end) {
                            self.program.push_str(text);
                            self.program.push('\n');
                        }
                    }
                    if out.status == Status::Exit {
                        break;
                    }
                }
                out
            }
        }
    }

    /// Ends the input (Ctrl-D or the end of piped input): an unfinished
    /// statement is reported as the parser sees it.
    pub fn finish(&mut self) -> Output {
        let mut out = Output::new(Status::Exit);
        if self.pending.trim().is_empty() {
            self.pending.clear();
            return out;
        }
        let src = source(INPUT_NAME, std::mem::take(&mut self.pending));
        if let Err(e) = parse_program(&src) {
            self.report(&mut out, &e);
        }
        out
    }

    /// A completer for the names in scope now, the keywords and commands.
    pub fn completer(&self) -> Completer {
        Completer::new(
            self.interp
                .globals()
                .all_names()
                .iter()
                .map(|n| n.to_string()),
        )
    }

    /// Runs statements of `src` in the global scope, printing what they
    /// produce; an error is reported and ends this run only. True if they
    /// ran without error. Diagnostics show `src` whole, as it was typed.
    fn run_statements(&mut self, src: &Source, stmts: &[Stmt], out: &mut Output) -> bool {
        let mut events = Vec::new();
        let result = self
            .interp
            .run_statements(src, stmts, None, &mut |e| events.push(e));
        for event in events {
            self.show_event(event, out);
        }
        match result {
            Ok(()) => true,
            Err(e) => {
                self.report(out, &e);
                false
            }
        }
    }

    fn show_event(&mut self, event: Event, out: &mut Output) {
        match event {
            Event::Value { value, origin } => {
                let text = &origin.source.inner()[origin.span.start..origin.span.end];
                let text = text.trim();
                let name = (!text.contains('\n') && text.chars().count() <= 40).then_some(text);
                show::named_value(&self.display, name, &value, false, out);
            }
            Event::Assigned(bound) => {
                for (name, value) in bound {
                    show::named_value(&self.display, Some(&name), &value, true, out);
                }
            }
            Event::Draw {
                sop,
                name,
                input,
                origin,
            } => {
                let example = Some(self.display.example.atoms.as_slice());
                match crate::draw::draw_statement(&sop, &name, input.as_deref(), example, &origin) {
                    Ok(path) => out.text.push_str(&format!("drawn to {}\n", path.display())),
                    Err(e) => self.report(out, &e),
                }
            }
            Event::SetExample {
                subset,
                value,
                atoms,
            } => commands::set_example(self, subset, Example { value, atoms }, out),
            Event::Command(command) => commands::apply(self, command, out),
        }
    }

    /// Appends a rendered diagnostic and marks the output failed.
    fn report(&self, out: &mut Output, diagnostic: &dyn miette::Diagnostic) {
        let text = render(diagnostic, self.display.color);
        out.text.push_str(&text);
        if !text.ends_with('\n') {
            out.text.push('\n');
        }
        out.failed = true;
    }
}

/// Whether `text`, typed at the primary prompt, is ready to run: a
/// command, a complete program, or input with an error more lines cannot
/// fix. The decision is the real parser's, never a count of brackets.
pub fn is_complete(text: &str) -> bool {
    if commands::is_command(text) && !commands::reads_as_program(text) {
        return true;
    }
    match parse_program(&source(INPUT_NAME, text.to_string())) {
        Ok(_) => true,
        Err(e) => !e.is_incomplete(),
    }
}

#[cfg(test)]
mod tests;
