//! Long source lines cut down to the parts a diagnostic points at.
//!
//! miette draws every line of a snippet whole, so a program written on one
//! line of 200 KB would give a diagnostic of several times that. Before a
//! diagnostic is rendered, [`Trimmed`] wraps it: each source line longer
//! than [`MAX_COLUMNS`] keeps only windows around the places its labels
//! start and end, and `…` stands for every cut. The labels are moved onto
//! the shortened text (a label that starts or ends inside a cut starts or
//! ends on its `…`), and the snippet's header still gives the line and
//! column of the original text, so every span points at the same
//! characters as before. Lines are never joined or split, so line numbers
//! stay true. Related diagnostics and causes are trimmed the same way.

use std::fmt;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, Severity, SourceCode, SourceSpan,
    SpanContents,
};

/// The most columns (characters) of one source line a snippet shows.
pub const MAX_COLUMNS: usize = 120;

/// The narrowest window kept around one labelled place.
const MIN_WINDOW: usize = 24;

/// What stands for a cut.
const ELLIPSIS: &str = "…";

/// A diagnostic whose source lines are at most [`MAX_COLUMNS`] wide.
pub struct Trimmed<'a> {
    inner: &'a dyn Diagnostic,
    /// The shortened source and the moved labels, when a line was cut.
    cut: Option<(Excerpt, Vec<LabeledSpan>)>,
    related: Vec<Trimmed<'a>>,
    cause: Option<Box<Trimmed<'a>>>,
}

impl<'a> Trimmed<'a> {
    /// Wraps `inner`, cutting the long lines of its source.
    pub fn new(inner: &'a dyn Diagnostic) -> Trimmed<'a> {
        Trimmed::with_parent(inner, None)
    }

    /// As [`Trimmed::new`], for a diagnostic shown under one whose source
    /// it shares when it has none of its own.
    fn with_parent(inner: &'a dyn Diagnostic, parent: Option<&dyn SourceCode>) -> Trimmed<'a> {
        let source = inner.source_code().or(parent);
        let cut = source.and_then(|source| {
            let labels: Vec<LabeledSpan> = inner.labels()?.collect();
            let excerpt = Excerpt::new(source, &labels)?;
            let moved = labels.iter().map(|l| excerpt.move_label(l)).collect();
            Some((excerpt, moved))
        });
        let related = inner
            .related()
            .map(|related| related.map(|r| Trimmed::with_parent(r, source)).collect())
            .unwrap_or_default();
        let cause = inner
            .diagnostic_source()
            .map(|c| Box::new(Trimmed::with_parent(c, source)));
        Trimmed {
            inner,
            cut,
            related,
            cause,
        }
    }
}

impl fmt::Debug for Trimmed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl fmt::Display for Trimmed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Trimmed<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Diagnostic for Trimmed<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.help()
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match &self.cut {
            Some((excerpt, _)) => Some(excerpt),
            None => self.inner.source_code(),
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match &self.cut {
            Some((_, labels)) => Some(Box::new(labels.iter().cloned())),
            None => self.inner.labels(),
        }
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.cause.as_deref().map(|c| c as &dyn Diagnostic)
    }
}

/// A source text with its long lines cut, and how its offsets map back.
struct Excerpt {
    name: Option<String>,
    /// The shortened text: the same lines, each at most about
    /// [`MAX_COLUMNS`] characters.
    text: String,
    lines: Vec<LineMap>,
}

/// Where one line lies in the original text and in the shortened one.
struct LineMap {
    /// The line's first byte in the original text, and its end (before the
    /// line break).
    start: usize,
    end: usize,
    /// The end of its text before a `\r`, if the line has one.
    body_end: usize,
    /// The line's first byte in the shortened text, its end, and the end of
    /// its text before a `\r`.
    new_start: usize,
    new_end: usize,
    new_body_end: usize,
    /// The kept parts, in order; empty when the line is whole.
    pieces: Vec<Piece>,
}

/// A kept part of a cut line: original bytes `start..end` at `new_start`.
/// The `…` before it (if any) ends at `new_start`.
struct Piece {
    start: usize,
    end: usize,
    new_start: usize,
}

impl Excerpt {
    /// The shortened source, or `None` when no line needs cutting (or the
    /// source cannot be read whole).
    fn new(source: &dyn SourceCode, labels: &[LabeledSpan]) -> Option<Excerpt> {
        let whole = source
            .read_span(&SourceSpan::from((0, 0)), usize::MAX, usize::MAX)
            .ok()?;
        let original = std::str::from_utf8(whole.data()).ok()?;
        if whole.span().offset() != 0 {
            return None;
        }
        let long = |line: &str| line.len() > MAX_COLUMNS && line.chars().count() > MAX_COLUMNS;
        if !original.split('\n').any(long) {
            return None;
        }
        let mut line_ranges = Vec::new();
        let mut start = 0;
        for (at, _) in original.match_indices('\n') {
            line_ranges.push((start, at));
            start = at + 1;
        }
        line_ranges.push((start, original.len()));
        let too_long = |&(s, e): &(usize, usize)| long(&original[s..e]);
        let mut text = String::with_capacity(original.len().min(1 << 16));
        let mut lines = Vec::with_capacity(line_ranges.len());
        for (i, &(start, end)) in line_ranges.iter().enumerate() {
            let new_start = text.len();
            let cr = usize::from(original[start..end].ends_with('\r'));
            let pieces = if too_long(&(start, end)) {
                let line = original[start..end].trim_end_matches('\r');
                let body_end = start + line.len();
                let places = labelled_places(labels, start, body_end);
                let pieces = keep(line, start, &places);
                let mut kept_to = start;
                let mut placed = Vec::with_capacity(pieces.len());
                for (piece_start, piece_end) in pieces {
                    if piece_start > kept_to {
                        text.push_str(ELLIPSIS);
                    }
                    placed.push(Piece {
                        start: piece_start,
                        end: piece_end,
                        new_start: text.len(),
                    });
                    text.push_str(&original[piece_start..piece_end]);
                    kept_to = piece_end;
                }
                if kept_to < body_end {
                    text.push_str(ELLIPSIS);
                }
                text.push_str(&original[body_end..end]);
                placed
            } else {
                text.push_str(&original[start..end]);
                Vec::new()
            };
            let new_end = text.len();
            if i + 1 < line_ranges.len() {
                text.push('\n');
            }
            lines.push(LineMap {
                start,
                end,
                body_end: end - cr,
                new_start,
                new_end,
                new_body_end: new_end - cr,
                pieces,
            });
        }
        Some(Excerpt {
            name: whole.name().map(str::to_string),
            text,
            lines,
        })
    }

