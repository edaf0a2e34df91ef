//! Interpreter benchmarks: the library `sort` on random tokens.
//!
//! Run with `cargo bench --bench interpreter`; results go in `BENCHMARKS.md`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rasp::eval::atom::Atom;
use rasp::eval::run::eval_sop;
use rasp::eval::value::Value;
use rasp::syntax::span::source;
use rasp::Interpreter;

/// `n` tokens drawn from ten letters with a fixed-seed generator.
fn random_tokens(n: usize, seed: u64) -> Vec<Atom> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let letter = (b'a' + ((state >> 33) % 10) as u8) as char;
            Atom::Str(letter.to_string().into())
        })
        .collect()
}

fn library_sort(c: &mut Criterion) {
    let mut interp = Interpreter::new().expect("interpreter starts");
    let src = source("<bench>", "sorted = sort(tokens, tokens);\n");
    interp.run(&src, None, &mut |_| {}).expect("program runs");
    let Some(Value::SOp(sorted)) = interp.get("sorted") else {
        panic!("`sorted` is an s-op");
    };
    let mut group = c.benchmark_group("library_sort");
    group.sample_size(20);
    for n in [1_000, 10_000] {
        let input = random_tokens(n, 42);
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| eval_sop(&sorted, input).expect("sort evaluates"))
        });
    }
    group.finish();
}

criterion_group!(benches, library_sort);
criterion_main!(benches);
