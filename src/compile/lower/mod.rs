//! Lowering: the analysed graph to heads, MLP units and embeddings, each
//! node in the encoding its readers need.
//!
//! Every node is first *described* in dependency order (a constant, an
//! embedding, an affine form, a table, an attention head or a count), and
//! only *materialised* when some reader asks for one of its encodings:
//!
//! - **one-hot** ([`OneHot`]): one dimension per value;
//! - **number** ([`Number`]): a linear form over residual dimensions whose
//!   value is the number (a mean's output dimension, `Σ v·x_v` over a
//!   one-hot node: free, or a count's number: the piecewise-linear function
//!   of its code through its values, one unit per value);
//! - **code**: the `β/(w+β)` a counting head writes (`1/(w+1)` unless a
//!   reader of two counts chose a larger β, or the count is read as a number
//!   and large: β is then its largest value, which keeps the slope from code
//!   to count below `4β`).
//!
//! Affine maps of numbers (`a − b`, `2·x + 1`, `length − indices − 1`) cost
//! nothing: a form over their sources' forms. A number times a node of few
//! numeric values (`(indices + 1) * frac`) is two gated units per value; a
//! map of one number to numbers (`round(x)`) is the curve through its
//! points, one unit per change of slope. Other maps are tables over the
//! values their sources take together (as the value analysis found them),
//! one unit per row over exact one-hot inputs, or clean steps on one number
//! (or on two counts' codes together) gated by the others; a table read by
//! a few maps is fused into each while the fused table stays small. A number
//! becomes one-hot through steps between its neighbouring values; where
//! float arithmetic cannot keep two values apart (the interpreter's
//! `22·(15/22)` is not 15), a map is tabulated from its inputs' one-hot
//! values instead, so the model follows the interpreter's own arithmetic.
//!
//! Every encoding carries an error bound ([`precision`]); every place that
//! tells values apart states a requirement, and the model's attention
//! sharpness is chosen last to meet them all.

pub mod attend;
pub mod blocks;
mod convert;
mod describe;
mod numbers;
pub mod precision;
pub mod square;
pub mod table;

use std::collections::HashMap;
use std::rc::Rc;

use blocks::{lookup, lookup_gap, lookup_scale, lookup_variation, Form, Head, Point, Unit, ONE};
use precision::{feasible, sum_rounding, Err, Requirement};

use super::error::{CompileError, CompileErrorKind};
use super::graph::{Graph, NodeId, Op};
use super::values::set::number;
use super::values::{Analysis, Shape, ValueSet};
use crate::eval::atom::Atom;
use crate::eval::map::MapFn;
use crate::model::Dtype;
use crate::syntax::ast::{BinaryOp, UnaryOp};

/// A node's values, one dimension each (`dims[i]` holds `values[i]`; a
/// constant reads [`ONE`]).
#[derive(Debug, Clone)]
pub struct OneHot {
    pub dims: Vec<usize>,
    pub values: Rc<ValueSet>,
    /// How far any dimension may be from 0 or 1.
    pub err: Err,
    /// The sub-layer after which it is in the residual stream.
    pub avail: i64,
    /// A bound on the error of the number `Σ v·x_v` read from it, where
    /// one tighter than `err·Σ|v|` is known (a lookup's steps telescope).
    pub view_err: Option<Err>,
}

/// A node's value as a linear form.
#[derive(Debug, Clone)]
pub struct Number {
    pub form: Form,
    pub err: Err,
    pub avail: i64,
}

/// The one-hot tuple of several nodes and each value's tuple.
pub type Product = (OneHot, Rc<Vec<Vec<Atom>>>);

