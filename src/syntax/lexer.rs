//! The lexer: source text to tokens with byte offsets.
//!
//! A [logos] lexer wrapped in [`Lexer`], an iterator of
//! `Result<(start, Token, end), LexError>` that the lalrpop grammar consumes
//! as an external lexer. Whitespace and `#` comments are skipped. The lexer
//! is lenient where the reference is not: keywords are ordinary tokens, so
//! `range (` is fine, and line breaks mean nothing.
//!
//! `select` and `aggregate` are keywords only when an opening parenthesis
//! follows them, as in the reference, whose keywords are `select(` and
//! `aggregate(`: so `select = 1;` and `aggregate + 1` use them as names.
//! Whitespace and comments may come before that parenthesis here
//! (`select (k, q, ==)`), so a name `select` cannot be called.
//!
//! The reference REPL's commands (`set example E`, `show example`, ...;
//! see [`super::command`]) are statements of a program too. A line that
//! starts with one gives a [`Token::Command`], or for `set example` a
//! [`Token::SetExample`], the tokens of `E`, and a [`Token::EndCommand`]
//! where `E` ends: at its `;`, or else before the first line break where
//! its brackets are closed and its last token could end an expression.

use std::fmt;

use logos::Logos;

use super::command::{recognize, Command, Subset, Words};
use super::span::Span;

/// The reserved words of RASP. `True` and `False` are predefined names, not
/// keywords.
pub const KEYWORDS: &[&str] = &[
    "def",
    "return",
    "for",
    "in",
    "if",
    "else",
    "not",
    "and",
    "or",
    "load",
    "draw",
    "select",
    "aggregate",
    "range",
    "zip",
    "len",
    "round",
    "indicator",
];

/// What went wrong while lexing, without the position (logos builds this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LexErrorKind {
    /// A character that starts no token, such as `$`, `'` or a lone `!`.
    #[default]
    InvalidToken,
    /// A `"` with no closing `"` on the same line.
    UnterminatedString,
    /// An integer literal that does not fit in an `i64`.
    IntTooLarge,
}

/// A lexing failure and the span of the offending text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexError {
    pub kind: LexErrorKind,
    pub span: Span,
}

fn parse_int<'a>(lex: &logos::Lexer<'a, Token<'a>>) -> Result<i64, LexErrorKind> {
    lex.slice()
        .parse::<i64>()
        .map_err(|_| LexErrorKind::IntTooLarge)
}

fn parse_float<'a>(lex: &logos::Lexer<'a, Token<'a>>) -> Result<f64, LexErrorKind> {
    // `[0-9]+\.[0-9]+` always parses; huge literals become infinity, as in Python.
    lex.slice()
        .parse::<f64>()
        .map_err(|_| LexErrorKind::InvalidToken)
}

fn string_contents<'input>(lex: &logos::Lexer<'input, Token<'input>>) -> &'input str {
    let slice = lex.slice();
    slice.get(1..slice.len().saturating_sub(1)).unwrap_or("")
}

fn unterminated_string<'a>(_: &logos::Lexer<'a, Token<'a>>) -> Result<(), LexErrorKind> {
    Err(LexErrorKind::UnterminatedString)
}

/// A token of RASP.
#[derive(Logos, Debug, Clone, Copy, PartialEq)]
#[logos(error = LexErrorKind)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
pub enum Token<'input> {
    #[regex(r"[0-9]+", parse_int)]
    Int(i64),
    #[regex(r"[0-9]+\.[0-9]+", parse_float)]
    Float(f64),
    /// A string literal's contents, without the quotes.
    #[regex(r#""[^"\r\n]*""#, string_contents)]
    Str(&'input str),
    #[regex(r#""[^"\r\n]*"#, unterminated_string)]
    /// Never produced: its pattern (a string cut off by a line end or the end
    /// of input) always fails with [`LexErrorKind::UnterminatedString`].
    UnterminatedStr,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident(&'input str),

    #[token("def")]
    Def,
    #[token("return")]
    Return,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("not")]
    Not,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("load")]
    Load,
    #[token("draw")]
    Draw,
    /// `select` before `(`; otherwise `select` is a name.
    Select,
    /// `aggregate` before `(`; otherwise `aggregate` is a name.
    Aggregate,
    #[token("range")]
    Range,
    #[token("zip")]
    Zip,
    #[token("len")]
    Len,
    #[token("round")]
    Round,
    #[token("indicator")]
    Indicator,

    #[token(";")]
    Semi,
    #[token("=")]
    Assign,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,

    /// A REPL command other than `set example`, taking the rest of its
    /// line (made by [`Lexer`], never by logos).
    Command(Command),
    /// `set [s-op|selector] example` at the start of a line, before its
    /// expression (made by [`Lexer`]).
    SetExample(Subset),
    /// The end of the expression of `set example`: its `;`, or empty, at
    /// the end of its last token (made by [`Lexer`]).
    EndCommand,

    #[token("^")]
    Caret,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
}

