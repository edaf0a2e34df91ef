//! The two kinds of picture: one head's attention pattern (two panels for a
//! counting head) and a residual stream, each with its title, labels and a
//! colour bar. Every size is measured before drawing, so the picture is as
//! wide as its longest title line (a line wider than [`MAX_LINE`] is
//! shortened in the middle with `…`, never cut off).

use ndarray::{Array2, ArrayView2};

use super::canvas::{
    diverging, fit, ink_on, sequential, text_width, Align, Canvas, Rgb, BLACK, GREY, LIGHT,
};
use crate::model::{HeadKind, HeadRecord};
use crate::view::{count_beta, is_binary, largest_magnitude, selected_keys, short_number};

const MARGIN: i32 = 12;
const TITLE_SIZE: f32 = 15.0;
const NOTE_SIZE: f32 = 12.0;
/// The widest a title line may be, in pixels.
const MAX_LINE: f32 = 1400.0;
/// The longest a turned column label may be, in pixels.
const MAX_UP: f32 = 110.0;
/// The space between two panels.
const GAP: i32 = 28;
pub(crate) const BAR_WIDTH: i32 = 220;
const BAR_HEIGHT: i32 = 12;

/// Lines of text stacked at the top or bottom of a picture: `(text, size,
/// colour)`, each shortened to [`MAX_LINE`].
struct Lines(Vec<(String, f32, Rgb)>);

impl Lines {
    fn new(lines: Vec<(String, f32, Rgb)>) -> Lines {
        Lines(
            lines
                .into_iter()
                .map(|(text, size, colour)| (fit(&text, size, MAX_LINE), size, colour))
                .collect(),
        )
    }

    fn height(&self) -> i32 {
        self.0.iter().map(|(_, size, _)| (size * 1.45) as i32).sum()
    }

    fn width(&self) -> i32 {
        self.0
            .iter()
            .map(|(text, size, _)| text_width(text, *size).ceil() as i32)
            .max()
            .unwrap_or(0)
    }

    /// Draws the lines from `top` down, left-aligned at `x`.
    fn draw(&self, canvas: &mut Canvas, x: i32, top: i32) {
        let mut y = top as f32;
        for (text, size, colour) in &self.0 {
            y += size * 1.45;
            canvas.text(text, x as f32, y - size * 0.4, *size, *colour, Align::Left);
        }
    }
}

/// Column labels above cells `cell` pixels wide: side by side where they
/// fit, else turned up; none when the cells are too small to label.
struct Columns {
    texts: Vec<String>,
    size: f32,
    up: bool,
    height: i32,
}

impl Columns {
    fn new(labels: &[String], cell: i32) -> Columns {
        if cell < 9 {
            return Columns {
                texts: Vec::new(),
                size: 0.0,
                up: false,
                height: 0,
            };
        }
        let size = if cell >= 16 { 12.0 } else { 9.0 };
        let widest = labels
            .iter()
            .map(|l| text_width(l, size))
            .fold(0.0, f32::max);
        let up = widest + 4.0 > cell as f32;
        let texts: Vec<String> = labels
            .iter()
            .map(|l| if up { fit(l, size, MAX_UP) } else { l.clone() })
            .collect();
        let height = if up {
            texts
                .iter()
                .map(|l| text_width(l, size))
                .fold(0.0, f32::max)
                .ceil() as i32
                + 8
        } else {
            (size * 1.6) as i32
        };
        Columns {
            texts,
            size,
            up,
            height,
        }
    }

    /// Draws the labels of columns from `left`, their bottom at `bottom`.
    fn draw(&self, canvas: &mut Canvas, left: i32, bottom: i32, cell: i32) {
        for (i, text) in self.texts.iter().enumerate() {
            let centre = (left + cell * i as i32 + cell / 2) as f32;
            if self.up {
                let width = text_width(text, self.size);
                let x = centre + self.size * 0.36;
                let y = bottom as f32 - 4.0 - width;
                canvas.text_up(text, x, y, self.size, BLACK);
            } else {
                canvas.text(
                    text,
                    centre,
                    bottom as f32 - 5.0,
                    self.size,
                    BLACK,
                    Align::Centre,
                );
            }
        }
    }
}