/// What a node is, before any of it is built.
#[derive(Debug, Clone)]
pub enum Desc {
    Const(Atom),
    /// A function of the token alone or of the index alone.
    Embed,
    /// `Σ coef·number(base) + constant` over nodes that are not affine;
    /// `fixed` bounds the interpreter's float rounding against exact
    /// arithmetic.
    Affine {
        terms: Vec<(NodeId, f64)>,
        constant: f64,
        fixed: f64,
    },
    /// A table over the values of `sources`.
    Table {
        table: Rc<table::Rows>,
    },
    /// An aggregate: a mean of numbers, or a categorical read.
    Aggregate {
        numeric: bool,
    },
    /// `selector_width` or `length`.
    Width,
    /// `number · gate` where `number` is read as a number and `gate` has
    /// few numeric values: two gated units per value of `gate`
    /// ([`Lowerer::product_number`]), not a table of their pairs.
    Product {
        number: NodeId,
        gate: NodeId,
    },
    /// A map of one number to numbers (`round(x)`, `x*x`): the
    /// piecewise-linear function through its points, one unit per change of
    /// slope ([`Lowerer::curve_number`]); `points` are `(x, f(x))`, sorted.
    Curve {
        input: NodeId,
        points: Rc<Vec<(f64, f64)>>,
    },
}

/// The model's output encoding.
#[derive(Debug, Clone)]
pub enum OutputEnc {
    Categorical {
        dims: Vec<usize>,
        values: Vec<Atom>,
    },
    /// `bound`: for a raw number (no `values` to snap to), its error;
    /// `kinds`: whether the number at each position is an int, a float or
    /// either, from the values the analysis found there.
    Numerical {
        form: Form,
        values: Vec<Atom>,
        bound: Option<Err>,
        kinds: Vec<crate::model::NumberKind>,
    },
}

/// The lowered program, ready to assemble.
pub struct Lowered {
    pub labels: Vec<String>,
    pub bos: Vec<f64>,
    pub heads: Vec<Vec<Head>>,
    pub units: Vec<Vec<Unit>>,
    /// (vocabulary row without BOS, dimension, value).
    pub embed: Vec<(usize, usize, f64)>,
    /// (index, dimension, value).
    pub pos_embed: Vec<(usize, usize, f64)>,
    pub output: OutputEnc,
    /// The attention score on selected keys.
    pub sharpness: f64,
    pub eps: f64,
    /// Units per node, to name the costliest.
    pub cost: Vec<(NodeId, usize)>,
    /// Per layer, the nodes its MLP units were built for and how many, in
    /// unit order.
    pub unit_owners: Vec<Vec<(NodeId, usize)>>,
    /// Whether some map is a [`Desc::Product`].
    pub used_products: bool,
    /// Every requirement the model meets (at `eps`, in its float type).
    pub reqs: Vec<Requirement>,
    /// The largest magnitude each dimension holds (by label).
    pub magnitude: Vec<f64>,
}

/// The most rows one table may have.
pub const MAX_ROWS: usize = 1 << 18;

/// The most readers a table may have and still be fused into each.
const MAX_FUSED_READERS: u32 = 4;
/// At most this many arguments are tried for fusion into one table.
const MAX_FUSIONS: usize = 16;

/// The most values the gate of a [`Desc::Product`] may have.
const PRODUCT_GATES: usize = 1024;

/// A raw numerical output's error may be at most this times its magnitude
/// (or 1).
pub const RAW_TOLERANCE: f64 = 1e-4;

/// How deep the fallbacks (tabulating a map whose number cannot be read)
/// may recurse.
const MAX_DEPTH: usize = 256;

