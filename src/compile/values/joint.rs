//! Tuple spaces and joint values: what several nodes take together at one
//! position, through the selectors whose outputs they are.

use super::*;

impl Analysis {
    /// The tuple space of a support (built once).
    pub fn space(&mut self, graph: &Graph, support: &Support) -> Result<Rc<TupleSpace>, usize> {
        if let Some(s) = self.spaces.get(support) {
            return Ok(s.clone());
        }
        let mut space = TupleSpace::new(support.clone(), self.max_len);
        // The joint values of each group (a group too large to take jointly
        // is split into independent members).
        let mut groups: Vec<Rc<Vec<Vec<Vec<Atom>>>>> = Vec::new();
        let mut group_members: Vec<Vec<NodeId>> = Vec::new();
        for (sel, members) in &support.groups {
            match self.joint(graph, *sel, members) {
                Ok(j) => {
                    groups.push(j);
                    group_members.push(members.clone());
                }
                Err(_) => {
                    for m in members {
                        let j = self.joint(graph, *sel, &[*m])?;
                        groups.push(j);
                        group_members.push(vec![*m]);
                    }
                }
            }
        }
        let reads =
            support
                .locals
                .iter()
                .fold(Reads::default(), |r, l| match &self.nodes[*l].shape {
                    Shape::Local(t) => r.union(t.reads),
                    _ => r,
                });
        for i in 0..self.max_len {
            let mut lists: Vec<Vec<Vec<u32>>> = Vec::new();
            // Locals, together.
            let mut joint: Vec<Vec<u32>> = Vec::new();
            for c in contexts_at(reads, self.vocab.len(), self.max_len, i) {
                let values: Option<Vec<u32>> = support
                    .locals
                    .iter()
                    .map(|l| match &self.nodes[*l].shape {
                        Shape::Local(t) => t
                            .at(c)
                            .and_then(|a| self.nodes[*l].all.position(a))
                            .map(|p| p as u32),
                        _ => None,
                    })
                    .collect();
                if let Some(v) = values {
                    joint.push(v);
                }
            }
            joint.sort_unstable();
            joint.dedup();
            lists.push(joint);
            for f in &support.frees {
                let set = &self.nodes[*f].per_index[i];
                lists.push(
                    set.values()
                        .iter()
                        .filter_map(|a| self.nodes[*f].all.position(a))
                        .map(|p| vec![p as u32])
                        .collect(),
                );
            }
            for (g, members) in groups.iter().zip(&group_members) {
                let tuples: Vec<Vec<u32>> = g[i]
                    .iter()
                    .filter_map(|t| {
                        t.iter()
                            .zip(members)
                            .map(|(a, m)| self.nodes[*m].all.position(a).map(|p| p as u32))
                            .collect()
                    })
                    .collect();
                lists.push(tuples);
            }
            let size: usize = lists
                .iter()
                .map(Vec::len)
                .try_fold(1usize, |acc, l| acc.checked_mul(l))
                .unwrap_or(usize::MAX);
            if size.saturating_add(space.len()) > TUPLE_BUDGET {
                return Err(size.saturating_add(space.len()));
            }
            // Reorder group coordinates to the support's member order: the
            // split groups keep the members' order, which is ascending.
            for_each_product(&lists, |t| space.add(i, t));
        }
        space.finish();
        let space = Rc::new(space);
        self.spaces.insert(support.clone(), space.clone());
        Ok(space)
    }

