//! Tests of the forward pass against a naive reference, on a hand-built model.

use ndarray::{arr1, Array1, Array2, Array3};

use super::{relu, softmax};
use crate::eval::atom::Atom;
use crate::model::{
    Attention, Dtype, Layer, Mlp, Model, ModelConfig, ModelMeta, OutputDecoding, Real,
    FORMAT_VERSION,
};

// Residual layout of the test model.
const ONE: usize = 0;
const BOS: usize = 1;
const TOKENS: usize = 2; // tokens:a, tokens:b, tokens:c
const POSITIONS: usize = 5; // pos:0 ..= pos:4
const PREV: usize = 10; // prev:-, prev:a, prev:b, prev:c
const SCRATCH: usize = 14;
const D_MODEL: usize = 15;

/// A small deterministic generator for "random" weights in (-0.5, 0.5).
pub(crate) fn pseudo_random(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
}

/// One layer over vocab `{a, b, c}`, `max_len` 4. Head 0 copies the previous
/// token (BOS shows as `-`) into `prev:*`; head 1 and the MLP have arbitrary
/// weights but write only into a scratch dimension, so the output is the
/// previous token while every weight still matters to the numbers. An F32
/// model: every weight is an f32 value.
pub(crate) fn previous_token_model() -> Model {
    let mut seed = 7;
    let (n_heads, d_head, d_mlp, n_ctx, d_vocab) = (2, 5, 3, 5, 4);
    let mut embed = Array2::zeros((d_vocab, D_MODEL));
    embed.column_mut(ONE).fill(1.0);
    embed[[0, BOS]] = 1.0;
    for token in 0..3 {
        embed[[token + 1, TOKENS + token]] = 1.0;
    }
    let pos_embed = Array2::from_shape_fn((n_ctx, D_MODEL), |(p, d)| f64::from(d == POSITIONS + p));

    let sharpness = f64::from(20.0 * (d_head as f32).sqrt()); // folded into W_Q
    let random = |seed: &mut u64| f64::from(pseudo_random(seed));
    let mut w_q = Array3::zeros((n_heads, D_MODEL, d_head));
    let mut w_k = Array3::zeros((n_heads, D_MODEL, d_head));
    let mut w_v = Array3::zeros((n_heads, D_MODEL, d_head));
    let mut w_o = Array3::zeros((n_heads, d_head, D_MODEL));
    for p in 1..n_ctx {
        w_q[[0, POSITIONS + p, p - 1]] = sharpness;
    }
    for p in 0..n_ctx {
        w_k[[0, POSITIONS + p, p]] = 1.0;
    }
    for (slot, dim) in [BOS, TOKENS, TOKENS + 1, TOKENS + 2]
        .into_iter()
        .enumerate()
    {
        w_v[[0, dim, slot]] = 1.0;
        w_o[[0, slot, PREV + slot]] = 1.0;
    }
    for d in 0..D_MODEL {
        for j in 0..d_head {
            w_q[[1, d, j]] = random(&mut seed);
            w_k[[1, d, j]] = random(&mut seed);
            w_v[[1, d, j]] = random(&mut seed);
        }
    }
    for j in 0..d_head {
        w_o[[1, j, SCRATCH]] = random(&mut seed);
    }
    let mut random =
        |shape: (usize, usize)| Array2::from_shape_simple_fn(shape, || random(&mut seed));
    let b_q = random((n_heads, d_head));
    let b_k = random((n_heads, d_head));
    let b_v = random((n_heads, d_head));
    let w_in = random((D_MODEL, d_mlp));
    let b_in = random((1, d_mlp)).row(0).to_owned();
    let mut w_out = Array2::zeros((d_mlp, D_MODEL));
    w_out
        .column_mut(SCRATCH)
        .assign(&arr1(&[0.3_f32, -0.2, 0.1]).mapv(f64::from));
    let mut b_out = Array1::zeros(D_MODEL);
    b_out[SCRATCH] = 0.25;
    let mut b_o = Array1::zeros(D_MODEL);
    b_o[SCRATCH] = -0.5;

    let mut unembed = Array2::zeros((D_MODEL, 4));
    for slot in 0..4 {
        unembed[[PREV + slot, slot]] = 1.0;
    }
    let mut labels = vec!["one".to_string(), "bos".to_string()];
    labels.extend(["a", "b", "c"].map(|t| format!("tokens:{t}")));
    labels.extend((0..n_ctx).map(|p| format!("pos:{p}")));
    labels.extend(["-", "a", "b", "c"].map(|t| format!("prev:{t}")));
    labels.push("scratch".into());
    Model {
        config: ModelConfig {
            n_layers: 1,
            d_model: D_MODEL,
            n_heads,
            d_head,
            d_mlp,
            n_ctx,
            d_vocab,
            d_vocab_out: 4,
        },
        meta: ModelMeta {
            format_version: FORMAT_VERSION,
            bos_token: "BOS".into(),
            vocab: ["a", "b", "c"].map(Atom::str).to_vec(),
            max_len: n_ctx - 1,
            output: OutputDecoding::Categorical {
                values: ["-", "a", "b", "c"].map(Atom::str).to_vec(),
            },
            residual_labels: labels,
            source: "prev = aggregate(select(indices, indices - 1, ==), tokens);".into(),
            sop: "prev".into(),
            safe_dtypes: None,
            heads: None,
            mlps: None,
        },
        dtype: Dtype::F32,
        embed,
        pos_embed,
        layers: vec![Layer {
            attn: Attention {
                w_q,
                w_k,
                w_v,
                w_o,
                b_q,
                b_k,
                b_v,
                b_o,
            },
            mlp: Mlp {
                w_in,
                b_in,
                w_out,
                b_out,
            },
        }],
        unembed,
        unembed_bias: Array1::zeros(4),
    }
}

