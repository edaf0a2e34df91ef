//! Pictures of a compiled model at work on one input (`rasp exec --plot DIR`):
//! each head's attention pattern and the residual stream after each layer, as
//! PNG heatmaps (drawn by plotters into a buffer, text in the embedded DejaVu
//! Sans, encoded by the `png` crate), and an `index.html` that shows them
//! together.
//!
//! Attention patterns are query (rows) by key (columns), BOS included, each
//! row summing to 1, white (0) to dark purple (1), with the weights written in
//! the cells when they fit. Residual streams are one row per residual label
//! and one column per position, blue for negative and red for positive,
//! scaled by the largest magnitude in the picture.

use std::path::{Path, PathBuf};
use std::sync::Once;

use miette::Diagnostic;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::draw::{cut, escape_html as html};
use crate::eval::atom::Atom;
use crate::model::inspect::layer_sizes;
use crate::model::{Forward, Model, ModelError};

/// What can go wrong while plotting.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum PlotError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    /// The directory or a file in it could not be written.
    #[error("cannot write `{path}`: {reason}")]
    #[diagnostic(code(rasp::plot::write))]
    Write { path: String, reason: String },
    /// plotters failed to draw or encode a picture.
    #[error("cannot draw `{path}`: {reason}")]
    #[diagnostic(code(rasp::plot::render))]
    Render { path: String, reason: String },
}

/// The font family the pictures use; registered once, from the embedded
/// DejaVu Sans.
const FONT: &str = "sans-serif";
static REGISTER: Once = Once::new();

/// Registration fails only on a corrupt font; drawing text then fails with
/// a render error, which is reported.
fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
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

/// Runs `model` on each input, writes the pictures into `dir` (created if
/// needed) and an `index.html`; returns the index's path.
pub fn plot_inputs(
    model: &Model,
    inputs: &[(String, Vec<Atom>)],
    dir: &Path,
) -> Result<PathBuf, PlotError> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    register_font();
    let mut plotted = Vec::new();
    for (number, (text, atoms)) in inputs.iter().enumerate() {
        let ids = model.encode(atoms)?;
        let fwd = model.forward(&[ids], true)?;
        let output = model.decode(&fwd).pop().unwrap_or_default();
        plotted.push(plot_one(model, &fwd, number + 1, text, atoms, output, dir)?);
    }
    let index = dir.join("index.html");
    std::fs::write(&index, index_html(model, &plotted)).map_err(|e| write_error(&index, e))?;
    Ok(index)
}