impl fmt::Display for Token<'_> {
    /// The token as the user would write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(value) => write!(f, "{value}"),
            Token::Float(value) => write!(f, "{value:?}"),
            Token::Str(text) => write!(f, "\"{text}\""),
            Token::UnterminatedStr => f.write_str("\""),
            Token::Ident(name) => f.write_str(name),
            Token::Command(words) => f.write_str(&words.text()),
            Token::SetExample(subset) => write!(f, "set {}example", subset.prefix()),
            Token::EndCommand => f.write_str("the end of the line"),
            other => f.write_str(other.fixed_text().unwrap_or("?")),
        }
    }
}

impl Token<'_> {
    /// The text of a token that is always spelled the same way.
    pub fn fixed_text(&self) -> Option<&'static str> {
        Some(match self {
            Token::Int(_)
            | Token::Float(_)
            | Token::Str(_)
            | Token::UnterminatedStr
            | Token::Ident(_)
            | Token::Command(_)
            | Token::SetExample(_)
            | Token::EndCommand => return None,
            Token::Def => "def",
            Token::Return => "return",
            Token::For => "for",
            Token::In => "in",
            Token::If => "if",
            Token::Else => "else",
            Token::Not => "not",
            Token::And => "and",
            Token::Or => "or",
            Token::Load => "load",
            Token::Draw => "draw",
            Token::Select => "select",
            Token::Aggregate => "aggregate",
            Token::Range => "range",
            Token::Zip => "zip",
            Token::Len => "len",
            Token::Round => "round",
            Token::Indicator => "indicator",
            Token::Semi => ";",
            Token::Assign => "=",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::Caret => "^",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Lt => "<",
            Token::Gt => ">",
            Token::Le => "<=",
            Token::Ge => ">=",
        })
    }
}

/// The token stream of one source text, in the shape lalrpop expects.
pub struct Lexer<'input> {
    inner: logos::Lexer<'input, Token<'input>>,
    /// The end of the last token given out (`None` before the first).
    last_end: Option<usize>,
    /// Inside the expression of `set example`.
    example: Option<Example>,
    /// A token read but held back while an [`Token::EndCommand`] goes
    /// before it.
    held: Option<(Result<Token<'input>, LexErrorKind>, std::ops::Range<usize>)>,
}

/// Where the expression of `set example` stands.
#[derive(Debug, Clone, Copy)]
struct Example {
    /// Brackets open in it.
    depth: u32,
    /// Whether its last token could end an expression.
    can_end: bool,
}

impl Example {
    fn after(&mut self, token: &Token<'_>) {
        match token {
            Token::LParen | Token::LBracket | Token::LBrace => self.depth += 1,
            Token::RParen | Token::RBracket | Token::RBrace => {
                self.depth = self.depth.saturating_sub(1)
            }
            _ => {}
        }
        self.can_end = matches!(
            token,
            Token::Int(_)
                | Token::Float(_)
                | Token::Str(_)
                | Token::Ident(_)
                | Token::RParen
                | Token::RBracket
                | Token::RBrace
        );
    }
}

type Item<'input> = Result<(usize, Token<'input>, usize), LexError>;

impl<'input> Lexer<'input> {
    pub fn new(text: &'input str) -> Self {
        Lexer {
            inner: Token::lexer(text),
            last_end: None,
            example: None,
            held: None,
        }
    }

    /// Whether a line break (or only the start of the text) comes between
    /// the last token and `start`.
    fn new_line_before(&self, start: usize) -> bool {
        match self.last_end {
            None => true,
            Some(end) => self
                .inner
                .source()
                .get(end..start)
                .is_some_and(|gap| gap.contains('\n')),
        }
    }

    /// Gives out a token, remembering where it ends.
    fn give(&mut self, start: usize, token: Token<'input>, end: usize) -> Item<'input> {
        if let Some(example) = &mut self.example {
            example.after(&token);
        }
        self.last_end = Some(end);
        Ok((start, token, end))
    }

    /// At the end of the text: the end of a complete `set example`.
    fn end_of_input(&mut self) -> Option<Item<'input>> {
        let example = self.example.take()?;
        let end = self.last_end?;
        (example.depth == 0 && example.can_end).then(|| self.give(end, Token::EndCommand, end))
    }