/// The forward pass of one sequence, one position and one number at a time,
/// in f64: the definition the batched pass must agree with.
#[allow(
    clippy::needless_range_loop,
    reason = "the reference spells out every index, like the formulas"
)]
fn reference_logits(model: &Model, ids: &[u32]) -> Vec<Vec<f64>> {
    let c = &model.config;
    let len = ids.len();
    let mut x: Vec<Vec<f64>> = (0..len)
        .map(|p| {
            (0..c.d_model)
                .map(|d| model.embed[[ids[p] as usize, d]] + model.pos_embed[[p, d]])
                .collect()
        })
        .collect();
    for layer in &model.layers {
        let a = &layer.attn;
        let project = |w: &Array3<f64>, b: &Array2<f64>, h: usize, row: &[f64]| -> Vec<f64> {
            (0..c.d_head)
                .map(|j| b[[h, j]] + (0..c.d_model).map(|d| row[d] * w[[h, d, j]]).sum::<f64>())
                .collect()
        };
        let mut attn_out: Vec<Vec<f64>> = vec![a.b_o.to_vec(); len];
        for h in 0..c.n_heads {
            for (qp, out) in attn_out.iter_mut().enumerate() {
                let q = project(&a.w_q, &a.b_q, h, &x[qp]);
                let scores: Vec<f64> = (0..len)
                    .map(|kp| {
                        let k = project(&a.w_k, &a.b_k, h, &x[kp]);
                        q.iter().zip(&k).map(|(a, b)| a * b).sum::<f64>() / (c.d_head as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                let mut z = vec![0.0; c.d_head];
                for (kp, s) in scores.iter().enumerate() {
                    let v = project(&a.w_v, &a.b_v, h, &x[kp]);
                    for j in 0..c.d_head {
                        z[j] += (s - max).exp() / total * v[j];
                    }
                }
                for d in 0..c.d_model {
                    out[d] += (0..c.d_head).map(|j| z[j] * a.w_o[[h, j, d]]).sum::<f64>();
                }
            }
        }
        for (row, out) in x.iter_mut().zip(&attn_out) {
            row.iter_mut().zip(out).for_each(|(r, o)| *r += o);
        }
        let m = &layer.mlp;
        for row in &mut x {
            let hidden: Vec<f64> = (0..c.d_mlp)
                .map(|u| {
                    let pre =
                        m.b_in[u] + (0..c.d_model).map(|d| row[d] * m.w_in[[d, u]]).sum::<f64>();
                    pre.max(0.0)
                })
                .collect();
            for d in 0..c.d_model {
                row[d] += m.b_out[d]
                    + (0..c.d_mlp)
                        .map(|u| hidden[u] * m.w_out[[u, d]])
                        .sum::<f64>();
            }
        }
    }
    x.iter()
        .map(|row| {
            (0..c.d_vocab_out)
                .map(|o| {
                    model.unembed_bias[o]
                        + (0..c.d_model)
                            .map(|d| row[d] * model.unembed[[d, o]])
                            .sum::<f64>()
                })
                .collect()
        })
        .collect()
}

fn atoms(text: &str) -> Vec<Atom> {
    text.chars().map(|c| Atom::str(&c.to_string())).collect()
}

fn strings(values: &[Atom]) -> String {
    values.iter().map(Atom::to_py_str).collect()
}

#[test]
fn softmax_is_stable_and_normalised() {
    let mut row = arr1(&[1000.0_f32, 1001.0, 999.0]);
    softmax(row.as_slice_mut().unwrap());
    let expected = [0.244_728_48, 0.665_240_94, 0.090_030_57];
    for (got, want) in row.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{row}");
    }
}

#[test]
fn softmax_gives_masked_entries_zero_and_masked_rows_zeros() {
    let mut row = arr1(&[0.0_f32, f32::NEG_INFINITY, 0.0]);
    softmax(row.as_slice_mut().unwrap());
    assert_eq!(row, arr1(&[0.5, 0.0, 0.5]));
    let mut masked = arr1(&[f32::NEG_INFINITY; 3]);
    softmax(masked.as_slice_mut().unwrap());
    assert_eq!(masked, arr1(&[0.0; 3]));
    let mut empty = Array1::<f32>::zeros(0);
    softmax(empty.as_slice_mut().unwrap());
}

#[test]
fn relu_clips_negatives_and_nan() {
    let mut x = arr1(&[-1.0_f32, 0.0, 2.5, f32::NAN]);
    relu(&mut x);
    assert_eq!(x, arr1(&[0.0, 0.0, 2.5, 0.0]));
}

#[test]
fn forward_matches_the_naive_reference() {
    let model = previous_token_model();
    for input in ["a", "bac", "ccab", "abca"] {
        let ids = model.encode(&atoms(input)).unwrap();
        let fwd = model.forward(std::slice::from_ref(&ids), false).unwrap();
        let reference = reference_logits(&model, &ids);
        for (got, want) in fwd.logits.rows().into_iter().zip(&reference) {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-4, "{input}: {got} vs {want:?}");
            }
        }
    }
}

