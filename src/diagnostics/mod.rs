//! Rendering diagnostics for people.
//!
//! Every diagnostic the crate prints goes through [`render`], which first
//! cuts long source lines down to the parts its labels point at
//! ([`trim`]), so that a program on one enormous line still gets a
//! diagnostic of a few lines.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

pub mod trim;

/// Renders a diagnostic as miette's graphical report; `color` adds ANSI
/// colours. Tests render without colour at a fixed width.
pub fn render(diagnostic: &dyn Diagnostic, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let trimmed = trim::Trimmed::new(diagnostic);
    let mut out = String::new();
    if handler.render_report(&mut out, &trimmed).is_err() {
        out = format!("error: {diagnostic}");
    }
    out
}