/// Row labels: their size (none when rows are too small) and width.
fn row_labels(labels: &[String], row: i32, max_width: f32) -> (Vec<String>, f32, i32) {
    if row < 9 {
        return (Vec::new(), 0.0, 0);
    }
    let size = if row >= 16 { 12.0 } else { 10.0 };
    let texts: Vec<String> = labels.iter().map(|l| fit(l, size, max_width)).collect();
    let width = texts
        .iter()
        .map(|t| text_width(t, size))
        .fold(0.0, f32::max)
        .ceil() as i32;
    (texts, size, width + 8)
}

/// The height a colour bar and its caption lines take.
fn bar_height(caption: &Lines) -> i32 {
    10 + BAR_HEIGHT + 16 + caption.height()
}

/// A horizontal colour bar at `(x, y)` of `colour(t)` for `t` from `from`
/// to 1, its ticks `(t, text)` below it and the caption under them.
fn colour_bar(
    canvas: &mut Canvas,
    (x, y): (i32, i32),
    colour: fn(f64) -> Rgb,
    from: f64,
    ticks: &[(f64, &str)],
    caption: &Lines,
) {
    let y = y + 10;
    for i in 0..BAR_WIDTH {
        let t = from + (1.0 - from) * f64::from(i) / f64::from(BAR_WIDTH - 1);
        canvas.fill(x + i, y, 1, BAR_HEIGHT, colour(t));
    }
    canvas.stroke(x - 1, y - 1, BAR_WIDTH + 2, BAR_HEIGHT + 2, GREY);
    for &(t, text) in ticks {
        let at = x + ((t - from) / (1.0 - from) * f64::from(BAR_WIDTH - 1)).round() as i32;
        canvas.fill(at, y + BAR_HEIGHT, 1, 4, GREY);
        let baseline = (y + BAR_HEIGHT + 15) as f32;
        canvas.text(text, at as f32, baseline, 11.0, BLACK, Align::Centre);
    }
    caption.draw(canvas, x, y + BAR_HEIGHT + 16);
}

/// One head's attention on one input.
pub struct HeadPicture<'a> {
    pub layer: usize,
    pub head: usize,
    pub record: Option<&'a HeadRecord>,
    pub positions: &'a [String],
    pub pattern: ArrayView2<'a, f64>,
}