#[test]
fn decode_reads_the_previous_token() {
    let model = previous_token_model();
    let batch: Vec<_> = ["bac", "c", "abca"]
        .iter()
        .map(|s| model.encode(&atoms(s)).unwrap())
        .collect();
    let fwd = model.forward(&batch, false).unwrap();
    let decoded: Vec<String> = model.decode(&fwd).iter().map(|d| strings(d)).collect();
    assert_eq!(decoded, ["-ba", "-", "-abc"]);
}

#[test]
fn a_batch_of_different_lengths_equals_each_item_alone() {
    let model = previous_token_model();
    let batch: Vec<_> = ["abca", "c", "ba", "bbb"]
        .iter()
        .map(|s| model.encode(&atoms(s)).unwrap())
        .collect();
    let together = model.forward(&batch, true).unwrap();
    for (item, ids) in batch.iter().enumerate() {
        let alone = model.forward(std::slice::from_ref(ids), true).unwrap();
        assert_eq!(together.logits_of(item), alone.logits_of(0));
        assert_eq!(together.residual_of(item), alone.residual_of(0));
        assert_eq!(together.patterns[item], alone.patterns[0]);
    }
}

#[test]
fn record_keeps_every_residual_and_pattern() {
    let model = previous_token_model();
    let batch: Vec<_> = ["abca", "c"]
        .iter()
        .map(|s| model.encode(&atoms(s)).unwrap())
        .collect();
    let fwd = model.forward(&batch, true).unwrap();
    assert_eq!(fwd.residuals.len(), 3);
    assert!(fwd.residuals.iter().all(|r| r.dim() == (7, D_MODEL)));
    assert_eq!(fwd.residuals[2], fwd.residual);
    assert_eq!(fwd.patterns.len(), 2);
    assert_eq!(fwd.patterns[0][0].dim(), (2, 5, 5));
    assert_eq!(fwd.patterns[1][0].dim(), (2, 2, 2));
    for row in fwd.patterns[0][0].rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    assert!(fwd.pattern(0, 0, 0)[[3, 2]] > 0.999);
    let names: Vec<_> = (0..3).map(super::Forward::residual_name).collect();
    assert_eq!(
        names,
        [
            "blocks.0.hook_resid_pre",
            "blocks.0.hook_resid_mid",
            "blocks.0.hook_resid_post"
        ]
    );
    let unrecorded = model.forward(&batch, false).unwrap();
    assert!(unrecorded.residuals.is_empty() && unrecorded.patterns.is_empty());
}

