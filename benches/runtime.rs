//! Runtime benchmarks: the forward pass of a compiled model on batches of
//! 1 to 10,000 inputs (F32, and F64 on 10,000), and, on a dense model of the
//! same shapes (random weights, so every product goes through GEMM), the
//! forward pass against the same matrix products alone.
//!
//! Run with `cargo bench --bench runtime`; results go in `BENCHMARKS.md`.
//! The `dense_*` groups report throughput in floating-point operations per
//! second (criterion's "elem/s").

/// Allocations counted as the `rasp` binary counts them (memory limits,
/// leak checks).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Array3};
use rasp::eval::atom::Atom;
use rasp::eval::value::Value;
use rasp::model::forward::{Runner, CHUNK_ROWS};
use rasp::model::{
    Attention, Dtype, Layer, Mlp, Model, ModelConfig, ModelMeta, OutputDecoding, FORMAT_VERSION,
};
use rasp::syntax::span::source;
use rasp::Interpreter;
use rayon::prelude::*;

const LETTERS: &[u8] = b"abcdefghij";

/// Fixed-seed numbers in (-0.5, 0.5).
fn generator(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }
}

/// `count` token id sequences (BOS first) of lengths 1..=max_len (or all
/// of length `max_len` with `full`).
fn batch(count: usize, max_len: usize, vocab: usize, full: bool) -> Vec<Vec<u32>> {
    let mut next = generator(7);
    (0..count)
        .map(|_| {
            let len = if full {
                max_len
            } else {
                1 + ((next() + 0.5) * max_len as f32) as usize % max_len
            };
            std::iter::once(0)
                .chain((0..len).map(|_| 1 + ((next() + 0.5) * vocab as f32) as u32 % vocab as u32))
                .collect()
        })
        .collect()
}

/// The library sort compiled at `max_len` 16 over ten letters.
fn compiled_sort() -> Model {
    let mut interp = Interpreter::new().expect("interpreter starts");
    let text = "y = sort(tokens, tokens);\n";
    interp
        .run(&source("<bench>", text.to_string()), None, &mut |_| {})
        .expect("program runs");
    let Some(Value::SOp(y)) = interp.get("y") else {
        panic!("`y` is an s-op");
    };
    let vocab: Vec<Atom> = LETTERS
        .iter()
        .map(|&c| Atom::Str((c as char).to_string().into()))
        .collect();
    rasp::compile::compile(&y, "y", text, &vocab, 16).expect("sort compiles")
}

fn compiled(c: &mut Criterion) {
    let model = compiled_sort();
    let runner = Runner::new(&model).expect("runner");
    let mut group = c.benchmark_group("compiled_sort_forward");
    group.sample_size(10);
    for count in [1, 100, 10_000] {
        let inputs = batch(count, 16, LETTERS.len(), false);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &inputs, |b, inputs| {
            b.iter(|| model.predict(&runner, inputs).expect("runs"))
        });
    }
    group.finish();
    let model = compiled_sort().with_dtype(Dtype::F64);
    let runner = Runner::new(&model).expect("runner");
    let mut group = c.benchmark_group("compiled_sort_forward_f64");
    group.sample_size(10);
    let count = 10_000;
    let inputs = batch(count, 16, LETTERS.len(), false);
    group.throughput(Throughput::Elements(count as u64));
    group.bench_with_input(BenchmarkId::from_parameter(count), &inputs, |b, inputs| {
        b.iter(|| model.predict(&runner, inputs).expect("runs"))
    });
    group.finish();
}

/// The shapes of an earlier compile of sort (d_model 108, 2 heads of 35,
/// MLP 578, 3 layers, 17 positions), with dense random weights.
struct Shapes {
    d_model: usize,
    n_heads: usize,
    d_head: usize,
    d_mlp: usize,
    n_layers: usize,
    n_ctx: usize,
    d_vocab: usize,
    d_out: usize,
}

const SHAPES: Shapes = Shapes {
    d_model: 108,
    n_heads: 2,
    d_head: 35,
    d_mlp: 578,
    n_layers: 3,
    n_ctx: 17,
    d_vocab: 11,
    d_out: 11,
};

