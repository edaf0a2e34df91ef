//! The weight file as other code reads it: `exec` equal to `run` bit for bit
//! on fractions, the record's conventions through the command line, and the
//! NumPy forward pass of docs/FORMAT.md against `rasp exec`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::rasp;

/// A scratch directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rasp-format-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn compile(program: &str, vocab: &str, max_len: usize, extra: &[&str], out: &Path) {
    let max_len = max_len.to_string();
    let mut args = vec![
        "compile",
        program,
        "--vocab",
        vocab,
        "--max-len",
        &max_len,
        "-o",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend(extra);
    let run = rasp(&args, None);
    assert!(
        run.status.success(),
        "compile {program}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// `count` inputs over `vocab` of lengths 1 to `max_len` (a fixed
/// generator), as JSON lists, one per line.
fn inputs(vocab: &[Value], max_len: usize, count: usize, seed: u64) -> Vec<String> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..count)
        .map(|_| {
            let len = 1 + next(max_len);
            let tokens: Vec<Value> = (0..len).map(|_| vocab[next(vocab.len())].clone()).collect();
            Value::Array(tokens).to_string()
        })
        .collect()
}

/// The `output` of each JSON line `rasp` prints for these inputs.
fn outputs(args: &[&str], lines: &[String]) -> Vec<Value> {
    let stdin = lines.join("\n") + "\n";
    let run = rasp(args, Some(&stdin));
    assert!(
        run.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8(run.stdout).expect("utf-8");
    let out: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json")["output"].clone())
        .collect();
    assert_eq!(out.len(), lines.len(), "one line per input");
    out
}

/// The header's `rasp` record.
fn record(model: &Path) -> Value {
    let bytes = std::fs::read(model).expect("model file");
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).expect("safetensors");
    let meta = header.metadata().clone().expect("metadata");
    serde_json::from_str(&meta["rasp"]).expect("record json")
}

