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

use std::fmt;

use logos::Logos;

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
            | Token::Ident(_) => return None,
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
}

impl<'input> Lexer<'input> {
    pub fn new(text: &'input str) -> Self {
        Lexer {
            inner: Token::lexer(text),
        }
    }
}

impl<'input> Iterator for Lexer<'input> {
    type Item = Result<(usize, Token<'input>, usize), LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        let result = self.inner.next()?;
        let range = self.inner.span();
        Some(match result {
            Ok(Token::Ident(name @ ("select" | "aggregate")))
                if opens_parenthesis(self.inner.remainder()) =>
            {
                let keyword = if name == "select" {
                    Token::Select
                } else {
                    Token::Aggregate
                };
                Ok((range.start, keyword, range.end))
            }
            Ok(token) => Ok((range.start, token, range.end)),
            Err(kind) => Err(LexError {
                kind,
                span: Span::new(range.start, range.end),
            }),
        })
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