fn write_error(path: &Path, e: std::io::Error) -> PlotError {
    PlotError::Write {
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
    let mut positions = vec![model.meta.bos_token.clone()];
    positions.extend(atoms.iter().map(Atom::short));
    let labels = &model.meta.residual_labels;
    let residual = |index: usize, file: String, caption: String| -> Result<_, PlotError> {
        let values = &fwd.residuals[index];
        residual_heatmap(&dir.join(&file), &caption, labels, &positions, values)?;
        Ok((file, caption))
    };
    let embedding = residual(
        0,
        format!("input{number}_embedding.png"),
        "residual stream after the embeddings".to_string(),
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
        for &h in &sizes.heads {
            let file = format!("input{number}_layer{}_head{}.png", l + 1, h + 1);
            let caption = format!("layer {} head {}: attention (query × key)", l + 1, h + 1);
            let pattern = fwd.pattern(0, l, h);
            attention_heatmap(&dir.join(&file), &caption, &positions, pattern)?;
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

fn render_error(path: &Path, e: impl std::fmt::Display) -> PlotError {
    PlotError::Render {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Text of `size` points, anchored at its centre.
fn centred(size: f64) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// Encodes an RGB buffer as a PNG file.
fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), PlotError> {
    let file = std::fs::File::create(path).map_err(|e| write_error(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(rgb))
        .map_err(|e| render_error(path, e))
}

/// `text` cut in the middle to `max` characters, keeping both ends (a
/// residual label's value is at its end: `selector_width(…,<)):3`).
fn cut_middle(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let tail = max / 2;
    let head = max.saturating_sub(tail + 1);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A query-by-key attention pattern as a heatmap.
fn attention_heatmap(
    path: &Path,
    caption: &str,
    positions: &[String],
    pattern: ndarray::ArrayView2<'_, f64>,
) -> Result<(), PlotError> {
    let n = positions.len();
    let cell = (800 / n.max(1)).clamp(4, 40) as i32;
    let left = 70;
    let top = 70;
    let width = ((left + cell * n as i32 + 20) as u32).max(320);
    let height = (top + cell * n as i32 + 20) as u32;
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
    let fail = |e: &dyn std::fmt::Display| render_error(path, e);
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let title = (FONT, 15).into_font().color(&BLACK);
    root.draw_text(caption, &title, (8, 8))
        .map_err(|e| fail(&e))?;
    let small = (FONT, 12).into_font().color(&RGBColor(90, 90, 90));
    root.draw_text("keys →", &small, (left, 32))
        .map_err(|e| fail(&e))?;
    root.draw_text("queries ↓", &small, (4, 48))
        .map_err(|e| fail(&e))?;
    let label_size = if cell >= 20 { 12.0 } else { 9.0 };
    for (i, token) in positions.iter().enumerate().filter(|_| cell >= 10) {
        let centre = left + cell * i as i32 + cell / 2;
        let shown = cut(token, 4);
        root.draw_text(&shown, &centred(label_size), (centre, top - 10))
            .map_err(|e| fail(&e))?;
        let row_centre = top + cell * i as i32 + cell / 2;
        root.draw_text(&shown, &centred(label_size), (left - 22, row_centre))
            .map_err(|e| fail(&e))?;
    }
    for ((q, k), &w) in pattern.indexed_iter() {
        let (x, y) = (left + cell * k as i32, top + cell * q as i32);
        let w = w.clamp(0.0, 1.0);
        let colour = RGBColor(
            (255.0 - 150.0 * w) as u8,
            (255.0 - 215.0 * w) as u8,
            (255.0 - 120.0 * w) as u8,
        );
        root.draw(&Rectangle::new(
            [(x, y), (x + cell, y + cell)],
            colour.filled(),
        ))
        .map_err(|e| fail(&e))?;
        root.draw(&Rectangle::new(
            [(x, y), (x + cell, y + cell)],
            RGBColor(220, 220, 220),
        ))
        .map_err(|e| fail(&e))?;
        if cell >= 30 && w >= 0.005 {
            let text = if w > 0.995 {
                "1".to_string()
            } else {
                format!("{w:.2}").trim_start_matches('0').to_string()
            };
            let style = if w > 0.6 {
                centred(11.0).color(&WHITE)
            } else {
                centred(11.0)
            };
            root.draw_text(&text, &style, (x + cell / 2, y + cell / 2))
                .map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))?;
    drop(root);
    write_png(path, width, height, &buffer)
}

/// A residual stream (`[positions, d_model]`) as a heatmap with one row per
/// residual label.
fn residual_heatmap(
    path: &Path,
    caption: &str,
    labels: &[String],
    positions: &[String],
    values: &ndarray::Array2<f64>,
) -> Result<(), PlotError> {
    let (n, d) = (values.nrows(), values.ncols());
    let row = if d <= 400 {
        16
    } else {
        (6400 / d.max(1)).max(2)
    } as i32;
    let cell = (1800 / n.max(1)).clamp(8, 36) as i32;
    let label_chars = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(4)
        .min(32);
    let left = (label_chars as i32) * 7 + 16;
    let top = 64;
    let width = (left + cell * n as i32 + 20).max(360) as u32;
    let height = (top + row * d as i32 + 20) as u32;
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
    let fail = |e: &dyn std::fmt::Display| render_error(path, e);
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let title = (FONT, 15).into_font().color(&BLACK);
    root.draw_text(caption, &title, (8, 8))
        .map_err(|e| fail(&e))?;
    let scale = values
        .iter()
        .map(|v| v.abs())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1e-9);
    for (i, token) in positions.iter().enumerate().take(n).filter(|_| cell >= 12) {
        let centre = left + cell * i as i32 + cell / 2;
        root.draw_text(&cut(token, 5), &centred(12.0), (centre, top - 12))
            .map_err(|e| fail(&e))?;
    }
    let label_style = (FONT, 11)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (dim, label) in labels.iter().enumerate().take(d) {
        let y = top + row * dim as i32;
        if row >= 10 {
            root.draw_text(
                &cut_middle(label, 32),
                &label_style,
                (left - 6, y + row / 2),
            )
            .map_err(|e| fail(&e))?;
        }
        for p in 0..n {
            let v = values[[p, dim]];
            let t = if v.is_finite() {
                (v / scale).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            let colour = if t >= 0.0 {
                RGBColor(255, (255.0 - 200.0 * t) as u8, (255.0 - 200.0 * t) as u8)
            } else {
                RGBColor((255.0 + 200.0 * t) as u8, (255.0 + 200.0 * t) as u8, 255)
            };
            let x = left + cell * p as i32;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + row)],
                colour.filled(),
            ))
            .map_err(|e| fail(&e))?;
        }
    }
    root.draw(&Rectangle::new(
        [(left, top), (left + cell * n as i32, top + row * d as i32)],
        RGBColor(150, 150, 150),
    ))
    .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    drop(root);
    write_png(path, width, height, &buffer)
}

fn index_html(model: &Model, plotted: &[Plotted]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{sop}: attention and residual stream</title>\n<style>body{{font-family:sans-serif;margin:1em}} figure{{display:inline-block;vertical-align:top;margin:0 1em 1em 0}} section{{border-top:1px solid #ccc;margin-top:1em}}</style></head><body>\n<h1>{sop}</h1>\n<p>{layers} layers, d_model {d}; max_len {max_len}.</p>\n",
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
