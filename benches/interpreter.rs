//! Interpreter benchmarks: the library's sort, histogram and Dyck-2 on random
//! tokens, from a thousand to a million; selectors as people write them (a
//! stable sort with an index tie-break, two orders at once); and the fast
//! selector kernels against materialised bit matrices.
//!
//! Run with `cargo bench --bench interpreter`; results go in `BENCHMARKS.md`.
//! `cargo bench --bench interpreter -- '/1000$'` runs only the 1,000-token
//! cases.

/// Allocations counted as the `rasp` binary counts them (memory limits,
/// leak checks).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rasp::eval::atom::Atom;
use rasp::eval::run::{eval_sop_with, Kernels};
use rasp::eval::sop::SOp;
use rasp::eval::value::Value;
use rasp::syntax::span::source;
use rasp::Interpreter;

/// `n` tokens drawn from `alphabet` with a fixed-seed generator.
fn random_tokens(n: usize, alphabet: &[u8], seed: u64) -> Vec<Atom> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let letter = alphabet[((state >> 33) % alphabet.len() as u64) as usize] as char;
            Atom::Str(letter.to_string().into())
        })
        .collect()
}

/// The s-op `y` of a one-line program.
fn program(text: &str) -> SOp {
    let mut interp = Interpreter::new().expect("interpreter starts");
    let src = source("<bench>", format!("y = {text};\n"));
    interp.run(&src, None, &mut |_| {}).expect("program runs");
    let Some(Value::SOp(y)) = interp.get("y") else {
        panic!("`y` is an s-op");
    };
    y
}

/// The three tasks of the issue: (name, program, alphabet).
const TASKS: [(&str, &str, &[u8]); 3] = [
    ("sort", "sort(tokens, tokens)", b"abcdefghij"),
    ("histogram", "histogram(tokens)", b"abcdefghij"),
    ("dyck2", "dyck2(tokens)", b"(){}"),
];

fn library_tasks(c: &mut Criterion) {
    for (name, text, alphabet) in TASKS {
        let sop = program(text);
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for n in [1_000, 10_000, 1_000_000] {
            if n == 1_000_000 {
                group.measurement_time(Duration::from_secs(30));
            }
            let input = random_tokens(n, alphabet, 42);
            group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
                b.iter(|| eval_sop_with(&sop, input, Kernels::Fast).expect("evaluates"))
            });
        }
        group.finish();
    }
}

/// Selectors as people write them, against the library's sort on the same
/// input: (name, program), on random letters.
const SHAPES: [(&str, &str); 5] = [
    ("library_sort", "sort(tokens, tokens)"),
    (
        "stable_sort",
        "aggregate(select(selector_width(select(tokens, tokens, <) or (select(tokens, tokens, ==) and select(indices, indices, <))), indices, ==), tokens)",
    ),
    (
        "key_index_sort",
        "aggregate(select(selector_width(select(indices % 7, indices % 7, <) or (select(indices % 7, indices % 7, ==) and select(indices, indices, <))), indices, ==), tokens)",
    ),
    (
        "most_frequent_by_key",
        "aggregate(select(selector_width(select(histogram(tokens), histogram(tokens), >) or (select(histogram(tokens), histogram(tokens), ==) and select(indices, indices, <))), indices, ==), tokens)",
    ),
    (
        "two_orders",
        "selector_width(select(indices, indices, <) and select(tokens, tokens, >))",
    ),
];

fn selector_shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("shapes");
    group.sample_size(10);
    for n in [100_000, 1_000_000] {
        if n == 1_000_000 {
            group.measurement_time(Duration::from_secs(30));
        }
        let input = random_tokens(n, b"abcdefghijklmnopqrstuvwxyz", 42);
        for (name, text) in SHAPES {
            let sop = program(text);
            group.bench_with_input(BenchmarkId::new(name, n), &input, |b, input| {
                b.iter(|| eval_sop_with(&sop, input, Kernels::Fast).expect("evaluates"))
            });
        }
    }
    group.finish();
}

/// The same tasks with every selector materialised as an n×n bit matrix
/// (the evaluation the fast kernels replace), for the ratio.
fn bit_matrices(c: &mut Criterion) {
    let mut group = c.benchmark_group("bitset");
    group.sample_size(10);
    for (name, text, alphabet) in TASKS {
        let sop = program(text);
        let input = random_tokens(1_000, alphabet, 42);
        group.bench_with_input(BenchmarkId::new(name, 1_000), &input, |b, input| {
            b.iter(|| eval_sop_with(&sop, input, Kernels::Bitset).expect("evaluates"))
        });
    }
    group.finish();
}

criterion_group!(benches, library_tasks, selector_shapes, bit_matrices);
criterion_main!(benches);
