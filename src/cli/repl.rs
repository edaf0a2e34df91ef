//! `rasp` and `rasp repl`: the interactive session, a thin rustyline front
//! end over [`crate::repl::Session`].
//!
//! With a terminal: line editing, a continuation prompt decided by the
//! session's parser (rustyline's validator asks [`Session::is_complete`]),
//! tab completion of the names in scope, history kept in a file
//! (`RASP_HISTORY`, else `~/.rasp_history`), Ctrl-C to abandon the input
//! and Ctrl-D to leave. Without one (piped input) lines are fed as they
//! come, with no banner, prompts or colours, so transcripts can be tested.

use std::borrow::Cow;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use rustyline::completion::Completer as RlCompleter;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{DefaultHistory, History};
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use super::{stderr_color, EXIT_FAILURE};
use crate::diagnostics::render;
use crate::repl::{Completer, Session, Status, CONTINUATION_PROMPT, PROMPT};

/// Runs the REPL until `exit`, Ctrl-D or the end of standard input.
pub fn repl() -> ExitCode {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let session = match Session::new() {
        Ok(s) => s,
        Err(e) => {
            eprint!("{}", render(&e, stderr_color()));
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if interactive {
        interactive_loop(session.with_color(terminal_color()))
    } else {
        piped_loop(session)
    }
}

/// Colours only on a terminal that has them, and never with `NO_COLOR`.
fn terminal_color() -> bool {
    let dumb = std::env::var("TERM").map_or(true, |t| t == "dumb");
    std::env::var_os("NO_COLOR").is_none() && !dumb
}

/// Piped input: every line goes to the session; output only.
fn piped_loop(mut session: Session) -> ExitCode {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    let (mut failed, mut exited) = (false, false);
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
        let text = String::from_utf8_lossy(&line);
        let output = session.feed(text.trim_end_matches(['\n', '\r']));
        failed |= output.failed;
        if !super::out::write(&output.text) {
            return ExitCode::from(EXIT_FAILURE);
        }
        if output.status == Status::Exit {
            exited = true;
            break;
        }
    }
    if !exited {
        // An unfinished statement at the end is reported as the parser sees it.
        let end = session.finish();
        failed |= end.failed;
        if !super::out::write(&end.text) {
            return ExitCode::from(EXIT_FAILURE);
        }
    }
    // Piped input is a script: exit 1 if any statement of it failed.
    if failed {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Where history is kept: `RASP_HISTORY`, else `~/.rasp_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RASP_HISTORY") {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rasp_history"))
}

/// The rustyline helper: completion from a snapshot of the session's names,
/// and a validator that asks the session's parser.
struct ReplHelper {
    completer: Completer,
    color: bool,
}

impl Helper for ReplHelper {}
impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        if self.color && default {
            Cow::Owned(format!("\x1b[1;32m{prompt}\x1b[0m"))
        } else {
            Cow::Borrowed(prompt)
        }
    }
}

/// Every line is handed to the session as it is entered: an unfinished
/// statement continues on the next line under the continuation prompt
/// (the session decides, with the real parser), as in Python's REPL.
impl Validator for ReplHelper {}

impl RlCompleter for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(self.completer.complete(line, pos))
    }
}

fn interactive_loop(mut session: Session) -> ExitCode {
    let color = terminal_color();
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .history_ignore_dups(true)
        .map(|b| b.max_history_size(1000))
        .and_then(|b| b)
        .map(|b| b.build())
        .unwrap_or_default();
    let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start line editing: {e}");
            return piped_loop(session);
        }
    };
    editor.set_helper(Some(ReplHelper {
        completer: session.completer(),
        color,
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on the first run.
        let _ = editor.load_history(path);
    }
    super::out::write(&session.banner());
    catch_interrupts();
    loop {
        if let Some(helper) = editor.helper_mut() {
            helper.completer = session.completer();
        }
        let prompt = if session.is_pending() {
            CONTINUATION_PROMPT
        } else {
            PROMPT
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(path) = &history {
                        let _ = editor.history_mut().save(path);
                    }
                }
                // Ctrl-C while this runs stops it (a limit diagnostic),
                // not the session.
                crate::memory::clear_interrupt();
                let output = session.feed(&line);
                crate::memory::clear_interrupt();
                if !super::out::write(&output.text) {
                    return ExitCode::from(EXIT_FAILURE);
                }
                let _ = std::io::stdout().flush();
                if output.status == Status::Exit {
                    break;
                }
            }
            // Ctrl-C at the prompt: a key in raw mode; a signal that cut
            // the read short on a terminal rustyline cannot drive (`TERM=dumb`).
            Err(ReadlineError::Interrupted) => {
                session.cancel();
                super::out::write("^C (input abandoned)\n");
            }
            Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                crate::memory::clear_interrupt();
                session.cancel();
                super::out::write("\n^C (input abandoned)\n");
            }
            Err(ReadlineError::Eof) => {
                super::out::write(&session.finish().text);
                break;
            }
            Err(e) => {
                eprintln!("error: cannot read input: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Ctrl-C (SIGINT) asks the running evaluation to stop
/// ([`crate::memory::interrupt`]) instead of ending the process; a read
/// it arrives in returns early (no `SA_RESTART`), so the prompt comes back.
fn catch_interrupts() {
    #[cfg(unix)]
    {
        extern "C" fn on_interrupt(_: libc::c_int) {
            crate::memory::interrupt();
        }
        // SAFETY: the handler only stores an atomic flag, which is
        // async-signal-safe; the `sigaction` struct is zeroed, then its
        // handler, empty mask and flags set, as the call requires.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        }
    }
}
