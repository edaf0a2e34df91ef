//! A [`Flow`] drawn as SVG, in the colours of the original RASP's drawings.
//!
//! Layers are stacked top to bottom, each a box holding its heads side by
//! side and, under them, its element-wise steps. In a head, the keys (blue)
//! and queries (green) come first, one row per s-op and one column per
//! position; under them the selection matrix, one row per query position
//! (the query values again, down its left side) and one column per key
//! position, a filled cell where the query selects the key; then, for each
//! aggregate, the values it averages (pink) and its result (orange). Every
//! table's value columns share one width, so positions line up down the
//! page. Text is monospace, so widths are computed, not measured.
//!
//! Each block is drawn into a group at its own origin and returns its size;
//! its parent draws the background first and places the group on it.

use svg::node::element::{Group, Line, Rectangle, Text, Title};
use svg::{Document, Node};

use super::{cut, Flow, FlowHead, FlowLayer, Row};

const FONT_SIZE: f64 = 12.0;
/// The advance of one monospace character at [`FONT_SIZE`] (DejaVu Sans Mono
/// is 0.602 em; a little slack for other monospace fonts).
const CHAR_WIDTH: f64 = 7.4;
const ROW_HEIGHT: f64 = 20.0;
const TITLE_HEIGHT: f64 = 24.0;
/// A head's title takes at most this many lines, this far apart.
const TITLE_LINES: usize = 3;
const TITLE_LINE: f64 = 16.0;
const PAD: f64 = 10.0;
const GAP: f64 = 14.0;
/// Labels and values longer than this are cut (with `…`).
const MAX_LABEL_CHARS: usize = 40;
const MAX_VALUE_CHARS: usize = 10;
/// The kind column: `key`, `query`, `values`, `result`, `map`, `input`.
const TAG_CHARS: usize = 6;

/// Colours, after the original's graphviz names.
mod colour {
    pub const PAGE: &str = "#ffffff";
    pub const LAYER: &str = "#fffacd"; // lemonchiffon
    pub const INPUT_LAYER: &str = "#f2f2f2";
    pub const HEAD: &str = "#ffe4c4"; // bisque
    pub const BORDER: &str = "#8b7d6b"; // bisque4
    pub const KEY: &str = "#97ffff"; // darkslategray1
    pub const KEY_TAG: &str = "#00c5cd"; // turquoise3
    pub const QUERY: &str = "#9aff9a"; // palegreen1
    pub const QUERY_TAG: &str = "#3cb371"; // mediumseagreen
    pub const VALUES: &str = "#ffb6c1"; // lightpink
    pub const VALUES_TAG: &str = "#ee799f"; // palevioletred2
    pub const RESULT: &str = "#ffd39b"; // burlywood1
    pub const RESULT_TAG: &str = "#deb887"; // burlywood
    pub const INPUT: &str = "#e0e0e0";
    pub const INPUT_TAG: &str = "#bebebe";
    pub const SELECTED: &str = "#dda0dd"; // plum
    pub const UNSELECTED: &str = "#fff5ea";
    pub const TEXT: &str = "#000000";
    pub const NOTE: &str = "#555555";
    pub const OUTPUT: &str = "#c00000";
}

/// The kinds of rows, each with its tag text and colours.
#[derive(Clone, Copy)]
enum Kind {
    Input,
    Key,
    Query,
    Values,
    Result,
    Map,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Key => "key",
            Kind::Query => "query",
            Kind::Values => "values",
            Kind::Result => "result",
            Kind::Map => "map",
        }
    }

    /// (tag colour, cell colour).
    fn colours(self) -> (&'static str, &'static str) {
        match self {
            Kind::Input => (colour::INPUT_TAG, colour::INPUT),
            Kind::Key => (colour::KEY_TAG, colour::KEY),
            Kind::Query => (colour::QUERY_TAG, colour::QUERY),
            Kind::Values => (colour::VALUES_TAG, colour::VALUES),
            Kind::Result | Kind::Map => (colour::RESULT_TAG, colour::RESULT),
        }
    }
}

/// Widths shared by the whole drawing.
struct Metrics {
    /// One value cell.
    cell: f64,
    /// The label column.
    label: f64,
    /// The tag column.
    tag: f64,
    /// Positions.
    n: usize,
}

