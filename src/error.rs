//! The crate's error: any phase's diagnostic.

use miette::Diagnostic;

use crate::eval::error::EvalError;
use crate::syntax::SyntaxError;

/// An error from any phase, rendered through miette.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(#[from] SyntaxError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Eval(#[from] EvalError),
}

impl Error {
    /// The stable diagnostic code, e.g. `rasp::syntax::unexpected_token`.
    pub fn code_name(&self) -> String {
        Diagnostic::code(self)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }
}
