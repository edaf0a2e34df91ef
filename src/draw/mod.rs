//! Drawings of an s-op's computation flow on one input, as the original RASP
//! draws them: one box per attention layer, in it one box per head (the
//! selector's keys and queries, its selection matrix on the input, and for
//! each aggregate the values it averages and the result), then the
//! element-wise steps (maps) computed after the heads.
//!
//! [`flow`] builds a [`Flow`], plain data with every value already computed
//! and formatted; [`svg`] and [`dot`] render it. The layers and heads are the
//! paper's schedule from [`crate::analyze::schedule`], so a drawing has as many
//! layers and heads as `rasp analyze` reports.

pub mod dot;
pub mod svg;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::analyze::{schedule, Schedule, ScheduledHead};
use crate::eval::atom::Atom;
use crate::eval::error::EvalError;
use crate::eval::interp::is_library_source;
use crate::eval::run::{eval_selector, eval_sop};
use crate::eval::sop::{Node, NodeId, Origin, SOp, SOpKind, Selector, SelectorKind, TokenConv};

/// The longest input a drawing shows (a wider one would not be readable).
pub const MAX_INPUT_LEN: usize = 40;
/// The most nodes a drawn graph may have.
pub const MAX_NODES: usize = 400;

/// An s-op's computation on one input, laid out by layer and head.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The drawn s-op's name.
    pub name: String,
    /// The input tokens, as shown.
    pub input: Vec<String>,
    /// Layer 0 (the input and what is computed from it without attention)
    /// first, then each attention layer.
    pub layers: Vec<FlowLayer>,
}

/// One layer: its heads, then the element-wise steps after them.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowLayer {
    /// 0 for the input, else the attention layer's number.
    pub number: usize,
    pub heads: Vec<FlowHead>,
    /// Maps computed in this layer's MLP (in layer 0: the input s-ops and
    /// maps of them).
    pub steps: Vec<Row>,
}

/// One attention head.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowHead {
    /// The selector, described (`select(indices, length - indices - 1, ==)`).
    pub selector: String,
    /// The comparison of a plain `select` (`==`, `<`, ...); empty for a
    /// combination or the all-true selector.
    pub op: String,
    /// The s-ops compared as keys (one value per key position).
    pub keys: Vec<Row>,
    /// The s-ops compared as queries (one value per query position).
    pub queries: Vec<Row>,
    /// `matrix[q][k]`: whether query `q` selects key `k`.
    pub matrix: Vec<Vec<bool>>,
    /// What the head computes with that selection.
    pub uses: Vec<HeadUse>,
}

/// An aggregate or a selector width computed by a head.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadUse {
    /// The averaged values (`None` for a width).
    pub values: Option<Row>,
    /// The result.
    pub result: Row,
    /// The aggregate's default, shown (`None` for a width).
    pub default: Option<String>,
}

/// One s-op's values on the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: NodeId,
    pub label: String,
    pub values: Vec<String>,
    /// For a map: the labels of the s-ops it reads.
    pub from: Vec<String>,
    /// For a map: the ids of the s-ops it reads.
    pub reads: Vec<NodeId>,
    /// Whether this is the drawn s-op.
    pub output: bool,
}

/// What can go wrong while drawing.
#[derive(Debug)]
pub enum DrawError {
    /// The s-op fails on the input.
    Eval(EvalError),
    /// The input or graph is too large to draw, or the input is empty.
    Limit { message: String, at: Option<Origin> },
    /// `draw(sop)` without an input where there is no running example.
    NoInput { at: Option<Origin> },
    /// The file could not be written.
    Write { path: String, reason: String },
}

impl fmt::Display for DrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrawError::Eval(e) => e.fmt(f),
            DrawError::Limit { message, .. } => f.write_str(message),
            DrawError::NoInput { .. } => f.write_str("`draw` needs an input here"),
            DrawError::Write { path, reason } => write!(f, "cannot write `{path}`: {reason}"),
        }
    }
}

impl std::error::Error for DrawError {}

impl From<EvalError> for DrawError {
    fn from(e: EvalError) -> DrawError {
        DrawError::Eval(e)
    }
}

