//! Lexing and parsing: source text to the AST of [`ast`].

pub mod ast;
pub mod span;
