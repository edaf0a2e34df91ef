//! Lexing and parsing: source text to the AST of [`ast`].

pub mod ast;
pub mod span;

// TEMPORARY until the parser lands.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("stub")]
pub struct SyntaxError;
pub fn parse_program(_: &span::Source) -> Result<ast::Program, SyntaxError> {
    Err(SyntaxError)
}
