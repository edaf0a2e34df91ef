//! Compiler benchmarks: compiling library tasks at `max_len` 16.
//!
//! Run with `cargo bench --bench compiler`; results go in `BENCHMARKS.md`.

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
    let tasks: &[(&str, &str, &str)] = &[
        ("reverse", "abc", "reverse(tokens)"),
        ("histogram", "abc", "histogram(tokens)"),
        ("sort", "abc", "sort(tokens, tokens)"),
        ("double_histogram", "abc", "double_histogram(tokens)"),
        ("dyck1", "()", "dyck1(tokens)"),
        ("dyck2", "(){}", "dyck2(tokens)"),
        ("frac_prevs", "abc", "frac_prevs(tokens, \"a\")"),
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
            b.iter(|| compile(sop, "task", &program, &vocab, 16).expect("compiles"))
        });
    }
    group.finish();
}

criterion_group!(benches, compile_tasks);
criterion_main!(benches);
