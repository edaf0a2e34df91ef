//! `rasp analyze` reports the paper's layer counts for its tasks, with at
//! most two heads in any layer.

use rasp::analyze::analyze;
use rasp::eval::value::Value;
use rasp::syntax::span::source;
use rasp::Interpreter;

fn analysis_of(expr: &str) -> rasp::analyze::Analysis {
    let mut interp = Interpreter::new().expect("starts");
    let src = source("<analyze>", format!("task = {expr};\n"));
    interp.run(&src, None, &mut |_| {}).expect("runs");
    let Some(Value::SOp(sop)) = interp.get("task") else {
        panic!("{expr} is an s-op");
    };
    analyze(&sop, "task")
}

#[test]
fn paper_tasks_need_the_papers_layers() {
    let cases: &[(&str, usize)] = &[
        ("reverse(tokens)", 2),
        ("histogram(tokens)", 1),
        ("double_histogram(tokens)", 2),
        ("sort(tokens, tokens)", 2),
        ("most_frequent(tokens, \"_\")", 3),
        ("dyck1(tokens)", 2),
    ];
    for (expr, layers) in cases {
        let a = analysis_of(expr);
        assert_eq!(a.layer_count(), *layers, "{expr}:\n{}", a.table());
        assert!(a.max_heads() <= 2, "{expr}:\n{}", a.table());
    }
    let dyck2 = analysis_of("dyck2(tokens)");
    assert!(dyck2.layer_count() <= 4, "{}", dyck2.table());
    assert!(dyck2.max_heads() <= 2, "{}", dyck2.table());
}

#[test]
fn identical_selects_share_a_head() {
    let a = analysis_of(
        "aggregate(select(tokens, tokens, ==), indices) + selector_width(select(tokens, tokens, ==))",
    );
    assert_eq!(a.layer_count(), 1);
    assert_eq!(a.layers[0].heads.len(), 1, "{}", a.table());
    assert_eq!(a.layers[0].heads[0].uses.len(), 2, "{}", a.table());
}
