//! The forward pass: embeddings, attention and MLP sub-layers, unembedding.
//!
//! # Batches without padding
//!
//! The positions of every batch item are packed one after another, item `i`
//! occupying the positions [`Forward::rows`]`(i)`. Everything that acts on one
//! position at a time (embedding, the Q/K/V/O projections, the MLPs, the
//! unembedding) is then a single matrix product over all positions of all
//! items, so a large batch is bound by the matrix products, not by per-item
//! overhead. Only the scores and the weighted sum of values are computed per
//! item and head, on that item's positions alone (a few hundred
//! multiply-adds: plain loops, no GEMM).
//!
//! This is the padding mask in its strongest form: instead of padding every
//! item to the longest and masking padded keys with `-inf` (and discarding
//! padded queries), padded positions never exist, so they cannot leak into a
//! softmax and cost nothing. Running a batch gives bit-for-bit the outputs of
//! running each item alone (tested).
//!
//! # Speed
//!
//! A [`Runner`] prepares the weights once for many batches: the Q, K and V
//! weights of all heads side by side (one product per layer instead of three
//! per head), heads whose output weights are all zero and MLP units whose
//! output weights are all zero left out (they add exactly zero), all-zero
//! biases dropped, and each weight matrix kept dense (matrixmultiply's GEMM)
//! or, when at most a quarter of it is non-zero, as its list of non-zero
//! entries, which skips only terms that are exactly zero (every weight is
//! finite, checked). Compiled models are almost entirely zeros, so the sparse
//! form does most of the work there.
//!
//! A batch is split into chunks of about [`CHUNK_ROWS`] positions, run in
//! parallel (rayon). Inside a chunk, activations are stored feature by
//! feature (`[features, positions]`, the transpose of the packed matrices
//! [`Forward`] returns): one non-zero weight then updates a whole contiguous
//! row of positions (a loop that vectorises), and one head's queries, keys and
//! values on one item are contiguous rows too. Buffers are allocated once per
//! chunk, never per position.
//!
//! # Precision
//!
//! The pass runs in the model's [`Dtype`]: `f32` for an F32 model (the
//! weights converted to `f32` once, when the [`Runner`] is prepared) and
//! `f64` for an F64 one, by the same code, generic over [`Real`].
//! [`Forward`] holds its arrays as `f64` whatever the model's dtype (an f32
//! run's values widened exactly); [`Model::predict`] reads the logits in
//! the type they were computed in.

use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array, Array1, Array2, Array3, ArrayView1, ArrayView2, Axis, Dimension};
use rayon::prelude::*;

use super::decode::Decoder;
use super::{Dtype, Layer, Model, ModelError, Real};

/// The result of [`Model::forward`]. Arrays over positions are packed: item
/// `i`'s positions are the rows [`Forward::rows`]`(i)`.
#[derive(Clone, Debug)]
pub struct Forward {
    /// Each item's length, BOS included.
    pub lengths: Vec<usize>,
    /// The row at which each item starts.
    pub offsets: Vec<usize>,
    /// The residual stream after the last layer: `[total_positions, d_model]`.
    pub residual: Array2<f64>,
    /// `[total_positions, d_vocab_out]`.
    pub logits: Array2<f64>,
    /// Only when recording: the residual stream after the embedding, then after
    /// each attention and each MLP sub-layer (`1 + 2 * n_layers` entries, named
    /// by [`Forward::residual_name`]), each `[total_positions, d_model]`.
    pub residuals: Vec<Array2<f64>>,
    /// Only when recording: `patterns[item][layer]` is `[n_heads, len, len]`,
    /// query by key, each row summing to 1 (TransformerLens' `hook_pattern`).
    pub patterns: Vec<Vec<Array3<f64>>>,
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
    pub fn logits_of(&self, item: usize) -> ArrayView2<'_, f64> {
        self.logits.slice(s![self.rows(item), ..])
    }

    /// Item `item`'s final residual stream, `[len, d_model]`.
    pub fn residual_of(&self, item: usize) -> ArrayView2<'_, f64> {
        self.residual.slice(s![self.rows(item), ..])
    }

    /// One attention pattern, `[len, len]` (query by key); needs `record`.
    pub fn pattern(&self, item: usize, layer: usize, head: usize) -> ArrayView2<'_, f64> {
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

