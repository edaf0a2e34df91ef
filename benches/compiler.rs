//! Compiler benchmarks: compiling library tasks at `max_len` 16.
//!
//! Run with `cargo bench --bench compiler`; results go in `BENCHMARKS.md`.

/// Allocations counted as the `rasp` binary counts them (memory limits,
/// leak checks).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rasp::compile::compile;
use rasp::eval::atom::Atom;
use rasp::eval::value::Value;
use rasp::syntax::span::source;
use rasp::Interpreter;

fn letters(text: &str) -> Vec<Atom> {
    text.chars()
        .map(|c| Atom::Str(c.to_string().into()))
        .collect()
}

fn compile_tasks(c: &mut Criterion) {
    // Every library task, with the vocabularies of the model-size table.
    let tasks: &[(&str, &str, &str)] = &[
        ("reverse", "abc", "reverse(tokens)"),
        ("histogram", "abc", "histogram(tokens)"),
        ("double_histogram", "abc", "double_histogram(tokens)"),
        ("sort_unique", "abc", "sort_unique(tokens, tokens)"),
        ("sort", "abc", "sort(tokens, tokens)"),
        ("most_frequent", "abc", "most_frequent(tokens, \"_\")"),
        ("dyck1", "()", "dyck1(tokens)"),
        ("dyck2", "(){}", "dyck2(tokens)"),
        ("frac_prevs", "abc", "frac_prevs(tokens, \"a\")"),
        ("pair_balance", "()", "pair_balance(tokens, \"(\", \")\")"),
        ("shuffle_dyck1", "()", "shuffle_dyck1(tokens)"),
        ("shuffle_dyck2", "(){}", "shuffle_dyck2(tokens)"),
        ("sort_freq", "abc", "sort_freq(tokens)"),
        ("count_less_freq", "abc", "count_less_freq(tokens, 2)"),
        (
            "detect_pattern",
            "abc",
            "detect_pattern(tokens, [\"a\", \"b\", \"c\"])",
        ),
        ("shift_by", "abc", "shift_by(tokens, 1, \"_\")"),
        (
            "combine3",
            "abc",
            "combine3(tokens, reverse(tokens), tokens)",
        ),
        ("long_addition_8", "0123456789+", "long_addition(tokens)"),
    ];
    let mut group = c.benchmark_group("compile_max_len_16");
    group.sample_size(20);
    for (name, vocab, expr) in tasks {
        let mut interp = Interpreter::new().expect("interpreter starts");
        let program = format!("task = {expr};\n");
        interp
            .run(&source("<bench>", program.clone()), None, &mut |_| {})
            .expect("runs");
        let Some(Value::SOp(sop)) = interp.get("task") else {
            panic!("{expr} is an s-op");
        };
        let vocab = letters(vocab);
        group.bench_with_input(BenchmarkId::from_parameter(name), &sop, |b, sop| {
            // long_addition is timed at 8 (13.9 million parameters at 16).
            let max_len = if name.ends_with("_8") { 8 } else { 16 };
            b.iter(|| compile(sop, "task", &program, &vocab, max_len).expect("compiles"))
        });
    }
    group.finish();
}

criterion_group!(benches, compile_tasks);
criterion_main!(benches);
