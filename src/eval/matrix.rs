//! A concrete selection: an n×n bit matrix, one row of bits per query.

/// Row `q` holds the key positions that query `q` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    n: usize,
    words_per_row: usize,
    bits: Vec<u64>,
}

impl Selection {
    /// An all-false n×n selection.
    pub fn empty(n: usize) -> Selection {
        let words_per_row = n.div_ceil(64);
        Selection {
            n,
            words_per_row,
            bits: vec![0; words_per_row * n],
        }
    }

    /// Builds a selection from a predicate `selected(q, k)`.
    pub fn from_fn(n: usize, mut selected: impl FnMut(usize, usize) -> bool) -> Selection {
        let mut sel = Selection::empty(n);
        for q in 0..n {
            let row = sel.row_mut(q);
            for k in 0..n {
                if selected(q, k) {
                    row[k / 64] |= 1 << (k % 64);
                }
            }
        }
        sel
    }

    /// Builds a selection a row at a time: `fill(q, row)` sets bits in `row`.
    pub fn from_rows(n: usize, mut fill: impl FnMut(usize, &mut [u64])) -> Selection {
        let mut sel = Selection::empty(n);
        for q in 0..n {
            fill(q, sel.row_mut(q));
        }
        sel
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn row(&self, q: usize) -> &[u64] {
        &self.bits[q * self.words_per_row..(q + 1) * self.words_per_row]
    }

    fn row_mut(&mut self, q: usize) -> &mut [u64] {
        &mut self.bits[q * self.words_per_row..(q + 1) * self.words_per_row]
    }

    pub fn get(&self, q: usize, k: usize) -> bool {
        self.row(q)[k / 64] >> (k % 64) & 1 == 1
    }

    /// How many keys query `q` selects.
    pub fn width(&self, q: usize) -> usize {
        self.row(q).iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The key positions query `q` selects, in increasing order.
    pub fn selected(&self, q: usize) -> impl Iterator<Item = usize> + '_ {
        self.row(q).iter().enumerate().flat_map(|(i, &word)| {
            let mut w = word;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(i * 64 + bit)
            })
        })
    }

    /// Element-wise combination of two selections of the same size.
    pub fn zip_with(&self, other: &Selection, f: impl Fn(u64, u64) -> u64) -> Selection {
        Selection {
            n: self.n,
            words_per_row: self.words_per_row,
            bits: self
                .bits
                .iter()
                .zip(&other.bits)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
    }

    /// The complement, keeping the padding bits past `n` clear.
    pub fn not(&self) -> Selection {
        let mut out = Selection {
            n: self.n,
            words_per_row: self.words_per_row,
            bits: self.bits.iter().map(|w| !w).collect(),
        };
        let tail = self.n % 64;
        if tail != 0 {
            let mask = (1u64 << tail) - 1;
            for q in 0..self.n {
                if let Some(last) = out.row_mut(q).last_mut() {
                    *last &= mask;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_clears_padding_and_widths_count() {
        let sel = Selection::from_fn(70, |q, k| k < q);
        assert_eq!(sel.width(0), 0);
        assert_eq!(sel.width(69), 69);
        let inv = sel.not();
        assert_eq!(inv.width(0), 70);
        assert_eq!(inv.width(69), 1);
        assert_eq!(inv.selected(69).collect::<Vec<_>>(), vec![69]);
        let both = sel.zip_with(&inv, |a, b| a & b);
        assert!((0..70).all(|q| both.width(q) == 0));
    }
}