    /// The command whose first word is the name at `start..end`, the first
    /// token of its line, if it is one: its token and end. The lexer moves
    /// past the command's words (and, but for `set example`, the rest of
    /// its line up to a comment).
    fn command(&mut self, start: usize, end: usize) -> Option<(Token<'input>, usize)> {
        let rest = self.inner.source().get(start..)?;
        let line = rest.split('\n').next().unwrap_or(rest);
        let found = recognize(line)?;
        // `consumed` ends on a character boundary of this line (after an
        // ASCII word, space or `;`), and the name is its first word's
        // start, so the lexer stays inside the text.
        let past_name = found.consumed.saturating_sub(end - start);
        if past_name > 0 {
            self.inner.bump(past_name);
        }
        let token = match found.words {
            Words::SetExample(subset) => {
                self.example = Some(Example {
                    depth: 0,
                    can_end: false,
                });
                Token::SetExample(subset)
            }
            Words::Command(command) => Token::Command(command),
        };
        Some((token, start + found.len))
    }
}

impl<'input> Iterator for Lexer<'input> {
    type Item = Item<'input>;

    fn next(&mut self) -> Option<Self::Item> {
        let (result, range) = match self.held.take() {
            Some(held) => held,
            None => match self.inner.next() {
                Some(result) => (result, self.inner.span()),
                None => return self.end_of_input(),
            },
        };
        let new_line = self.new_line_before(range.start);
        if let Some(example) = self.example.filter(|e| e.depth == 0) {
            if result == Ok(Token::Semi) {
                self.example = None;
                return Some(self.give(range.start, Token::EndCommand, range.end));
            }
            if example.can_end && new_line {
                self.example = None;
                let end = self.last_end.unwrap_or(range.start);
                self.held = Some((result, range));
                return Some(self.give(end, Token::EndCommand, end));
            }
        }
        let token = match result {
            Ok(token) => token,
            Err(kind) => {
                return Some(Err(LexError {
                    kind,
                    span: Span::new(range.start, range.end),
                }))
            }
        };
        let command = match token {
            Token::Ident(_) if new_line => self.command(range.start, range.end),
            _ => None,
        };
        let (token, end) = match (command, token) {
            (Some(command), _) => command,
            (None, Token::Ident(name @ ("select" | "aggregate")))
                if opens_parenthesis(self.inner.remainder()) =>
            {
                let keyword = if name == "select" {
                    Token::Select
                } else {
                    Token::Aggregate
                };
                (keyword, range.end)
            }
            (None, token) => (token, range.end),
        };
        Some(self.give(range.start, token, end))
    }
}

/// Whether the next token of `rest` is `(`: whitespace and comments
/// before it are skipped, as the lexer skips them.
fn opens_parenthesis(rest: &str) -> bool {
    let mut rest = rest;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n', '\x0c']);
        match rest.strip_prefix('#') {
            Some(comment) => rest = comment.find('\n').map_or("", |end| &comment[end..]),
            None => return rest.starts_with('('),
        }
    }
}