impl HeadPicture<'_> {
    /// The picture's first line: `layer 1 head 2: count selector_width#17`.
    pub fn caption(&self) -> String {
        let what = match self.record {
            Some(r) => {
                let sops: Vec<String> = r
                    .sops
                    .iter()
                    .map(|s| format!("{} {}", s.role.name(), s.name))
                    .collect();
                sops.join(", ")
            }
            None => "attention (query × key)".to_string(),
        };
        format!("layer {} head {}: {what}", self.layer, self.head)
    }

    fn title(&self) -> Lines {
        let mut lines = vec![(self.caption(), TITLE_SIZE, BLACK)];
        if let Some(r) = self.record {
            let selector = match &r.selector_name {
                Some(name) => format!("selector {name} = {}", r.selector),
                None => format!("selector {}", r.selector),
            };
            lines.push((selector, NOTE_SIZE, GREY));
            for s in r.sops.iter().filter(|s| s.source.is_some()) {
                let source = s.source.as_deref().unwrap_or_default();
                lines.push((format!("{} = {source}", s.name), NOTE_SIZE, GREY));
            }
            if let HeadKind::Count { beta } = r.kind {
                let code = crate::model::record::code_text(beta);
                lines.push((
                    format!("a counting head: BOS takes {code} of each row (w selected keys), each selected key 1/(w+{beta})"),
                    NOTE_SIZE,
                    GREY,
                ));
            }
        }
        lines.push((
            "rows: queries, columns: keys, labelled index:token (BOS at position 0)".into(),
            NOTE_SIZE,
            GREY,
        ));
        Lines::new(lines)
    }

    pub fn draw(&self) -> Canvas {
        let n = self.positions.len();
        let beta = count_beta(self.record);
        let cell = (560 / n.max(1) as i32).clamp(4, 40);
        let title = self.title();
        let (rows, row_size, row_width) = row_labels(self.positions, cell, 120.0);
        let raw_columns = Columns::new(self.positions, cell);
        let key_columns = Columns::new(&self.positions[1.min(n)..], cell);
        let header = raw_columns.height.max(key_columns.height);
        let panel_title = 22;
        let grid = cell * n as i32;
        let mut panels: Vec<(String, Array2<Option<f64>>)> =
            vec![("attention weights".into(), self.pattern.mapv(Some))];
        if let Some(beta) = beta {
            let keys = selected_keys(self.pattern, beta);
            let mut renormalised = Array2::from_elem((n, n.saturating_sub(1)), None);
            for (q, row) in keys.iter().enumerate() {
                for (k, &w) in row.iter().flatten().enumerate() {
                    renormalised[[q, k]] = Some(w);
                }
            }
            panels.push((
                "without BOS, renormalised: the selected keys".into(),
                renormalised,
            ));
        }
        let left = MARGIN + row_width;
        let panel_widths: Vec<i32> = panels
            .iter()
            .map(|(name, values)| {
                let grid_width = cell * values.ncols() as i32;
                grid_width.max(text_width(name, NOTE_SIZE).ceil() as i32)
            })
            .collect();
        let caption = Lines::new(vec![(
            match beta {
                Some(_) => "attention weight; grey rows: BOS, or a query that selects no key",
                None => "attention weight",
            }
            .into(),
            11.0,
            GREY,
        )]);
        let content = left + panel_widths.iter().sum::<i32>() + GAP * (panels.len() as i32 - 1);
        let width = (content + MARGIN)
            .max(title.width() + 2 * MARGIN)
            .max(BAR_WIDTH + 2 * MARGIN + 20)
            .max(caption.width() + 2 * MARGIN);
        let top = MARGIN + title.height() + 8 + panel_title + header;
        let height = top + grid + bar_height(&caption) + MARGIN;
        let mut canvas = Canvas::new(width as u32, height as u32);
        title.draw(&mut canvas, MARGIN, MARGIN);
        for (i, text) in rows.iter().enumerate() {
            let y = (top + cell * i as i32 + cell / 2) as f32;
            canvas.text_middle(text, (left - 6) as f32, y, row_size, BLACK, Align::Right);
        }
        let mut x = left;
        for ((name, values), panel_width) in panels.iter().zip(&panel_widths) {
            let name_y = (top - header - 8) as f32;
            canvas.text(name, x as f32, name_y, NOTE_SIZE, BLACK, Align::Left);
            let columns = if values.ncols() == n {
                &raw_columns
            } else {
                &key_columns
            };
            columns.draw(&mut canvas, x, top, cell);
            weights_grid(&mut canvas, values.view(), x, top, cell);
            x += panel_width + GAP;
        }
        colour_bar(
            &mut canvas,
            (MARGIN, top + grid),
            sequential,
            0.0,
            &[(0.0, "0"), (0.5, "0.5"), (1.0, "1")],
            &caption,
        );
        canvas
    }
}

/// A grid of weights (`None`: undefined, grey) at `(left, top)`, with the
/// weights written in the cells when they fit.
fn weights_grid(
    canvas: &mut Canvas,
    values: ArrayView2<'_, Option<f64>>,
    left: i32,
    top: i32,
    cell: i32,
) {
    for ((q, k), w) in values.indexed_iter() {
        let (x, y) = (left + cell * k as i32, top + cell * q as i32);
        let colour = match w {
            Some(w) => sequential(*w),
            None => [236, 236, 236],
        };
        canvas.fill(x, y, cell, cell, colour);
        canvas.stroke(x, y, cell + 1, cell + 1, LIGHT);
        let Some(w) = *w else { continue };
        if cell >= 30 && w >= 0.005 {
            let text = if w > 0.995 {
                "1".to_string()
            } else {
                format!("{w:.2}").trim_start_matches('0').to_string()
            };
            let (cx, cy) = ((x + cell / 2) as f32, (y + cell / 2) as f32);
            canvas.text_middle(&text, cx, cy, 11.0, ink_on(colour), Align::Centre);
        }
    }
}