    /// The joint values of `members` (attention outputs over `sel`) at each
    /// query index: one vector of member values per combination.
    pub(super) fn joint(
        &mut self,
        graph: &Graph,
        sel: SelId,
        members: &[NodeId],
    ) -> Result<Rc<Vec<Vec<Vec<Atom>>>>, usize> {
        let key = (sel, members.to_vec());
        if let Some(j) = self.joints.get(&key) {
            return Ok(j.clone());
        }
        let facts = self.facts(graph, sel);
        // The value columns the members read, and each member's form.
        let mut columns: Vec<NodeId> = Vec::new();
        let mut forms: Vec<Member> = Vec::with_capacity(members.len());
        for &m in members {
            match &graph.nodes[m].op {
                Op::Aggregate {
                    values, default, ..
                } => {
                    let column = match columns.iter().position(|c| c == values) {
                        Some(p) => p,
                        None => {
                            columns.push(*values);
                            columns.len() - 1
                        }
                    };
                    let set = &self.nodes[*values].all;
                    forms.push(Member::Aggregate {
                        column,
                        default: default.clone(),
                        numeric: set.has_numbers(),
                        float: set.values().iter().any(|a| matches!(a, Atom::Float(_))),
                    });
                }
                _ => forms.push(Member::Width),
            }
        }
        let n = self.max_len;
        let exact_positions = facts.exact.is_some()
            && columns.iter().all(|c| match &self.nodes[*c].shape {
                Shape::Const(_) => true,
                Shape::Local(l) => l.reads.position_only(),
                _ => false,
            });
        let position_columns = columns.iter().all(|c| match &self.nodes[*c].shape {
            Shape::Const(_) => true,
            Shape::Local(l) => l.reads.position_only(),
            _ => false,
        });
        if !exact_positions && position_columns && n.pow(4) / 24 <= 20_000_000 {
            let nodes = &self.nodes;
            let side = |x: NodeId| match nodes.get(x).map(|v| &v.shape) {
                Some(Shape::Const(c)) => Side::Const(c),
                Some(Shape::Local(l)) => Side::Local(l),
                _ => Side::Other,
            };
            if let Some(anchor) = selectors::anchor(graph, sel, n, &side) {
                if let Some(out) = self.anchored(&anchor, &facts, &columns, &forms) {
                    let out = Rc::new(out);
                    self.joints.insert(key, out.clone());
                    return Ok(out);
                }
            }
        }
        let mut out: Vec<Vec<Vec<Atom>>> = vec![Vec::new(); n];
        if exact_positions {
            let exact = facts.exact.as_deref().unwrap_or(&[]);
            for (len_minus_one, rows) in exact.iter().enumerate() {
                let len = len_minus_one + 1;
                for (i, keys) in rows.iter().enumerate() {
                    let mut vector = Vec::with_capacity(members.len());
                    for form in &forms {
                        match form {
                            Member::Width => vector.push(Atom::Int(keys.len() as i64)),
                            Member::Aggregate {
                                column, default, ..
                            } => {
                                let values: Option<Vec<Atom>> = keys
                                    .iter()
                                    .map(|&k| {
                                        self.position_value(columns[*column], k as usize, len)
                                    })
                                    .collect();
                                let Some(values) = values else { break };
                                let refs: Vec<&Atom> = values.iter().collect();
                                match interpreter_aggregate(&refs, default) {
                                    Some(v) => vector.push(v),
                                    None => break,
                                }
                            }
                        }
                    }
                    if vector.len() == members.len() {
                        out[i].push(vector);
                    }
                }
            }
            for list in &mut out {
                dedup_vectors(list);
            }
        } else {
            // The tuples the value columns take together at each key.
            let at_key = self.key_tuples(graph, &columns)?;
            let by_id: HashMap<usize, Vec<Atom>> = at_key
                .iter()
                .flatten()
                .map(|(id, t)| (*id, t.clone()))
                .collect();
            // Every key one query selects holds one tuple of the columns:
            // the members are that tuple's values (as the interpreter
            // averages `m` equal values), not means of several.
            let uniform = !columns.is_empty() && self.uniform_keys(graph, sel, &columns);
            for i in 0..n {
                let mut ids: Vec<usize> = (0..n)
                    .filter(|&k| facts.keys[i][k])
                    .flat_map(|k| at_key[k].iter().map(|(id, _)| *id))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                let tuples: Vec<Vec<Atom>> =
                    ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
                out[i] = if uniform {
                    uniform_values(&forms, &tuples, &facts.counts[i])
                } else {
                    joint_values(&forms, &tuples, &facts.counts[i], &mut self.levels, &ids)
                        .map_err(|e| e.size)?
                };
            }
        }
        let out = Rc::new(out);
        self.joints.insert(key, out.clone());
        Ok(out)
    }

