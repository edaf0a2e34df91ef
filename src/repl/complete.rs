//! Tab completion: keywords, builtins, library names, names bound in the
//! session, and commands. The front end builds a [`Completer`] from the
//! session before each prompt, so completion always sees the names in scope.

use super::commands::COMMANDS;
use crate::syntax::KEYWORDS;

/// The reference REPL's command words, completed at the start of a line.
const LINE_COMMANDS: &[&str] = &[
    "set example ",
    "show example",
    "examples on",
    "examples off",
    "full seq display on",
    "full seq display off",
    "exit",
    "quit",
];

/// Completion candidates for one prompt.
#[derive(Debug, Clone, Default)]
pub struct Completer {
    /// Keywords and names, sorted and unique.
    words: Vec<String>,
}

impl Completer {
    /// A completer for `names` (the names in scope) and the keywords.
    pub fn new(names: impl IntoIterator<Item = String>) -> Completer {
        let mut words: Vec<String> = names
            .into_iter()
            .chain(KEYWORDS.iter().map(|k| k.to_string()))
            .collect();
        words.sort();
        words.dedup();
        Completer { words }
    }

    /// Where the word being completed starts in `line` (the cursor is at
    /// byte `pos`), and the candidates to replace it with.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let Some(before) = line.get(..pos) else {
            return (pos, Vec::new());
        };
        let leading = before.len() - before.trim_start().len();
        let typed = &before[leading..];
        // A `:command` being typed.
        if typed.starts_with(':') && !typed.contains(char::is_whitespace) {
            let candidates = COMMANDS
                .iter()
                .map(|(c, _)| c.split(' ').next().unwrap_or(c))
                .filter(|c| c.starts_with(typed))
                .map(str::to_string);
            return (leading, dedup(candidates));
        }
        // Inside a string literal: nothing to complete.
        if before.matches('"').count() % 2 == 1 {
            return (pos, Vec::new());
        }
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(pos, |(i, _)| i);
        let word = &before[start..];
        let mut candidates: Vec<String> = Vec::new();
        // The reference's command words, at the start of a line.
        if !typed.is_empty() && typed.chars().all(|c| c.is_alphanumeric() || c == ' ') {
            let lines = LINE_COMMANDS.iter().filter(|c| c.starts_with(typed));
            let matched: Vec<String> = lines.map(|c| c.to_string()).collect();
            if !matched.is_empty() && typed.contains(' ') {
                return (leading, dedup(matched));
            }
            if !matched.is_empty() && word.len() == typed.len() {
                candidates.extend(matched);
            }
        }
        if word.is_empty() {
            return (start, candidates);
        }
        candidates.extend(self.words.iter().filter(|w| w.starts_with(word)).cloned());
        (start, dedup(candidates))
    }
}

fn dedup(candidates: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut list: Vec<String> = candidates.into_iter().collect();
    list.sort();
    list.dedup();
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Completer {
        Completer::new(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn completes_names_and_keywords() {
        let c = names(&["reverse", "result"]);
        assert_eq!(c.complete("x = rev", 7), (4, vec!["reverse".to_string()]));
        assert_eq!(c.complete("sel", 3).1, vec!["select".to_string()]);
        assert_eq!(
            c.complete("x = re", 6).1,
            vec!["result", "return", "reverse"]
        );
    }

    #[test]
    fn completes_commands() {
        let c = names(&[]);
        assert_eq!(c.complete(":lo", 3), (0, vec![":load".to_string()]));
        assert_eq!(
            c.complete("full seq", 8).1,
            vec!["full seq display off", "full seq display on"]
        );
        assert!(c.complete("sho", 3).1.contains(&"show example".to_string()));
    }

    #[test]
    fn nothing_inside_strings_or_for_an_empty_word() {
        let c = names(&["hello"]);
        assert!(c.complete("x = \"hel", 8).1.is_empty());
        assert!(c.complete("x = ", 4).1.is_empty());
    }
}
