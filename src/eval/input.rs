//! Inputs and vocabularies as the command line and the REPL take them: data,
//! never program text; and the values a program applies an s-op to.
//!
//! An input is a string (split into characters) or a list of literal atoms,
//! `[3, -1, 2.5, "a", True]`, read with the RASP lexer but never parsed or
//! evaluated as an expression, so no input can run a computation. Every
//! error points into the text as the user typed it, in a source named
//! `<input>` or `<vocab>`, and speaks of an input or of a vocabulary. A list
//! whose atoms mix strings with other atoms is refused here, before any
//! program runs: a sequence is all strings, all bools, or numbers.

use std::sync::Arc;

use super::atom::Atom;
use super::error::{ErrorKind, EvalError, EvalResult};
use super::sop::Origin;
use super::value::{SeqType, Value};
use crate::error::Error;
use crate::syntax::lexer::{LexErrorKind, Lexer, Token};
use crate::syntax::span::{source, Span};

/// What a text is read as: it decides the wording of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    Vocab,
}

impl Role {
    fn noun(self) -> &'static str {
        match self {
            Role::Input => "an input",
            Role::Vocab => "a vocabulary",
        }
    }

    fn source_name(self) -> &'static str {
        match self {
            Role::Input => "<input>",
            Role::Vocab => "<vocab>",
        }
    }

    fn kind(self, message: String) -> ErrorKind {
        match self {
            Role::Input => ErrorKind::InvalidInput(message),
            Role::Vocab => ErrorKind::InvalidVocab(message),
        }
    }
}

/// Parses an input written as on the command line: text starting with `[`
/// is a list of atoms (`[3, 1, 2]`, `["a", "b"]`, `[-0.5, True]`); anything
/// else is a string, split into characters.
///
/// The list holds literals alone (integers and floats with an optional
/// `-`, double-quoted strings, `True` and `False`), separated by commas (a
/// trailing one allowed), all strings or none.
pub fn parse_input(text: &str) -> Result<Vec<Atom>, Error> {
    if !text.trim_start().starts_with('[') {
        let mut buf = [0u8; 4];
        return Ok(text
            .chars()
            .map(|c| Atom::Str(Arc::from(&*c.encode_utf8(&mut buf))))
            .collect());
    }
    parse_list(text, Role::Input)
}

/// Parses a vocabulary written as on the command line: comma-separated
/// strings (`a,b,c`), or a list of atoms as for [`parse_input`].
pub fn parse_vocab(text: &str) -> Result<Vec<Atom>, Error> {
    let at = |start: usize, end: usize| Origin {
        source: source(Role::Vocab.source_name(), text.to_string()),
        span: Span::new(start, end.max(start)),
        call_site: None,
    };
    let bad = |message: String, start: usize, end: usize, label: &str| {
        Error::Eval(
            EvalError::new(Role::Vocab.kind(message), Some(at(start, end))).with_label(label),
        )
    };
    // Each token with where it was written (a list's tokens: the list).
    let mut tokens: Vec<(Atom, usize, usize)> = Vec::new();
    if text.trim_start().starts_with('[') {
        for atom in parse_list(text, Role::Vocab)? {
            tokens.push((atom, 0, text.len()));
        }
    } else {
        let mut start = 0;
        for token in text.split(',') {
            let end = start + token.len();
            if token.is_empty() {
                let message = if text.is_empty() {
                    "the vocabulary is empty".to_string()
                } else {
                    "the vocabulary has an empty token".to_string()
                };
                // Point at the commas around the missing token.
                let (s, e) = (start.saturating_sub(1), (end + 1).min(text.len()));
                return Err(bad(message, s, e, "no token here"));
            }
            tokens.push((Atom::Str(token.into()), start, end));
            start = end + 1;
        }
    }
    for (i, (atom, start, end)) in tokens.iter().enumerate() {
        let same = |other: &(Atom, usize, usize)| {
            other.0.type_name() == atom.type_name() && other.0.repr() == atom.repr()
        };
        if tokens[..i].iter().any(same) {
            return Err(bad(
                format!("token {} appears twice", atom.repr()),
                *start,
                *end,
                "again here",
            ));
        }
    }
    Ok(tokens.into_iter().map(|(atom, _, _)| atom).collect())
}