    /// The line holding original offset `offset` (the last one past the end).
    fn line_of(&self, offset: usize) -> &LineMap {
        let at = self.lines.partition_point(|l| l.end < offset);
        &self.lines[at.min(self.lines.len() - 1)]
    }

    /// Where original offset `offset` is in the shortened text.
    fn position(&self, offset: usize) -> Position {
        let line = self.line_of(offset);
        let offset = offset.min(line.end);
        if line.pieces.is_empty() {
            return Position::Kept(line.new_start + (offset - line.start));
        }
        if offset >= line.body_end {
            // A `\r` before the line break, kept after the last `…`.
            return Position::Kept(line.new_end - (line.end - offset));
        }
        let mut cut_at = line.new_start;
        for piece in &line.pieces {
            if offset < piece.start {
                // The `…` before this piece ends at its start.
                return Position::Cut(piece.new_start - ELLIPSIS.len());
            }
            if offset < piece.end {
                return Position::Kept(piece.new_start + (offset - piece.start));
            }
            cut_at = piece.new_start + (piece.end - piece.start);
        }
        Position::Cut(cut_at)
    }

    /// The original offset of shortened offset `new`: a `…` stands for the
    /// first byte it replaced.
    fn unmap(&self, new: usize) -> usize {
        let at = self.lines.partition_point(|l| l.new_end < new);
        let line = &self.lines[at.min(self.lines.len() - 1)];
        if line.pieces.is_empty() {
            return line.start + new.saturating_sub(line.new_start);
        }
        if new >= line.new_body_end {
            return line.end - line.new_end.saturating_sub(new);
        }
        let mut cut_from = line.start;
        for piece in &line.pieces {
            if new < piece.new_start {
                return cut_from;
            }
            if new < piece.new_start + (piece.end - piece.start) {
                return piece.start + (new - piece.new_start);
            }
            cut_from = piece.end;
        }
        cut_from
    }

