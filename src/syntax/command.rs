//! The reference REPL's commands, which its grammar accepts as statements
//! of any program's top level (so a loaded file may hold them, but a `def`
//! or `for` body may not):
//!
//! ```text
//! set [s-op|selector] example E      show [s-op|selector] example
//! [s-op|selector] examples on|off    full seq display on|off
//! exit   exit()   quit   quit()
//! ```
//!
//! A command takes its line: it is recognised only where a line starts
//! (after spaces), and by its words, however they are spaced. It needs no
//! `;`, though one may follow. `set example E` runs to the first line end
//! where `E` could be complete (brackets closed, no operator pending), as
//! the reference, reading a line at a time, runs it; the other commands
//! allow only `;` and a comment after their words. Anything else is not a
//! command, so `set = 3;` and `exit + 1;` are RASP.
//!
//! [`recognize`] is the one place that reads a command's words: the lexer
//! turns them into tokens, and the REPL finds the commands typed at its
//! prompt with it.

/// Which running example a command is about: the reference keeps one for
/// s-ops and one for selectors, and `set example` sets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subset {
    /// No `s-op` or `selector` word: both.
    Both,
    /// `s-op`.
    SOps,
    /// `selector`.
    Selectors,
}

impl Subset {
    /// Whether the s-op example is included.
    pub fn sops(self) -> bool {
        matches!(self, Subset::Both | Subset::SOps)
    }

    /// Whether the selector example is included.
    pub fn selectors(self) -> bool {
        matches!(self, Subset::Both | Subset::Selectors)
    }

    /// The word written for it, with a space after (empty for both).
    pub fn prefix(self) -> &'static str {
        match self {
            Subset::Both => "",
            Subset::SOps => "s-op ",
            Subset::Selectors => "selector ",
        }
    }
}

/// A command's words: `set example`, whose expression follows, or a
/// command complete in its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Words {
    /// `set [subset] example`, followed by the expression.
    SetExample(Subset),
    Command(Command),
}

/// A command that takes no expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `show [subset] example`.
    ShowExample(Subset),
    /// `[subset] examples on|off`.
    Examples { subset: Subset, on: bool },
    /// `full seq display on|off`.
    FullSeqDisplay(bool),
    /// `exit`, `exit()`, `quit`, `quit()`.
    Exit,
}