/// All tokens of `text` up to the first lexing error (a debugging helper).
pub fn tokenize(text: &str) -> Result<Vec<(usize, Token<'_>, usize)>, LexError> {
    Lexer::new(text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Result<Token<'_>, LexErrorKind>> {
        Lexer::new(text)
            .map(|item| item.map(|(_, token, _)| token).map_err(|err| err.kind))
            .collect()
    }

    #[test]
    fn numbers_strings_names() {
        assert_eq!(
            kinds(r#"12 3.25 "a b" x_1 True"#),
            vec![
                Ok(Token::Int(12)),
                Ok(Token::Float(3.25)),
                Ok(Token::Str("a b")),
                Ok(Token::Ident("x_1")),
                Ok(Token::Ident("True")),
            ]
        );
    }

    #[test]
    fn keywords_are_not_names() {
        for keyword in KEYWORDS {
            let text = format!("{keyword}(");
            let tokens = tokenize(&text).unwrap_or_default();
            assert_eq!(tokens.len(), 2, "{keyword}");
            assert!(!matches!(tokens[0].1, Token::Ident(_)), "{keyword}");
            assert_eq!(tokens[0].1.to_string(), *keyword);
        }
        assert_eq!(kinds("selected"), vec![Ok(Token::Ident("selected"))]);
    }

    #[test]
    fn select_and_aggregate_are_keywords_before_a_parenthesis() {
        assert_eq!(kinds("select"), vec![Ok(Token::Ident("select"))]);
        assert_eq!(
            kinds("aggregate + 1"),
            vec![
                Ok(Token::Ident("aggregate")),
                Ok(Token::Plus),
                Ok(Token::Int(1))
            ]
        );
        assert_eq!(kinds("select = ")[0], Ok(Token::Ident("select")));
        assert_eq!(kinds("select[0]")[0], Ok(Token::Ident("select")));
        assert_eq!(kinds("select(")[0], Ok(Token::Select));
        assert_eq!(kinds("select \t\n (")[0], Ok(Token::Select));
        assert_eq!(kinds("aggregate # why\n # not\n(")[0], Ok(Token::Aggregate));
        assert_eq!(kinds("aggregate # (\n")[0], Ok(Token::Ident("aggregate")));
        assert_eq!(kinds("Select(")[0], Ok(Token::Ident("Select")));
        // The other keywords are keywords everywhere.
        assert_eq!(kinds("range"), vec![Ok(Token::Range)]);
    }

    #[test]
    fn command_lines() {
        use crate::syntax::command::Command;
        let triples = |text: &str| -> Vec<(usize, String, usize)> {
            tokenize(text)
                .unwrap_or_default()
                .into_iter()
                .map(|(s, t, e)| (s, t.to_string(), e))
                .collect()
        };
        let at = |s: usize, t: &str, e: usize| (s, t.to_string(), e);
        assert_eq!(
            triples("x;\n  show  example ; # c\nexit()"),
            [
                at(0, "x", 1),
                at(1, ";", 2),
                at(5, "show example", 18),
                at(25, "exit", 31)
            ]
        );
        // `set example`: the expression, then its end at the first line
        // break where it could be complete, or at its `;`.
        assert_eq!(
            triples("set example [1,\n2]\n(3);"),
            [
                at(0, "set example", 11),
                at(12, "[", 13),
                at(13, "1", 14),
                at(14, ",", 15),
                at(16, "2", 17),
                at(17, "]", 18),
                at(18, "the end of the line", 18),
                at(19, "(", 20),
                at(20, "3", 21),
                at(21, ")", 22),
                at(22, ";", 23)
            ]
        );
        assert_eq!(
            triples("set s-op example x;y"),
            [
                at(0, "set s-op example", 16),
                at(17, "x", 18),
                at(18, "the end of the line", 19),
                at(19, "y", 20)
            ]
        );
        assert_eq!(
            kinds("set example 1"),
            vec![
                Ok(Token::SetExample(Subset::Both)),
                Ok(Token::Int(1)),
                Ok(Token::EndCommand)
            ]
        );
        // Unfinished at the end: no end, so the parser asks for more.
        assert_eq!(kinds("set example 1 +").last(), Some(&Ok(Token::Plus)));
        // Not at the start of a line: names.
        assert_eq!(kinds("x; exit")[2], Ok(Token::Ident("exit")));
        assert_eq!(
            kinds("\tquit # bye"),
            vec![Ok(Token::Command(Command::Exit))]
        );
    }

    #[test]
    fn operators_take_the_longest_match() {
        assert_eq!(
            kinds("<= < == = != >= >"),
            vec![
                Ok(Token::Le),
                Ok(Token::Lt),
                Ok(Token::EqEq),
                Ok(Token::Assign),
                Ok(Token::NotEq),
                Ok(Token::Ge),
                Ok(Token::Gt),
            ]
        );
    }

    #[test]
    fn comments_and_whitespace_are_skipped() {
        assert_eq!(
            kinds("x # a comment ;\n\t;# end"),
            vec![Ok(Token::Ident("x")), Ok(Token::Semi)]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let tokens = tokenize("ab  \"é\";").unwrap_or_default();
        let spans: Vec<_> = tokens.iter().map(|(s, _, e)| (*s, *e)).collect();
        assert_eq!(spans, vec![(0, 2), (4, 8), (8, 9)]);
    }

    #[test]
    fn errors() {
        assert_eq!(kinds("$"), vec![Err(LexErrorKind::InvalidToken)]);
        assert_eq!(kinds("!"), vec![Err(LexErrorKind::InvalidToken)]);
        assert_eq!(
            kinds("99999999999999999999"),
            vec![Err(LexErrorKind::IntTooLarge)]
        );
        assert_eq!(kinds("9223372036854775807"), vec![Ok(Token::Int(i64::MAX))]);
        assert_eq!(
            kinds("\"abc\nx"),
            vec![Err(LexErrorKind::UnterminatedString), Ok(Token::Ident("x"))]
        );
        assert_eq!(
            kinds("1."),
            vec![Ok(Token::Int(1)), Err(LexErrorKind::InvalidToken)]
        );
    }
}