impl Diagnostic for DrawError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            DrawError::Eval(e) => e.code(),
            DrawError::Limit { .. } => Some(Box::new("rasp::draw::too_large")),
            DrawError::NoInput { .. } => Some(Box::new("rasp::draw::no_input")),
            DrawError::Write { .. } => Some(Box::new("rasp::draw::write")),
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            DrawError::Eval(e) => e.help(),
            DrawError::Limit { .. } => Some(Box::new(format!(
                "draw a shorter input (at most {MAX_INPUT_LEN} tokens) or a part of the program"
            ))),
            DrawError::NoInput { .. } => Some(Box::new(
                "give one, as in `draw(reverse, \"hello\");`, or pass `--input` to `rasp run`",
            )),
            DrawError::Write { .. } => None,
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match self {
            DrawError::Eval(e) => e.source_code(),
            DrawError::Limit { at, .. } | DrawError::NoInput { at } => {
                at.as_ref().map(|o| &*o.source as &dyn SourceCode)
            }
            DrawError::Write { .. } => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self {
            DrawError::Eval(e) => e.labels(),
            DrawError::Limit { at, .. } | DrawError::NoInput { at } => {
                let origin = at.as_ref()?;
                Some(Box::new(std::iter::once(
                    LabeledSpan::new_primary_with_span(Some("drawn here".into()), origin.span),
                )))
            }
            DrawError::Write { .. } => None,
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            DrawError::Eval(e) => e.related(),
            _ => None,
        }
    }
}

/// Builds the drawing of `sop` (named `name`) on `input`. `at` is where the
/// drawing was asked for, for diagnostics.
pub fn flow(sop: &SOp, name: &str, input: &[Atom], at: Option<&Origin>) -> Result<Flow, DrawError> {
    let limit = |message: String| DrawError::Limit {
        message,
        at: at.cloned(),
    };
    if input.is_empty() {
        return Err(limit("cannot draw on an empty input".into()));
    }
    if input.len() > MAX_INPUT_LEN {
        return Err(limit(format!(
            "the input has {} tokens, more than the {MAX_INPUT_LEN} a drawing shows",
            input.len()
        )));
    }
    let plan = schedule(sop);
    if plan.order.len() > MAX_NODES {
        return Err(limit(format!(
            "`{name}` is built from {} operations, more than the {MAX_NODES} a drawing shows",
            plan.order.len()
        )));
    }
    // Fails here, with the evaluator's diagnostic, if the s-op fails at all.
    eval_sop(sop, input)?;
    let label = |s: &SOp| match s.kind() {
        _ if s.id() == sop.id() => name.to_string(),
        SOpKind::Tokens(TokenConv::Str) => "tokens".to_string(),
        _ => s.label(),
    };
    let shown = shown_maps(sop, &plan);
    // Each s-op is evaluated once, however many tables show it.
    let evaluated: RefCell<HashMap<NodeId, Vec<String>>> = RefCell::default();
    let row = |s: &SOp| -> Result<Row, DrawError> {
        let known = evaluated.borrow().get(&s.id()).cloned();
        let values = match known {
            Some(values) => values,
            None => {
                let values: Vec<String> =
                    eval_sop(s, input)?.values.iter().map(Atom::short).collect();
                evaluated.borrow_mut().insert(s.id(), values.clone());
                values
            }
        };
        let read = match s.kind() {
            SOpKind::Map { .. } => shown_inputs(s, &shown),
            _ => Vec::new(),
        };
        Ok(Row {
            id: s.id(),
            label: label(s),
            values,
            from: read.iter().map(&label).collect(),
            reads: read.iter().map(|a| a.id()).collect(),
            output: s.id() == sop.id(),
        })
    };
    let layer_count = plan.heads.len();
    let mut layers: Vec<FlowLayer> = (0..=layer_count)
        .map(|number| FlowLayer {
            number,
            heads: Vec::new(),
            steps: Vec::new(),
        })
        .collect();
    for (i, heads) in plan.heads.iter().enumerate() {
        for head in heads {
            layers[i + 1].heads.push(flow_head(head, input, &row)?);
        }
    }
    for node in &plan.order {
        let Node::SOp(s) = node else { continue };
        let drawn = match s.kind() {
            SOpKind::Tokens(_) | SOpKind::Indices => true,
            SOpKind::Map { .. } => shown.contains(&s.id()),
            // A constant is part of the maps that read it; the rest are
            // computed by heads.
            _ => s.id() == sop.id() && plan.layer_of(s.id()) == 0,
        };
        if drawn {
            let at = plan.layer_of(s.id()).min(layer_count);
            layers[at].steps.push(row(s)?);
        }
    }
    // The input is always shown, even when the s-op does not read the tokens
    // (`length`, maps of `indices`).
    let reads_tokens = plan
        .order
        .iter()
        .any(|n| matches!(n, Node::SOp(s) if matches!(s.kind(), SOpKind::Tokens(_))));
    if !reads_tokens {
        layers[0].steps.insert(
            0,
            Row {
                id: 0,
                label: "tokens (not read)".to_string(),
                values: input.iter().map(Atom::short).collect(),
                from: Vec::new(),
                reads: Vec::new(),
                output: false,
            },
        );
    }
    Ok(Flow {
        name: name.to_string(),
        input: input.iter().map(Atom::short).collect(),
        layers,
    })
}