pub struct Lowerer<'a> {
    pub graph: &'a Graph,
    pub an: &'a mut Analysis,
    pub dtype: Dtype,
    pub n: usize,
    pub desc: Vec<Desc>,
    readers: Vec<u32>,
    onehot: Vec<Option<OneHot>>,
    number: Vec<Option<Number>>,
    code: Vec<Option<Number>>,
    /// Each count's BOS weight β (1 unless a pair read chose more).
    pub beta: Vec<f64>,
    pub labels: Vec<String>,
    pub bos: Vec<f64>,
    /// The largest magnitude each dimension holds.
    pub magnitude: Vec<f64>,
    pub heads: Vec<Vec<Head>>,
    pub units: Vec<Vec<Unit>>,
    pub embed: Vec<(usize, usize, f64)>,
    pub pos_embed: Vec<(usize, usize, f64)>,
    pub reqs: Vec<Requirement>,
    pub products: HashMap<Vec<NodeId>, Product>,
    /// Per key node of a squared-difference select: its centred number and
    /// square, embedded by position ([`square::NumEq`]).
    pub squares: HashMap<NodeId, square::SquareKey>,
    depth: usize,
    index: Option<OneHot>,
    cost: Vec<(NodeId, usize)>,
    unit_owners: Vec<Vec<(NodeId, usize)>>,
    /// Whether products of a number by a gate may replace tables.
    gated_products: bool,
}

/// Lowers `graph`, whose values `an` holds, for a model of `dtype`;
/// `products`: whether a product of a number by a gate may be built as
/// gated units rather than a table (smaller or larger, depending on what
/// reads it: the compiler tries both).
pub fn lower(
    graph: &Graph,
    an: &mut Analysis,
    dtype: Dtype,
    products: bool,
) -> Result<Lowered, CompileError> {
    let count = graph.nodes.len();
    let mut l = Lowerer {
        graph,
        n: an.max_len,
        an,
        dtype,
        desc: Vec::with_capacity(count),
        readers: graph.reader_counts(),
        onehot: vec![None; count],
        number: vec![None; count],
        code: vec![None; count],
        beta: vec![1.0; count],
        labels: vec!["one".into(), "bos".into()],
        bos: vec![1.0, 1.0],
        magnitude: vec![1.0, 1.0],
        heads: Vec::new(),
        units: Vec::new(),
        embed: Vec::new(),
        pos_embed: Vec::new(),
        reqs: Vec::new(),
        products: HashMap::new(),
        squares: HashMap::new(),
        depth: 0,
        index: None,
        cost: Vec::new(),
        unit_owners: Vec::new(),
        gated_products: products,
    };
    let budget = crate::memory::Budget::start();
    for id in 0..count {
        budget.check_now().map_err(CompileError::exceeded)?;
        let d = l.describe(id)?;
        l.desc.push(d);
    }
    let output = l.output()?;
    let used_products = l.desc.iter().any(|d| matches!(d, Desc::Product { .. }));
    let eps = precision::solve(&l.reqs).map_err(|r| l.precision_error(r))?;
    let keys = l.n + 1;
    Ok(Lowered {
        labels: l.labels,
        bos: l.bos,
        heads: l.heads,
        units: l.units,
        embed: l.embed,
        pos_embed: l.pos_embed,
        output,
        sharpness: precision::sharpness(keys, eps),
        eps,
        cost: l.cost,
        unit_owners: l.unit_owners,
        used_products,
        reqs: l.reqs,
        magnitude: l.magnitude,
    })
}

/// The first MLP (`mlp`) or attention sub-layer after `after`.
pub fn next_sublayer(after: i64, mlp: bool) -> i64 {
    let mut s = after + 1;
    if (s.rem_euclid(2) == 1) != mlp {
        s += 1;
    }
    s
}

