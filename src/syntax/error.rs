//! Syntax errors: what the lexer and parser report, as miette diagnostics.
//!
//! Every variant has a stable code `rasp::syntax::<name>`, a lowercase
//! message with user text in backticks, a label on the offending span, and
//! the source text, so it renders on its own. The parser facade builds them;
//! this module only knows how to describe them.

use miette::Diagnostic;
use thiserror::Error;

use super::lexer::Token;
use super::parser::{Bracket, Callee, Context, Open};
use super::span::{Source, Span};

/// Why a program could not be parsed.
#[derive(Debug, Error, Diagnostic)]
pub enum SyntaxError {
    /// Text that starts no token: `x = $;`, `'a'`, `1.`, `a ! b`.
    #[error("invalid token `{text}`")]
    #[diagnostic(code(rasp::syntax::invalid_token))]
    InvalidToken {
        text: String,
        #[label("not part of RASP")]
        span: Span,
        #[help]
        help: Option<String>,
        #[source_code]
        src: Source,
    },

    /// A string with no closing quote on its line: `x = "abc;`.
    #[error("unterminated string")]
    #[diagnostic(
        code(rasp::syntax::unterminated_string),
        help("strings end with `\"` on the same line, and cannot contain `\"`")
    )]
    UnterminatedString {
        #[label("this string is never closed")]
        span: Span,
        #[source_code]
        src: Source,
    },

    /// An integer literal that does not fit in 64 bits: `99999999999999999999;`.
    #[error("integer `{text}` is too large")]
    #[diagnostic(
        code(rasp::syntax::int_too_large),
        help("integers are 64-bit; the largest is 9223372036854775807")
    )]
    IntTooLarge {
        text: String,
        #[label("does not fit in 64 bits")]
        span: Span,
        #[source_code]
        src: Source,
    },

    /// A token that cannot come next: `1 +* 2;`, `f(1 2);`, `x = 1 y = 2;`.
    #[error("unexpected `{found}`")]
    #[diagnostic(code(rasp::syntax::unexpected_token))]
    UnexpectedToken {
        found: String,
        expected: String,
        #[label("{expected}")]
        span: Span,
        #[help]
        help: Option<String>,
        #[source_code]
        src: Source,
    },

    /// The input stops in the middle of something: `x = 1`, `[1, 2`, `def f(x) {`.
    #[error("unexpected end of input")]
    #[diagnostic(code(rasp::syntax::unexpected_eof))]
    UnexpectedEof {
        expected: String,
        #[label(primary, "{expected}")]
        span: Span,
        /// The innermost bracket still open, if any.
        #[label("not closed")]
        unclosed: Option<Span>,
        #[help]
        help: Option<String>,
        #[source_code]
        src: Source,
    },

    /// `select` or `aggregate` with too few or too many arguments:
    /// `select(a, b)`, `aggregate(s)`.
    #[error("`{callee}` takes {takes}, {got} given")]
    #[diagnostic(code(rasp::syntax::arity))]
    Arity {
        callee: &'static str,
        takes: &'static str,
        got: usize,
        #[label("{got} argument{}", if *got == 1 { "" } else { "s" })]
        span: Span,
        #[help]
        help: &'static str,
        #[source_code]
        src: Source,
    },

    /// A comparison operator anywhere but third in `select`, or something
    /// else third: `select(==, a, b)`, `select(a, b, c)`.
    #[error("{message}")]
    #[diagnostic(
        code(rasp::syntax::select_comparison),
        help("write `select(keys, queries, ==)`: the comparison is one of `==`, `!=`, `<`, `>`, `<=`, `>=`, written as is")
    )]
    SelectComparison {
        message: &'static str,
        label: &'static str,
        #[label("{label}")]
        span: Span,
        #[source_code]
        src: Source,
    },

    /// A token after a complete program. The grammar accepts any sequence
    /// of statements, so this is not expected to happen; it is kept so that
    /// every parser outcome has a diagnostic.
    #[error("unexpected `{found}` after the end of the program")]
    #[diagnostic(code(rasp::syntax::extra_token))]
    ExtraToken {
        found: String,
        #[label("nothing can follow here")]
        span: Span,
        #[source_code]
        src: Source,
    },

    /// An expression nested more than `MAX_EXPR_DEPTH` levels: `((((...1))))`,
    /// `- - - ... 1`, or a long chain `1+1+...+1`.
    #[error("expression nested too deeply")]
    #[diagnostic(
        code(rasp::syntax::too_deep),
        help("expressions may nest at most {limit} levels; name some intermediate results")
    )]
    TooDeep {
        limit: u32,
        #[label("more than {limit} levels deep")]
        span: Span,
        #[source_code]
        src: Source,
    },

    /// `def` and `for` blocks nested more than `MAX_BLOCK_DEPTH` levels.
    #[error("blocks nested too deeply")]
    #[diagnostic(
        code(rasp::syntax::blocks_too_deep),
        help("`def` and `for` blocks may nest at most {limit} levels")
    )]
    BlocksTooDeep {
        limit: u32,
        #[label("this block holds more than {limit} nested levels")]
        span: Span,
        #[source_code]
        src: Source,
    },
}