/// A list of literal atoms, `text` starting with `[` after blanks.
fn parse_list(text: &str, role: Role) -> Result<Vec<Atom>, Error> {
    // The source is made only for a diagnostic.
    let at = |start: usize, end: usize| Origin {
        source: source(role.source_name(), text.to_string()),
        span: Span::new(start, end.max(start)),
        call_site: None,
    };
    let bad = |message: String, start: usize, end: usize| {
        Error::Eval(EvalError::new(role.kind(message), Some(at(start, end))))
    };
    let mut tokens = Vec::new();
    for item in Lexer::new(text) {
        match item {
            Ok(t) => tokens.push(t),
            Err(e) => {
                let (start, end) = (e.span.start, e.span.end);
                let found = text.get(start..end).unwrap_or_default();
                let message = match e.kind {
                    LexErrorKind::UnterminatedString => {
                        "this string has no closing `\"`".to_string()
                    }
                    LexErrorKind::IntTooLarge => {
                        format!("integer `{found}` does not fit in 64 bits")
                    }
                    LexErrorKind::InvalidToken if found == "'" => {
                        "strings use double quotes, as in `[\"a\", \"b\"]`".to_string()
                    }
                    LexErrorKind::InvalidToken => {
                        format!("`{found}` cannot be part of {}", role.noun())
                    }
                };
                return Err(bad(message, start, end));
            }
        }
    }
    let literal = format!(
        "{} list holds literals only (numbers, \"strings\", True, False), such as \
         `[3, 1, 2]`: it is data, not an expression",
        role.noun()
    );
    let mut atoms = Vec::new();
    let mut spans = Vec::new();
    let mut i = 1; // past `[`
    let mut closed = None;
    while i < tokens.len() {
        let (start, token, stop) = &tokens[i];
        if matches!(token, Token::RBracket) {
            closed = Some(i);
            break;
        }
        let negative = matches!(token, Token::Minus);
        let (start, mut stop) = (*start, *stop);
        // (A lexed integer is at most i64::MAX, so its negation fits.)
        let atom = match (token, tokens.get(i + 1)) {
            (Token::Minus, Some((_, Token::Int(n), end))) => {
                stop = *end;
                Atom::Int(-n)
            }
            (Token::Minus, Some((_, Token::Float(x), end))) => {
                stop = *end;
                Atom::Float(-x)
            }
            (Token::Minus, next) => {
                let end = next.map_or(stop, |(_, _, e)| *e);
                return Err(bad(literal, start, end));
            }
            (Token::Int(n), _) => Atom::Int(*n),
            (Token::Float(x), _) => Atom::Float(*x),
            (Token::Str(t), _) => Atom::Str(Arc::from(*t)),
            (Token::Ident("True"), _) => Atom::Bool(true),
            (Token::Ident("False"), _) => Atom::Bool(false),
            (Token::Ident(name), _) => {
                let message = format!(
                    "`{name}` is a name, not an atom: {} list holds literals only \
                     (numbers, \"strings\", True, False)",
                    role.noun()
                );
                return Err(bad(message, start, stop));
            }
            _ => return Err(bad(literal, start, stop)),
        };
        atoms.push(atom);
        spans.push((start, stop));
        i += if negative { 2 } else { 1 };
        match tokens.get(i) {
            Some((_, Token::Comma, _)) => i += 1,
            Some((_, Token::RBracket, _)) => {}
            Some((s, _, e)) => {
                return Err(bad("expected `,` or `]` after an atom".into(), *s, *e));
            }
            None => {}
        }
    }
    let Some(close) = closed else {
        let open = tokens.first().map_or(0, |t| t.0);
        let error = EvalError::new(
            role.kind("this list has no closing `]`".into()),
            Some(at(open, open + 1)),
        );
        return Err(Error::Eval(error.with_label("opened here")));
    };
    if let Some((s, _, _)) = tokens.get(close + 1) {
        return Err(bad(
            "expected one list, such as `[3, 1, 2]`, and nothing after it".into(),
            *s,
            text.len(),
        ));
    }
    if atoms.is_empty() {
        let empty = match role {
            Role::Input => "the input is empty",
            Role::Vocab => "the vocabulary is empty",
        };
        return Err(bad(empty.to_string(), 0, text.len()));
    }
    // An input list may mix types, as in the reference: `tokens` makes
    // strings of every item, and only `tokens_asis` (which keeps them) is
    // then no sequence. A vocabulary may not: a model's tokens are one type.
    if role == Role::Vocab && SeqType::of(&atoms).is_none() {
        let (odd, message) = mixed(&atoms);
        let (start, end) = spans[odd];
        let kind = ErrorKind::InvalidVocab(format!("tokens cannot mix {}", message.kinds));
        let error = EvalError::new(kind, Some(at(start, end))).with_label(message.label);
        return Err(Error::Eval(error));
    }
    Ok(atoms)
}

