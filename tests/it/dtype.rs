//! Model dtypes: F32 models run exactly as before dtypes existed, F64 models
//! compile, run, save and verify in f64, and the command line's `--dtype`.

use rasp::compile::verify::{all_inputs, verify};
use rasp::compile::{compile, compile_with, CompileOptions};
use rasp::eval::atom::Atom;
use rasp::eval::sop::SOp;
use rasp::eval::value::Value;
use rasp::model::forward::Runner;
use rasp::model::{Dtype, FloatType, Model, OutputDecoding};
use rasp::syntax::span::source;
use rasp::Interpreter;

use crate::rasp;

/// A model file written by `rasp compile examples/sort.rasp --vocab a,b,c
/// --max-len 4` before models had a dtype (its metadata has none).
const SORT_BEFORE_DTYPES: &[u8] = include_bytes!("../fixtures/sort_abc_4_f32.safetensors");

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

fn sop_of(program: &str) -> SOp {
    let mut interp = Interpreter::new().expect("starts");
    interp
        .run(&source("<test>", program.to_string()), None, &mut |_| {})
        .expect("runs");
    match interp.get("task") {
        Some(Value::SOp(sop)) => sop,
        _ => panic!("`task` is an s-op"),
    }
}

fn strings(tokens: &str) -> Vec<Atom> {
    tokens
        .split(',')
        .map(|t| Atom::Str(t.to_string().into()))
        .collect()
}

#[test]
fn a_file_from_before_dtypes_loads_as_f32_and_runs_bit_identically() {
    let model = Model::from_bytes(SORT_BEFORE_DTYPES).expect("loads");
    assert_eq!(model.dtype, Dtype::F32);
    let inputs: Vec<Vec<Atom>> = all_inputs(&model.meta.vocab, 4, 1_000)
        .expect("small")
        .collect();
    assert_eq!(inputs.len(), 120);
    let batch: Vec<Vec<u32>> = inputs
        .iter()
        .map(|i| model.encode(i).expect("encodes"))
        .collect();
    // The hashes and logits were computed by the runtime as it was when it
    // ran in f32 only, on this file and these inputs.
    let recorded = model.forward(&batch, true).expect("runs");
    assert_eq!(f32_bits_hash(&recorded.logits), 0xd9b5_c82f_3f5f_22c5);
    assert_eq!(
        f32_bits_hash(recorded.residuals.iter().flatten()),
        0x6ecf_330d_52e1_2b71
    );
    assert_eq!(
        f32_bits_hash(recorded.patterns.iter().flatten().flatten()),
        0xf9cc_234b_96a1_bd97
    );
    let fwd = model.forward(&batch, false).expect("runs");
    assert_eq!(
        f32_bits_hash(fwd.logits.iter().chain(&fwd.residual)),
        0xd8e8_1ef8_00c1_fac7
    );
    let item: Vec<u32> = fwd
        .logits_of(100)
        .iter()
        .map(|&v| (v as f32).to_bits())
        .collect();
    assert_eq!(
        item,
        [
            1065353216, 6, 6, 12, 928252591, 1065353004, 791647493, 800036101, 928252591,
            791647493, 1065353004, 800036101, 928252591, 791647493, 791647493, 1065353004,
            928252591, 791647493, 791647493, 1065353004
        ]
    );
    // It still sorts, through `predict` too.
    let runner = Runner::new(&model).expect("prepares");
    let predicted = model.predict(&runner, &batch).expect("runs");
    for ((input, decoded), predicted) in inputs.iter().zip(model.decode(&fwd)).zip(predicted) {
        let mut sorted: Vec<String> = input.iter().map(Atom::short).collect();
        sorted.sort();
        let shown: Vec<String> = decoded.iter().map(Atom::short).collect();
        assert_eq!(shown, sorted);
        let values: Vec<Atom> = predicted
            .into_iter()
            .enumerate()
            .map(|(i, p)| model.prediction_value(p, i))
            .collect();
        assert_eq!(values.iter().map(Atom::short).collect::<Vec<_>>(), sorted);
    }
    // Written again, it records its dtype, and keeps its weights.
    let again = Model::from_bytes(&model.to_bytes().expect("writes")).expect("loads");
    assert_eq!(again.dtype, Dtype::F32);
    let fwd_again = again.forward(&batch, false).expect("runs");
    assert_eq!(fwd_again.logits, fwd.logits);
}