/// Positions per chunk of a batch: large enough that the matrix products
/// dominate, small enough that a chunk's buffers stay in cache.
pub const CHUNK_ROWS: usize = 256;

pub use super::decode::Prediction;

impl Model {
    /// Runs a batch of token id sequences, each BOS (id 0) followed by up to
    /// `n_ctx - 1` ids below `d_vocab` ([`Model::encode`] builds them); the
    /// items may have different lengths. With `record`, also keeps every
    /// intermediate residual stream and attention pattern. It runs in the
    /// model's dtype; the results are widened to `f64`.
    pub fn forward(&self, batch: &[Vec<u32>], record: bool) -> Result<Forward, ModelError> {
        let (lengths, offsets) = self.check_batch(batch)?;
        let rows: usize = lengths.iter().map(|n| n + 1).sum();
        self.reserve_activations(rows, record)?;
        let runner = Runner::prepare(self, record)?;
        let (residual, logits, recording) = match &runner.run {
            Run::F32(run) => run.forward(batch, record),
            Run::F64(run) => run.forward(batch, record),
        };
        let recording = recording.unwrap_or_default();
        Ok(Forward {
            lengths,
            offsets,
            residual,
            logits,
            residuals: recording.residuals,
            patterns: recording.patterns,
        })
    }

    /// Each batch item's outputs (BOS excluded), as [`Model::decode`] reads
    /// them but without keeping activations: the batch runs in parallel
    /// chunks. `runner` must come from this model.
    pub fn predict(
        &self,
        runner: &Runner,
        batch: &[Vec<u32>],
    ) -> Result<Vec<Vec<Prediction>>, ModelError> {
        self.check_batch(batch)?;
        // Each worker holds one chunk's buffers at a time.
        let rows = (CHUNK_ROWS + self.config.n_ctx) * rayon::current_num_threads();
        self.reserve_activations(rows, false)?;
        let chunks = chunks(batch);
        let parts: Vec<Vec<Vec<Prediction>>> = chunks
            .par_iter()
            .map(|items| runner.predict_checked(&batch[items.clone()]))
            .collect();
        Ok(parts.into_iter().flatten().collect())
    }