impl Lowerer<'_> {
    fn values(&self, id: NodeId) -> Rc<ValueSet> {
        self.an.nodes[id].all.clone()
    }

    fn label(&self, id: NodeId) -> &str {
        &self.graph.nodes[id].label
    }

    /// A new residual dimension.
    pub fn alloc(&mut self, label: String, at_bos: f64, magnitude: f64) -> usize {
        self.labels.push(label);
        self.bos.push(at_bos);
        self.magnitude.push(magnitude.abs().max(1.0));
        self.labels.len() - 1
    }

    /// Adds MLP units in the MLP of sub-layer `at` (odd).
    pub fn add_units(&mut self, id: NodeId, at: i64, units: Vec<Unit>) {
        let layer = usize::try_from(at / 2).unwrap_or(0);
        while self.units.len() <= layer {
            self.units.push(Vec::new());
            self.heads.push(Vec::new());
        }
        self.cost.push((id, units.len()));
        while self.unit_owners.len() <= layer {
            self.unit_owners.push(Vec::new());
        }
        match self.unit_owners[layer].last_mut() {
            Some((owner, count)) if *owner == id => *count += units.len(),
            _ => self.unit_owners[layer].push((id, units.len())),
        }
        self.units[layer].extend(units);
    }

    /// The code a count's head writes for `w` selected keys.
    pub fn code_point(&self, id: NodeId, w: f64) -> f64 {
        self.beta[id] / (w + self.beta[id])
    }

    /// Whether a count's code is built already (its β then fixed).
    pub fn has_code(&self, id: NodeId) -> bool {
        self.code[id].is_some()
    }

    /// The head added last to the attention of sub-layer `at`.
    pub fn last_head_mut(&mut self, at: i64) -> Option<&mut Head> {
        let layer = usize::try_from(at / 2).ok()?;
        self.heads.get_mut(layer)?.last_mut()
    }

    /// Adds a head to the attention of sub-layer `at` (even).
    pub fn add_head(&mut self, at: i64, head: Head) {
        let layer = usize::try_from(at / 2).unwrap_or(0);
        while self.heads.len() <= layer {
            self.units.push(Vec::new());
            self.heads.push(Vec::new());
        }
        self.heads[layer].push(head);
    }

    pub fn require(&mut self, node: NodeId, err: Err, tolerance: f64, what: String) {
        self.reqs.push(Requirement {
            err,
            tolerance,
            node,
            what,
        });
    }

    pub fn u(&self) -> f64 {
        precision::roundoff(self.dtype)
    }

    fn precision_error(&self, r: &Requirement) -> CompileError {
        let node = &self.graph.nodes[r.node];
        let help = match self.dtype {
            Dtype::F32 => Some(
                "float32 cannot hold these values apart; `--dtype f64` compiles a float64 model, \
                 or fewer or rounder values (a smaller `--max-len`, `round(...)`) keep them apart"
                    .to_string(),
            ),
            Dtype::F64 => Some(
                "the values are too close for float64; round them (`round(...)`) or use a \
                 smaller `--max-len`"
                    .to_string(),
            ),
        };
        CompileError::at_node(
            CompileErrorKind::Precision,
            node,
            format!(
                "{}: the model's error could reach {:.3e} where it must stay below {:.3e}",
                r.what,
                r.err.fixed.max(r.err.at(precision::EPS_FLOOR)),
                r.tolerance
            ),
            help,
        )
    }

    // ----- materialisation ---------------------------------------------

    /// The node's one-hot encoding, built on first use.
    pub fn onehot_of(&mut self, id: NodeId) -> Result<OneHot, CompileError> {
        if let Some(h) = &self.onehot[id] {
            return Ok(h.clone());
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::at_node(
                CompileErrorKind::TooLarge,
                &self.graph.nodes[id],
                "this chain of maps is too deep to tabulate".into(),
                None,
            ));
        }
        let h = self.build_onehot(id);
        self.depth -= 1;
        let h = h?;
        self.onehot[id] = Some(h.clone());
        Ok(h)
    }

    fn build_onehot(&mut self, id: NodeId) -> Result<OneHot, CompileError> {
        if matches!(self.an.nodes[id].shape, Shape::Span) {
            return Err(CompileError::at_node(
                CompileErrorKind::Unsupported,
                &self.graph.nodes[id],
                format!(
                    "`{}` takes too many values to list, and a reader needs each of them apart",
                    self.label(id)
                ),
                Some("compute it from fewer values (a smaller `--max-len`)".into()),
            ));
        }
        let values = self.values(id);
        match self.desc[id].clone() {
            Desc::Const(c) => Ok(OneHot {
                dims: vec![ONE],
                values: Rc::new(ValueSet::from_atoms([c])),
                err: Err::ZERO,
                avail: -1,
                view_err: None,
            }),
            Desc::Embed => Ok(self.embedding(id)),
            Desc::Table { table } => table::materialize(self, id, &table),
            Desc::Aggregate { numeric: false } => attend::aggregate_onehot(self, id),
            Desc::Width => {
                let code = self.code_of(id)?;
                let points: Vec<(f64, usize)> = values
                    .values()
                    .iter()
                    .enumerate()
                    .map(|(i, w)| (self.code_point(id, number(w)), i))
                    .collect();
                self.convert(id, &code, points, &values, "the counts")
            }
            Desc::Aggregate { numeric: true }
            | Desc::Affine { .. }
            | Desc::Product { .. }
            | Desc::Curve { .. } => {
                // An affine map of a count (`length - indices - 1`) is a
                // table reading the count's code: one MLP after its head.
                if let Desc::Affine { terms, .. } = &self.desc[id] {
                    let counts = terms
                        .iter()
                        .any(|(b, _)| matches!(self.desc[*b], Desc::Width) && !self.has_onehot(*b));
                    if counts {
                        let bases: Vec<NodeId> = terms.iter().map(|t| t.0).collect();
                        // Against the table: each count read as a number
                        // (a unit per value), then steps on their sum (two
                        // per value), one MLP later.
                        let apart: usize = bases
                            .iter()
                            .map(|b| self.values(*b).len() + 1)
                            .sum::<usize>()
                            + 2 * values.len();
                        if let Some(rows) = table::rows(self, id, &bases) {
                            let n = rows.rows.len();
                            if n <= 1024 || (n <= 4096 && n <= apart) {
                                return table::materialize(self, id, &Rc::new(rows));
                            }
                        }
                    }
                    // An affine map of embeddings (`tokens_int + indices/16`)
                    // is a table of their one-hot values (a unit per row,
                    // plus their dimensions) where that is cheaper than two
                    // steps per value.
                    let embeds = terms
                        .iter()
                        .all(|(b, _)| matches!(self.desc[*b], Desc::Embed));
                    if embeds && distinct_numbers(&values) {
                        let bases: Vec<NodeId> = terms.iter().map(|t| t.0).collect();
                        let new_dims: usize = bases
                            .iter()
                            .filter(|b| !self.has_onehot(**b))
                            .map(|b| self.values(*b).len())
                            .sum();
                        if let Some(rows) = table::rows(self, id, &bases) {
                            if rows.rows.len() + new_dims < 2 * values.len().saturating_sub(1) {
                                return table::materialize(self, id, &Rc::new(rows));
                            }
                        }
                    }
                }
                let num = self.number_of(id)?;
                let points: Vec<(f64, usize)> = values
                    .values()
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (number(v), i))
                    .collect();
                // Equal numbers of different types (a mean's `1` of one key
                // and `1.0` of two) are told apart by position where each
                // position has no such pair; else steps on the number, where
                // they can tell its values apart; else (a map) a table of
                // its inputs' one-hot values, the interpreter's own
                // arithmetic.
                let own: Vec<usize> = (0..values.len()).collect();
                if !distinct_numbers(&values) {
                    if let Some(lists) = self.index_lists(id, &values) {
                        if self.lookup_fits(&num, &lists, &own) {
                            return self.convert_by_index(id, &num, &values, lists);
                        }
                    }
                }
                let plain = vec![(None, sorted_points(points.clone()))];
                let fits = distinct_numbers(&values) && self.lookup_fits(&num, &plain, &own);
                if !fits {
                    if let Op::Map { args, .. } = &self.graph.nodes[id].op {
                        let args = args.clone();
                        let mut plain: Vec<NodeId> = Vec::new();
                        for a in args {
                            if !matches!(self.desc[a], Desc::Const(_)) && !plain.contains(&a) {
                                plain.push(a);
                            }
                        }
                        if let Some(rows) = table::rows(self, id, &plain) {
                            let rows = Rc::new(rows.all_onehot());
                            return table::materialize(self, id, &rows);
                        }
                    }
                }
                self.convert(id, &num, points, &values, "its values")
            }
        }
    }

    pub fn too_close(&self, id: NodeId, what: &str) -> CompileError {
        CompileError::at_node(
            CompileErrorKind::Precision,
            &self.graph.nodes[id],
            format!(
                "{what} of `{}` include values that are equal as numbers but differ",
                self.label(id)
            ),
            Some("give the values one type (all ints or all floats)".into()),
        )
    }

    /// A token or position embedding.
    fn embedding(&mut self, id: NodeId) -> OneHot {
        let values = self.values(id);
        let label = self.label(id).to_string();
        let dims = value_dims(self, &values, &label, false);
        let local = match &self.an.nodes[id].shape {
            Shape::Local(l) => Some(l.clone()),
            _ => None,
        };
        if let Some(local) = local {
            let by_token = local.reads.token;
            let rows = if by_token {
                self.an.vocab.len()
            } else {
                self.n
            };
            for r in 0..rows {
                let c = super::values::local::Context {
                    token: if by_token { r } else { 0 },
                    index: if by_token { 0 } else { r },
                    length: self.n,
                };
                if let Some(j) = local.at(c).and_then(|v| values.position(v)) {
                    if by_token {
                        self.embed.push((r, dims[j], 1.0));
                    } else {
                        self.pos_embed.push((r, dims[j], 1.0));
                    }
                }
            }
        }
        OneHot {
            dims,
            values,
            err: Err::ZERO,
            avail: -1,
            view_err: None,
        }
    }

    /// Whether the node's one-hot encoding exists already.
    pub fn has_onehot(&self, id: NodeId) -> bool {
        self.onehot[id].is_some()
    }
    fn output(&mut self) -> Result<OutputEnc, CompileError> {
        let out = self.graph.output;
        let values = self.values(out);
        if let Desc::Const(c) = self.desc[out].clone() {
            // A constant output still needs a dimension: 1 at every token.
            let d = self.alloc(format!("{}:{}", self.label(out), c.short()), 0.0, 1.0);
            for r in 0..self.an.vocab.len() {
                self.embed.push((r, d, 1.0));
            }
            return Ok(OutputEnc::Categorical {
                dims: vec![d],
                values: vec![c.clone()],
            });
        }
        if matches!(self.an.nodes[out].shape, Shape::Span) {
            // Too many values to snap to: the raw number, its error bounded.
            let num = self.number_of(out)?;
            let label = self.label(out).to_string();
            // Attention leakage (sharpness) may add as much as the float
            // rounding, within RAW_TOLERANCE of the magnitude.
            let most = RAW_TOLERANCE * values.magnitude().max(1.0);
            let tolerance = (2.0 * num.err.fixed).max(most * 1e-6).min(most);
            self.require(
                out,
                num.err,
                tolerance,
                format!("decoding `{label}` as a raw number"),
            );
            return Ok(OutputEnc::Numerical {
                form: num.form,
                values: Vec::new(),
                bound: Some(num.err),
                kinds: self.output_kinds(out),
            });
        }
        let affine = matches!(self.desc[out], Desc::Affine { .. });
        if (self.numberish(out) || affine) && values.is_numeric() {
            let num = self.number_of(out)?;
            // One decoded value per class of equal numbers.
            let mut reps: Vec<Atom> = Vec::new();
            for v in values.values() {
                if reps
                    .last()
                    .is_none_or(|r| !same_number(number(r), number(v)))
                {
                    reps.push(v.clone());
                }
            }
            let nums: Vec<f64> = reps.iter().map(number).collect();
            let gap = nums
                .windows(2)
                .map(|w| w[1] - w[0])
                .fold(f64::INFINITY, f64::min);
            if gap.is_infinite() || feasible(num.err, 0.3 * gap) {
                if gap.is_finite() {
                    let label = self.label(out).to_string();
                    self.require(
                        out,
                        num.err,
                        0.3 * gap,
                        format!("decoding `{label}` (its values are {gap:.3e} apart)"),
                    );
                }
                return Ok(OutputEnc::Numerical {
                    form: num.form,
                    values: reps,
                    bound: None,
                    kinds: self.output_kinds(out),
                });
            }
        }
        let h = self.onehot_of(out)?;
        let label = self.label(out).to_string();
        self.require(out, h.err, 0.25, format!("decoding `{label}`"));
        Ok(OutputEnc::Categorical {
            dims: h.dims,
            values: h.values.values().to_vec(),
        })
    }

    /// The number kind at each position of output `out` (empty when the
    /// analysis has no values per position, as for a span).
    fn output_kinds(&self, out: NodeId) -> Vec<crate::model::NumberKind> {
        let per_index = &self.an.nodes[out].per_index;
        if per_index.len() != self.an.max_len || per_index.iter().any(|v| v.is_empty()) {
            return Vec::new();
        }
        per_index
            .iter()
            .map(|v| crate::model::NumberKind::of(v.values()))
            .collect()
    }
}

