//! The forward pass: embeddings, attention and MLP sub-layers, unembedding.
//!
//! # Batches without padding
//!
//! The positions of every batch item are packed one after another into one
//! `[total_positions, d_model]` matrix, item `i` occupying the rows
//! [`Forward::rows`]`(i)`. Everything that acts on one position at a time
//! (embedding, the Q/K/V/O projections, the MLPs, the unembedding) is then a
//! single matrix product over all positions of all items, so a large batch is
//! bound by matrixmultiply's GEMM, not by per-item overhead. Only the scores
//! and the weighted sum of values are computed per item and head, on that
//! item's rows alone.
//!
//! This is the padding mask in its strongest form: instead of padding every
//! item to the longest and masking padded keys with `-inf` (and discarding
//! padded queries), padded positions never exist, so they cannot leak into a
//! softmax and cost nothing. Running a batch gives bit-for-bit the outputs of
//! running each item alone (tested).

use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array, Array2, Array3, ArrayView1, ArrayView2, ArrayViewMut1, Axis, Dimension};

use super::{Attention, Mlp, Model, ModelError};

/// The result of [`Model::forward`]. Arrays over positions are packed: item
/// `i`'s positions are the rows [`Forward::rows`]`(i)`.
#[derive(Clone, Debug)]
pub struct Forward {
    /// Each item's length, BOS included.
    pub lengths: Vec<usize>,
    /// The row at which each item starts.
    pub offsets: Vec<usize>,
    /// The residual stream after the last layer: `[total_positions, d_model]`.
    pub residual: Array2<f32>,
    /// `[total_positions, d_vocab_out]`.
    pub logits: Array2<f32>,
    /// Only when recording: the residual stream after the embedding, then after
    /// each attention and each MLP sub-layer (`1 + 2 * n_layers` entries, named
    /// by [`Forward::residual_name`]), each `[total_positions, d_model]`.
    pub residuals: Vec<Array2<f32>>,
    /// Only when recording: `patterns[item][layer]` is `[n_heads, len, len]`,
    /// query by key, each row summing to 1 (TransformerLens' `hook_pattern`).
    pub patterns: Vec<Vec<Array3<f32>>>,
}

impl Forward {
    /// The number of batch items.
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Whether the batch was empty.
    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The packed rows of item `item`.
    pub fn rows(&self, item: usize) -> Range<usize> {
        self.offsets[item]..self.offsets[item] + self.lengths[item]
    }

    /// Item `item`'s logits, `[len, d_vocab_out]`, BOS first.
    pub fn logits_of(&self, item: usize) -> ArrayView2<'_, f32> {
        self.logits.slice(s![self.rows(item), ..])
    }

    /// Item `item`'s final residual stream, `[len, d_model]`.
    pub fn residual_of(&self, item: usize) -> ArrayView2<'_, f32> {
        self.residual.slice(s![self.rows(item), ..])
    }

    /// One attention pattern, `[len, len]` (query by key); needs `record`.
    pub fn pattern(&self, item: usize, layer: usize, head: usize) -> ArrayView2<'_, f32> {
        self.patterns[item][layer].index_axis(Axis(0), head)
    }

    /// TransformerLens' hook name for `residuals[index]`:
    /// `blocks.0.hook_resid_pre`, `blocks.0.hook_resid_mid`,
    /// `blocks.0.hook_resid_post`, `blocks.1.hook_resid_mid`, ...
    pub fn residual_name(index: usize) -> String {
        match index {
            0 => "blocks.0.hook_resid_pre".to_string(),
            i if i % 2 == 1 => format!("blocks.{}.hook_resid_mid", i / 2),
            i => format!("blocks.{}.hook_resid_post", i / 2 - 1),
        }
    }
}

impl Model {
    /// Runs a batch of token id sequences, each BOS (id 0) followed by up to
    /// `n_ctx - 1` ids below `d_vocab` ([`Model::encode`] builds them); the
    /// items may have different lengths. With `record`, also keeps every
    /// intermediate residual stream and attention pattern.
    pub fn forward(&self, batch: &[Vec<u32>], record: bool) -> Result<Forward, ModelError> {
        self.check_shapes()?;
        let (lengths, offsets) = self.check_batch(batch)?;
        let items: Vec<Range<usize>> = offsets
            .iter()
            .zip(&lengths)
            .map(|(&start, &len)| start..start + len)
            .collect();
        let total = offsets
            .last()
            .map_or(0, |o| o + lengths.last().map_or(0, |l| *l));

        let mut x = Array2::zeros((total, self.config.d_model));
        for (ids, rows) in batch.iter().zip(&items) {
            for (position, (&id, mut row)) in ids
                .iter()
                .zip(x.slice_mut(s![rows.clone(), ..]).rows_mut())
                .enumerate()
            {
                row.assign(&self.embed.row(id as usize));
                row += &self.pos_embed.row(position);
            }
        }

        let mut residuals = Vec::new();
        let mut patterns: Vec<Vec<Array3<f32>>> =
            vec![Vec::new(); if record { batch.len() } else { 0 }];
        if record {
            residuals.push(x.clone());
        }
        for layer in &self.layers {
            let mut layer_patterns = record.then(|| {
                let n_heads = self.config.n_heads;
                lengths
                    .iter()
                    .map(|&len| Array3::zeros((n_heads, len, len)))
                    .collect::<Vec<_>>()
            });
            x += &layer
                .attn
                .apply(x.view(), &items, layer_patterns.as_deref_mut());
            if let Some(layer_patterns) = layer_patterns {
                for (item, pattern) in patterns.iter_mut().zip(layer_patterns) {
                    item.push(pattern);
                }
                residuals.push(x.clone());
            }
            x += &layer.mlp.apply(x.view());
            if record {
                residuals.push(x.clone());
            }
        }
        let logits = affine(x.view(), self.unembed.view(), self.unembed_bias.view());
        Ok(Forward {
            lengths,
            offsets,
            residual: x,
            logits,
            residuals,
            patterns,
        })
    }

