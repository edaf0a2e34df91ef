//! Progress bars on standard error for long runs (`rasp verify`, large
//! batches of `rasp run` and `rasp exec`), drawn only when standard error is
//! a terminal, so pipes and logs never see them.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Batches of at least this many inputs show a bar.
pub const PROGRESS_MIN: u64 = 20_000;

/// A bar for `total` items (or a counter when the total is unknown), hidden
/// unless the batch is known to be large.
pub fn progress_bar(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden()),
        None => ProgressBar::hidden(),
    };
    let template = if total.is_some() {
        format!("{{bar:40}} {{human_pos}}/{{human_len}} {what} ({{per_sec}}, {{eta}} left)")
    } else {
        format!("{{human_pos}} {what} ({{per_sec}})")
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    if total.is_some_and(|n| n >= PROGRESS_MIN) {
        show_progress(&bar);
    }
    bar
}

/// Starts drawing `bar`, if standard error is a terminal.
pub fn show_progress(bar: &ProgressBar) {
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
}