    /// The joint values of a group whose selector always selects the keys
    /// `anchor[n-1][i]` and may select others, over position-only value
    /// columns: the anchored keys' values, plus any number of the others,
    /// which must all hold the same values (else `None`: not this case).
    pub(super) fn anchored(
        &self,
        anchor: &[Vec<Vec<u16>>],
        facts: &SelFacts,
        columns: &[NodeId],
        forms: &[Member],
    ) -> Option<Vec<Vec<Vec<Atom>>>> {
        let n_max = self.max_len;
        let mut out: Vec<Vec<Vec<Atom>>> = vec![Vec::new(); n_max];
        for (len_minus_one, rows) in anchor.iter().enumerate() {
            let len = len_minus_one + 1;
            for (i, fixed) in rows.iter().enumerate() {
                let column_at = |k: usize| -> Option<Vec<Atom>> {
                    columns
                        .iter()
                        .map(|c| self.position_value(*c, k, len))
                        .collect()
                };
                let fixed_values: Vec<Vec<Atom>> = fixed
                    .iter()
                    .map(|&k| column_at(k as usize))
                    .collect::<Option<_>>()?;
                let others: Vec<usize> = (0..len)
                    .filter(|&k| facts.keys[i][k] && fixed.binary_search(&(k as u16)).is_err())
                    .collect();
                let mut other_values: Vec<Vec<Atom>> = Vec::new();
                for &k in &others {
                    let v = column_at(k)?;
                    if !other_values.iter().any(|o| same_atoms(o, &v)) {
                        other_values.push(v);
                    }
                }
                if other_values.len() > 1 {
                    return None;
                }
                for extra in 0..=others.len() {
                    let mut vector = Vec::with_capacity(forms.len());
                    for form in forms {
                        match form {
                            Member::Width => vector.push(Atom::Int((fixed.len() + extra) as i64)),
                            Member::Aggregate {
                                column, default, ..
                            } => {
                                let mut picked: Vec<&Atom> =
                                    fixed_values.iter().map(|v| &v[*column]).collect();
                                if let Some(o) = other_values.first() {
                                    picked.extend(std::iter::repeat_n(&o[*column], extra));
                                }
                                match interpreter_aggregate(&picked, default) {
                                    Some(v) => vector.push(v),
                                    None => break,
                                }
                            }
                        }
                    }
                    if vector.len() == forms.len() {
                        out[i].push(vector);
                    }
                }
            }
        }
        for list in &mut out {
            dedup_vectors(list);
        }
        Some(out)
    }

    /// The value of a position-only node at position `k` of a length-`n` input.
    pub(super) fn position_value(&self, node: NodeId, k: usize, n: usize) -> Option<Atom> {
        match &self.nodes[node].shape {
            Shape::Const(c) => Some(c.clone()),
            Shape::Local(l) => l
                .at(local::Context {
                    token: 0,
                    index: k,
                    length: n,
                })
                .cloned(),
            _ => None,
        }
    }

    /// For each key position, the distinct tuples of `columns`' values that
    /// occur there, each with a global id.
    pub(super) fn key_tuples(
        &mut self,
        graph: &Graph,
        columns: &[NodeId],
    ) -> Result<KeyTuples, usize> {
        let n = self.max_len;
        let mut support = Support::default();
        for &c in columns {
            support = support.union(&self.support_of(graph, c));
        }
        let space = match self.space(graph, &support) {
            Ok(s) => s,
            Err(_) => {
                let mut cut = Support::default();
                for &c in columns {
                    cut = cut.union(&self.support_cut(c));
                }
                self.space(graph, &cut)?
            }
        };
        let readers: Vec<ValueReader> = columns
            .iter()
            .map(|&c| self.reader(c, &space))
            .collect::<Result<_, _>>()
            .map_err(|()| 0usize)?;
        let mut out: Vec<Vec<(usize, Vec<Atom>)>> = vec![Vec::new(); n];
        let mut cache: HashMap<u32, Option<Vec<Atom>>> = HashMap::new();
        for k in 0..n {
            for &t in &space.by_index[k] {
                let tuple = cache
                    .entry(t)
                    .or_insert_with(|| {
                        readers
                            .iter()
                            .map(|r| r.read(self, &space.tuples[t as usize]))
                            .collect()
                    })
                    .clone();
                let Some(tuple) = tuple else { continue };
                let key: Vec<(u8, crate::eval::atom::AtomKey)> =
                    tuple.iter().map(|a| (tag(a), a.key())).collect();
                let next = self.key_tuple_ids.len();
                let id = *self.key_tuple_ids.entry(key).or_insert(next);
                if !out[k].iter().any(|(x, _)| *x == id) {
                    out[k].push((id, tuple));
                }
            }
        }
        Ok(out)
    }
}
