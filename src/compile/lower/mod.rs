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
pub mod precision;
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
    /// `bound`: for a raw number (no `values` to snap to), its error.
    Numerical {
        form: Form,
        values: Vec<Atom>,
        bound: Option<Err>,
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
    /// Whether some map is a [`Desc::Product`].
    pub used_products: bool,
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
    /// square, embedded by position ([`attend::NumEq`]).
    pub squares: HashMap<NodeId, attend::SquareKey>,
    depth: usize,
    index: Option<OneHot>,
    cost: Vec<(NodeId, usize)>,
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
        gated_products: products,
    };
    let budget = crate::memory::Budget::start();
    for id in 0..count {
        budget.check().map_err(CompileError::memory)?;
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
        used_products,
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

    // ----- description -------------------------------------------------

    fn describe(&mut self, id: NodeId) -> Result<Desc, CompileError> {
        if let Shape::Const(c) = &self.an.nodes[id].shape {
            return Ok(Desc::Const(c.clone()));
        }
        let node = &self.graph.nodes[id];
        Ok(match &node.op {
            Op::Const(c) => Desc::Const(c.clone()),
            Op::Tokens(_) | Op::Indices => Desc::Embed,
            Op::Length | Op::Width(_) => Desc::Width,
            Op::Aggregate { .. } => Desc::Aggregate {
                numeric: self.numeric_head(id)?,
            },
            Op::Map { func, args } => {
                if let Shape::Local(l) = &self.an.nodes[id].shape {
                    let r = l.reads;
                    if !r.length && r.token != r.index {
                        return Ok(Desc::Embed);
                    }
                }
                if let Some(a) = self.affine(id, func, args) {
                    return Ok(a);
                }
                if let Some(p) = self.product(id, func, args) {
                    return Ok(p);
                }
                if let Some(c) = self.curve(id, args) {
                    return Ok(c);
                }
                let args = args.clone();
                Desc::Table {
                    table: Rc::new(self.table_of(id, &args)?),
                }
            }
        })
    }

    /// Whether an aggregate is computed as a mean of numbers (else it reads
    /// one-hot values, which needs every selected key to hold one value).
    fn numeric_head(&mut self, id: NodeId) -> Result<bool, CompileError> {
        let Op::Aggregate {
            values,
            default,
            selector,
        } = &self.graph.nodes[id].op
        else {
            return Ok(false);
        };
        let out = self.values(id);
        let ins = self.values(*values);
        let numeric_in = ins
            .values()
            .iter()
            .all(|a| matches!(a, Atom::Int(_) | Atom::Float(_) | Atom::Bool(_)));
        let numeric_default = matches!(default, Atom::Int(_) | Atom::Float(_));
        if out.is_numeric() && numeric_in && numeric_default {
            return Ok(true);
        }
        let facts = self.an.facts(self.graph, *selector);
        let identical = !ins.has_numbers() || facts.at_most_one;
        if identical {
            return Ok(false);
        }
        Err(CompileError::at_node(
            CompileErrorKind::Unsupported,
            &self.graph.nodes[id],
            "this aggregate mixes values that a mean cannot hold apart (numbers equal as \
             numbers but of different types, or a non-numeric default)"
                .into(),
            Some("give the values and the default one type (all ints or all floats)".into()),
        ))
    }

    /// The affine form of a map of numbers, if it is one.
    fn affine(&self, id: NodeId, func: &MapFn, args: &[NodeId]) -> Option<Desc> {
        let out = &self.an.nodes[id].all;
        if !out.is_numeric() {
            return None;
        }
        let konst = |a: NodeId| match &self.desc[a] {
            Desc::Const(c) => match c {
                Atom::Int(_) | Atom::Float(_) => Some(number(c)),
                _ => None,
            },
            _ => None,
        };
        let coefs: Vec<f64> = match (func, args) {
            (MapFn::Binary(BinaryOp::Add), [_, _]) => vec![1.0, 1.0],
            (MapFn::Binary(BinaryOp::Sub), [_, _]) => vec![1.0, -1.0],
            (MapFn::Binary(BinaryOp::Mul), [a, b]) => match (konst(*a), konst(*b)) {
                (Some(x), None) => vec![0.0, x],
                (None, Some(y)) => vec![y, 0.0],
                _ => return None,
            },
            (MapFn::Binary(BinaryOp::Div), [_, b]) => match konst(*b) {
                Some(y) if y != 0.0 => vec![1.0 / y, 0.0],
                _ => return None,
            },
            (MapFn::Unary(UnaryOp::Neg), [_]) => vec![-1.0],
            (MapFn::Unary(UnaryOp::Pos), [_]) => vec![1.0],
            _ => return None,
        };
        let mut terms: Vec<(NodeId, f64)> = Vec::new();
        let mut constant = 0.0;
        let mut fixed = 0.0;
        let add = |terms: &mut Vec<(NodeId, f64)>, n: NodeId, c: f64| match terms
            .iter_mut()
            .find(|t| t.0 == n)
        {
            Some(t) => t.1 += c,
            None => terms.push((n, c)),
        };
        for (&a, &c) in args.iter().zip(&coefs) {
            if let Some(k) = konst(a) {
                if c == 0.0 {
                    continue;
                }
                constant += c * k;
                continue;
            }
            if c == 0.0 {
                // The constant factor of a product: its other operand.
                continue;
            }
            match &self.desc[a] {
                Desc::Affine {
                    terms: inner,
                    constant: k,
                    fixed: f,
                } => {
                    for &(n, d) in inner {
                        add(&mut terms, n, c * d);
                    }
                    constant += c * k;
                    fixed += c.abs() * f;
                }
                Desc::Const(_) => return None,
                _ => {
                    let set = &self.an.nodes[a].all;
                    let numeric = set
                        .values()
                        .iter()
                        .all(|v| matches!(v, Atom::Int(_) | Atom::Float(_) | Atom::Bool(_)));
                    if !numeric || set.is_empty() {
                        return None;
                    }
                    add(&mut terms, a, c);
                }
            }
        }
        terms.retain(|t| t.1 != 0.0);
        // The interpreter's float rounding against exact arithmetic.
        if out.values().iter().any(|v| matches!(v, Atom::Float(_))) {
            fixed += out.magnitude() * 4.0 * f64::EPSILON;
        }
        if terms.len() > 4096 {
            return None;
        }
        Some(Desc::Affine {
            terms,
            constant,
            fixed,
        })
    }

    /// A product of a number by a node of few numeric values, where its
    /// table of pairs would be larger than two units per gate value.
    fn product(&self, id: NodeId, func: &MapFn, args: &[NodeId]) -> Option<Desc> {
        let (MapFn::Binary(BinaryOp::Mul), [a, b], true) = (func, args, self.gated_products) else {
            return None;
        };
        if a == b || !self.an.nodes[id].all.is_numeric() {
            return None;
        }
        let (number, gate) = match (self.numberish(*a), self.numberish(*b)) {
            (true, false) => (*a, *b),
            (false, true) => (*b, *a),
            _ => return None,
        };
        if matches!(self.desc[gate], Desc::Const(_)) {
            return None;
        }
        let gates = self.values(gate);
        let numeric = gates
            .values()
            .iter()
            .all(|v| matches!(v, Atom::Int(_) | Atom::Float(_) | Atom::Bool(_)));
        if !numeric || gates.is_empty() || gates.len() > PRODUCT_GATES {
            return None;
        }
        let units = 2 * gates.len() + 2 * self.values(id).len();
        let rows = table::rows(self, id, &[number, gate]).map_or(usize::MAX, |r| r.rows.len());
        (rows > units).then_some(Desc::Product { number, gate })
    }

    /// A map of one number whose values are more than two numbers (ints or
    /// floats), as the curve through its points, where no two inputs equal
    /// as numbers map apart.
    fn curve(&self, id: NodeId, args: &[NodeId]) -> Option<Desc> {
        let mut live = args
            .iter()
            .copied()
            .filter(|a| !matches!(self.desc[*a], Desc::Const(_)));
        let input = live.next()?;
        if live.any(|a| a != input) || !self.numberish(input) {
            return None;
        }
        let out = self.values(id);
        if out.len() <= 2 || !out.values().iter().all(|v| plain_number(v).is_some()) {
            return None;
        }
        let rows = table::rows(self, id, &[input])?;
        let ins = self.values(input);
        let mut points: Vec<(f64, f64)> = Vec::with_capacity(rows.rows.len());
        for (key, o) in &rows.rows {
            let x = number(ins.values().get(*key.first()? as usize)?);
            let y = plain_number(out.values().get(*o as usize)?)?;
            if !x.is_finite() || !y.is_finite() {
                return None;
            }
            points.push((x, y));
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        points.dedup();
        if points.windows(2).any(|w| w[0].0 == w[1].0) {
            return None;
        }
        Some(Desc::Curve {
            input,
            points: Rc::new(points),
        })
    }

    /// A table description: the map's rows over its sources, fusing a map
    /// argument that only this map reads while the table stays small.
    fn table_of(&mut self, id: NodeId, args: &[NodeId]) -> Result<table::Rows, CompileError> {
        let mut plain: Vec<NodeId> = Vec::new();
        for &a in args {
            if !matches!(self.desc[a], Desc::Const(_)) && !plain.contains(&a) {
                plain.push(a);
            }
        }
        let base = table::rows(self, id, &plain)
            .ok_or_else(|| CompileError::internal("a map's inputs are not in its tuple space"))?;
        if base.rows.len() > MAX_ROWS {
            return Err(CompileError::too_large_tuples(
                &self.graph.nodes[id],
                base.rows.len(),
            ));
        }
        // Fuse: replace a table argument by its sources (a table read by a
        // few maps is then computed again in each, saving its dimensions and
        // an MLP), and an affine map of counts and embeddings by its bases.
        // Affine arguments go first (their counts are then read together),
        // then tables that read a number (fused, the number is read where
        // this map reads it, one MLP sooner), then the others.
        let base = Rc::new(base);
        let mut best = (*base).clone();
        let mut order = plain.clone();
        order.sort_by_key(|&a| match &self.desc[a] {
            Desc::Affine { .. } => 0,
            Desc::Table { table } if table.sources.iter().any(|s| self.numberish(*s)) => 1,
            _ => 2,
        });
        // Sources a fusion brings in are considered in turn, so a chain of
        // maps folds into one table where its rows stay few.
        let mut next = 0;
        let mut tried: Vec<NodeId> = Vec::new();
        while next < order.len() && tried.len() < MAX_FUSIONS {
            let a = order[next];
            next += 1;
            if tried.contains(&a) || !best.sources.contains(&a) {
                continue;
            }
            tried.push(a);
            let inner_sources: Vec<NodeId> = match &self.desc[a] {
                Desc::Table { table: inner } if self.readers[a] <= MAX_FUSED_READERS => {
                    inner.sources.clone()
                }
                Desc::Affine { terms, .. } if !self.numberish(a) => {
                    terms.iter().map(|t| t.0).collect()
                }
                _ => continue,
            };
            let inner_rows = match &self.desc[a] {
                Desc::Table { table: inner } => inner.rows.len(),
                _ => 0,
            };
            let mut sources: Vec<NodeId> =
                best.sources.iter().copied().filter(|s| *s != a).collect();
            for &s in &inner_sources {
                if !sources.contains(&s) {
                    sources.push(s);
                }
            }
            // At most one number and two counts are read as numbers.
            let numbers = sources.iter().filter(|s| self.numberish(**s)).count();
            let counts = sources
                .iter()
                .filter(|s| matches!(self.desc[**s], Desc::Width))
                .count();
            if sources.len() > 6 || numbers > 1 || counts > 2 {
                continue;
            }
            let Some(fused) = table::rows(self, id, &sources) else {
                continue;
            };

            // An affine argument's bases are read together (two counts as
            // one code, say), so its rows are not a duplicated table's.
            let floor = match &self.desc[a] {
                Desc::Affine { terms, .. }
                    if terms.iter().any(|t| matches!(self.desc[t.0], Desc::Width)) =>
                {
                    4096
                }
                _ => 512,
            };
            let limit = (4 * (best.rows.len() + inner_rows)).max(floor);
            if fused.rows.len() <= limit {
                for &s in &inner_sources {
                    if !order.contains(&s) {
                        order.push(s);
                    }
                }
                best = table::Rows {
                    unfused: Some(base.clone()),
                    ..fused
                };
            }
        }
        Ok(best)
    }

    /// Whether a node is best read as a number (no exact one-hot form).
    pub fn numberish(&self, id: NodeId) -> bool {
        match &self.desc[id] {
            Desc::Aggregate { numeric } => *numeric,
            Desc::Affine { terms, .. } => terms.iter().any(|(b, _)| self.numberish(*b)),
            Desc::Product { .. } | Desc::Curve { .. } => true,
            _ => false,
        }
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

    /// One-hot values from a number at known points (value index per
    /// point) through steps; numbers equal under [`same_number`] share a
    /// dimension.
    fn convert(
        &mut self,
        id: NodeId,
        num: &Number,
        points: Vec<(f64, usize)>,
        values: &Rc<ValueSet>,
        what: &str,
    ) -> Result<OneHot, CompileError> {
        let label = self.label(id).to_string();
        let dims = class_dims(self, values, &label);
        let lists = vec![(None, sorted_points(points))];
        let what = format!("telling apart {what} of `{label}`");
        self.steps_to_onehot(id, num, dims, values, lists, &what)
    }

    /// Per position, the sorted points (number, value index) of a node
    /// whose values at each position are distinct numbers, each list with
    /// its position (the gate).
    fn index_lists(&self, id: NodeId, values: &Rc<ValueSet>) -> Option<Vec<GatedPoints>> {
        let per_index = &self.an.nodes[id].per_index;
        if !per_index.iter().all(|s| distinct_numbers(s)) {
            return None;
        }
        Some(
            per_index
                .iter()
                .enumerate()
                .map(|(i, set)| {
                    let points = set
                        .values()
                        .iter()
                        .filter_map(|v| values.position(v).map(|p| (number(v), p)))
                        .collect();
                    (Some(i), sorted_points(points))
                })
                .collect(),
        )
    }

    /// One-hot values of a number told apart per position (one dimension
    /// per value, equal numbers included).
    fn convert_by_index(
        &mut self,
        id: NodeId,
        num: &Number,
        values: &Rc<ValueSet>,
        lists: Vec<GatedPoints>,
    ) -> Result<OneHot, CompileError> {
        let index = self.index_hot();
        let lists = lists
            .into_iter()
            .map(|(i, points)| (i.map(|i| index.dims[i]), points))
            .collect();
        let label = self.label(id).to_string();
        let dims = value_dims(self, values, &label, false);
        let what = format!("telling apart the values of `{label}` at one position");
        self.steps_to_onehot(id, num, dims, values, lists, &what)
    }

    /// Whether steps on `num` at these points (value index per point, told
    /// apart where `class` differs) meet their requirements: the number's
    /// error within the gaps, the steps' rounding within the ramps.
    fn lookup_fits(&self, num: &Number, lists: &[GatedPoints], class: &[usize]) -> bool {
        let x_mag = num.form.magnitude(&self.magnitude);
        let mut gap = f64::INFINITY;
        let mut scale: f64 = 0.0;
        for (_, list) in lists {
            for w in list.windows(2) {
                if class[w[0].1] != class[w[1].1] {
                    let g = w[1].0 - w[0].0;
                    gap = gap.min(g);
                    scale = scale.max((4.0 / g) * (x_mag + w[1].0.abs() + g));
                }
            }
        }
        if gap <= 0.0 {
            return false;
        }
        let rounding = sum_rounding(self.dtype, scale, num.form.terms.len() + 3);
        (gap.is_infinite() || feasible(num.err, 0.3 * gap))
            && feasible(Err::fixed(rounding), 1.0 / 16.0)
    }

    /// The units of a lookup from a number to one-hot `dims` (one per value
    /// of `values`): for each list of sorted points (value index per point),
    /// steps gated by its gate dimension, if any.
    fn steps_to_onehot(
        &mut self,
        id: NodeId,
        num: &Number,
        dims: Vec<usize>,
        values: &Rc<ValueSet>,
        lists: Vec<GatedPoints>,
        what: &str,
    ) -> Result<OneHot, CompileError> {
        let x_mag = num.form.magnitude(&self.magnitude);
        let range = number_range(values);
        let gated = lists.iter().any(|(g, _)| g.is_some());
        let mut units = Vec::new();
        let mut gap = f64::INFINITY;
        let mut scale: f64 = 0.0;
        let mut variation: f64 = 0.0;
        for (gate, list) in &lists {
            let points: Vec<Point> = list
                .iter()
                .map(|&(x, p)| Point {
                    x,
                    out: vec![(dims[p], 1.0)],
                })
                .collect();
            let number_at = |out: &[(usize, f64)]| {
                let p = out
                    .first()
                    .and_then(|o| dims.iter().position(|d| *d == o.0));
                p.map_or(f64::NAN, |p| number(&values.values()[p]))
            };
            variation = variation.max(lookup_variation(&points, number_at));
            gap = gap.min(lookup_gap(&points));
            scale = scale.max(lookup_scale(&points, x_mag));
            let gate: Vec<usize> = gate.iter().copied().collect();
            units.extend(lookup(&num.form, &points, &gate, range));
        }
        if gap <= 0.0 {
            return Err(self.too_close(id, "its values"));
        }
        let label = self.label(id).to_string();
        if gap.is_finite() {
            self.require(id, num.err, 0.3 * gap, format!("{what} (gap {gap:.3e})"));
        }
        let terms = num.form.terms.len() + 2 + usize::from(gated);
        let rounding = sum_rounding(self.dtype, scale, terms);
        self.require(
            id,
            Err::fixed(rounding),
            1.0 / 16.0,
            format!("the steps reading `{label}`"),
        );
        let at = next_sublayer(num.avail, true);
        self.add_units(id, at, units);
        Ok(OneHot {
            dims,
            values: values.clone(),
            err: Err::fixed(rounding),
            avail: at,
            view_err: variation
                .is_finite()
                .then(|| Err::fixed(rounding * (variation + 1.0))),
        })
    }

    /// A one-hot of the position (built once).
    fn index_hot(&mut self) -> OneHot {
        if let Some(h) = &self.index {
            return h.clone();
        }
        let dims: Vec<usize> = (0..self.n)
            .map(|i| self.alloc(format!("index:{i}"), 0.0, 1.0))
            .collect();
        for (i, &d) in dims.iter().enumerate() {
            self.pos_embed.push((i, d, 1.0));
        }
        let h = OneHot {
            dims,
            values: Rc::new(ValueSet::from_atoms(
                (0..self.n).map(|i| Atom::Int(i as i64)),
            )),
            err: Err::ZERO,
            avail: -1,
            view_err: None,
        };
        self.index = Some(h.clone());
        h
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

    /// A token or position embedding of the number itself: one dimension.
    fn number_embedding(&mut self, id: NodeId) -> Number {
        let values = self.values(id);
        let label = self.label(id).to_string();
        let magnitude = values.magnitude();
        let dim = self.alloc(label, 0.0, magnitude);
        if let Shape::Local(local) = &self.an.nodes[id].shape {
            let local = local.clone();
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
                if let Some(v) = local.at(c) {
                    let table = if by_token {
                        &mut self.embed
                    } else {
                        &mut self.pos_embed
                    };
                    table.push((r, dim, number(v)));
                }
            }
        }
        Number {
            form: Form::dim(dim),
            // The embedding's float rounding.
            err: Err::fixed(magnitude * self.u()),
            avail: -1,
        }
    }

    /// The node's number, built on first use.
    pub fn number_of(&mut self, id: NodeId) -> Result<Number, CompileError> {
        if let Some(n) = &self.number[id] {
            return Ok(n.clone());
        }
        let n = match self.desc[id].clone() {
            Desc::Const(c) => Number {
                form: Form::constant(number(&c)),
                err: Err::ZERO,
                avail: -1,
            },
            Desc::Affine {
                terms,
                constant,
                fixed,
            } => {
                let mut form = Form::constant(constant);
                let mut err = Err::fixed(fixed);
                let mut avail = -1;
                for (b, c) in terms {
                    let nb = self.number_of(b)?;
                    form.add_scaled(&nb.form, c);
                    err = err.plus(nb.err.times(c));
                    avail = avail.max(nb.avail);
                }
                let mag = form.magnitude(&self.magnitude);
                err = err.plus(Err::fixed(sum_rounding(self.dtype, mag, form.terms.len())));
                Number { form, err, avail }
            }
            Desc::Aggregate { numeric: true } => attend::aggregate_number(self, id)?,
            Desc::Product { number, gate } => self.product_number(id, number, gate)?,
            Desc::Curve { input, points } => self.curve_number(id, input, &points)?,
            Desc::Width if !self.has_onehot(id) => self.width_number(id)?,
            // A number read off many one-hot dimensions rounds badly:
            // embed it as a number instead.
            Desc::Embed
                if self.values(id).has_numbers()
                    && (!self.has_onehot(id) || self.values(id).len() > 16) =>
            {
                self.number_embedding(id)
            }
            _ => {
                let h = self.onehot_of(id)?;
                let mut form = Form::default();
                let mut total = 0.0;
                let mut used: Vec<usize> = Vec::new();
                for (i, v) in h.values.values().iter().enumerate() {
                    if h.dims[i] != ONE && used.contains(&h.dims[i]) {
                        continue;
                    }
                    used.push(h.dims[i]);
                    let x = number(v);
                    if x.is_nan() {
                        return Err(CompileError::internal("a number read of non-numbers"));
                    }
                    total += x.abs();
                    if h.dims[i] == ONE {
                        form.constant += x;
                    } else if x != 0.0 {
                        form.terms.push((h.dims[i], x));
                    }
                }
                Number {
                    form,
                    err: h.view_err.unwrap_or(h.err.times(total)),
                    avail: h.avail,
                }
            }
        };
        self.number[id] = Some(n.clone());
        Ok(n)
    }

    /// A count as a number, read off its code by the piecewise-linear
    /// function through its points (one unit per value): the number's error
    /// is the code's times the steepest slope, plus the units' rounding.
    fn width_number(&mut self, id: NodeId) -> Result<Number, CompileError> {
        let values = self.values(id);
        // The slope between counts w and w+1 is (w+β)(w+β+1)/β: about w²
        // for β = 1, at most 4w for β = w. Large counts take β = their
        // largest value, where the code is not built yet.
        let top = number_range(&values).1;
        if !self.has_code(id) && top > 16.0 {
            self.beta[id] = top;
        }
        let code = self.code_of(id)?;
        let mut points: Vec<(f64, f64)> = values
            .values()
            .iter()
            .map(|w| (self.code_point(id, number(w)), number(w)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let gap = points
            .windows(2)
            .map(|p| p[1].0 - p[0].0)
            .fold(f64::INFINITY, f64::min);
        if gap <= 0.0 {
            return Err(self.too_close(id, "its counts"));
        }
        let margin = if gap.is_finite() { gap / 2.0 } else { 0.5 };
        let f = blocks::Piecewise::through(&points, margin);
        let label = self.label(id).to_string();
        // MLP units are off at BOS (assembly gates them): 0 there.
        let dim = self.alloc(label, 0.0, values.magnitude());
        let x_mag = code.form.magnitude(&self.magnitude);
        let x_hi = points.last().map_or(1.0, |p| p.0);
        let rounding = f.rounding(self.dtype, x_mag, x_hi, code.form.terms.len());
        let err = code.err.times(f.steepest).plus(Err::fixed(rounding));
        let at = next_sublayer(code.avail, true);
        let units = f.units(&code.form, dim);
        self.add_units(id, at, units);
        Ok(Number {
            form: Form::dim(dim),
            err,
            avail: at,
        })
    }

    /// `x·g` for a number `x` and a one-hot `g` of numeric values: per
    /// dimension `d` of `g` (value `f`), the units `ReLU(±f·x + G·(d − 1))`
    /// with `G` above every `|f·x|`, whose difference is `f·x` where `d` is
    /// on and 0 where it is off. The error is `|f|` times `x`'s, plus `G`
    /// times the gate's distance from 0 or 1.
    fn product_number(
        &mut self,
        id: NodeId,
        x: NodeId,
        gate: NodeId,
    ) -> Result<Number, CompileError> {
        let nx = self.number_of(x)?;
        // The gate's one-hot values, or those of a node built already (or
        // `tokens`, `indices`) that the gate is a function of: `indices + 1`
        // is gated by `indices`.
        let mut base = gate;
        if !self.has_onehot(gate) {
            let mut candidates: Vec<NodeId> = (0..self.graph.nodes.len())
                .filter(|&c| {
                    c != gate
                        && (self.has_onehot(c)
                            || matches!(self.graph.nodes[c].op, Op::Tokens(_) | Op::Indices))
                })
                .collect();
            candidates.sort_by_key(|&c| !self.has_onehot(c));
            if let Some(&c) = candidates.iter().find(|&&c| {
                attend::view_on(self, gate, c).is_some_and(|v| v.iter().all(Option::is_some))
            }) {
                base = c;
            }
        }
        let hot = self.onehot_of(base)?;
        let view = attend::view_on(self, gate, base)
            .ok_or_else(|| CompileError::internal("a product's gate is not a view of its base"))?;
        let (lo, hi) = number_range(&self.values(x));
        let x_max = lo.abs().max(hi.abs()) + 1.0;
        let mut factors: Vec<(usize, f64)> = Vec::new();
        for (i, v) in view.iter().enumerate() {
            let d = hot.dims[i];
            let Some(v) = v else { continue };
            if !factors.iter().any(|f| f.0 == d) {
                factors.push((d, number(v)));
            }
        }
        let f_max = factors.iter().fold(0.0f64, |m, f| m.max(f.1.abs()));
        let big = 2.0 * f_max * x_max + 1.0;
        let label = self.label(id).to_string();
        let dim = self.alloc(label.clone(), 0.0, f_max * x_max);
        let mut form = Form::default();
        let mut units = Vec::with_capacity(2 * factors.len());
        for &(d, f) in &factors {
            if f == 0.0 {
                continue;
            }
            if d == ONE {
                form.add_scaled(&nx.form, f);
                continue;
            }
            for sign in [1.0, -1.0] {
                let mut w_in: Vec<(usize, f64)> = nx
                    .form
                    .terms
                    .iter()
                    .map(|&(t, c)| (t, sign * f * c))
                    .collect();
                w_in.push((d, big));
                units.push(Unit {
                    w_in,
                    bias: sign * f * nx.form.constant - big,
                    w_out: vec![(dim, sign)],
                });
            }
        }
        form.add_scaled(&Form::dim(dim), 1.0);
        if hot.err.eps > 0.0 || hot.err.fixed > 0.0 {
            self.require(
                id,
                hot.err,
                0.25,
                format!("the gates of the product `{label}`"),
            );
        }
        let rounding = sum_rounding(self.dtype, 2.0 * big, nx.form.terms.len() + 2);
        let err = nx
            .err
            .times(f_max)
            .plus(hot.err.times(big))
            .plus(Err::fixed(rounding));
        let at = next_sublayer(nx.avail.max(hot.avail), true);
        self.add_units(id, at, units);
        Ok(Number {
            form,
            err,
            avail: at,
        })
    }

    /// A map of one number through its points: the input's error times the
    /// steepest slope, plus the units' rounding.
    fn curve_number(
        &mut self,
        id: NodeId,
        input: NodeId,
        points: &[(f64, f64)],
    ) -> Result<Number, CompileError> {
        let nx = self.number_of(input)?;
        let gap = points
            .windows(2)
            .map(|p| p[1].0 - p[0].0)
            .fold(f64::INFINITY, f64::min);
        let margin = if gap.is_finite() { gap / 2.0 } else { 0.5 };
        let f = blocks::Piecewise::through(points, margin);
        let label = self.label(id).to_string();
        let dim = self.alloc(label, 0.0, self.values(id).magnitude());
        let x_mag = nx.form.magnitude(&self.magnitude);
        let x_hi = points.last().map_or(1.0, |p| p.0);
        let rounding = f.rounding(self.dtype, x_mag, x_hi, nx.form.terms.len());
        let err = nx.err.times(f.steepest).plus(Err::fixed(rounding));
        let at = next_sublayer(nx.avail, true);
        let units = f.units(&nx.form, dim);
        self.add_units(id, at, units);
        Ok(Number {
            form: Form::dim(dim),
            err,
            avail: at,
        })
    }

    /// The code `β/(w+β)` of a width, built on first use.
    pub fn code_of(&mut self, id: NodeId) -> Result<Number, CompileError> {
        if let Some(c) = &self.code[id] {
            return Ok(c.clone());
        }
        let c = attend::width_code(self, id)?;
        self.code[id] = Some(c.clone());
        Ok(c)
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