/// What a list that mixes strings with other atoms is told.
struct Mix {
    /// "ints and strings".
    kinds: String,
    /// The label on the first atom that differs: "a string among numbers".
    label: String,
}

/// The first atom of `atoms` that is a string where the first is not, or
/// the reverse, and what to say about it.
fn mixed(atoms: &[Atom]) -> (usize, Mix) {
    let is_str = |a: &Atom| matches!(a, Atom::Str(_));
    let first_is_str = atoms.first().is_some_and(is_str);
    let at = atoms
        .iter()
        .position(|a| is_str(a) != first_is_str)
        .unwrap_or(0);
    let kinds: Vec<&str> = {
        let mut kinds = Vec::new();
        for atom in atoms {
            let kind = kind_plural(atom);
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds
    };
    let kinds = match kinds.as_slice() {
        [init @ .., last] if !init.is_empty() => format!("{} and {last}", init.join(", ")),
        _ => kinds.join(""),
    };
    let before = &atoms[..at];
    let among = if first_is_str {
        "strings"
    } else if before.iter().all(|a| matches!(a, Atom::Bool(_))) {
        "bools"
    } else {
        "numbers"
    };
    let label = format!("{} among {among}", kind_singular(&atoms[at]));
    (at, Mix { kinds, label })
}

fn kind_plural(atom: &Atom) -> &'static str {
    match atom {
        Atom::Str(_) => "strings",
        Atom::Bool(_) => "bools",
        Atom::Int(_) => "ints",
        Atom::Float(_) => "floats",
    }
}

fn kind_singular(atom: &Atom) -> &'static str {
    match atom {
        Atom::Str(_) => "a string",
        Atom::Bool(_) => "a bool",
        Atom::Int(_) => "an int",
        Atom::Float(_) => "a float",
    }
}

/// An s-op or selector applied to something, as written.
#[derive(Clone, Copy)]
pub(crate) struct Applied<'a> {
    /// "s-op" or "selector".
    pub kind: &'static str,
    /// Its name, where it was called by name.
    pub written: Option<&'a str>,
}

/// The single input an s-op or selector is applied to. Anything but a
/// string or a list (`length(tokens)`) is taken for a function call.
pub(crate) fn apply_input(
    args: &[Value],
    at: &Origin,
    applied: Applied<'_>,
) -> EvalResult<Vec<Atom>> {
    match args {
        [input @ (Value::Atom(Atom::Str(_)) | Value::List(_))] => {
            input_atoms(input).map_err(|k| EvalError::new(k, Some(at.clone())))
        }
        [other] => Err(EvalError::new(
            ErrorKind::NotAFunction {
                callee: applied
                    .written
                    .map_or_else(|| "this".to_string(), |name| format!("`{name}`")),
                kind: applied.kind,
            },
            Some(at.clone()),
        )
        .with_label(format!("applied to {}", other.describe()))),
        _ => Err(EvalError::new(
            ErrorKind::Arity {
                name: "an s-op or selector".into(),
                expected: 1,
                got: args.len(),
            },
            Some(at.clone()),
        )),
    }
}

