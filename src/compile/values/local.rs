//! Local values: s-ops that are a function of one position alone, of its
//! token, its index and the sequence length (`tokens`, `indices`, `length`
//! and maps of them), tabulated over those contexts.
//!
//! A table lists the node's value at every context it depends on: the
//! vocabulary entry `t` (if it reads the token), the index `i` (if it reads
//! the position) and the length `n` (if it reads the length); a context with
//! `i >= n` does not exist. `None` at an existing context means the map fails
//! there: an input with that token at that position is one the interpreter
//! rejects.

use crate::eval::atom::Atom;

/// Which of token, index and length a local node reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reads {
    pub token: bool,
    pub index: bool,
    pub length: bool,
}

impl Reads {
    pub fn union(self, other: Reads) -> Reads {
        Reads {
            token: self.token || other.token,
            index: self.index || other.index,
            length: self.length || other.length,
        }
    }

    /// Whether the node is a function of the position (index, length) only.
    pub fn position_only(self) -> bool {
        !self.token
    }
}

/// A context: a vocabulary entry, an index and a length (`n >= 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub token: usize,
    pub index: usize,
    pub length: usize,
}

/// A local node's table.
#[derive(Debug, Clone)]
pub struct Local {
    pub reads: Reads,
    vocab: usize,
    max_len: usize,
    table: Vec<Option<Atom>>,
}

/// The largest local table (contexts) the compiler keeps.
pub const MAX_LOCAL_CONTEXTS: usize = 1 << 20;

impl Local {
    /// The number of contexts a table over `reads` has.
    pub fn contexts(reads: Reads, vocab: usize, max_len: usize) -> usize {
        let t = if reads.token { vocab } else { 1 };
        let i = if reads.index { max_len } else { 1 };
        let n = if reads.length { max_len } else { 1 };
        t.saturating_mul(i).saturating_mul(n)
    }

    /// Tabulates `f` over the contexts of `reads`.
    pub fn tabulate(
        reads: Reads,
        vocab: usize,
        max_len: usize,
        mut f: impl FnMut(Context) -> Option<Atom>,
    ) -> Local {
        let size = Local::contexts(reads, vocab, max_len);
        let mut table = Vec::with_capacity(size);
        let t_count = if reads.token { vocab } else { 1 };
        let i_count = if reads.index { max_len } else { 1 };
        let n_count = if reads.length { max_len } else { 1 };
        for t in 0..t_count {
            for i in 0..i_count {
                for n in 1..=n_count {
                    let length = if reads.length { n } else { max_len };
                    if reads.index && reads.length && i >= n {
                        table.push(None);
                        continue;
                    }
                    table.push(f(Context {
                        token: t,
                        index: i,
                        length,
                    }));
                }
            }
        }
        Local {
            reads,
            vocab,
            max_len,
            table,
        }
    }

    /// The value at a context (which must exist: `index < length`).
    pub fn at(&self, c: Context) -> Option<&Atom> {
        let t = if self.reads.token { c.token } else { 0 };
        let i = if self.reads.index { c.index } else { 0 };
        let (n_count, n) = if self.reads.length {
            (self.max_len, c.length.saturating_sub(1))
        } else {
            (1, 0)
        };
        let i_count = if self.reads.index { self.max_len } else { 1 };
        self.table.get((t * i_count + i) * n_count + n)?.as_ref()
    }

    /// Every existing context at index `i` that this table distinguishes
    /// (tokens if it reads them, lengths above `i` if it reads the length).
    pub fn contexts_at(&self, i: usize) -> Vec<Context> {
        contexts_at(self.reads, self.vocab, self.max_len, i)
    }

    /// Whether the node fails at some existing context.
    pub fn fails_somewhere(&self) -> bool {
        (0..self.index_count()).any(|i| self.contexts_at(i).iter().any(|c| self.at(*c).is_none()))
    }

    fn index_count(&self) -> usize {
        if self.reads.index {
            self.max_len
        } else {
            1
        }
    }
}

/// The contexts at index `i` that a table over `reads` tells apart.
pub fn contexts_at(reads: Reads, vocab: usize, max_len: usize, i: usize) -> Vec<Context> {
    let tokens = if reads.token { vocab } else { 1 };
    let lengths: Vec<usize> = if reads.length {
        (i + 1..=max_len).collect()
    } else {
        vec![max_len]
    };
    let mut out = Vec::with_capacity(tokens * lengths.len());
    for t in 0..tokens {
        for &n in &lengths {
            out.push(Context {
                token: t,
                index: i,
                length: n,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_skip_indices_past_the_length() {
        let reads = Reads {
            token: false,
            index: true,
            length: true,
        };
        let local = Local::tabulate(reads, 1, 3, |c| {
            Some(Atom::Int((c.length - c.index - 1) as i64))
        });
        let at = |i, n| {
            local
                .at(Context {
                    token: 0,
                    index: i,
                    length: n,
                })
                .map(Atom::repr)
        };
        assert_eq!(at(0, 3).as_deref(), Some("2"));
        assert_eq!(at(2, 3).as_deref(), Some("0"));
        assert_eq!(at(2, 2), None);
        assert_eq!(local.contexts_at(1).len(), 2);
        assert!(!local.fails_somewhere());
    }
}