    /// Fails unless the buffers of a forward pass over `rows` positions fit
    /// in the memory budget (with `record`, every layer's residual stream
    /// and attention pattern kept, widened to `f64`), before they are made.
    fn reserve_activations(&self, rows: usize, record: bool) -> Result<(), ModelError> {
        let c = &self.config;
        let per_layer = 4 * c.d_model + c.d_mlp + 3 * c.n_heads * c.d_head + c.n_heads * c.n_ctx;
        let per_row = if record {
            (c.n_layers + 1) * per_layer + c.d_vocab_out
        } else {
            per_layer + c.d_vocab_out
        };
        let bytes = rows.saturating_mul(per_row).saturating_mul(8);
        crate::memory::reserve(bytes).map_err(|exceeded| ModelError::Memory {
            needed: bytes.div_ceil(1 << 20),
            exceeded,
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

/// What a recorded forward pass keeps (see [`Forward`]), widened to `f64`.
#[derive(Default)]
struct Recording {
    residuals: Vec<Array2<f64>>,
    patterns: Vec<Vec<Array3<f64>>>,
}

/// A model's weights prepared for many forward passes (see the module
/// notes), in the type its dtype runs in. It holds no atoms, so threads can
/// share it.
pub struct Runner {
    run: Run,
}

/// The prepared weights, by the type the pass runs in.
enum Run {
    F32(Prepared<f32>),
    F64(Prepared<f64>),
}

/// A model's weights prepared for forward passes in `T`.
struct Prepared<T> {
    d_model: usize,
    d_vocab_out: usize,
    /// `embed` and `pos_embed` transposed: `[d_model, d_vocab]` and
    /// `[d_model, n_ctx]`, so that one feature of a chunk is one gather.
    embed_t: Array2<T>,
    pos_embed_t: Array2<T>,
    /// The features non-zero in either embedding (most of a compiled
    /// model's are zero in both, so they stay zero).
    embedded: Vec<usize>,
    layers: Vec<PreparedLayer<T>>,
    unembed: Weight<T>,
    unembed_bias: Option<Array1<T>>,
    /// How a position's logits become its output.
    decoder: Decoder,
}

/// One layer, prepared. Biases that are all zero are `None` (adding them
/// changes nothing).
struct PreparedLayer<T> {
    /// The heads computed (all of them when recording patterns).
    heads: Vec<usize>,
    /// Where each of those heads' kept dimensions are.
    head_dims: Vec<HeadDims>,
    n_heads: usize,
    d_head: usize,
    qkv_width: usize,
    z_width: usize,
    /// `[d_model, qkv_width]`: each head's kept W_Q, W_K and W_V columns.
    w_qkv: Weight<T>,
    b_qkv: Option<Array1<T>>,
    /// `[z_width, d_model]`: each head's kept W_O rows.
    w_o: Weight<T>,
    b_o: Option<Array1<T>>,
    /// `[d_model, units]` and `[units, d_model]`, units with non-zero output.
    w_in: Weight<T>,
    b_in: Option<Array1<T>>,
    w_out: Weight<T>,
    b_out: Option<Array1<T>>,
}

/// One head's kept dimensions: rows of the packed Q/K/V activations
/// (`q` and `k` of equal length) and of the packed head outputs `z`.
struct HeadDims {
    q: Range<usize>,
    k: Range<usize>,
    v: Range<usize>,
    z: Range<usize>,
}

/// A weight matrix `w`, `[d_in, d_out]`, applied to activations stored
/// feature by feature (`x` is `[d_in, positions]`): `out = wᵀ x`.
enum Weight<T> {
    /// Products by GEMM.
    Dense(Array2<T>),
    /// Mostly zeros: the non-zero entries `(input, output, weight)`, by input
    /// then output; each adds `weight` times the input's row of positions to
    /// the output's row (a loop over contiguous positions that vectorises).
    /// Every output sums its terms in the order of the inputs, as the dense
    /// definition does, only without the zero terms.
    Sparse {
        d_out: usize,
        entries: Vec<(u32, u32, T)>,
    },
}

impl<T: Real> Weight<T> {
    /// Sparse when at most a quarter of the entries are non-zero.
    fn new(w: Array2<T>) -> Weight<T> {
        let non_zero = w.iter().filter(|&&v| v != T::zero()).count();
        if non_zero * 4 > w.len() {
            return Weight::Dense(w.as_standard_layout().into_owned());
        }
        let mut entries = Vec::with_capacity(non_zero);
        for ((i, j), &v) in w.indexed_iter() {
            if v != T::zero() {
                entries.push((i as u32, j as u32, v));
            }
        }
        // `indexed_iter` follows the memory order; the sums need input order.
        entries.sort_by_key(|&(i, j, _)| (i, j));
        Weight::Sparse {
            d_out: w.ncols(),
            entries,
        }
    }

    fn d_out(&self) -> usize {
        match self {
            Weight::Dense(w) => w.ncols(),
            Weight::Sparse { d_out, .. } => *d_out,
        }
    }

    /// `out = wᵀ x + bias` (the bias down each row of positions), or
    /// `out += wᵀ x` with `accumulate`. `x` and `out` are in standard layout.
    fn apply(
        &self,
        x: ArrayView2<'_, T>,
        bias: Option<&Array1<T>>,
        out: &mut Array2<T>,
        accumulate: bool,
    ) {
        if !accumulate {
            match bias {
                Some(b) => {
                    for (mut row, &v) in out.rows_mut().into_iter().zip(b) {
                        row.fill(v);
                    }
                }
                None => out.fill(T::zero()),
            }
        }
        match self {
            Weight::Dense(w) => general_mat_mul(T::one(), &w.t(), &x, T::one(), out),
            Weight::Sparse { entries, .. } => {
                let n = x.ncols();
                let (Some(x), Some(out)) = (x.to_slice(), out.as_slice_mut()) else {
                    unreachable!("chunk activations are in standard layout");
                };
                if n == 0 {
                    return;
                }
                for &(i, j, w) in entries {
                    let (i, j) = (i as usize, j as usize);
                    let (from, to) = (&x[i * n..(i + 1) * n], &mut out[j * n..(j + 1) * n]);
                    for (o, &v) in to.iter_mut().zip(from) {
                        *o += w * v;
                    }
                }
            }
        }
    }
}

/// Adds `b[f]` to every position of row `f`, if there is a bias.
fn add_bias<T: Real>(out: &mut Array2<T>, b: Option<&Array1<T>>) {
    for (mut row, &v) in out.rows_mut().into_iter().zip(b.into_iter().flatten()) {
        row.mapv_inplace(|x| x + v);
    }
}

/// `None` for an all-zero bias.
fn bias<T: Real>(b: Array1<T>) -> Option<Array1<T>> {
    b.iter().any(|&v| v != T::zero()).then_some(b)
}

impl Runner {
    /// Prepares `model`'s weights, converted to the type its dtype runs in.
    pub fn new(model: &Model) -> Result<Runner, ModelError> {
        Runner::prepare(model, false)
    }

    /// `all_heads` keeps heads whose output is zero (their patterns are
    /// recorded).
    fn prepare(model: &Model, all_heads: bool) -> Result<Runner, ModelError> {
        model.check_shapes()?;
        let run = match model.dtype {
            Dtype::F32 => Run::F32(Prepared::new(model, all_heads)),
            Dtype::F64 => Run::F64(Prepared::new(model, all_heads)),
        };
        Ok(Runner { run })
    }

    /// The dtype the pass runs in.
    pub fn dtype(&self) -> Dtype {
        match self.run {
            Run::F32(_) => Dtype::F32,
            Run::F64(_) => Dtype::F64,
        }
    }

    /// [`Model::predict`] on this thread, for a batch already checked
    /// (every item BOS, then ids below `d_vocab`, at most `n_ctx` long).
    pub fn predict_checked(&self, batch: &[Vec<u32>]) -> Vec<Vec<Prediction>> {
        match &self.run {
            Run::F32(run) => run.predict_checked(batch),
            Run::F64(run) => run.predict_checked(batch),
        }
    }
}

/// The batch split into runs of items of about [`CHUNK_ROWS`] positions.
fn chunks(batch: &[Vec<u32>]) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, ids) in batch.iter().enumerate() {
        rows += ids.len();
        if rows >= CHUNK_ROWS {
            chunks.push(start..i + 1);
            (start, rows) = (i + 1, 0);
        }
    }
    if start < batch.len() {
        chunks.push(start..batch.len());
    }
    chunks
}

impl<T: Real> Prepared<T> {
    /// `model`'s weights converted to `T` (rounded, for `f32`), then
    /// prepared; the model's shapes must have been checked.
    fn new(model: &Model, all_heads: bool) -> Prepared<T> {
        let embed = model.embed.mapv(T::from_f64);
        let pos_embed = model.pos_embed.mapv(T::from_f64);
        let model_layers: Vec<Layer<T>> = model.layers.iter().map(|l| l.map(T::from_f64)).collect();
        let unembed = model.unembed.mapv(T::from_f64);
        let unembed_bias = model.unembed_bias.mapv(T::from_f64);
        // Leaving out zeros is exact only when every weight is finite
        // (`0 * inf` is NaN); otherwise everything stays dense. (An F32
        // model's finite f64 weight may round to an infinite f32.)
        let finite = finite(&embed)
            && finite(&pos_embed)
            && finite(&unembed)
            && finite(&unembed_bias)
            && model_layers.iter().all(layer_finite);
        let all_heads = all_heads || !finite;
        let weight = |w: Array2<T>| {
            if finite {
                Weight::new(w)
            } else {
                Weight::Dense(w)
            }
        };
        let bias = |b: Array1<T>| if finite { bias(b) } else { Some(b) };
        let c = &model.config;
        let zero = T::zero();
        let layers = model_layers
            .iter()
            .map(|layer| {
                let a = &layer.attn;
                let heads: Vec<usize> = (0..c.n_heads)
                    .filter(|&h| {
                        all_heads || a.w_o.index_axis(Axis(0), h).iter().any(|&w| w != zero)
                    })
                    .collect();
                // Each head keeps the query/key dimensions where both can be
                // non-zero and the value dimensions that reach the output: the
                // others add exactly zero (every weight finite).
                let mut dims = Vec::with_capacity(heads.len());
                let (mut qkv_width, mut z_width) = (0, 0);
                for &h in &heads {
                    let column_live = |w: &Array3<T>, b: &Array2<T>, d: usize| {
                        !finite
                            || b[[h, d]] != zero
                            || w.index_axis(Axis(0), h)
                                .column(d)
                                .iter()
                                .any(|&v| v != zero)
                    };
                    let qk: Vec<usize> = (0..c.d_head)
                        .filter(|&d| {
                            column_live(&a.w_q, &a.b_q, d) && column_live(&a.w_k, &a.b_k, d)
                        })
                        .collect();
                    let v: Vec<usize> = (0..c.d_head)
                        .filter(|&d| {
                            column_live(&a.w_v, &a.b_v, d)
                                && (!finite
                                    || a.w_o
                                        .index_axis(Axis(0), h)
                                        .row(d)
                                        .iter()
                                        .any(|&w| w != zero))
                        })
                        .collect();
                    let head = HeadDims {
                        q: qkv_width..qkv_width + qk.len(),
                        k: qkv_width + qk.len()..qkv_width + 2 * qk.len(),
                        v: qkv_width + 2 * qk.len()..qkv_width + 2 * qk.len() + v.len(),
                        z: z_width..z_width + v.len(),
                    };
                    qkv_width = head.v.end;
                    z_width = head.z.end;
                    dims.push((h, qk, v, head));
                }
                let mut w_qkv = Array2::zeros((c.d_model, qkv_width));
                let mut b_qkv = Array1::zeros(qkv_width);
                let mut w_o = Array2::zeros((z_width, c.d_model));
                for (h, qk, v, head) in &dims {
                    let parts = [
                        (&a.w_q, &a.b_q, qk, head.q.start),
                        (&a.w_k, &a.b_k, qk, head.k.start),
                        (&a.w_v, &a.b_v, v, head.v.start),
                    ];
                    for (w, b, kept, start) in parts {
                        for (offset, &d) in kept.iter().enumerate() {
                            w_qkv
                                .column_mut(start + offset)
                                .assign(&w.index_axis(Axis(0), *h).column(d));
                            b_qkv[start + offset] = b[[*h, d]];
                        }
                    }
                    for (offset, &d) in v.iter().enumerate() {
                        w_o.row_mut(head.z.start + offset)
                            .assign(&a.w_o.index_axis(Axis(0), *h).row(d));
                    }
                }
                let head_dims = dims.into_iter().map(|(_, _, _, head)| head).collect();
                let m = &layer.mlp;
                let units: Vec<usize> = (0..c.d_mlp)
                    .filter(|&u| !finite || m.w_out.row(u).iter().any(|&w| w != zero))
                    .collect();
                PreparedLayer {
                    heads,
                    head_dims,
                    n_heads: c.n_heads,
                    d_head: c.d_head,
                    qkv_width,
                    z_width,
                    w_qkv: weight(w_qkv),
                    b_qkv: bias(b_qkv),
                    w_o: weight(w_o),
                    b_o: bias(a.b_o.clone()),
                    w_in: weight(m.w_in.select(Axis(1), &units)),
                    b_in: bias(m.b_in.select(Axis(0), &units)),
                    w_out: weight(m.w_out.select(Axis(0), &units)),
                    b_out: bias(m.b_out.clone()),
                }
            })
            .collect();
        let decoder = Decoder::new(&model.meta.output);
        let non_zero = |w: &Array2<T>, f: usize| w.column(f).iter().any(|&v| v != zero);
        Prepared {
            d_model: c.d_model,
            d_vocab_out: c.d_vocab_out,
            embed_t: embed.t().as_standard_layout().into_owned(),
            pos_embed_t: pos_embed.t().as_standard_layout().into_owned(),
            embedded: (0..c.d_model)
                .filter(|&f| non_zero(&embed, f) || non_zero(&pos_embed, f))
                .collect(),
            layers,
            unembed: weight(unembed),
            unembed_bias: bias(unembed_bias),
            decoder,
        }
    }

    /// [`Model::forward`] on a checked batch: the final residual stream and
    /// the logits, packed (`[positions, features]`) and widened to `f64`,
    /// and with `record` what [`Recording`] keeps.
    fn forward(
        &self,
        batch: &[Vec<u32>],
        record: bool,
    ) -> (Array2<f64>, Array2<f64>, Option<Recording>) {
        if record {
            let items: Vec<&[u32]> = batch.iter().map(Vec::as_slice).collect();
            let mut recording = Recording {
                residuals: Vec::new(),
                patterns: vec![Vec::new(); batch.len()],
            };
            let (residual, logits) = self.chunk(&items, Some(&mut recording));
            return (widened(&residual), widened(&logits), Some(recording));
        }
        let parts: Vec<(Array2<T>, Array2<T>)> = chunks(batch)
            .par_iter()
            .map(|items| {
                let items: Vec<&[u32]> = batch[items.clone()].iter().map(Vec::as_slice).collect();
                self.chunk(&items, None)
            })
            .collect();
        let total: usize = batch.iter().map(Vec::len).sum();
        let mut residual = Array2::zeros((total, self.d_model));
        let mut logits = Array2::zeros((total, self.d_vocab_out));
        let mut row = 0;
        for (r, l) in parts {
            let rows = row..row + r.ncols();
            let widen = |to: &mut f64, &from: &T| *to = from.widen();
            residual
                .slice_mut(s![rows.clone(), ..])
                .zip_mut_with(&r.t(), widen);
            logits.slice_mut(s![rows, ..]).zip_mut_with(&l.t(), widen);
            row += r.ncols();
        }
        (residual, logits, None)
    }

    /// Runs checked items as one packed chunk, stored feature by feature
    /// (`[features, positions]`, so every position-wise product runs along
    /// contiguous rows of positions): the final residual stream
    /// `[d_model, positions]` and the logits `[d_vocab_out, positions]`.
    fn chunk(
        &self,
        items: &[&[u32]],
        mut recording: Option<&mut Recording>,
    ) -> (Array2<T>, Array2<T>) {
        let total: usize = items.iter().map(|ids| ids.len()).sum();
        let mut rows = Vec::with_capacity(items.len());
        let (mut tokens, mut positions) = (Vec::with_capacity(total), Vec::with_capacity(total));
        for ids in items {
            let start = tokens.len();
            tokens.extend(ids.iter().map(|&id| id as usize));
            positions.extend(0..ids.len());
            rows.push(start..tokens.len());
        }
        let mut x = Array2::<T>::zeros((self.d_model, total));
        for &f in &self.embedded {
            let (e, p) = (self.embed_t.row(f), self.pos_embed_t.row(f));
            for ((v, &t), &q) in x.row_mut(f).iter_mut().zip(&tokens).zip(&positions) {
                *v = e[t] + p[q];
            }
        }
        let record = |r: &mut Recording, x: &Array2<T>| r.residuals.push(widened(x));
        if let Some(r) = recording.as_deref_mut() {
            record(r, &x);
        }
        let longest = items.iter().map(|ids| ids.len()).max().unwrap_or(0);
        let mut scores = vec![T::zero(); longest * longest];
        for layer in &self.layers {
            if !layer.heads.is_empty() {
                let mut qkv = Array2::<T>::zeros((layer.qkv_width, total));
                layer
                    .w_qkv
                    .apply(x.view(), layer.b_qkv.as_ref(), &mut qkv, false);
                let mut z = Array2::<T>::zeros((layer.z_width, total));
                let mut patterns = recording.as_ref().map(|_| {
                    rows.iter()
                        .map(|r| Array3::<f64>::zeros((layer.n_heads, r.len(), r.len())))
                        .collect::<Vec<_>>()
                });
                for (item, r) in rows.iter().enumerate() {
                    for (dims, &head) in layer.head_dims.iter().zip(&layer.heads) {
                        let pattern = attend(layer, dims, &qkv, &mut z, r, &mut scores);
                        let len = r.len();
                        if let (Some(p), Ok(view)) = (
                            patterns.as_mut(),
                            ArrayView2::from_shape((len, len), pattern),
                        ) {
                            p[item]
                                .index_axis_mut(Axis(0), head)
                                .zip_mut_with(&view, |to, &from| *to = from.widen());
                        }
                    }
                }
                add_bias(&mut x, layer.b_o.as_ref());
                layer.w_o.apply(z.view(), None, &mut x, true);
                if let (Some(rec), Some(p)) = (recording.as_deref_mut(), patterns) {
                    for (item, pattern) in rec.patterns.iter_mut().zip(p) {
                        item.push(pattern);
                    }
                }
            } else {
                add_bias(&mut x, layer.b_o.as_ref());
                if let Some(rec) = recording.as_deref_mut() {
                    for (item, r) in rec.patterns.iter_mut().zip(&rows) {
                        item.push(Array3::zeros((layer.n_heads, r.len(), r.len())));
                    }
                }
            }
            if let Some(r) = recording.as_deref_mut() {
                record(r, &x);
            }
            let units = layer.w_in.d_out();
            if units > 0 {
                let mut hidden = Array2::<T>::zeros((units, total));
                layer
                    .w_in
                    .apply(x.view(), layer.b_in.as_ref(), &mut hidden, false);
                relu(&mut hidden);
                add_bias(&mut x, layer.b_out.as_ref());
                layer.w_out.apply(hidden.view(), None, &mut x, true);
            } else {
                add_bias(&mut x, layer.b_out.as_ref());
            }
            if let Some(r) = recording.as_deref_mut() {
                record(r, &x);
            }
        }
        let mut logits = Array2::<T>::zeros((self.unembed.d_out(), total));
        self.unembed
            .apply(x.view(), self.unembed_bias.as_ref(), &mut logits, false);
        (x, logits)
    }

    /// [`Runner::predict_checked`] in `T`.
    fn predict_checked(&self, batch: &[Vec<u32>]) -> Vec<Vec<Prediction>> {
        let mut out = Vec::with_capacity(batch.len());
        for items in chunks(batch) {
            let items: Vec<&[u32]> = batch[items].iter().map(Vec::as_slice).collect();
            let (_, logits) = self.chunk(&items, None);
            let mut row = 0;
            for ids in items {
                let rows = row + 1..row + ids.len();
                row += ids.len();
                out.push(rows.map(|r| self.prediction(logits.column(r))).collect());
            }
        }
        out
    }

    /// One position's output from its logits, as [`Model::decode`] reads it.
    fn prediction(&self, logits: ArrayView1<'_, T>) -> Prediction {
        self.decoder.predict(logits.iter().map(|&v| v.widen()))
    }
}

/// Whether every weight of a layer is finite.
fn layer_finite<T: Real>(layer: &Layer<T>) -> bool {
    let (a, m) = (&layer.attn, &layer.mlp);
    finite(&a.w_q)
        && finite(&a.w_k)
        && finite(&a.w_v)
        && finite(&a.w_o)
        && finite(&a.b_q)
        && finite(&a.b_k)
        && finite(&a.b_v)
        && finite(&a.b_o)
        && finite(&m.w_in)
        && finite(&m.b_in)
        && finite(&m.w_out)
        && finite(&m.b_out)
}

/// Whether every entry of `a` is finite.
fn finite<T: Real, D: Dimension>(a: &Array<T, D>) -> bool {
    a.iter().all(|v| v.is_finite())
}

/// `[features, positions]` to `[positions, features]`, widened to `f64`,
/// standard layout.
fn widened<T: Real>(x: &Array2<T>) -> Array2<f64> {
    Array2::from_shape_fn((x.ncols(), x.nrows()), |(p, f)| x[[f, p]].widen())
}

/// One head on one item: scores, softmax, and the weighted sum of values
/// into `z`. Returns the pattern (`len × len`, query by key).
///
/// numpy (features by positions): `p = softmax(q.T @ k / sqrt(d_head));
/// z[head, cols] = v @ p.T`.
fn attend<'s, T: Real>(
    layer: &PreparedLayer<T>,
    head: &HeadDims,
    qkv: &Array2<T>,
    z: &mut Array2<T>,
    cols: &Range<usize>,
    scores: &'s mut [T],
) -> &'s [T] {
    let scale = T::one() / T::from_f64(layer.d_head as f64).sqrt();
    let len = cols.len();
    let scores = &mut scores[..len * len];
    let n = qkv.ncols();
    let (Some(qkv), Some(z)) = (qkv.as_slice(), z.as_slice_mut()) else {
        unreachable!("packed chunks are in standard layout");
    };
    let row = |d: usize| &qkv[d * n + cols.start..d * n + cols.end];
    if len == 0 {
        return scores;
    }
    // Scores row by row: for each query/key dimension, the query's entry
    // times the keys' row (a query entry of zero adds exactly zero).
    scores.fill(T::zero());
    for (dq, dk) in head.q.clone().zip(head.k.clone()) {
        let keys = row(dk);
        for (score_row, &q) in scores.chunks_exact_mut(len).zip(row(dq)) {
            if q != T::zero() {
                for (s, &k) in score_row.iter_mut().zip(keys) {
                    *s += q * k;
                }
            }
        }
    }
    for score_row in scores.chunks_exact_mut(len) {
        score_row.iter_mut().for_each(|s| *s *= scale);
        softmax(score_row);
    }
    for (dv, dz) in head.v.clone().zip(head.z.clone()) {
        let values = row(dv);
        let out = &mut z[dz * n + cols.start..dz * n + cols.end];
        for (o, pattern_row) in out.iter_mut().zip(scores.chunks_exact(len)) {
            *o = dot(pattern_row, values);
        }
    }
    scores
}