    /// `label` moved onto the shortened text: a label that starts or ends
    /// in a cut starts or ends with its `…`.
    fn move_label(&self, label: &LabeledSpan) -> LabeledSpan {
        let start = match self.position(label.offset()) {
            Position::Kept(at) | Position::Cut(at) => at,
        };
        let end = if label.is_empty() {
            start
        } else {
            match self.position(label.offset() + label.len() - 1) {
                Position::Kept(at) => at + 1,
                Position::Cut(at) => at + ELLIPSIS.len(),
            }
        };
        let span = SourceSpan::from((start, end.max(start) - start));
        let text = label.label().map(str::to_string);
        if label.primary() {
            LabeledSpan::new_primary_with_span(text, span)
        } else {
            LabeledSpan::new_with_span(text, span)
        }
    }
}

/// Where an original offset went in the shortened text.
enum Position {
    /// To this offset.
    Kept(usize),
    /// Into a cut, whose `…` starts at this offset.
    Cut(usize),
}

impl SourceCode for Excerpt {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let contents =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        // The column of the original text, for the snippet's header.
        let column = if contents.column() == 0 {
            0
        } else {
            let original = self.unmap(contents.span().offset());
            original.saturating_sub(self.line_of(original).start)
        };
        let data = contents.data();
        let (line, line_count, span) = (contents.line(), contents.line_count(), *contents.span());
        Ok(Box::new(match &self.name {
            Some(name) => {
                MietteSpanContents::new_named(name.clone(), data, span, line, column, line_count)
            }
            None => MietteSpanContents::new(data, span, line, column, line_count),
        }))
    }
}

/// The original offsets on line `start..end` that labels start or end at.
fn labelled_places(labels: &[LabeledSpan], start: usize, end: usize) -> Vec<usize> {
    let mut places = Vec::new();
    for label in labels {
        let first = label.offset();
        let last = (label.offset() + label.len()).saturating_sub(1).max(first);
        for place in [first, last] {
            if (start..end).contains(&place) && !places.contains(&place) {
                places.push(place);
            }
        }
    }
    places.sort_unstable();
    places
}