#[test]
fn f32_and_f64_models_decode_alike() {
    let cases = [
        ("task = sort(tokens, tokens);", "a,b,c", 5),
        ("task = histogram(tokens);", "a,b,c", 5),
        ("task = reverse(tokens);", "a,b,c", 5),
        ("task = dyck2(tokens);", "(,),{,}", 4),
        ("task = frac_prevs(tokens, \"x\");", "x,a", 6),
    ];
    for (program, vocab, max_len) in cases {
        let sop = sop_of(program);
        let vocab = strings(vocab);
        let f32_model = compile(&sop, "task", program, &vocab, max_len).expect("compiles");
        let options = CompileOptions { dtype: Dtype::F64 };
        let f64_model =
            compile_with(&sop, "task", program, &vocab, max_len, &options).expect("compiles");
        assert_eq!((f32_model.dtype, f64_model.dtype), (Dtype::F32, Dtype::F64));
        assert!(f32_model
            .tensors()
            .iter()
            .all(|(_, t)| t.iter().all(|&w| f64::from(w as f32) == w)));
        assert_eq!(f32_model.parameter_count(), f64_model.parameter_count());
        let inputs: Vec<Vec<Atom>> = all_inputs(&vocab, max_len, 100_000)
            .expect("small")
            .collect();
        let batch: Vec<Vec<u32>> = inputs
            .iter()
            .map(|i| f32_model.encode(i).expect("encodes"))
            .collect();
        let predict = |model: &Model| {
            let runner = Runner::new(model).expect("prepares");
            assert_eq!(runner.dtype(), model.dtype);
            model.predict(&runner, &batch).expect("runs")
        };
        assert_eq!(predict(&f32_model), predict(&f64_model), "{program}");
        let report = verify(&f64_model, &sop, inputs.into_iter(), |_| {});
        assert_eq!(report.mismatch_count, 0, "{program}: {report:?}");
        // An F64 file holds the same model.
        let loaded = Model::from_bytes(&f64_model.to_bytes().expect("writes")).expect("loads");
        assert_eq!(loaded.dtype, Dtype::F64);
        assert_eq!(predict(&loaded), predict(&f64_model), "{program}");
    }
}

#[test]
fn means_near_a_million_need_f64() {
    // Prefix means of values 1e6 + {0, 0.01, 0.03}: f32 (24 bits, steps of
    // 0.0625 near 1e6) cannot tell them apart; f64 can.
    let program = "task = aggregate(select(indices, indices, <=), tokens_float);";
    let sop = sop_of(program);
    let vocab = [1_000_000.0, 1_000_000.01, 1_000_000.03].map(Atom::Float);
    let check = |dtype| {
        let options = CompileOptions { dtype };
        let model = compile_with(&sop, "task", program, &vocab, 4, &options).expect("compiles");
        let inputs = all_inputs(&vocab, 4, 1_000).expect("small");
        verify(&model, &sop, inputs, |_| {})
    };
    // The file keeps the nearest-value table to the last bit.
    let options = CompileOptions { dtype: Dtype::F64 };
    let model = compile_with(&sop, "task", program, &vocab, 4, &options).expect("compiles");
    let loaded = Model::from_bytes(&model.to_bytes().expect("writes")).expect("loads");
    let table = |m: &Model| match &m.meta.output {
        OutputDecoding::Numerical { values, .. } => {
            values.iter().map(Atom::repr).collect::<Vec<_>>()
        }
        OutputDecoding::Categorical { .. } => panic!("a numerical output"),
    };
    assert_eq!(table(&loaded), table(&model));
    // Nor is float32 among the types the record calls safe.
    assert_eq!(
        model.meta.safe_dtypes,
        Some(vec![FloatType::Float64]),
        "an f64 model whose values f32 cannot hold apart"
    );
    let f64_report = check(Dtype::F64);
    assert_eq!(
        (f64_report.matched, f64_report.mismatch_count),
        (120, 0),
        "{f64_report:?}"
    );
    // f32 cannot: the compiler knows it and refuses, naming the node and
    // the way out.
    let options = CompileOptions { dtype: Dtype::F32 };
    let err = compile_with(&sop, "task", program, &vocab, 4, &options).expect_err("refused");
    assert_eq!(
        err.kind,
        rasp::compile::error::CompileErrorKind::Precision,
        "{err:?}"
    );
    assert_eq!(err.label, "`task`");
    assert!(
        err.help.as_deref().unwrap_or("").contains("--dtype f64"),
        "{err:?}"
    );
}