impl Metrics {
    fn of(flow: &Flow) -> Metrics {
        let mut value_chars = flow
            .input
            .iter()
            .map(|t| t.chars().count())
            .max()
            .unwrap_or(1);
        let mut label_chars = 8;
        let mut visit = |row: &Row| {
            for v in &row.values {
                value_chars = value_chars.max(v.chars().count());
            }
            label_chars = label_chars.max(row.label.chars().count());
        };
        for layer in &flow.layers {
            layer.steps.iter().for_each(&mut visit);
            for head in &layer.heads {
                head.keys.iter().chain(&head.queries).for_each(&mut visit);
                for used in &head.uses {
                    used.values.iter().for_each(&mut visit);
                    visit(&used.result);
                }
            }
        }
        let value_chars = value_chars.min(MAX_VALUE_CHARS);
        let label_chars = label_chars.min(MAX_LABEL_CHARS);
        Metrics {
            cell: (value_chars as f64 * CHAR_WIDTH + 10.0).max(22.0),
            label: label_chars as f64 * CHAR_WIDTH + 12.0,
            tag: TAG_CHARS as f64 * CHAR_WIDTH + 10.0,
            n: flow.input.len(),
        }
    }

    /// Where value columns start in a table whose matrix has `query_columns`
    /// query columns on its left.
    fn values_x(&self, query_columns: usize) -> f64 {
        (self.tag + self.label).max(query_columns as f64 * self.cell + 4.0 * CHAR_WIDTH)
    }
}

fn rect(x: f64, y: f64, w: f64, h: f64, fill: &str) -> Rectangle {
    Rectangle::new()
        .set("x", x)
        .set("y", y)
        .set("width", w)
        .set("height", h)
        .set("fill", fill)
}

/// A text whose baseline is placed for a row of [`ROW_HEIGHT`] at `y`.
/// `text` in lines of at most `width` characters, broken after spaces
/// where it can be (a longer word is split), at most `most` lines: the
/// lines, and whether they hold the whole text (else the last ends in `…`).
fn wrap(text: &str, width: usize, most: usize) -> (Vec<String>, bool) {
    let width = width.max(8);
    let mut lines: Vec<String> = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while !rest.is_empty() {
        if lines.len() + 1 == most && rest.len() > width {
            let line: String = rest.iter().collect();
            lines.push(cut(&line, width));
            return (lines, false);
        }
        let mut take = rest.len().min(width);
        if take < rest.len() {
            // The last space in the line, if the line keeps some words.
            if let Some(space) = rest[..take].iter().rposition(|c| *c == ' ') {
                if space > width / 3 {
                    take = space + 1;
                }
            }
        }
        lines.push(
            rest[..take]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        rest.drain(..take);
    }
    (lines, true)
}

fn text(x: f64, y: f64, content: &str) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y + ROW_HEIGHT / 2.0 + FONT_SIZE * 0.35)
}

/// A cell: a filled box with centred text; a full value in a tooltip when
/// it had to be cut.
fn cell(group: &mut Group, x: f64, y: f64, w: f64, fill: &str, value: &str) {
    group.append(
        rect(x, y, w, ROW_HEIGHT, fill)
            .set("stroke", colour::BORDER)
            .set("stroke-width", 0.5),
    );
    let max = ((w - 6.0) / CHAR_WIDTH).floor().max(1.0) as usize;
    let shown = cut(value, max);
    let mut t = text(x + w / 2.0, y, &shown).set("text-anchor", "middle");
    if shown != value {
        t.append(Title::new(value));
    }
    group.append(t);
}

/// One row: tag, label, then one cell per value starting at `values_x`.
fn row(group: &mut Group, m: &Metrics, y: f64, values_x: f64, kind: Kind, row: &Row) {
    let (tag_colour, cell_colour) = kind.colours();
    cell(group, 0.0, y, m.tag, tag_colour, kind.tag());
    let label_w = values_x - m.tag;
    group.append(
        rect(m.tag, y, label_w, ROW_HEIGHT, cell_colour)
            .set("stroke", colour::BORDER)
            .set("stroke-width", 0.5),
    );
    let max = ((label_w - 8.0) / CHAR_WIDTH).floor().max(1.0) as usize;
    let label = cut(&row.label, max);
    let mut t = text(m.tag + 4.0, y, &label);
    if row.output {
        t = t.set("font-weight", "bold").set("fill", colour::OUTPUT);
    }
    if label != row.label {
        t.append(Title::new(row.label.clone()));
    }
    group.append(t);
    for (i, v) in row.values.iter().enumerate() {
        cell(
            group,
            values_x + i as f64 * m.cell,
            y,
            m.cell,
            cell_colour,
            v,
        );
    }
    if row.output {
        group.append(
            rect(
                0.0,
                y,
                values_x + row.values.len() as f64 * m.cell,
                ROW_HEIGHT,
                "none",
            )
            .set("stroke", colour::OUTPUT)
            .set("stroke-width", 2),
        );
    }
}

/// A note in grey after the last value of a row at `y`.
fn note(group: &mut Group, x: f64, y: f64, content: &str) -> f64 {
    let content = cut(content, 2 * MAX_LABEL_CHARS);
    group.append(
        text(x, y, &content)
            .set("fill", colour::NOTE)
            .set("font-style", "italic"),
    );
    content.chars().count() as f64 * CHAR_WIDTH
}