/// The maps a drawing shows: the drawn s-op, maps a head reads (as keys,
/// queries or values) or a later layer reads, and maps the user named. The
/// others are intermediate steps of one element-wise computation (the
/// compiler fuses them into one MLP), typically inside library functions.
fn shown_maps(root: &SOp, plan: &Schedule) -> HashSet<NodeId> {
    let mut shown = HashSet::from([root.id()]);
    for node in &plan.order {
        match node {
            Node::SOp(s) => {
                let at = plan.layer_of(s.id());
                match s.kind() {
                    SOpKind::Map { args, .. } => {
                        let named = s.name().is_some()
                            && s.origin().is_some_and(|o| !is_library_source(&o.source));
                        if named {
                            shown.insert(s.id());
                        }
                        for a in args {
                            if plan.layer_of(a.id()) < at {
                                shown.insert(a.id());
                            }
                        }
                    }
                    SOpKind::Aggregate { values, .. } => {
                        shown.insert(values.id());
                    }
                    _ => {}
                }
            }
            Node::Selector(sel) => {
                if let SelectorKind::Select { keys, queries, .. } = sel.kind() {
                    shown.insert(keys.id());
                    shown.insert(queries.id());
                }
            }
        }
    }
    shown
}

/// The s-ops a shown map reads, seen through the hidden maps between
/// (constants left out), each once.
fn shown_inputs(map: &SOp, shown: &HashSet<NodeId>) -> Vec<SOp> {
    let mut out: Vec<SOp> = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<SOp> = match map.kind() {
        SOpKind::Map { args, .. } => args.iter().rev().cloned().collect(),
        _ => Vec::new(),
    };
    while let Some(s) = stack.pop() {
        if !seen.insert(s.id()) {
            continue;
        }
        match s.kind() {
            SOpKind::Const(_) => {}
            SOpKind::Map { args, .. } if !shown.contains(&s.id()) => {
                stack.extend(args.iter().rev().cloned());
            }
            _ => out.push(s),
        }
    }
    out
}

/// One head: its selector on the input and what it computes.
fn flow_head(
    head: &ScheduledHead,
    input: &[Atom],
    row: &dyn Fn(&SOp) -> Result<Row, DrawError>,
) -> Result<FlowHead, DrawError> {
    let n = input.len();
    let (keys, queries, op, matrix) = match &head.selector {
        Some(selector) => {
            let (keys, queries) = compared(selector);
            let op = match selector.kind() {
                SelectorKind::Select { op, .. } => op.symbol().to_string(),
                _ => String::new(),
            };
            let selection = eval_selector(selector, input)?;
            let matrix = (0..n)
                .map(|q| (0..n).map(|k| selection.get(q, k)).collect())
                .collect();
            let rows = |list: Vec<SOp>| list.iter().map(row).collect::<Result<Vec<_>, _>>();
            (rows(keys)?, rows(queries)?, op, matrix)
        }
        None => (
            Vec::new(),
            Vec::new(),
            String::new(),
            vec![vec![true; n]; n],
        ),
    };
    let mut uses = Vec::new();
    for used in &head.uses {
        let (values, default) = match used.kind() {
            SOpKind::Aggregate {
                values, default, ..
            } => (Some(row(values)?), Some(default.short())),
            _ => (None, None),
        };
        uses.push(HeadUse {
            values,
            result: row(used)?,
            default,
        });
    }
    Ok(FlowHead {
        selector: head.description.clone(),
        op,
        keys,
        queries,
        matrix,
        uses,
    })
}