/// The atoms of an input given to an s-op in a program: a string (its
/// characters) or a list of atoms.
pub fn input_atoms(value: &Value) -> Result<Vec<Atom>, ErrorKind> {
    match value {
        Value::Atom(Atom::Str(s)) => {
            Ok(s.chars().map(|c| Atom::Str(c.to_string().into())).collect())
        }
        Value::List(items) => items
            .iter()
            .map(|v| match v {
                Value::Atom(a) => Ok(a.clone()),
                other => Err(ErrorKind::InvalidInput(format!(
                    "an input list holds atoms only, not {}",
                    other.describe()
                ))),
            })
            .collect(),
        other => Err(ErrorKind::InvalidInput(format!(
            "an input is a string or a list of atoms, not {}",
            other.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(text: &str, role: Role) -> (ErrorKind, usize, usize) {
        let err = match role {
            Role::Input => parse_input(text),
            Role::Vocab => parse_vocab(text),
        }
        .expect_err(text);
        let Error::Eval(e) = &err else {
            panic!("{text}: {err:?}");
        };
        let origin = e.at.as_ref().expect("a span");
        (e.kind.clone(), origin.span.start, origin.span.end)
    }

    #[test]
    fn an_input_is_data_and_never_evaluated() {
        let atoms = |text: &str| format!("{:?}", parse_input(text).expect(text));
        let want = |atoms: Vec<Atom>| format!("{atoms:?}");
        assert_eq!(
            atoms(" [3, -1, 2.5, -0.25, True, False,]"),
            want(vec![
                Atom::Int(3),
                Atom::Int(-1),
                Atom::Float(2.5),
                Atom::Float(-0.25),
                Atom::Bool(true),
                Atom::Bool(false),
            ])
        );
        assert_eq!(
            atoms("[\"a b\", \"c\"]"),
            want(vec![Atom::Str("a b".into()), Atom::Str("c".into())])
        );
        assert_eq!(
            atoms("ab"),
            want(vec![Atom::Str("a".into()), Atom::Str("b".into())])
        );
        // Expressions, names and nested lists are refused where they start,
        // before anything runs: a comprehension of nine million items is
        // not built. So are lexing errors, in an input's words.
        for (text, at) in [
            ("[len([x for x in range(9000000)])]", 1),
            ("[1+1]", 2),
            ("[x]", 1),
            ("[[1]]", 1),
            ("[-\"a\"]", 1),
            ("[1] [2]", 4),
            ("[1 2]", 3),
            ("[]", 0),
            ("[1,", 0),
            ("[true]", 1),
            ("[\"abc", 1),
            ("[99999999999999999999]", 1),
            ("[$]", 1),
            ("['a']", 1),
        ] {
            let (kind, start, _) = failure(text, Role::Input);
            assert!(
                matches!(kind, ErrorKind::InvalidInput(_)),
                "{text}: {kind:?}"
            );
            assert_eq!(start, at, "{text}");
        }
    }

    #[test]
    fn an_input_may_mix_types_and_a_vocabulary_may_not() {
        // As in the reference: `tokens` reads any list, as strings.
        for text in ["[1, \"a\"]", "[True, 2, \"a\", 3]", "[\"a\", \"b\", -2.5]"] {
            assert!(parse_input(text).is_ok(), "{text}");
        }
        for (text, at, label) in [
            ("[1, \"a\"]", 4, "a string among numbers"),
            ("[True, 2, \"a\", 3]", 10, "a string among numbers"),
            ("[True, \"a\"]", 7, "a string among bools"),
            ("[\"a\", \"b\", -2.5]", 11, "a float among strings"),
        ] {
            let (kind, start, _) = failure(text, Role::Vocab);
            assert!(matches!(kind, ErrorKind::InvalidVocab(_)), "{text}");
            assert_eq!(start, at, "{text}");
            let err = parse_vocab(text).expect_err(text);
            let Error::Eval(e) = &err else {
                panic!("{text}: {err:?}");
            };
            assert_eq!(e.label.as_deref(), Some(label), "{text}");
        }
        // Numbers mix, and bools count as ints among them.
        assert!(parse_vocab("[1, 2.5, True]").is_ok());
    }

    #[test]
    fn a_vocabulary_speaks_of_itself() {
        for text in ["[1, 2", "[1, \"a\"]", "[x]", "[]"] {
            let (kind, _, _) = failure(text, Role::Vocab);
            assert!(
                matches!(kind, ErrorKind::InvalidVocab(_)),
                "{text}: {kind:?}"
            );
            assert!(kind.to_string().contains("vocabulary"), "{text}: {kind}");
        }
        assert_eq!(parse_vocab("a,b").expect("strings").len(), 2);
    }

    #[test]
    fn a_vocabulary_has_no_empty_or_repeated_token() {
        for (text, at, message) in [
            ("", 0, "the vocabulary is empty"),
            ("a,,b", 1, "the vocabulary has an empty token"),
            ("a,b,", 3, "the vocabulary has an empty token"),
            (",a", 0, "the vocabulary has an empty token"),
            ("a,b,a", 4, "token 'a' appears twice"),
            ("[1, 2, 1]", 0, "token 1 appears twice"),
        ] {
            let (kind, start, _) = failure(text, Role::Vocab);
            assert!(matches!(kind, ErrorKind::InvalidVocab(_)), "{text}");
            assert!(kind.to_string().contains(message), "{text}: {kind}");
            assert_eq!(start, at, "{text}");
        }
        // Equal numbers of different types are different tokens.
        assert_eq!(parse_vocab("[1, 1.0]").expect("two tokens").len(), 2);
    }
}