/// `a · b`, eight lanes at a time (so it vectorises), then the rest.
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(&x, &y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for ((lane, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<T>() + tail
}

/// In-place softmax of one row, numerically stable.
///
/// numpy: `e = np.exp(x - x.max()); x[:] = e / e.sum()`, except that the
/// maximum starts at `-inf` (so an empty row is fine) and a fully masked row,
/// all `-inf`, becomes all zeros instead of NaNs. `-inf` entries get weight 0.
///
/// `exp` of anything below [`Real::EXP_ZERO`] (-110 in f32, -750 in f64)
/// is exactly 0, so those entries are set to 0 without calling it (hard
/// attention leaves most entries there).
pub fn softmax<T: Real>(row: &mut [T]) {
    let max = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    if max == T::neg_infinity() {
        row.fill(T::zero());
        return;
    }
    let mut sum = T::zero();
    for v in row.iter_mut() {
        let d = *v - max;
        *v = if d < T::EXP_ZERO { T::zero() } else { d.exp() };
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// In-place ReLU.
///
/// numpy: `np.maximum(x, 0, out=x)`, except that NaN becomes 0.
pub fn relu<T: Real, D: Dimension>(x: &mut Array<T, D>) {
    x.mapv_inplace(|v| if v > T::zero() { v } else { T::zero() });
}

#[cfg(test)]
#[path = "forward_tests.rs"]
pub(crate) mod tests;