impl SyntaxError {
    /// True iff the input ended too early: more text could make it parse.
    /// The REPL uses this to ask for a continuation line.
    pub fn is_incomplete(&self) -> bool {
        match self {
            SyntaxError::UnexpectedEof { .. } => true,
            SyntaxError::UnterminatedString { span, src } => span.end >= src.inner().len(),
            _ => false,
        }
    }

    /// The span the error points at.
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::InvalidToken { span, .. }
            | SyntaxError::UnterminatedString { span, .. }
            | SyntaxError::IntTooLarge { span, .. }
            | SyntaxError::UnexpectedToken { span, .. }
            | SyntaxError::UnexpectedEof { span, .. }
            | SyntaxError::ExtraToken { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::BlocksTooDeep { span, .. }
            | SyntaxError::Arity { span, .. }
            | SyntaxError::SelectComparison { span, .. } => *span,
        }
    }

    /// The last part of the stable code, as in `unexpected_token`.
    pub fn code_name(&self) -> &'static str {
        match self {
            SyntaxError::InvalidToken { .. } => "invalid_token",
            SyntaxError::UnterminatedString { .. } => "unterminated_string",
            SyntaxError::IntTooLarge { .. } => "int_too_large",
            SyntaxError::UnexpectedToken { .. } => "unexpected_token",
            SyntaxError::UnexpectedEof { .. } => "unexpected_eof",
            SyntaxError::ExtraToken { .. } => "extra_token",
            SyntaxError::TooDeep { .. } => "too_deep",
            SyntaxError::BlocksTooDeep { .. } => "blocks_too_deep",
            SyntaxError::Arity { .. } => "arity",
            SyntaxError::SelectComparison { .. } => "select_comparison",
        }
    }
}

/// Advice for a character that starts no token, given the text around it.
pub(crate) fn invalid_token_help(text: &str, span: Span) -> Option<String> {
    let bad = text.get(span.start..span.end)?;
    let before = text.get(..span.start).and_then(|s| s.chars().next_back());
    let after = text.get(span.end..).and_then(|s| s.chars().next());
    let next_to_digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let help = match bad {
        "." if next_to_digit(before) || next_to_digit(after) => {
            "floats need digits on both sides of the point, as in `1.0`"
        }
        "'" => "strings use double quotes, as in `\"abc\"`",
        "!" => "write `not` for negation and `!=` for inequality",
        "&" => "write `and` for conjunction",
        "|" => "write `or` for disjunction",
        _ => return None,
    };
    Some(help.to_string())
}

/// The error for `select` or `aggregate` given `got` arguments.
pub(crate) fn arity_error(callee: Callee, got: usize, span: Span, src: Source) -> SyntaxError {
    let (name, takes, help) = match callee {
        Callee::Select => (
            "select",
            "3 arguments (keys, queries, comparison)",
            "write `select(keys, queries, ==)`: the comparison is one of `==`, `!=`, `<`, `>`, \
             `<=`, `>=`",
        ),
        Callee::Aggregate => (
            "aggregate",
            "2 or 3 arguments (selector, values, and a default)",
            "write `aggregate(selector, values)`, or `aggregate(selector, values, default)` to \
             say what a position that selects nothing gets (0 when not given)",
        ),
    };
    SyntaxError::Arity {
        callee: name,
        takes,
        got,
        span,
        help,
        src,
    }
}