    /// Each item's length and starting row, after checking that it is BOS then
    /// valid ids and fits in `n_ctx`.
    fn check_batch(&self, batch: &[Vec<u32>]) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
        let (mut lengths, mut offsets, mut total) = (Vec::new(), Vec::new(), 0);
        for (item, ids) in batch.iter().enumerate() {
            let bad = |reason: String| ModelError::BadTokenIds { item, reason };
            if ids.first() != Some(&0) {
                return Err(bad("the sequence does not start with BOS (id 0)".into()));
            }
            if ids.len() > self.config.n_ctx {
                return Err(bad(format!(
                    "{} positions (BOS included) exceed n_ctx = {}",
                    ids.len(),
                    self.config.n_ctx
                )));
            }
            if let Some((position, id)) = ids
                .iter()
                .enumerate()
                .find(|(_, &id)| id as usize >= self.config.d_vocab)
            {
                return Err(bad(format!(
                    "token id {id} at position {position} is not below d_vocab = {}",
                    self.config.d_vocab
                )));
            }
            lengths.push(ids.len());
            offsets.push(total);
            total += ids.len();
        }
        Ok((lengths, offsets))
    }
}

impl Attention {
    /// The attention sub-layer's output (to be added to the residual stream)
    /// for packed positions `x` (`[total_positions, d_model]`), each item
    /// attending within its own `items` rows. Writes each item's
    /// `[n_heads, len, len]` pattern into `patterns` when given.
    ///
    /// numpy, per item and head `h`:
    /// `q, k, v = x @ W_Q[h] + b_Q[h], x @ W_K[h] + b_K[h], x @ W_V[h] + b_V[h]`;
    /// `out += softmax(q @ k.T / sqrt(d_head)) @ v @ W_O[h]`; finally `out += b_O`.
    pub fn apply(
        &self,
        x: ArrayView2<'_, f32>,
        items: &[Range<usize>],
        mut patterns: Option<&mut [Array3<f32>]>,
    ) -> Array2<f32> {
        let (n_heads, _, d_head) = self.w_q.dim();
        let scale = 1.0 / (d_head as f32).sqrt();
        let longest = items.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut scores_buffer = Array2::<f32>::zeros((longest, longest));
        let mut z = Array2::<f32>::zeros((x.nrows(), d_head));
        let mut out = Array2::<f32>::zeros((x.nrows(), self.b_o.len()));
        out += &self.b_o;
        for head in 0..n_heads {
            let project = |w: &Array3<f32>, b: &Array2<f32>| {
                affine(x, w.index_axis(Axis(0), head), b.row(head))
            };
            let q = project(&self.w_q, &self.b_q);
            let k = project(&self.w_k, &self.b_k);
            let v = project(&self.w_v, &self.b_v);
            for (item, rows) in items.iter().enumerate() {
                let len = rows.len();
                let mut scores = scores_buffer.slice_mut(s![..len, ..len]);
                let (q, k, v) = (rows_of(&q, rows), rows_of(&k, rows), rows_of(&v, rows));
                general_mat_mul(scale, &q, &k.t(), 0.0, &mut scores);
                for row in scores.rows_mut() {
                    softmax(row);
                }
                let mut z_rows = z.slice_mut(s![rows.clone(), ..]);
                general_mat_mul(1.0, &scores, &v, 0.0, &mut z_rows);
                if let Some(patterns) = patterns.as_deref_mut() {
                    patterns[item].index_axis_mut(Axis(0), head).assign(&scores);
                }
            }
            general_mat_mul(1.0, &z, &self.w_o.index_axis(Axis(0), head), 1.0, &mut out);
        }
        out
    }
}

impl Mlp {
    /// The MLP sub-layer's output for positions `x` (`[positions, d_model]`).
    ///
    /// numpy: `relu(x @ W_in + b_in) @ W_out + b_out`.
    pub fn apply(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        let mut hidden = affine(x, self.w_in.view(), self.b_in.view());
        relu(&mut hidden);
        affine(hidden.view(), self.w_out.view(), self.b_out.view())
    }
}

/// `m[rows]`.
fn rows_of<'a>(m: &'a Array2<f32>, rows: &Range<usize>) -> ArrayView2<'a, f32> {
    m.slice(s![rows.clone(), ..])
}

/// `x @ w + b` (one GEMM, then the bias broadcast over rows).
fn affine(x: ArrayView2<'_, f32>, w: ArrayView2<'_, f32>, b: ArrayView1<'_, f32>) -> Array2<f32> {
    let mut out = x.dot(&w);
    out += &b;
    out
}

/// In-place softmax of one row, numerically stable.
///
/// numpy: `e = np.exp(x - x.max()); x[:] = e / e.sum()`, except that the
/// maximum starts at `-inf` (so an empty row is fine) and a fully masked row,
/// all `-inf`, becomes all zeros instead of NaNs. `-inf` entries get weight 0.
pub fn softmax(mut row: ArrayViewMut1<'_, f32>) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    let mut sum = 0.0;
    row.mapv_inplace(|v| {
        let e = (v - max).exp();
        sum += e;
        e
    });
    row.mapv_inplace(|e| e / sum);
}

/// In-place ReLU.
///
/// numpy: `np.maximum(x, 0, out=x)`, except that NaN becomes 0.
pub fn relu<D: Dimension>(x: &mut Array<f32, D>) {
    x.mapv_inplace(|v| if v > 0.0 { v } else { 0.0 });
}

#[cfg(test)]
#[path = "forward_tests.rs"]
pub(crate) mod tests;