impl Command {
    /// The words as they are usually written, for messages.
    pub fn text(self) -> String {
        match self {
            Command::ShowExample(subset) => format!("show {}example", subset.prefix()),
            Command::Examples { subset, on } => {
                format!("{}examples {}", subset.prefix(), on_off(on))
            }
            Command::FullSeqDisplay(on) => format!("full seq display {}", on_off(on)),
            Command::Exit => "exit".to_string(),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The first word of every command, for a quick test before [`recognize`].
pub const FIRST_WORDS: &[&str] = &[
    "set", "show", "examples", "s-op", "selector", "full", "exit", "quit", "exit()", "quit()",
];

/// A command found at the start of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recognized {
    pub words: Words,
    /// The bytes its words take.
    pub len: usize,
    /// The bytes it takes: for `set example`, its words (the expression
    /// follows); for the others, the whole line but a trailing comment,
    /// the `;`s after the words included.
    pub consumed: usize,
}

/// Reads a command at the start of `line` (one line, without its line
/// end, starting where the command would). `None` if `line` does not
/// start with a command.
pub fn recognize(line: &str) -> Option<Recognized> {
    let mut words = Splitter { line, at: 0 };
    let first = words.next()?;
    let (subset, word) = match first {
        "s-op" => (Subset::SOps, words.next()?),
        "selector" => (Subset::Selectors, words.next()?),
        _ => (Subset::Both, first),
    };
    let with_subset = subset != Subset::Both;
    let command = match word {
        "set" | "show" if !with_subset => {
            let subset = match words.peek() {
                Some("s-op") => Subset::SOps,
                Some("selector") => Subset::Selectors,
                _ => Subset::Both,
            };
            if subset != Subset::Both {
                words.next();
            }
            if words.next()? != "example" {
                return None;
            }
            if word == "set" {
                return Some(Recognized {
                    words: Words::SetExample(subset),
                    len: words.at,
                    consumed: words.at,
                });
            }
            Command::ShowExample(subset)
        }
        "examples" => Command::Examples {
            subset,
            on: switch(words.next()?)?,
        },
        "full" if !with_subset => {
            if (words.next()?, words.next()?) != ("seq", "display") {
                return None;
            }
            Command::FullSeqDisplay(switch(words.next()?)?)
        }
        "exit" | "quit" | "exit()" | "quit()" if !with_subset => Command::Exit,
        _ => return None,
    };
    let end = words.at;
    let rest = &line[end..];
    let after = rest.trim_start_matches(is_space_or_semicolon);
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    Some(Recognized {
        words: Words::Command(command),
        len: end,
        consumed: line.len() - after.len(),
    })
}

fn switch(word: &str) -> Option<bool> {
    match word {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0c')
}

fn is_space_or_semicolon(c: char) -> bool {
    is_space(c) || c == ';'
}

/// The words of a line: runs of characters between spaces, stopping at a
/// `;` or `#`, with the byte offset just past the last one taken.
struct Splitter<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Splitter<'a> {
    fn peek(&self) -> Option<&'a str> {
        let rest = &self.line[self.at..];
        let start = self.at + (rest.len() - rest.trim_start_matches(is_space).len());
        let word = &self.line[start..];
        let len = word
            .find(|c: char| is_space(c) || c == ';' || c == '#')
            .unwrap_or(word.len());
        (len > 0).then(|| &word[..len])
    }

    fn next(&mut self) -> Option<&'a str> {
        let word = self.peek()?;
        let rest = &self.line[self.at..];
        let skipped = rest.len() - rest.trim_start_matches(is_space).len();
        self.at += skipped + word.len();
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Option<Words> {
        recognize(line).map(|r| r.words)
    }

    fn lengths(line: &str) -> Option<(usize, usize)> {
        recognize(line).map(|r| (r.len, r.consumed))
    }

    #[test]
    fn reads_every_command() {
        use Command::*;
        use Words::{Command as C, SetExample};
        assert_eq!(lengths("set example \"abc\""), Some((11, 11)));
        assert_eq!(
            words("set   s-op example [1]"),
            Some(SetExample(Subset::SOps))
        );
        assert_eq!(
            words("set selector example x"),
            Some(SetExample(Subset::Selectors))
        );
        assert_eq!(words("set example"), Some(SetExample(Subset::Both)));
        assert_eq!(words("show example"), Some(C(ShowExample(Subset::Both))));
        assert_eq!(
            words("show selector example"),
            Some(C(ShowExample(Subset::Selectors)))
        );
        assert_eq!(
            words("examples off"),
            Some(C(Examples {
                subset: Subset::Both,
                on: false
            }))
        );
        assert_eq!(
            words("s-op examples on"),
            Some(C(Examples {
                subset: Subset::SOps,
                on: true
            }))
        );
        assert_eq!(words("full seq display on"), Some(C(FullSeqDisplay(true))));
        assert_eq!(
            words("full  seq\tdisplay off"),
            Some(C(FullSeqDisplay(false)))
        );
        for exit in ["exit", "quit", "exit()", "quit()", "exit;", "quit ;;"] {
            assert_eq!(words(exit), Some(C(Exit)), "{exit}");
        }
    }

    #[test]
    fn takes_the_line_but_a_comment() {
        assert_eq!(lengths("exit; # bye"), Some((4, 6)));
        assert_eq!(lengths("show example;"), Some((12, 13)));
        assert_eq!(lengths("examples on # all"), Some((11, 12)));
        assert_eq!(lengths("full seq  display off ; ;"), Some((21, 25)));
        assert_eq!(lengths("set  example   [1]"), Some((12, 12)));
    }

    #[test]
    fn rasp_is_not_a_command() {
        for line in [
            "set = 3;",
            "set",
            "exit = 1;",
            "exit + 1;",
            "quit[0];",
            "show = example;",
            "show example x",
            "examples;",
            "examples maybe",
            "s-op exit",
            "selector show example",
            "full seq",
            "full seq display",
            "set examples \"a\"",
            "settings example",
            "",
            "# exit",
        ] {
            assert_eq!(words(line), None, "{line:?}");
        }
    }
}