/// Advice for an unexpected token (`found`), or the end of input (`None`).
pub(crate) fn unexpected_help(
    found: Option<Token<'_>>,
    expected: &[String],
    context: &Context<'_>,
) -> Option<String> {
    let expects = |name: &str| expected.iter().any(|e| e == name);
    let help = match found {
        // `aggregate(s, v, default=0)`: `(` or `,`, a name, then `=`.
        Some(Token::Assign) => match (context.innermost, context.recent) {
            (
                Some(Open {
                    kind: Bracket::Call(callee),
                    ..
                }),
                [Some(Token::LParen | Token::Comma), Some(Token::Ident(name)), _],
            ) => return Some(keyword_argument_help(callee, name)),
            _ => "only plain names can be assigned to; to compare, write `==`",
        },
        Some(Token::Return) => "`return` may only end a function body, once",
        // `if c then 1 else 0`, `1 if c then 2 else 3`.
        Some(Token::If) if expects("Int") => CONDITIONAL,
        Some(Token::Ident("then")) => CONDITIONAL,
        Some(token) if expects("\";\"") => {
            return Some(format!("a `;` may be missing before `{token}`"))
        }
        _ if expects("\"return\"") => "a function body ends with `return` and its results",
        _ => return None,
    };
    Some(help.to_string())
}

/// How RASP writes a conditional.
const CONDITIONAL: &str = "RASP writes a conditional as Python does, value first: `1 if c else 0`";

/// Advice for `name=` among the arguments of `callee`.
fn keyword_argument_help(callee: &str, name: &str) -> String {
    if callee == "aggregate" {
        return format!(
            "RASP has no keyword arguments: the default is `aggregate`'s third argument, as \
             in `aggregate(s, v, 0)`, without `{name}=`"
        );
    }
    format!("RASP has no keyword arguments: give each argument by its position, without `{name}=`")
}

/// Turns lalrpop's terminal names into a short, readable "expected ..." text.
///
/// The many tokens that can start an expression collapse into "an
/// expression" ("an argument" between a call's parentheses, "a statement"
/// where statement keywords are also allowed), and the operators that could
/// continue one into "an operator". After a complete expression lalrpop may
/// already have reduced past the other operator levels, leaving `in` as the
/// only operator it still expects; it counts as "an operator" then, unless
/// only `,` is besides it (`for x, y in`, where `in` is what is missing).
/// `;` comes last, as "`;` to end the statement".
pub(crate) fn describe_expected(expected: &[String], context: &Context<'_>) -> String {
    const EXPR_START: &[&str] = &[
        "Int",
        "Float",
        "Str",
        "Name",
        "(",
        "[",
        "{",
        "not",
        "-",
        "+",
        "select",
        "aggregate",
        "range",
        "zip",
        "len",
        "round",
        "indicator",
    ];
    const STMT_START: &[&str] = &["def", "for", "load", "draw", "Command", "SetExample"];
    const OPERATORS: &[&str] = &[
        "^", "*", "/", "%", "+", "-", "==", "!=", "<", ">", "<=", ">=", "and", "or", "if", "in",
        "(", "[",
    ];
    let names: Vec<&str> = expected.iter().map(|e| e.trim_matches('"')).collect();
    let has = |name: &str| names.contains(&name);
    let wants_stmt = has("def");
    let wants_expr = has("Int");
    let in_as_operator = has("in") && names.iter().any(|n| !matches!(*n, "in" | ","));
    let wants_op = has("^") || in_as_operator;
    let in_call = matches!(
        context.innermost,
        Some(Open {
            kind: Bracket::Call(_),
            ..
        })
    );

    let mut items: Vec<String> = Vec::new();
    if wants_stmt {
        items.push("a statement".into());
    } else if wants_expr && in_call {
        items.push("an argument".into());
    } else if wants_expr {
        items.push("an expression".into());
    }
    for name in &names {
        let grouped = (wants_expr && EXPR_START.contains(name))
            || (wants_stmt && STMT_START.contains(name))
            || (wants_op && OPERATORS.contains(name))
            || (in_as_operator && *name == "in")
            || *name == ";";
        if grouped {
            continue;
        }
        let item = match *name {
            "Int" | "Float" => "a number".to_string(),
            "Str" => "a string".to_string(),
            "Name" => "a name".to_string(),
            "EndCommand" => "the end of the line".to_string(),
            other => format!("`{other}`"),
        };
        if !items.contains(&item) {
            items.push(item);
        }
    }
    // `in` as a keyword still missing reads best last (`for x, y in`).
    if let Some(at) = items.iter().position(|item| item == "`in`") {
        let item = items.remove(at);
        items.push(item);
    }
    if wants_op {
        items.push("an operator".into());
    }
    if has(";") {
        items.push("`;` to end the statement".into());
    }
    match items.as_slice() {
        [] => "not expected here".to_string(),
        [one] => format!("expected {one}"),
        [first, second] => format!("expected {first} or {second}"),
        [init @ .., last] => format!("expected {}, or {last}", init.join(", ")),
    }
}