/// The s-ops a selector compares, as keys and as queries, each once, in
/// order of appearance (a combination of selects compares all of theirs).
fn compared(selector: &Selector) -> (Vec<SOp>, Vec<SOp>) {
    let mut keys: Vec<SOp> = Vec::new();
    let mut queries: Vec<SOp> = Vec::new();
    let mut seen: HashSet<(bool, NodeId)> = HashSet::new();
    let mut stack = vec![selector.clone()];
    while let Some(sel) = stack.pop() {
        match sel.kind() {
            SelectorKind::Select {
                keys: k,
                queries: q,
                ..
            } => {
                if seen.insert((true, k.id())) {
                    keys.push(k.clone());
                }
                if seen.insert((false, q.id())) {
                    queries.push(q.clone());
                }
            }
            SelectorKind::And(a, b) | SelectorKind::Or(a, b) => {
                stack.push(b.clone());
                stack.push(a.clone());
            }
            SelectorKind::Not(a) => stack.push(a.clone()),
        }
    }
    (keys, queries)
}

/// The drawing formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Svg,
    Dot,
}

impl Format {
    /// The format a file name asks for: `.dot`/`.gv` is DOT, `.svg` (or no
    /// extension) SVG; `None` for any other extension, which would hold
    /// something it does not say (SVG in a `.png`).
    pub fn for_path(path: &Path) -> Option<Format> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
        {
            Some(e) if e == "dot" || e == "gv" => Some(Format::Dot),
            Some(e) if e == "svg" => Some(Format::Svg),
            None => Some(Format::Svg),
            Some(_) => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Dot => "dot",
        }
    }

    /// The flow rendered in this format.
    pub fn render(self, flow: &Flow) -> String {
        match self {
            Format::Svg => svg::render(flow),
            Format::Dot => dot::render(flow),
        }
    }
}

/// The default file for a drawing of `name`: `name.svg` in the current
/// directory, with characters other than letters, digits, `-`, `_` and `.`
/// replaced by `_` (`sort(tokens, tokens)` → `sort_tokens_tokens.svg`).
pub fn default_path(name: &str, format: Format) -> PathBuf {
    let mut stem = String::new();
    for c in name.chars() {
        let keep = c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        let c = if keep { c } else { '_' };
        if !(c == '_' && stem.ends_with('_')) {
            stem.push(c);
        }
    }
    let stem = stem.trim_matches(|c| c == '_' || c == '.');
    let stem: String = stem.chars().take(60).collect();
    let stem = if stem.is_empty() { "flow" } else { &stem };
    PathBuf::from(format!("{stem}.{}", format.extension()))
}

/// Renders `flow` and writes it to `path`.
pub fn write(flow: &Flow, path: &Path, format: Format) -> Result<(), DrawError> {
    std::fs::write(path, format.render(flow)).map_err(|e| DrawError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// `text` cut to `max` characters, with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl FlowHead {
    /// What the head's matrix shows: `key < query`, `every key`, or
    /// `combined` (a selector of several comparisons).
    pub fn predicate(&self) -> String {
        if !self.op.is_empty() {
            format!("key {} query", self.op)
        } else if self.keys.is_empty() {
            "every key".to_string()
        } else {
            "combined".to_string()
        }
    }
}

/// `text` escaped for HTML, XML (SVG, the viewer's XHTML) and graphviz's
/// HTML-like labels: `&`, `<`, `>` and `"` escaped, tabs and newlines made
/// spaces, and the characters XML does not allow (other controls) dropped.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' => out.push(' '),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Carries out a program's `draw(sop [, input]);` (an [`Event::Draw`]): draws
/// on the given input, else on `fallback` (the REPL's running example, the
/// first `--input` of `rasp run`), into [`default_path`]; returns the path.
///
/// [`Event::Draw`]: crate::eval::Event::Draw
pub fn draw_statement(
    sop: &SOp,
    name: &str,
    input: Option<&[Atom]>,
    fallback: Option<&[Atom]>,
    at: &Origin,
) -> Result<PathBuf, DrawError> {
    let input = input.or(fallback).ok_or_else(|| DrawError::NoInput {
        at: Some(at.clone()),
    })?;
    let drawn = flow(sop, name, input, Some(at))?;
    let path = default_path(name, Format::Svg);
    write(&drawn, &path, Format::Svg)?;
    Ok(path)
}

#[cfg(test)]
mod tests;