#[test]
fn the_command_line_takes_a_dtype() {
    let dir = std::env::temp_dir().join(format!("rasp-dtype-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("sort64.safetensors").display().to_string();
    let args = [
        "compile",
        "examples/sort.rasp",
        "--vocab",
        "a,b,c",
        "--max-len",
        "5",
        "--dtype",
        "f64",
        "-o",
        &path,
    ];
    let out = rasp(&args, None);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("dtype F64"), "{stdout}");
    let model = Model::load(&path).expect("loads");
    assert_eq!(model.dtype, Dtype::F64);
    let out = rasp(&["inspect", &path, "--json"], None);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["dtype"], "F64");
    let out = rasp(&["inspect", &path], None);
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains("dtype: F64 (weights stored and run in float64)"),
        "{shown}"
    );
    let out = rasp(&["exec", &path, "--input", "cabba"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[a, a, b, b, c]\n");
    std::fs::remove_dir_all(&dir).expect("cleans up");

    let verify_args = [
        "verify",
        "examples/sort.rasp",
        "--vocab",
        "a,b",
        "--max-len",
        "4",
    ];
    for (dtype, shown) in [("f32", "dtype F32"), ("f64", "dtype F64")] {
        let mut args = verify_args.to_vec();
        args.extend(["--dtype", dtype]);
        let out = rasp(&args, None);
        assert_eq!(out.status.code(), Some(0));
        let summary = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(summary.contains(shown), "{summary}");
        args.push("--json");
        let out = rasp(&args, None);
        assert_eq!(out.status.code(), Some(0));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(report["agree"], 30, "{report}");
    }
    let mut args = verify_args.to_vec();
    args.extend(["--dtype", "f16"]);
    let out = rasp(&args, None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("f32") && stderr.contains("f64"), "{stderr}");
}

#[test]
fn the_record_states_the_float_types_the_compiler_proved() {
    let types = |program: &str, vocab: &[Atom], dtype| {
        let sop = sop_of(program);
        let options = CompileOptions { dtype };
        let model = compile_with(&sop, "task", program, vocab, 8, &options).expect("compiles");
        let loaded = Model::from_bytes(&model.to_bytes().expect("writes")).expect("loads");
        assert_eq!(loaded.meta.safe_dtypes, model.meta.safe_dtypes, "{program}");
        model.meta.safe_dtypes.expect("the compiler states them")
    };
    let ints = [1, 2, 3, 4, 5].map(Atom::Int);
    let all = FloatType::ALL.to_vec();
    // Small whole numbers through MLPs alone: exact in every type.
    assert_eq!(
        types("task = tokens_asis * 3 - 1;", &ints, Dtype::F32),
        all,
        "no attention, small integers"
    );
    // Hard attention: the scores' rounding in a 16-bit type could move
    // weight between keys by more than the readers allow, so only the
    // model's own type and the wider one are proved.
    let wide = vec![FloatType::Float32, FloatType::Float64];
    let sort = "task = sort(tokens_asis, tokens_asis);";
    assert_eq!(types(sort, &ints, Dtype::F32), wide, "{sort}");
    // A float64 model's sharpness is chosen for float64's rounding, with
    // no room left for float32's.
    assert_eq!(
        types(sort, &ints, Dtype::F64),
        vec![FloatType::Float64],
        "{sort} (F64)"
    );
    // A categorical map of large numbers never holds them in the residual
    // stream: exact in every type too.
    let big = [1, 2, 3].map(|i| Atom::Int(i * 100_000));
    assert_eq!(types("task = tokens_asis + 1;", &big, Dtype::F32), all);
}
