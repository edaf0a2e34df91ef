//! Supports and tuple spaces: which values of several nodes occur together.
//!
//! A map's value at a position is a function of the values there of the
//! quantities it is built from: local nodes (functions of the token, index
//! and length), attention outputs (grouped by selector, see `means`) and
//! *free* quantities (a node whose own table was too large to carry along,
//! taken as independent of everything else). That list is the map's
//! *support*. Its tuple space lists, without repetition, every tuple of
//! their values that can occur at one position, with the query indices at
//! which each occurs: local nodes vary together with the token and length,
//! groups and free quantities independently of each other.

use std::collections::HashMap;

use crate::compile::graph::{NodeId, SelId};

/// The quantities a map is a function of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Support {
    /// Local nodes, ascending.
    pub locals: Vec<NodeId>,
    /// Free quantities, ascending.
    pub frees: Vec<NodeId>,
    /// Attention outputs, by selector (ascending), members ascending.
    pub groups: Vec<(SelId, Vec<NodeId>)>,
}

impl Support {
    /// The coordinates of a tuple, in order: locals, frees, then each
    /// group's members.
    pub fn coords(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self.locals.clone();
        out.extend(&self.frees);
        for (_, members) in &self.groups {
            out.extend(members);
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.locals.is_empty() && self.frees.is_empty() && self.groups.is_empty()
    }

    /// The union of two supports.
    pub fn union(&self, other: &Support) -> Support {
        let merge = |a: &[NodeId], b: &[NodeId]| {
            let mut v: Vec<NodeId> = a.iter().chain(b).copied().collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut groups = self.groups.clone();
        for (sel, members) in &other.groups {
            match groups.iter_mut().find(|(s, _)| s == sel) {
                Some((_, m)) => *m = merge(m, members),
                None => groups.push((*sel, members.clone())),
            }
        }
        groups.sort_by_key(|(s, _)| *s);
        let mut out = Support {
            locals: merge(&self.locals, &other.locals),
            frees: merge(&self.frees, &other.frees),
            groups,
        };
        // A node free in one and a member or local in the other is free.
        let frees = out.frees.clone();
        out.locals.retain(|l| !frees.contains(l));
        for (_, m) in &mut out.groups {
            m.retain(|x| !frees.contains(x));
        }
        out.groups.retain(|(_, m)| !m.is_empty());
        out
    }
}

/// Every tuple of a support's values that occurs, and where.
#[derive(Debug, Clone, Default)]
pub struct TupleSpace {
    pub support: Support,
    pub coords: Vec<NodeId>,
    /// Each tuple: for each coordinate, the index of its value in that
    /// node's value set.
    pub tuples: Vec<Box<[u32]>>,
    /// The tuples occurring at each query index.
    pub by_index: Vec<Vec<u32>>,
    lookup: HashMap<Box<[u32]>, u32>,
}

impl TupleSpace {
    pub fn new(support: Support, max_len: usize) -> TupleSpace {
        TupleSpace {
            coords: support.coords(),
            support,
            tuples: Vec::new(),
            by_index: vec![Vec::new(); max_len],
            lookup: HashMap::new(),
        }
    }

    /// Records `tuple` as occurring at index `i`.
    pub fn add(&mut self, i: usize, tuple: &[u32]) {
        let id = match self.lookup.get(tuple) {
            Some(id) => *id,
            None => {
                let id = self.tuples.len() as u32;
                let boxed: Box<[u32]> = tuple.into();
                self.lookup.insert(boxed.clone(), id);
                self.tuples.push(boxed);
                id
            }
        };
        let at = &mut self.by_index[i];
        if at.last() != Some(&id) {
            at.push(id);
        }
    }

    /// Sorts and deduplicates each index's list.
    pub fn finish(&mut self) {
        for list in &mut self.by_index {
            list.sort_unstable();
            list.dedup();
        }
    }

    /// The id of a tuple.
    pub fn find(&self, tuple: &[u32]) -> Option<u32> {
        self.lookup.get(tuple).copied()
    }

    pub fn len(&self) -> usize {
        self.tuples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tuples.is_empty()
    }
}

/// The positions of `part`'s coordinates among `whole`'s (`None` if one is
/// missing).
pub fn projection(part: &[NodeId], whole: &[NodeId]) -> Option<Vec<usize>> {
    part.iter()
        .map(|c| whole.iter().position(|w| w == c))
        .collect()
}

/// Calls `f` with every combination of one entry from each list (an
/// odometer; once with nothing for no lists).
pub fn for_each_product(lists: &[Vec<Vec<u32>>], mut f: impl FnMut(&[u32])) {
    if lists.iter().any(Vec::is_empty) {
        return;
    }
    let mut digits = vec![0usize; lists.len()];
    let mut tuple: Vec<u32> = Vec::new();
    loop {
        tuple.clear();
        for (list, &d) in lists.iter().zip(&digits) {
            tuple.extend_from_slice(&list[d]);
        }
        f(&tuple);
        let mut i = lists.len();
        loop {
            if i == 0 {
                return;
            }
            i -= 1;
            digits[i] += 1;
            if digits[i] < lists[i].len() {
                break;
            }
            digits[i] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_groups_by_selector() {
        let a = Support {
            locals: vec![1],
            frees: vec![],
            groups: vec![(0, vec![5])],
        };
        let b = Support {
            locals: vec![1, 2],
            frees: vec![],
            groups: vec![(0, vec![6]), (3, vec![7])],
        };
        let u = a.union(&b);
        assert_eq!(u.locals, [1, 2]);
        assert_eq!(u.groups, [(0, vec![5, 6]), (3, vec![7])]);
        assert_eq!(u.coords(), [1, 2, 5, 6, 7]);
    }

    #[test]
    fn products_visit_every_combination() {
        let lists = vec![
            vec![vec![0], vec![1]],
            vec![vec![7, 8], vec![9, 9], vec![3, 3]],
        ];
        let mut seen = Vec::new();
        for_each_product(&lists, |t| seen.push(t.to_vec()));
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[0], [0, 7, 8]);
        assert_eq!(seen[5], [1, 3, 3]);
    }
}