#[test]
fn exec_prints_the_fractions_run_prints_bit_for_bit() {
    let dir = scratch("fractions");
    let program = "examples/frac_prevs.rasp";
    for max_len in [11, 32] {
        let model = dir.join(format!("fp{max_len}.safetensors"));
        compile(program, "x,a", max_len, &[], &model);
        let vocab = [Value::from("x"), Value::from("a")];
        let mut lines = inputs(&vocab, max_len, 400, max_len as u64);
        // The case of the report: "x" then a run of "a", whose last
        // fraction is 1/max_len.
        for len in 1..=max_len {
            let tokens: Vec<Value> = (0..len)
                .map(|i| vocab[usize::from(i > 0)].clone())
                .collect();
            lines.push(Value::Array(tokens).to_string());
        }
        let model = model.to_str().expect("utf-8");
        let exec = outputs(&["exec", model, "--json"], &lines);
        let run = outputs(&["run", program, "--json"], &lines);
        for ((line, e), r) in lines.iter().zip(&exec).zip(&run) {
            let (e, r) = (e.as_array().expect("list"), r.as_array().expect("list"));
            assert_eq!(e.len(), r.len(), "max_len {max_len}, input {line}");
            for (a, b) in e.iter().zip(r) {
                // Bit for bit. A numerical output does not carry whether the
                // interpreter's number is an int or a float (the mean of one
                // selected 1 is `1`, of two is `1.0`), so a whole number may
                // come back as the other type; every fraction is a float in
                // both, with the same digits.
                let bits = |v: &Value| v.as_f64().map(f64::to_bits);
                assert_eq!(bits(a), bits(b), "max_len {max_len}, input {line}");
                if a.is_f64() && b.is_f64() {
                    assert_eq!(
                        a.to_string(),
                        b.to_string(),
                        "max_len {max_len}, input {line}"
                    );
                } else {
                    assert_eq!(
                        a.as_f64().map(f64::fract),
                        Some(0.0),
                        "input {line}: {a} vs {b}"
                    );
                }
            }
        }
        // The values the record lists are the interpreter's exact fractions.
        let record = record(Path::new(model));
        let values = record["output"]["values"].as_array().expect("values");
        for q in 1..=max_len as u64 {
            let x = 1.0 / q as f64;
            assert!(
                values
                    .iter()
                    .any(|v| v.as_f64().map(f64::to_bits) == Some(x.to_bits())),
                "1/{q} is listed exactly"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_record_states_its_conventions_through_the_command_line() {
    let dir = scratch("record");
    let model = dir.join("sort.safetensors");
    compile("examples/sort.rasp", "[3, 1, 2]", 6, &[], &model);
    let record = record(&model);
    assert_eq!(record["format_version"], 2);
    assert_eq!(record["bos_id"], 0);
    assert_eq!(record["vocab"], serde_json::json!([3, 1, 2]));
    assert_eq!(record["vocab_ids"], serde_json::json!([1, 2, 3]));
    assert_eq!(record["prepend_bos"], true);
    assert_eq!(record["input"]["padding"], "right");
    // Int tokens sorted are numbers: the nearest listed value.
    assert_eq!(record["output"]["decode"], "nearest");
    assert_eq!(record["output"]["logit"], 0);
    let report = rasp(&["inspect", model.to_str().expect("utf-8"), "--json"], None);
    assert!(report.status.success());
    let report: Value = serde_json::from_slice(&report.stdout).expect("json");
    for key in [
        "bos_id",
        "vocab_ids",
        "prepend_bos",
        "input",
        "transformer_lens",
    ] {
        assert_eq!(
            report[key], record[key],
            "inspect --json shows `{key}` as the file"
        );
    }
    assert_eq!(report["output"]["decode"], record["output"]["decode"]);
    let text = rasp(&["inspect", model.to_str().expect("utf-8")], None);
    let text = String::from_utf8(text.stdout).expect("utf-8");
    for words in [
        "ids 1 to 3 in this order; BOS `BOS` is id 0",
        "padded on the right",
        "decode: nearest",
        "TransformerLens:",
        "strict=False",
    ] {
        assert!(text.contains(words), "inspect says {words:?}:\n{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The Python that can import NumPy: `$RASP_PYTHON`, else `python3`; `None`
/// (the test is skipped, saying why) unless `RASP_REQUIRE_NUMPY` is set, in
/// which case its absence fails the test.
fn numpy_python() -> Option<String> {
    let python = std::env::var("RASP_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("RASP_REQUIRE_NUMPY").is_none(),
        "RASP_REQUIRE_NUMPY is set but `{python}` cannot import numpy"
    );
    eprintln!("skipped: `{python}` cannot import numpy (set RASP_PYTHON to one that can)");
    None
}

/// The first ```python block of docs/FORMAT.md.
fn numpy_pass() -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FORMAT.md"))
        .expect("docs/FORMAT.md");
    let start = doc.find("```python\n").expect("a python block") + "```python\n".len();
    let end = start + doc[start..].find("```").expect("the block ends");
    doc[start..end].to_string()
}

#[test]
fn the_numpy_forward_pass_of_the_docs_equals_exec() {
    let Some(python) = numpy_python() else {
        return;
    };
    let code = numpy_pass();
    let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(
        lines <= 45,
        "the documented pass stays short ({lines} lines)"
    );
    let dir = scratch("numpy");
    let pass = dir.join("numpy_pass.py");
    std::fs::write(&pass, &code).expect("write the pass");
    // Reads one JSON list of tokens per line, prints one JSON list of outputs.
    let driver = "import json, sys\n\
                  sys.path.insert(0, sys.argv[1])\n\
                  from numpy_pass import load, run\n\
                  w, config, record = load(sys.argv[2])\n\
                  for line in sys.stdin:\n    print(json.dumps(run(w, config, record, json.loads(line))))\n";
    let cases: [(&str, &str, &str, usize, &[&str]); 8] = [
        ("sort", "examples/sort.rasp", "a,b,c", 8, &[]),
        ("sort_ints", "examples/sort.rasp", "[3, 1, 2, 7]", 6, &[]),
        ("reverse", "examples/reverse.rasp", "a,b,c", 8, &[]),
        ("histogram", "examples/histogram.rasp", "a,b,c", 8, &[]),
        ("dyck2", "examples/dyck2.rasp", "(,),{,}", 6, &[]),
        ("frac_prevs", "examples/frac_prevs.rasp", "x,a", 16, &[]),
        (
            "frac_prevs_f64",
            "examples/frac_prevs.rasp",
            "x,a",
            16,
            &["--dtype", "f64"],
        ),
        (
            "running_mean",
            "tests/corpus/extra_running_mean_of_frac.rasp",
            "a,b,c",
            12,
            &["--sop", "smooth"],
        ),
    ];
    for (name, program, vocab_arg, max_len, extra) in cases {
        let model = dir.join(format!("{name}.safetensors"));
        compile(program, vocab_arg, max_len, extra, &model);
        let record = record(&model);
        let vocab = record["vocab"].as_array().expect("vocab").clone();
        let lines = inputs(&vocab, max_len, 150, 11);
        let model_arg = model.to_str().expect("utf-8");
        let exec = outputs(&["exec", model_arg, "--json"], &lines);
        let mut child = Command::new(&python)
            .args(["-c", driver, dir.to_str().expect("utf-8"), model_arg])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all((lines.join("\n") + "\n").as_bytes())
            .expect("write inputs");
        let done = child.wait_with_output().expect("python finishes");
        assert!(
            done.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        let numpy: Vec<Value> = String::from_utf8(done.stdout)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(numpy.len(), lines.len(), "{name}: one line per input");
        let raw = record["output"]["decode"] == "raw";
        let bound = record["output"]["bound"].as_f64().unwrap_or(0.0);
        for ((line, e), n) in lines.iter().zip(&exec).zip(&numpy) {
            if raw {
                // Both are within the bound of the program's value.
                let (e, n) = (e.as_array().expect("list"), n.as_array().expect("list"));
                assert_eq!(e.len(), n.len(), "{name}, input {line}");
                for (a, b) in e.iter().zip(n) {
                    let (a, b) = (a.as_f64().expect("number"), b.as_f64().expect("number"));
                    assert!(
                        (a - b).abs() <= 2.0 * bound,
                        "{name}, input {line}: {a} vs {b}"
                    );
                }
            } else {
                assert_eq!(e, n, "{name}, input {line}");
            }
        }
        if name == "running_mean" {
            assert!(
                raw,
                "the running mean of a fraction is output raw at max_len 12"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_changed_file_or_an_overflowing_pass_is_an_error_not_an_output() {
    let dir = scratch("sealed");
    let path = dir.join("sort.safetensors");
    compile("examples/sort.rasp", "a,b,c", 6, &[], &path);
    // One byte of the tensor data changed: refused, naming the checksum.
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    let damaged = dir.join("damaged.safetensors");
    std::fs::write(&damaged, &bytes).expect("write");
    let run = rasp(
        &["exec", damaged.to_str().expect("utf-8"), "--input", "abc"],
        None,
    );
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("rasp::model::checksum"), "{err}");
    assert!(run.stdout.is_empty());
    // Weights that are finite but whose activations overflow float32: every
    // input gets its error line, in order, and the exit status says so.
    let mut model = rasp::model::Model::load(&path).expect("loads");
    model.embed.mapv_inplace(|w| w * 1e30);
    model.unembed.mapv_inplace(|w| w * 1e30);
    let huge = dir.join("huge.safetensors");
    model.save(&huge).expect("saves");
    let run = rasp(
        &[
            "exec",
            huge.to_str().expect("utf-8"),
            "--json",
            "--input",
            "abc",
            "--input",
            "[\"b\"]",
        ],
        None,
    );
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("rasp::model::overflow"), "{err}");
    let lines: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["input"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(lines[1]["input"], serde_json::json!(["b"]));
    for line in &lines {
        assert!(
            line["error"].as_str().unwrap_or("").contains("overflowed"),
            "{line}"
        );
        assert!(line.get("output").is_none(), "{line}");
    }
}