/// The byte ranges of `line` (which starts at original offset `start`) to
/// keep: a window of characters around each group of nearby places, about
/// [`MAX_COLUMNS`] characters in all, merged where they meet; the line's
/// start when no label touches it.
fn keep(line: &str, start: usize, places: &[usize]) -> Vec<(usize, usize)> {
    // The original offset of every character, and of the line's end.
    let offsets: Vec<usize> = line
        .char_indices()
        .map(|(i, _)| start + i)
        .chain(std::iter::once(start + line.len()))
        .collect();
    let chars = offsets.len() - 1;
    let column_of = |place: usize| offsets.partition_point(|&o| o < place).min(chars);
    // Places closer than half a line share one window.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for column in places.iter().map(|&p| column_of(p)) {
        match groups.last_mut() {
            Some(group) if column < group.1 + MAX_COLUMNS / 2 => group.1 = column,
            _ => groups.push((column, column)),
        }
    }
    if groups.is_empty() {
        groups.push((0, 0));
    }
    let width = (MAX_COLUMNS / groups.len()).max(MIN_WINDOW);
    let mut windows: Vec<(usize, usize)> = Vec::new();
    for (first, last) in groups {
        let pad = width.saturating_sub(last - first + 1) / 2;
        let from = first.saturating_sub(pad);
        let to = (last + 1 + pad).max(from + width);
        // Moved back inside the line, keeping its width where it can.
        let (from, to) = if to > chars {
            (from.saturating_sub(to - chars), chars)
        } else {
            (from, to)
        };
        match windows.last_mut() {
            // Windows that touch, or leave a gap no wider than a `…`, merge.
            Some(window) if from <= window.1 + 1 => window.1 = window.1.max(to),
            _ => windows.push((from, to)),
        }
    }
    windows
        .into_iter()
        .map(|(from, to)| (offsets[from], offsets[to]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::{source, Span};

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("test")]
    struct Pointed {
        #[source_code]
        src: crate::syntax::span::Source,
        #[label("first")]
        first: Span,
        #[label("second")]
        second: Option<Span>,
    }

    fn cut(text: &str, first: Span, second: Option<Span>) -> (String, Vec<String>) {
        let error = Pointed {
            src: source("t", text.to_string()),
            first,
            second,
        };
        let trimmed = Trimmed::new(&error);
        let Some((excerpt, labels)) = &trimmed.cut else {
            return (text.to_string(), Vec::new());
        };
        let shown = labels
            .iter()
            .map(|l| excerpt.text[l.offset()..l.offset() + l.len()].to_string())
            .collect();
        (excerpt.text.clone(), shown)
    }

    #[test]
    fn short_lines_are_left_whole() {
        let text = "x = 1;\ny = 2;";
        assert_eq!(cut(text, Span::new(0, 1), None).0, text);
    }

    #[test]
    fn a_long_line_keeps_what_its_labels_point_at() {
        let text = format!("{}HERE{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, labels) = cut(&text, Span::new(5000, 5004), None);
        assert!(shown.chars().count() <= MAX_COLUMNS + 2, "{shown}");
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(labels, ["HERE"]);
    }

    #[test]
    fn a_label_over_a_cut_covers_its_ellipsis() {
        let text = format!("x = {};", "1 + ".repeat(10000));
        let (shown, labels) = cut(&text, Span::new(4, text.len() - 1), None);
        assert!(shown.chars().count() <= MAX_COLUMNS + 2, "{shown}");
        assert!(labels[0].starts_with("1 + ") && labels[0].contains('…'));
        assert!(shown.ends_with(';'), "{shown}");
    }

    #[test]
    fn far_apart_labels_each_keep_a_window_and_other_lines_their_start() {
        let long = format!(
            "{}A{}B{}",
            "-".repeat(300),
            "-".repeat(3000),
            "-".repeat(300)
        );
        let text = format!("first line\n{long}\n{}", "c".repeat(1000));
        let a = 11 + 300;
        let b = a + 1 + 3000;
        let (shown, labels) = cut(&text, Span::new(a, a + 1), Some(Span::new(b, b + 1)));
        assert_eq!(labels, ["A", "B"]);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "first line");
        assert_eq!(lines[1].matches('…').count(), 3, "{}", lines[1]);
        assert!(lines[2].starts_with("ccc") && lines[2].ends_with('…'));
    }

    #[test]
    fn offsets_map_back_to_the_original_columns() {
        let text = format!("{}é{}X", "a".repeat(400), "b".repeat(400));
        let x = text.len() - 1;
        let error = Pointed {
            src: source("t", text.clone()),
            first: Span::new(x, x + 1),
            second: None,
        };
        let trimmed = Trimmed::new(&error);
        let (excerpt, labels) = trimmed.cut.as_ref().expect("cut");
        let label = &labels[0];
        assert_eq!(excerpt.unmap(label.offset()), x);
        let contents = excerpt.read_span(label.inner(), 0, 0).expect("readable");
        assert_eq!(contents.column(), x);
    }

    proptest::proptest! {
        /// Any text and any two labels render without panicking, every
        /// drawn source line is short, and a label's first and last
        /// characters are where they were or on a `…`.
        #[test]
        fn any_labels_on_any_lines_render_short(
            lines in proptest::collection::vec(("[ab é]{0,400}", proptest::bool::ANY), 1..5),
            first in (0usize..2000, 0usize..600),
            second in proptest::option::of((0usize..2000, 0usize..600)),
        ) {
            // Lines end with `\n` or `\r\n`.
            let text: String = lines
                .iter()
                .map(|(line, crlf)| format!("{line}{}", if *crlf { "\r\n" } else { "\n" }))
                .collect();
            let boundary = |at: usize| {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                at
            };
            let span = |(start, len): (usize, usize)| {
                let start = boundary(start);
                Span::new(start, boundary(start + len).max(start))
            };
            let error = Pointed {
                src: source("t", text.clone()),
                first: span(first),
                second: second.map(span),
            };
            let rendered = crate::diagnostics::render(&error, false);
            for line in rendered.lines() {
                proptest::prop_assert!(line.chars().count() <= MAX_COLUMNS + 40, "{line}");
            }
            let trimmed = Trimmed::new(&error);
            if let Some((excerpt, labels)) = &trimmed.cut {
                let originals = std::iter::once(span(first)).chain(second.map(span));
                for (label, original) in labels.iter().zip(originals) {
                    let shown = &excerpt.text[label.offset()..label.offset() + label.len()];
                    let wanted = &text[original.start..original.end];
                    for (got, want) in [
                        (shown.chars().next(), wanted.chars().next()),
                        (shown.chars().next_back(), wanted.chars().next_back()),
                    ] {
                        proptest::prop_assert!(got == want || got == Some('…'), "{shown:?} for {wanted:?}");
                    }
                }
            }
        }
    }
}