/// A group translated to `(x, y)`.
fn placed(group: Group, x: f64, y: f64) -> Group {
    group.set("transform", format!("translate({x},{y})"))
}

/// One head's box contents: its width and height.
fn head(m: &Metrics, number: usize, h: &FlowHead) -> (Group, f64, f64) {
    let mut g = Group::new().set("class", "head");
    let q = h.queries.len();
    let vx = m.values_x(q);
    let mut width = vx + m.n as f64 * m.cell;
    // The title wraps onto up to three lines; past them it is cut, and the
    // whole selector is its hover text.
    let full = format!("head {number}: {}", h.selector);
    let per_line = (width.max(300.0) / CHAR_WIDTH) as usize;
    let (lines, complete) = wrap(&full, per_line, TITLE_LINES);
    for (i, line) in lines.iter().enumerate() {
        let mut t = Text::new(line.clone())
            .set("x", 0)
            .set("y", FONT_SIZE + 2.0 + i as f64 * TITLE_LINE)
            .set("font-weight", "bold");
        if !complete && i + 1 == lines.len() {
            t.append(Title::new(h.selector.clone()));
        }
        width = width.max(line.chars().count() as f64 * CHAR_WIDTH);
        g.append(t);
    }
    let mut y = TITLE_HEIGHT + (lines.len().max(1) - 1) as f64 * TITLE_LINE;
    for key in &h.keys {
        row(&mut g, m, y, vx, Kind::Key, key);
        y += ROW_HEIGHT;
    }
    for query in &h.queries {
        row(&mut g, m, y, vx, Kind::Query, query);
        y += ROW_HEIGHT;
    }
    y += 6.0;
    // The matrix: what each query (row) selects among the keys (columns).
    let predicate = h.predicate();
    let matrix_top = y;
    let qx = vx - q as f64 * m.cell;
    g.append(
        text(0.0, y, &cut(&predicate, ((qx - 4.0) / CHAR_WIDTH) as usize))
            .set("fill", colour::NOTE)
            .set("font-style", "italic"),
    );
    for (qi, selected) in h.matrix.iter().enumerate() {
        for (j, query) in h.queries.iter().enumerate() {
            let v = query.values.get(qi).map_or("", String::as_str);
            cell(&mut g, qx + j as f64 * m.cell, y, m.cell, colour::QUERY, v);
        }
        for (ki, on) in selected.iter().enumerate() {
            let fill = if *on {
                colour::SELECTED
            } else {
                colour::UNSELECTED
            };
            let x = vx + ki as f64 * m.cell;
            g.append(
                rect(x, y, m.cell, ROW_HEIGHT, fill)
                    .set("stroke", colour::BORDER)
                    .set("stroke-width", 0.5)
                    .set("class", if *on { "selected" } else { "unselected" }),
            );
            if *on {
                g.append(text(x + m.cell / 2.0, y, "1").set("text-anchor", "middle"));
            }
        }
        y += ROW_HEIGHT;
    }
    g.append(
        rect(vx, matrix_top, m.n as f64 * m.cell, y - matrix_top, "none")
            .set("stroke", colour::BORDER)
            .set("stroke-width", 1.5),
    );
    y += 6.0;
    for used in &h.uses {
        if let Some(values) = &used.values {
            row(&mut g, m, y, vx, Kind::Values, values);
            y += ROW_HEIGHT;
        }
        row(&mut g, m, y, vx, Kind::Result, &used.result);
        let end = vx + m.n as f64 * m.cell + 6.0;
        let note_text = match &used.default {
            Some(d) => format!("mean of selected values, default {d}"),
            None => "number of selected keys".to_string(),
        };
        let w = note(&mut g, end, y, &note_text);
        width = width.max(end + w);
        y += ROW_HEIGHT + 4.0;
    }
    (g, width, y)
}

/// The element-wise steps of a layer: a table of map (or input) rows, each
/// noting what it reads.
fn steps(m: &Metrics, layer: &FlowLayer) -> (Group, f64, f64) {
    let mut g = Group::new().set("class", "steps");
    let vx = m.values_x(0);
    let mut width = vx + m.n as f64 * m.cell;
    let heading = if layer.number == 0 {
        "the input, and element-wise steps on it"
    } else {
        "element-wise steps (MLP)"
    };
    g.append(
        Text::new(heading)
            .set("x", 0)
            .set("y", FONT_SIZE + 2.0)
            .set("font-weight", "bold"),
    );
    let mut y = TITLE_HEIGHT;
    for r in &layer.steps {
        let kind = if r.from.is_empty() && layer.number == 0 && !r.output {
            Kind::Input
        } else {
            Kind::Map
        };
        row(&mut g, m, y, vx, kind, r);
        if !r.from.is_empty() {
            let end = vx + m.n as f64 * m.cell + 6.0;
            let w = note(&mut g, end, y, &format!("← {}", r.from.join(", ")));
            width = width.max(end + w);
        }
        y += ROW_HEIGHT;
    }
    (g, width, y)
}

