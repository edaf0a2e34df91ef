//! The description of each node (before any of it is built): a constant, an
//! embedding, an affine form, a product, a curve, a table (with the fusion
//! of small tables into their readers), an aggregate or a count.

use super::*;

impl Lowerer<'_> {
    // ----- description -------------------------------------------------

    pub(super) fn describe(&mut self, id: NodeId) -> Result<Desc, CompileError> {
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
    pub(super) fn numeric_head(&mut self, id: NodeId) -> Result<bool, CompileError> {
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
    pub(super) fn affine(&self, id: NodeId, func: &MapFn, args: &[NodeId]) -> Option<Desc> {
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
    pub(super) fn product(&self, id: NodeId, func: &MapFn, args: &[NodeId]) -> Option<Desc> {
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
    pub(super) fn curve(&self, id: NodeId, args: &[NodeId]) -> Option<Desc> {
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
    pub(super) fn table_of(
        &mut self,
        id: NodeId,
        args: &[NodeId],
    ) -> Result<table::Rows, CompileError> {
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
}
