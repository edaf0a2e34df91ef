//! A small RGB raster for the plots: filled and outlined rectangles, and
//! text in the embedded DejaVu Sans laid out by `ab_glyph` (kerning and
//! each glyph's own bearings, so letters sit evenly), horizontal or turned a
//! quarter anticlockwise; encoded as PNG by the `png` crate.

use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};

use super::{render_error, write_error, PlotError};

/// An RGB colour.
pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [100, 100, 100];
pub const LIGHT: Rgb = [215, 215, 215];

/// Where a text's anchor point is, horizontally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
    Right,
}

/// The embedded font, parsed once; `None` if it is corrupt.
fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(dejavu::sans::regular()).ok())
        .as_ref()
}

/// Whether the embedded font can be read (text is drawn with it).
pub fn font_ok() -> bool {
    font().is_some()
}

/// The width in pixels of `text` at `size` pixels.
pub fn text_width(text: &str, size: f32) -> f32 {
    let Some(font) = font() else {
        return 0.0;
    };
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

/// `text` shortened with `…` in the middle until it is at most `max`
/// pixels wide at `size` (the ends of a label carry the most: a name and
/// its value).
pub fn fit(text: &str, size: f32, max: f32) -> String {
    if text_width(text, size) <= max {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 1 {
        keep -= 1;
        let tail = keep / 2;
        let head = keep - tail;
        let mut shown: String = chars[..head].iter().collect();
        shown.push('…');
        shown.extend(&chars[chars.len() - tail..]);
        if text_width(&shown, size) <= max {
            return shown;
        }
    }
    "…".to_string()
}

/// A picture being drawn: `width × height` RGB pixels, white at first.
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            width,
            height,
            rgb: vec![255; width as usize * height as usize * 3],
        }
    }

    /// The colour at `(x, y)` (white outside).
    #[cfg(test)]
    pub fn pixel(&self, x: i32, y: i32) -> Rgb {
        match self.index(x, y) {
            Some(i) => [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]],
            None => WHITE,
        }
    }

    fn index(&self, x: i32, y: i32) -> Option<usize> {
        let (x, y) = (u32::try_from(x).ok()?, u32::try_from(y).ok()?);
        (x < self.width && y < self.height)
            .then(|| (y as usize * self.width as usize + x as usize) * 3)
    }

    /// Mixes `colour` into the pixel at `(x, y)` with weight `alpha`.
    fn blend(&mut self, x: i32, y: i32, colour: Rgb, alpha: f32) {
        let Some(i) = self.index(x, y) else {
            return;
        };
        let a = alpha.clamp(0.0, 1.0);
        for (k, &c) in colour.iter().enumerate() {
            let old = f32::from(self.rgb[i + k]);
            self.rgb[i + k] = (old + (f32::from(c) - old) * a).round() as u8;
        }
    }

    /// Fills the rectangle at `(x, y)` of `w × h` pixels.
    pub fn fill(&mut self, x: i32, y: i32, w: i32, h: i32, colour: Rgb) {
        for yy in y.max(0)..(y + h).min(self.height as i32) {
            for xx in x.max(0)..(x + w).min(self.width as i32) {
                if let Some(i) = self.index(xx, yy) {
                    self.rgb[i..i + 3].copy_from_slice(&colour);
                }
            }
        }
    }

    /// Outlines the rectangle at `(x, y)` of `w × h` pixels, one pixel wide.
    pub fn stroke(&mut self, x: i32, y: i32, w: i32, h: i32, colour: Rgb) {
        self.fill(x, y, w, 1, colour);
        self.fill(x, y + h - 1, w, 1, colour);
        self.fill(x, y, 1, h, colour);
        self.fill(x + w - 1, y, 1, h, colour);
    }

    /// Draws `text` at `size` pixels, its baseline at `y` and its anchor at
    /// `x`.
    pub fn text(&mut self, text: &str, x: f32, y: f32, size: f32, colour: Rgb, align: Align) {
        let width = text_width(text, size);
        let left = match align {
            Align::Left => x,
            Align::Centre => x - width / 2.0,
            Align::Right => x - width,
        };
        glyphs(text, size, left, y, |px, py, alpha| {
            self.blend(px, py, colour, alpha);
        });
    }

    /// Draws `text` centred vertically on `y` (for a cell's contents or a
    /// label beside a row).
    pub fn text_middle(
        &mut self,
        text: &str,
        x: f32,
        y: f32,
        size: f32,
        colour: Rgb,
        align: Align,
    ) {
        self.text(text, x, y + size * 0.36, size, colour, align);
    }

    /// Draws `text` turned a quarter anticlockwise (read from bottom to
    /// top), its baseline at `x` and its end at `y` (the text runs up from
    /// `y + width` to `y`).
    pub fn text_up(&mut self, text: &str, x: f32, y: f32, size: f32, colour: Rgb) {
        let width = text_width(text, size);
        // Laid out horizontally from (0, 0), then turned: a point (u, v)
        // of the text goes to (x + v, y + width - u).
        glyphs(text, size, 0.0, 0.0, |u, v, alpha| {
            let px = (x + v as f32).round() as i32;
            let py = (y + width - u as f32).round() as i32;
            self.blend(px, py, colour, alpha);
        });
    }

    /// Encodes the picture as a PNG file.
    pub fn write_png(&self, path: &Path) -> Result<(), PlotError> {
        let file = std::fs::File::create(path).map_err(|e| write_error(path, e))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&self.rgb))
            .map_err(|e| render_error(path, e))
    }
}

/// Calls `paint(x, y, coverage)` for every pixel of `text` laid out at
/// `size` pixels from `(left, baseline)`.
fn glyphs(text: &str, size: f32, left: f32, baseline: f32, mut paint: impl FnMut(i32, i32, f32)) {
    let Some(font) = font() else {
        return;
    };
    let scale = PxScale::from(size);
    let scaled = font.as_scaled(scale);
    let mut caret = left;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                paint(
                    bounds.min.x as i32 + gx as i32,
                    bounds.min.y as i32 + gy as i32,
                    coverage,
                );
            });
        }
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
}

/// A diverging colour for `t` in `[-1, 1]`: blue for negative, white at 0,
/// red for positive (ColorBrewer's RdBu, five stops, linearly between).
pub fn diverging(t: f64) -> Rgb {
    const STOPS: [Rgb; 5] = [
        [5, 113, 176],
        [146, 197, 222],
        [247, 247, 247],
        [244, 165, 130],
        [202, 0, 32],
    ];
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let at = (t + 1.0) * 2.0;
    let i = (at.floor() as usize).min(3);
    let f = at - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    [0, 1, 2].map(|k| (f64::from(a[k]) + (f64::from(b[k]) - f64::from(a[k])) * f).round() as u8)
}

/// A sequential colour for an attention weight `w` in `[0, 1]`: white to
/// dark purple.
pub fn sequential(w: f64) -> Rgb {
    let w = if w.is_finite() {
        w.clamp(0.0, 1.0)
    } else {
        0.0
    };
    [
        (255.0 - 150.0 * w) as u8,
        (255.0 - 215.0 * w) as u8,
        (255.0 - 120.0 * w) as u8,
    ]
}

/// Black or white, whichever reads better on `background`.
pub fn ink_on(background: Rgb) -> Rgb {
    let [r, g, b] = background.map(f64::from);
    if 0.299 * r + 0.587 * g + 0.114 * b < 140.0 {
        WHITE
    } else {
        BLACK
    }
}