/// One layer's box contents.
fn layer(m: &Metrics, l: &FlowLayer) -> (Group, f64, f64) {
    let mut g = Group::new()
        .set("class", "layer")
        .set("id", format!("layer{}", l.number));
    let title = if l.number == 0 {
        "input".to_string()
    } else {
        format!(
            "layer {}: {} head{}",
            l.number,
            l.heads.len(),
            if l.heads.len() == 1 { "" } else { "s" }
        )
    };
    g.append(
        Text::new(title)
            .set("x", PAD)
            .set("y", PAD + FONT_SIZE)
            .set("font-weight", "bold")
            .set("font-size", FONT_SIZE + 2.0),
    );
    let mut y = PAD + TITLE_HEIGHT;
    let mut x = PAD;
    let mut heads_height: f64 = 0.0;
    for (i, h) in l.heads.iter().enumerate() {
        let (content, w, hgt) = head(m, i + 1, h);
        g.append(
            rect(x, y, w + 2.0 * PAD, hgt + 2.0 * PAD, colour::HEAD)
                .set("rx", 6)
                .set("stroke", colour::BORDER),
        );
        g.append(placed(content, x + PAD, y + PAD));
        x += w + 2.0 * PAD + GAP;
        heads_height = heads_height.max(hgt + 2.0 * PAD);
    }
    let mut width = x - GAP + PAD;
    if !l.heads.is_empty() {
        y += heads_height + GAP;
    }
    if !l.steps.is_empty() {
        let (content, w, hgt) = steps(m, l);
        g.append(placed(content, PAD, y));
        width = width.max(w + 2.0 * PAD);
        y += hgt + PAD;
    }
    (g, width.max(200.0), y)
}

/// The whole drawing as an SVG document.
pub fn render(flow: &Flow) -> String {
    let m = Metrics::of(flow);
    let mut body = Group::new()
        .set(
            "font-family",
            "DejaVu Sans Mono, Menlo, Consolas, monospace",
        )
        .set("font-size", FONT_SIZE)
        .set("fill", colour::TEXT);
    let heading = format!("{} on [{}]", flow.name, flow.input.join(", "));
    body.append(
        Text::new(cut(&heading, 160))
            .set("x", PAD)
            .set("y", PAD + FONT_SIZE + 2.0)
            .set("font-weight", "bold")
            .set("font-size", FONT_SIZE + 4.0),
    );
    let mut y = PAD + TITLE_HEIGHT + 8.0;
    let mut width = PAD + heading.chars().count().min(160) as f64 * (CHAR_WIDTH + 2.5);
    let drawn: Vec<(Group, f64, f64)> = flow.layers.iter().map(|l| layer(&m, l)).collect();
    let layers_width = drawn.iter().map(|(_, w, _)| *w).fold(0.0, f64::max);
    for (i, ((content, _, h), l)) in drawn.into_iter().zip(&flow.layers).enumerate() {
        if i > 0 {
            // An arrow down from the previous layer.
            let cx = PAD + 30.0;
            body.append(
                Line::new()
                    .set("x1", cx)
                    .set("y1", y - GAP)
                    .set("x2", cx)
                    .set("y2", y - 3.0)
                    .set("stroke", colour::BORDER)
                    .set("stroke-width", 2),
            );
            body.append(
                svg::node::element::Path::new()
                    .set("d", format!("M{} {} l-5 -7 l10 0 z", cx, y - 1.0))
                    .set("fill", colour::BORDER),
            );
        }
        let fill = if l.number == 0 {
            colour::INPUT_LAYER
        } else {
            colour::LAYER
        };
        body.append(
            rect(PAD, y, layers_width, h, fill)
                .set("rx", 8)
                .set("stroke", colour::BORDER),
        );
        body.append(placed(content, PAD, y));
        y += h + GAP + 4.0;
    }
    width = width.max(layers_width + 2.0 * PAD);
    let height = y - GAP + PAD;
    let document = Document::new()
        .set("width", width.ceil())
        .set("height", height.ceil())
        .set("viewBox", (0, 0, width.ceil(), height.ceil()))
        .add(Title::new(heading))
        .add(rect(0.0, 0.0, width.ceil(), height.ceil(), colour::PAGE))
        .add(body);
    let mut out = document.to_string();
    out.push('\n');
    out
}