/// Sorted points of a lookup (number, value index), with what switches
/// them on, if anything (a gate dimension; a position before it has one).
type GatedPoints = (Option<usize>, Vec<(f64, usize)>);

/// Points sorted by position.
fn sorted_points(mut points: Vec<(f64, usize)>) -> Vec<(f64, usize)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// Whether two numbers are one value for a numerical output (and so for
/// the model): equal, or within float rounding (`1e-9` relative), the same
/// licence `verify` compares numbers with.
pub fn same_number(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// For each value, the index of the first value equal to it as a number
/// under [`same_number`] (ints and floats only; values are in canonical
/// order, so equal numbers are neighbours).
pub fn class_ids(values: &ValueSet) -> Vec<usize> {
    let mut ids: Vec<usize> = Vec::with_capacity(values.len());
    let mut last: Option<(f64, usize)> = None;
    for (i, v) in values.values().iter().enumerate() {
        let x = plain_number(v);
        match (last, x) {
            (Some((y, first)), Some(x)) if same_number(x, y) => ids.push(first),
            _ => {
                last = x.map(|x| (x, i));
                ids.push(i);
            }
        }
    }
    ids
}

/// One dimension per value, or (`merge`) per class of [`class_ids`]: an
/// int and a float of one value, or floats within rounding, share one.
pub fn value_dims(l: &mut Lowerer, values: &ValueSet, label: &str, merge: bool) -> Vec<usize> {
    let ids: Vec<usize> = if merge {
        class_ids(values)
    } else {
        (0..values.len()).collect()
    };
    let mut dims: Vec<usize> = Vec::with_capacity(values.len());
    for (i, v) in values.values().iter().enumerate() {
        if ids[i] == i {
            dims.push(l.alloc(format!("{label}:{}", v.short()), 0.0, 1.0));
        } else {
            dims.push(dims[ids[i]]);
        }
    }
    dims
}

/// [`value_dims`] merged by class.
pub fn class_dims(l: &mut Lowerer, values: &ValueSet, label: &str) -> Vec<usize> {
    value_dims(l, values, label, true)
}

/// An int's or a float's value (not a bool's: `True` and `1` print
/// differently and are not one number for an output).
pub fn plain_number(a: &Atom) -> Option<f64> {
    match a {
        Atom::Int(i) => Some(*i as f64),
        Atom::Float(x) => Some(*x),
        _ => None,
    }
}

/// The smallest and largest number of a set.
pub fn number_range(set: &ValueSet) -> (f64, f64) {
    set.values()
        .iter()
        .map(number)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

/// Whether no two values of the set are equal as numbers.
pub fn distinct_numbers(set: &ValueSet) -> bool {
    let mut nums: Vec<f64> = set.values().iter().map(number).collect();
    nums.sort_by(f64::total_cmp);
    nums.windows(2).all(|w| w[0] != w[1])
}
