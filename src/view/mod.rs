//! The viewer: one self-contained HTML page to explore a compiled model on
//! inputs (`rasp view`, the REPL's `:view`, and `view.html` beside the plots
//! of `rasp exec --plot`), in the spirit of CircuitsVis.
//!
//! [`page`] runs the forward pass on the inputs with every activation
//! recorded and writes the page as a string: the data as JSON in a
//! `<script type="application/json">` ([`data`]), a small hand-written
//! renderer (`view.js`) and its styles (`view.css`), both inline. Nothing
//! is fetched: the page works offline, from a file. On it one picks an input
//! and a head (every head in use, with a thumbnail of its pattern), hovers a
//! cell for its weight with the query's and key's positions and tokens, and
//! reads what the head implements: its selector's source text and the
//! s-ops it computes (the model record's `heads`). A counting head
//! (`selector_width`) puts almost all its weight on BOS, so beside its raw
//! weights the page shows them without BOS, renormalised: the keys its
//! selector selects. The residual stream is shown by label and position
//! after the embedding and after every sub-layer, in a diverging colour
//! scale centred at 0 with a legend: each row by its own largest magnitude
//! (so rows of values near 1 keep their structure), one scale for all, or a
//! symmetric log; or what one sub-layer added.
//!
//! Everything that comes from the user (tokens, program text, labels) is
//! data: the JSON escapes `<`, `>`, `&` and every non-ASCII character, so
//! no text can end the script element, and the renderer sets it as text,
//! never as markup. The page is also well-formed XML (the script and style
//! sit in commented CDATA sections), which the tests check with an XML
//! parser before checking it in a headless browser.

mod analysis;
mod data;

pub use analysis::{
    count_beta, is_binary, largest_magnitude, position_labels, selected_keys, short_number,
};

use miette::Diagnostic;

use crate::eval::atom::Atom;
use crate::model::{Model, ModelError};

/// The renderer and its styles, inlined into every page.
const SCRIPT: &str = include_str!("view.js");
const STYLE: &str = include_str!("view.css");

/// What can go wrong while making a page.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ViewError {
    /// An input the model cannot take, or a forward pass that cannot run.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    /// `page` was given no inputs.
    #[error("there is no input to view")]
    #[diagnostic(
        code(rasp::view::no_inputs),
        help("give at least one input the model accepts")
    )]
    NoInputs,
    /// The inputs would put more numbers on the page than a browser can
    /// show ([`MAX_NUMBERS`]).
    #[error("the page would hold {numbers} numbers (attention weights and residual values), more than the {MAX_NUMBERS} a viewer can show")]
    #[diagnostic(code(rasp::view::too_large), help("view fewer or shorter inputs"))]
    TooLarge { numbers: u128 },
    /// The page could not be written.
    #[error("cannot write `{path}`: {reason}")]
    #[diagnostic(code(rasp::view::write))]
    Write { path: String, reason: String },
}

/// The most numbers (attention weights and residual values, all inputs
/// together) a page may hold: some 200 MB of JSON.
pub const MAX_NUMBERS: u128 = 20_000_000;

/// The viewer's page for `model` run on `inputs` (each the text shown for
/// it and its tokens).
pub fn page(model: &Model, inputs: &[(String, Vec<Atom>)]) -> Result<String, ViewError> {
    if inputs.is_empty() {
        return Err(ViewError::NoInputs);
    }
    let data = data::page_data(model, inputs)?;
    let title = crate::draw::escape_html(&format!("{}: rasp viewer", model.meta.sop));
    let mut out = String::with_capacity(data.len() + SCRIPT.len() + STYLE.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str(&format!("<title>{title}</title>\n"));
    out.push_str("<style>/*<![CDATA[*/\n");
    out.push_str(STYLE);
    out.push_str("/*]]>*/</style>\n</head>\n<body>\n");
    out.push_str("<noscript><p>This page draws the model with JavaScript; enable it to see the heads and the residual stream.</p></noscript>\n");
    out.push_str(
        "<div id=\"app\"></div>\n<div id=\"tooltip\" role=\"tooltip\" hidden=\"hidden\"></div>\n",
    );
    out.push_str("<script type=\"application/json\" id=\"rasp-data\">");
    out.push_str(&data);
    out.push_str("</script>\n<script>//<![CDATA[\n");
    out.push_str(SCRIPT);
    out.push_str("//]]></script>\n</body>\n</html>\n");
    Ok(out)
}

/// Writes the page of `model` on `inputs` to `path`.
pub fn write(
    model: &Model,
    inputs: &[(String, Vec<Atom>)],
    path: &std::path::Path,
) -> Result<(), ViewError> {
    let page = page(model, inputs)?;
    std::fs::write(path, page).map_err(|e| ViewError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The default file for the page of s-op `sop`: `sop.html` in the current
/// directory, named as drawings are ([`crate::draw::default_path`]).
pub fn default_path(sop: &str) -> std::path::PathBuf {
    crate::draw::default_path(sop, crate::draw::Format::Svg).with_extension("html")
}

/// `value` as JSON that is safe inside a script element and as XML text:
/// `<`, `>`, `&` and every non-ASCII character written as `\uXXXX` (JSON
/// escapes, which `JSON.parse` reads back).
pub fn script_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' | '>' | '&' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_end_the_script() {
        let value = serde_json::json!({"token": "</script><b>&amp;", "é": "😀\u{2028}"});
        let text = script_json(&value);
        assert!(text.is_ascii());
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn the_assets_keep_the_page_well_formed() {
        for asset in [SCRIPT, STYLE] {
            assert!(
                !asset.contains("]]>"),
                "an asset would end its CDATA section"
            );
            assert!(!asset.to_lowercase().contains("</script"));
            assert!(!asset.to_lowercase().contains("</style"));
        }
        assert_eq!(crate::draw::escape_html("a<b>&\u{7}c"), "a&lt;b&gt;&amp;c");
    }
}