#[test]
fn empty_batch_is_fine() {
    let fwd = previous_token_model().forward(&[], true).unwrap();
    assert!(fwd.is_empty() && fwd.logits.nrows() == 0);
}

#[test]
fn encode_errors_name_the_problem() {
    let model = previous_token_model();
    let err = model.encode(&atoms("abz")).unwrap_err();
    assert_eq!(err.code_name(), "rasp::model::unknown_token");
    assert_eq!(
        err.to_string(),
        "token 'z' at position 2 is not in the model's vocabulary"
    );
    let err = model.encode(&atoms("abcab")).unwrap_err();
    assert_eq!(err.code_name(), "rasp::model::input_too_long");
    assert_eq!(
        model.encode(&[]).unwrap_err().code_name(),
        "rasp::model::empty_input"
    );
    assert_eq!(model.encode(&atoms("ca")).unwrap(), [0, 3, 1]);
}

#[test]
fn forward_rejects_bad_token_ids() {
    let model = previous_token_model();
    for batch in [
        vec![vec![1, 2]],
        vec![vec![0, 4]],
        vec![vec![0; 6]],
        vec![vec![]],
    ] {
        let err = model.forward(&batch, false).unwrap_err();
        assert_eq!(err.code_name(), "rasp::model::bad_token_ids", "{batch:?}");
    }
}

#[test]
fn forward_rejects_a_model_whose_shapes_contradict_its_config() {
    let mut model = previous_token_model();
    model.layers[0].mlp.b_in = Array1::zeros(4);
    let err = model.forward(&[vec![0]], false).unwrap_err();
    assert_eq!(err.code_name(), "rasp::model::wrong_shape");
    assert_eq!(
        err.to_string(),
        "tensor `blocks.0.mlp.b_in` has shape [4], expected [3]"
    );
}

#[test]
fn parameter_counts() {
    let model = previous_token_model();
    let expected =
        4 * 15 + 5 * 15 + 4 * 2 * 15 * 5 + 3 * 2 * 5 + 15 + 15 * 3 + 3 + 3 * 15 + 15 + 15 * 4 + 4;
    assert_eq!(model.parameter_count(), expected);
    assert!(model.nonzero_parameter_count() < expected);
    assert!(model.nonzero_parameter_count() > 100);
}