/// A residual stream (`[positions, d_model]`), one row per label.
pub fn residual(
    caption: &str,
    labels: &[String],
    positions: &[String],
    values: &Array2<f64>,
) -> Canvas {
    let (n, d) = (values.nrows(), values.ncols());
    let row = if d <= 400 {
        16
    } else {
        (6400 / d.max(1) as i32).max(2)
    };
    let cell = (1400 / n.max(1) as i32).clamp(8, 44);
    let title = Lines::new(vec![
        (caption.to_string(), TITLE_SIZE, BLACK),
        (
            "rows: residual dimensions, columns: positions, labelled index:token (BOS at position 0)"
                .into(),
            NOTE_SIZE,
            GREY,
        ),
    ]);
    let (rows, row_size, row_width) = row_labels(labels, row, 280.0);
    let columns = Columns::new(positions, cell);
    let scales: Vec<f64> = (0..d)
        .map(|dim| largest_magnitude(values.column(dim).iter().copied()))
        .collect();
    let binary: Vec<bool> = (0..d)
        .map(|dim| is_binary(values.column(dim).iter().copied()))
        .collect();
    let scale_texts: Vec<String> = scales.iter().map(|&s| short_number(s)).collect();
    let scale_size = 10.0;
    let scale_width = scale_texts
        .iter()
        .map(|t| text_width(t, scale_size))
        .fold(text_width("scale", scale_size), f32::max)
        .ceil() as i32
        + 10;
    let caption = Lines::new(vec![
        (
            "colour: each value ÷ its row's largest |value| (the scale at the row's right), blue negative, red positive".into(),
            11.0,
            GREY,
        ),
        (
            "values are written in the cells of rows that are not all 0 or 1".into(),
            11.0,
            GREY,
        ),
    ]);
    let left = MARGIN + row_width;
    let grid_width = cell * n as i32;
    let width = (left + grid_width + scale_width + MARGIN)
        .max(title.width() + 2 * MARGIN)
        .max(caption.width() + 2 * MARGIN);
    let top = MARGIN + title.height() + 8 + columns.height;
    let height = top + row * d as i32 + bar_height(&caption) + MARGIN;
    let mut canvas = Canvas::new(width as u32, height as u32);
    title.draw(&mut canvas, MARGIN, MARGIN);
    columns.draw(&mut canvas, left, top, cell);
    let scale_x = (left + grid_width + 6) as f32;
    if row >= 9 {
        canvas.text(
            "scale",
            scale_x,
            (top - 5) as f32,
            scale_size,
            GREY,
            Align::Left,
        );
    }
    let write_values = cell >= 30 && row >= 14;
    for dim in 0..d {
        let y = top + row * dim as i32;
        let middle = (y + row / 2) as f32;
        if let Some(text) = rows.get(dim) {
            canvas.text_middle(
                text,
                (left - 6) as f32,
                middle,
                row_size,
                BLACK,
                Align::Right,
            );
            canvas.text_middle(
                &scale_texts[dim],
                scale_x,
                middle,
                scale_size,
                GREY,
                Align::Left,
            );
        }
        for p in 0..n {
            let v = values[[p, dim]];
            let t = if scales[dim] > 0.0 {
                v / scales[dim]
            } else {
                0.0
            };
            let colour = diverging(t);
            let x = left + cell * p as i32;
            canvas.fill(x, y, cell, row, colour);
            if write_values && !binary[dim] {
                let text = short_number(v);
                let cx = (x + cell / 2) as f32;
                canvas.text_middle(&text, cx, middle, 10.0, ink_on(colour), Align::Centre);
            }
        }
    }
    canvas.stroke(
        left,
        top,
        grid_width + 1,
        row * d as i32 + 1,
        [150, 150, 150],
    );
    colour_bar(
        &mut canvas,
        (MARGIN, top + row * d as i32),
        diverging,
        -1.0,
        &[(-1.0, "−1"), (0.0, "0"), (1.0, "+1")],
        &caption,
    );
    canvas
}
