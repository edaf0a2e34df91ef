//! Lexing and parsing: source text to the AST of [`ast`].
//!
//! The front door is [`parse_program`]; it fails with a [`SyntaxError`],
//! whose [`SyntaxError::is_incomplete`] tells a REPL to read another line.

pub mod ast;
pub mod command;
pub mod error;
pub mod lexer;
mod parser;
pub mod span;

pub use error::SyntaxError;
pub use lexer::{tokenize, Token, KEYWORDS};
pub use parser::{parse_expression, parse_program, MAX_BLOCK_DEPTH, MAX_EXPR_DEPTH};