#[test]
fn predict_reads_what_decode_reads() {
    let model = previous_token_model();
    let runner = super::Runner::new(&model).unwrap();
    let batch: Vec<_> = ["abca", "c", "ba", "bbb", "cab"]
        .iter()
        .map(|s| model.encode(&atoms(s)).unwrap())
        .collect();
    let predicted: Vec<String> = model
        .predict(&runner, &batch)
        .unwrap()
        .into_iter()
        .map(|p| {
            strings(
                &p.into_iter()
                    .enumerate()
                    .map(|(i, p)| model.prediction_value(p, i))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let decoded: Vec<String> = model
        .decode(&model.forward(&batch, false).unwrap())
        .iter()
        .map(|d| strings(d))
        .collect();
    assert_eq!(predicted, decoded);
    assert_eq!(predicted, ["-abc", "-", "-b", "-bb", "-ca"]);
}

#[test]
fn a_batch_of_many_chunks_equals_each_item_alone() {
    let model = previous_token_model();
    let texts = ["abca", "c", "ba", "bbb", "cab", "a"];
    let batch: Vec<_> = (0..400)
        .map(|i| model.encode(&atoms(texts[i % texts.len()])).unwrap())
        .collect();
    assert!(batch.iter().map(Vec::len).sum::<usize>() > 4 * super::CHUNK_ROWS);
    let together = model.forward(&batch, false).unwrap();
    for (item, ids) in batch.iter().enumerate().step_by(37) {
        let alone = model.forward(std::slice::from_ref(ids), false).unwrap();
        assert_eq!(together.logits_of(item), alone.logits_of(0));
        assert_eq!(together.residual_of(item), alone.residual_of(0));
    }
}

/// `exp` of everything below `T::EXP_ZERO` is 0, as softmax assumes, and
/// `exp(near)` (a little above it) is not: the threshold is not needlessly low.
fn exp_zero_is_exact<T: Real>(near: T) {
    let mut x = T::EXP_ZERO;
    let (grow, step, end) = (T::from_f64(1.001), T::from_f64(0.01), T::from_f64(-1.0e6));
    while x > end {
        assert_eq!(x.exp(), T::zero(), "exp({x})");
        x = x * grow - step;
    }
    assert!(near > T::EXP_ZERO && near.exp() > T::zero(), "exp({near})");
}

#[test]
fn exp_below_the_zero_threshold_is_exactly_zero() {
    exp_zero_is_exact(-103.0_f32);
    exp_zero_is_exact(-745.0_f64);
    let mut row = [0.0_f32, -200.0, -105.0, f32::NEG_INFINITY];
    softmax(&mut row);
    assert_eq!(row, [1.0, 0.0, 0.0, 0.0]);
    // In f64, e^-200 and e^-740 are weights (below 1 in the sum's last bit,
    // so the maximum still gets 1); e^-800 is 0 as in f32.
    let mut row = [0.0_f64, -200.0, -740.0, -800.0, f64::NEG_INFINITY];
    softmax(&mut row);
    assert_eq!(row[0], 1.0);
    assert!(row[1] > 1e-87 && row[1] == (-200.0_f64).exp(), "{row:?}");
    assert!(row[2] > 0.0, "{row:?}");
    assert_eq!(row[3..], [0.0, 0.0]);
}

/// FNV-1a of the f32 bits of `values`, each checked to be an f32 value.
fn f32_bits_hash<'a>(values: impl IntoIterator<Item = &'a f64>) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for &v in values {
        let narrow = v as f32;
        assert_eq!(f64::from(narrow), v, "not an f32 value");
        for byte in narrow.to_bits().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[test]
fn an_f32_run_is_bit_identical_to_the_f32_runtime_before_dtypes() {
    // The hash and the logits were computed by the runtime as it was when
    // it ran in f32 only, on this model and batch.
    let model = previous_token_model();
    let batch: Vec<_> = ["abca", "c", "ba", "bbb", "cab"]
        .iter()
        .map(|s| model.encode(&atoms(s)).unwrap())
        .collect();
    let fwd = model.forward(&batch, true).unwrap();
    let all = fwd
        .logits
        .iter()
        .chain(fwd.residuals.iter().flatten())
        .chain(fwd.patterns.iter().flatten().flatten());
    assert_eq!(f32_bits_hash(all), 0x8c5a_c801_9f6a_328a);
    let first: Vec<u32> = fwd
        .logits_of(0)
        .iter()
        .map(|&v| (v as f32).to_bits())
        .collect();
    assert_eq!(
        first,
        [
            1055103783, 1058565296, 1020703742, 1051173680, 1067706264, 1041807928, 3190935380,
            1041030724, 1049599584, 1066604359, 3190935380, 1041030724, 1049599584, 1041807928,
            1062439979, 1041030724, 1049599584, 1041807928, 3190935380, 1066507208
        ]
    );
}

#[test]
fn an_f64_model_runs_in_f64() {
    // Weights that f32 cannot hold, which the f64 run must follow to about
    // 1e-15 where an f32 run is off by about 1e-7.
    let mut model = previous_token_model().with_dtype(Dtype::F64);
    let mut seed = 3;
    let mut nudge = |w: f64| w + f64::from(pseudo_random(&mut seed)) * 1e-9;
    model.layers[0].attn.w_q.mapv_inplace(&mut nudge);
    model.layers[0].mlp.w_in.mapv_inplace(&mut nudge);
    let as_f32 = model.clone().with_dtype(Dtype::F32);
    let (mut err64, mut err32) = (0.0_f64, 0.0_f64);
    for input in ["a", "bac", "ccab", "abca"] {
        let ids = model.encode(&atoms(input)).unwrap();
        let reference = reference_logits(&model, &ids);
        let batch = std::slice::from_ref(&ids);
        let f64_logits = model.forward(batch, false).unwrap().logits;
        let f32_logits = as_f32.forward(batch, false).unwrap().logits;
        for ((got64, got32), want) in f64_logits
            .rows()
            .into_iter()
            .zip(f32_logits.rows())
            .zip(&reference)
        {
            for ((g64, g32), w) in got64.iter().zip(got32).zip(want) {
                err64 = err64.max((g64 - w).abs());
                err32 = err32.max((g32 - w).abs());
            }
        }
        let decoded = |m: &Model| strings(&m.decode(&m.forward(batch, false).unwrap())[0]);
        assert_eq!(decoded(&model), decoded(&as_f32), "{input}");
    }
    assert!(err64 < 1e-12, "f64 error {err64}");
    assert!(
        err32 > 1e-9,
        "f32 error {err32} (is the f32 run really f32?)"
    );
    let runner = super::Runner::new(&model).unwrap();
    assert_eq!(runner.dtype(), Dtype::F64);
    assert_eq!(super::Runner::new(&as_f32).unwrap().dtype(), Dtype::F32);
}

#[test]
fn a_forward_pass_past_the_memory_budget_is_an_error_before_it_allocates() {
    let model = previous_token_model();
    let runner = super::Runner::new(&model).unwrap();
    let batch: Vec<_> = ["abca", "cab"]
        .iter()
        .map(|s| model.encode(&atoms(s)).unwrap())
        .collect();
    // A budget far below one chunk's buffers, on this thread only.
    crate::memory::set_limit(1024);
    let predicted = model.predict(&runner, &batch);
    let forward = model.forward(&batch, true);
    crate::memory::set_limit(crate::memory::default_limit());
    for result in [predicted.map(|_| ()), forward.map(|_| ())] {
        match result {
            Err(e @ crate::model::ModelError::Memory { .. }) => {
                assert!(e.to_string().contains("MiB for activations"), "{e}");
            }
            other => panic!("expected a memory error, got {other:?}"),
        }
    }
    assert!(model.predict(&runner, &batch).is_ok());
}
