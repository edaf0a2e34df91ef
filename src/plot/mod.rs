//! Pictures of a compiled model at work on inputs (`rasp exec --plot DIR`):
//! each head's attention pattern and the residual stream after the
//! embedding and after each layer, as PNG heatmaps ([`heatmap`], drawn on a
//! small raster of our own, [`canvas`], text in the embedded DejaVu Sans),
//! an `index.html` that shows them together, and the interactive viewer
//! ([`crate::view`]) of the same inputs, `view.html`.
//!
//! Attention patterns are query (rows) by key (columns), BOS included, each
//! row summing to 1, white (0) to dark purple (1), keys and queries
//! labelled `index:token`. A counting head (`selector_width`) puts most of
//! its weight on BOS, so it gets a second panel: its weights without BOS,
//! renormalised, which shows the keys its selector selects. Residual
//! streams are one row per residual label and one column per position, in
//! a diverging colour scale (blue negative, white 0, red positive), each
//! row scaled by its own largest magnitude (written at its right, so a row
//! of values near 1 still shows its structure); rows that are not 0/1 have
//! their values written in the cells; a colour bar says so.

mod canvas;
mod heatmap;

use std::path::{Path, PathBuf};

use miette::Diagnostic;

use crate::draw::escape_html as html;
use crate::eval::atom::Atom;
use crate::model::inspect::layer_sizes;
use crate::model::{Forward, Model, ModelError};
use crate::view::position_labels;

/// What can go wrong while plotting.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum PlotError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    View(#[from] crate::view::ViewError),
    /// The directory or a file in it could not be written.
    #[error("cannot write `{path}`: {reason}")]
    #[diagnostic(code(rasp::plot::write))]
    Write { path: String, reason: String },
    /// A picture could not be drawn or encoded.
    #[error("cannot draw `{path}`: {reason}")]
    #[diagnostic(code(rasp::plot::render))]
    Render { path: String, reason: String },
}

/// One input's pictures: where they are and what they show.
#[derive(Debug, Clone)]
pub struct Plotted {
    /// The input as typed.
    pub text: String,
    pub output: Vec<Atom>,
    /// `(file name, caption)`, per layer: the residual stream, then heads.
    pub layers: Vec<Vec<(String, String)>>,
    /// The embedding's residual stream.
    pub embedding: (String, String),
}

/// The viewer's file in a plot directory.
pub const VIEW_FILE: &str = "view.html";

/// Runs `model` on each input, writes the pictures into `dir` (created if
/// needed), the viewer of the same inputs and an `index.html`; returns the
/// index's path.
pub fn plot_inputs(
    model: &Model,
    inputs: &[(String, Vec<Atom>)],
    dir: &Path,
) -> Result<PathBuf, PlotError> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    if !canvas::font_ok() {
        return Err(render_error(dir, "the embedded font cannot be read"));
    }
    let mut plotted = Vec::new();
    for (number, (text, atoms)) in inputs.iter().enumerate() {
        let ids = model.encode(atoms)?;
        let fwd = model.forward(&[ids], true)?;
        let output = model.decode(&fwd).pop().unwrap_or_default();
        plotted.push(plot_one(model, &fwd, number + 1, text, atoms, output, dir)?);
    }
    if !inputs.is_empty() {
        let view = dir.join(VIEW_FILE);
        let page = crate::view::page(model, inputs)?;
        std::fs::write(&view, page).map_err(|e| write_error(&view, e))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, index_html(model, &plotted)).map_err(|e| write_error(&index, e))?;
    Ok(index)
}

pub(crate) fn write_error(path: &Path, e: std::io::Error) -> PlotError {
    PlotError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

pub(crate) fn render_error(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError::Render {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn plot_one(
    model: &Model,
    fwd: &Forward,
    number: usize,
    text: &str,
    atoms: &[Atom],
    output: Vec<Atom>,
    dir: &Path,
) -> Result<Plotted, PlotError> {
    let positions = position_labels(&model.meta.bos_token, atoms);
    let labels = &model.meta.residual_labels;
    let residual = |index: usize, file: String, caption: String| -> Result<_, PlotError> {
        let picture = heatmap::residual(&caption, labels, &positions, &fwd.residuals[index]);
        picture.write_png(&dir.join(&file))?;
        Ok((file, caption))
    };
    let embedding = residual(
        0,
        format!("input{number}_embedding.png"),
        format!(
            "residual stream after the embeddings ({})",
            Forward::residual_name(0)
        ),
    )?;
    let mut layers = Vec::new();
    for (l, sizes) in layer_sizes(model).iter().enumerate() {
        let mut files = vec![residual(
            2 * (l + 1),
            format!("input{number}_layer{}_residual.png", l + 1),
            format!(
                "residual stream after layer {} ({})",
                l + 1,
                Forward::residual_name(2 * (l + 1))
            ),
        )?];
        let records = model.meta.heads.as_ref().and_then(|h| h.get(l));
        for &h in &sizes.heads {
            let file = format!("input{number}_layer{}_head{}.png", l + 1, h + 1);
            let record = records.and_then(|r| r.get(h));
            let head = heatmap::HeadPicture {
                layer: l + 1,
                head: h + 1,
                record,
                positions: &positions,
                pattern: fwd.pattern(0, l, h),
            };
            let caption = head.caption();
            head.draw().write_png(&dir.join(&file))?;
            files.push((file, caption));
        }
        layers.push(files);
    }
    Ok(Plotted {
        text: text.to_string(),
        output,
        layers,
        embedding,
    })
}

fn index_html(model: &Model, plotted: &[Plotted]) -> String {
    let viewer = if plotted.is_empty() {
        String::new()
    } else {
        format!(" <a href=\"{VIEW_FILE}\">Explore the same inputs in the viewer</a> (heads, selectors, the residual stream after every sub-layer).")
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{sop}: attention and residual stream</title>\n<style>body{{font-family:sans-serif;margin:1em}} figure{{display:inline-block;vertical-align:top;margin:0 1em 1em 0}} section{{border-top:1px solid #ccc;margin-top:1em}}</style></head><body>\n<h1>{sop}</h1>\n<p>{layers} layers, d_model {d}; max_len {max_len}.{viewer}</p>\n",
        sop = html(&model.meta.sop),
        layers = model.config.n_layers,
        d = model.config.d_model,
        max_len = model.meta.max_len,
    );
    for p in plotted {
        let output: Vec<String> = p.output.iter().map(Atom::short).collect();
        out.push_str(&format!(
            "<section><h2>input {}</h2><p>output: [{}]</p>\n",
            html(&p.text),
            html(&output.join(", "))
        ));
        let figure = |(file, caption): &(String, String)| {
            format!(
                "<figure><img src=\"{}\" alt=\"{}\" title=\"{}\"></figure>\n",
                html(file),
                html(caption),
                html(caption)
            )
        };
        out.push_str("<h3>embedding</h3>\n");
        out.push_str(&figure(&p.embedding));
        for (l, files) in p.layers.iter().enumerate() {
            out.push_str(&format!("<h3>layer {}</h3>\n", l + 1));
            for f in files.iter().skip(1) {
                out.push_str(&figure(f));
            }
            if let Some(residual) = files.first() {
                out.push_str(&figure(residual));
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests;
