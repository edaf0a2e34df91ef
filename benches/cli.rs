//! End-to-end benchmark of the `rasp` binary: `rasp exec` on 100,000 inputs
//! of a compiled sort (`max_len` 16, ten letters), input parsing, encoding,
//! the forward pass, decoding and printing included.
//!
//! Run with `cargo bench --bench cli`; results go in `BENCHMARKS.md`.

/// Allocations counted as the `rasp` binary counts them (memory limits,
/// leak checks).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const INPUTS: usize = 100_000;

/// A scratch directory holding the model and the inputs.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rasp-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn exec_sort(c: &mut Criterion) {
    let rasp = env!("CARGO_BIN_EXE_rasp");
    let dir = scratch();
    let model = dir.join("sort16.safetensors");
    let status = Command::new(rasp)
        .args([
            "compile",
            "examples/sort.rasp",
            "--vocab",
            "a,b,c,d,e,f,g,h,i,j",
        ])
        .args(["--max-len", "16", "-o"])
        .arg(&model)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .status()
        .expect("rasp compile runs");
    assert!(status.success(), "rasp compile succeeds");
    let mut state = 3u64;
    let mut next = |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut text = String::new();
    for _ in 0..INPUTS {
        let len = 1 + next(16);
        for _ in 0..len {
            text.push((b'a' + next(10) as u8) as char);
        }
        text.push('\n');
    }
    let mut group = c.benchmark_group("exec_sort16");
    group.sample_size(10);
    group.throughput(Throughput::Elements(INPUTS as u64));
    group.bench_function("100000_inputs", |b| {
        b.iter(|| {
            let mut child = Command::new(rasp)
                .arg("exec")
                .arg(&model)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("rasp exec runs");
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(text.as_bytes()).expect("inputs written");
            }
            assert!(child.wait().expect("rasp exec ends").success());
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, exec_sort);
criterion_main!(benches);