fn dense_model(s: &Shapes) -> Model {
    let mut next = generator(11);
    let mut array2 = |r, c| Array2::from_shape_simple_fn((r, c), &mut next);
    let embed = array2(s.d_vocab, s.d_model);
    let pos_embed = array2(s.n_ctx, s.d_model);
    let unembed = array2(s.d_model, s.d_out);
    let mut next = generator(13);
    let mut array3 = |a, b, c| Array3::from_shape_simple_fn((a, b, c), &mut next);
    let layers = (0..s.n_layers)
        .map(|_| {
            Layer {
                attn: Attention {
                    w_q: array3(s.n_heads, s.d_model, s.d_head),
                    w_k: array3(s.n_heads, s.d_model, s.d_head),
                    w_v: array3(s.n_heads, s.d_model, s.d_head),
                    w_o: array3(s.n_heads, s.d_head, s.d_model),
                    b_q: Array2::zeros((s.n_heads, s.d_head)),
                    b_k: Array2::zeros((s.n_heads, s.d_head)),
                    b_v: Array2::zeros((s.n_heads, s.d_head)),
                    b_o: Array1::zeros(s.d_model),
                },
                mlp: Mlp {
                    w_in: array3(1, s.d_model, s.d_mlp).index_axis_move(ndarray::Axis(0), 0),
                    b_in: Array1::zeros(s.d_mlp),
                    w_out: array3(1, s.d_mlp, s.d_model).index_axis_move(ndarray::Axis(0), 0),
                    b_out: Array1::zeros(s.d_model),
                },
            }
            .map(f64::from)
        })
        .collect();
    Model {
        config: ModelConfig {
            n_layers: s.n_layers,
            d_model: s.d_model,
            n_heads: s.n_heads,
            d_head: s.d_head,
            d_mlp: s.d_mlp,
            n_ctx: s.n_ctx,
            d_vocab: s.d_vocab,
            d_vocab_out: s.d_out,
        },
        meta: ModelMeta {
            format_version: FORMAT_VERSION,
            bos_token: "BOS".into(),
            vocab: (1..s.d_vocab).map(|i| Atom::Int(i as i64)).collect(),
            max_len: s.n_ctx - 1,
            output: OutputDecoding::Categorical {
                values: (0..s.d_out).map(|i| Atom::Int(i as i64)).collect(),
            },
            residual_labels: (0..s.d_model).map(|i| format!("d{i}")).collect(),
            source: String::new(),
            sop: "dense".into(),
            safe_dtypes: None,
            heads: None,
            mlps: None,
        },
        dtype: Dtype::F32,
        embed: embed.mapv(f64::from),
        pos_embed: pos_embed.mapv(f64::from),
        layers,
        unembed: unembed.mapv(f64::from),
        unembed_bias: Array1::zeros(s.d_out),
    }
}

/// Multiply-adds ×2 of the position-wise products, per position.
fn gemm_flops_per_row(s: &Shapes) -> usize {
    let width = s.n_heads * s.d_head;
    2 * (s.n_layers * (s.d_model * 3 * width + width * s.d_model + 2 * s.d_model * s.d_mlp)
        + s.d_model * s.d_out)
}

/// One layer's position-wise weights: W_QKV, W_O, W_in, W_out.
type LayerWeights = (Array2<f32>, Array2<f32>, Array2<f32>, Array2<f32>);

/// The position-wise products of the forward pass, alone: the same shapes,
/// the same chunks of rows, the same threads.
fn gemm_only(s: &Shapes, rows: usize, weights: &[LayerWeights], unembed: &Array2<f32>) {
    let chunks: Vec<usize> = (0..rows.div_ceil(CHUNK_ROWS)).collect();
    chunks.par_iter().for_each(|&i| {
        let n = CHUNK_ROWS.min(rows - i * CHUNK_ROWS);
        let mut x = Array2::<f32>::from_elem((n, s.d_model), 0.5);
        let width = s.n_heads * s.d_head;
        for (w_qkv, w_o, w_in, w_out) in weights {
            let mut qkv = Array2::<f32>::zeros((n, 3 * width));
            general_mat_mul(1.0, &x, w_qkv, 0.0, &mut qkv);
            let z = qkv.slice(ndarray::s![.., ..width]);
            general_mat_mul(1.0, &z, w_o, 1.0, &mut x);
            let mut hidden = Array2::<f32>::zeros((n, s.d_mlp));
            general_mat_mul(1.0, &x, w_in, 0.0, &mut hidden);
            general_mat_mul(1.0, &hidden, w_out, 1.0, &mut x);
        }
        let mut logits = Array2::<f32>::zeros((n, s.d_out));
        general_mat_mul(1.0, &x, unembed, 0.0, &mut logits);
        std::hint::black_box(logits);
    });
}

fn dense(c: &mut Criterion) {
    let s = SHAPES;
    let model = dense_model(&s);
    let runner = Runner::new(&model).expect("runner");
    let inputs = batch(10_000, s.n_ctx - 1, s.d_vocab - 1, true);
    let rows: usize = inputs.iter().map(Vec::len).sum();
    let flops = (gemm_flops_per_row(&s) * rows) as u64;
    let mut group = c.benchmark_group("dense_10000x17");
    group.sample_size(10);
    group.throughput(Throughput::Elements(flops));
    group.bench_function("forward", |b| {
        b.iter(|| model.predict(&runner, &inputs).expect("runs"))
    });
    let mut next = generator(17);
    let mut array2 = |r, c| Array2::from_shape_simple_fn((r, c), &mut next);
    let width = s.n_heads * s.d_head;
    let weights: Vec<_> = (0..s.n_layers)
        .map(|_| {
            (
                array2(s.d_model, 3 * width),
                array2(width, s.d_model),
                array2(s.d_model, s.d_mlp),
                array2(s.d_mlp, s.d_model),
            )
        })
        .collect();
    let unembed = array2(s.d_model, s.d_out);
    group.bench_function("gemm_only", |b| {
        b.iter(|| gemm_only(&s, rows, &weights, &unembed))
    });
    group.finish();
}

criterion_group!(benches, compiled, dense);
criterion_main!(benches);
