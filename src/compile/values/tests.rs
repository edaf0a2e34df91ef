//! Value sets of programs written as users write them, against what the
//! interpreter can produce.

use super::{Analysis, Shape};
use crate::compile::graph::Graph;
use crate::eval::atom::Atom;
use crate::eval::value::Value;
use crate::syntax::span::source;
use crate::Interpreter;

fn chars(tokens: &str) -> Vec<Atom> {
    tokens.chars().map(|c| Atom::str(&c.to_string())).collect()
}

/// Analyses `task` of `program`.
fn analyse(program: &str, vocab: &[Atom], max_len: usize) -> (Graph, Result<Analysis, String>) {
    let mut interp = Interpreter::new().expect("starts");
    interp
        .run(&source("<test>", program.to_string()), None, &mut |_| {})
        .expect("runs");
    let Some(Value::SOp(sop)) = interp.get("task") else {
        panic!("task is an s-op");
    };
    let graph = Graph::build(&sop).expect("builds");
    let analysis = Analysis::run(&graph, vocab, max_len).map_err(|e| e.code_name().to_string());
    (graph, analysis)
}

fn shown(a: &Analysis, graph: &Graph, i: Option<usize>) -> Vec<String> {
    let v = &a.nodes[graph.output];
    let set = match i {
        Some(i) => &v.per_index[i],
        None => &v.all,
    };
    set.values().iter().map(Atom::repr).collect()
}

#[test]
fn prefix_counts_know_their_count() {
    // (indices + 1) * mean over the prefix: at index i the mean has exactly
    // i + 1 keys, so the count is an int 0..=i+1 (up to float rounding).
    let program = "up = select(indices, indices, <=);\n\
        task = round((indices + 1) * aggregate(up, indicator(tokens == \"(\")));";
    let (g, a) = analyse(program, &chars("()"), 10);
    let a = a.expect("analyses");
    assert_eq!(shown(&a, &g, Some(0)), ["0", "1"]);
    assert_eq!(shown(&a, &g, Some(3)), ["0", "1", "2", "3", "4"]);
    assert_eq!(a.nodes[g.output].all.len(), 11);
}

#[test]
fn means_over_one_selector_are_taken_together() {
    // tracr's pair balance: both means share their count, so a balance
    // is (a - b) / m with a + b <= m, not any difference of two fractions.
    let program = "prevs = select(indices, indices, <=);\n\
        opens = aggregate(prevs, indicator(tokens == \"(\"));\n\
        closes = aggregate(prevs, indicator(tokens == \")\"));\n\
        task = opens - closes;";
    let n = 16;
    let (g, a) = analyse(program, &chars("()x"), n);
    let a = a.expect("analyses");
    // Every value the interpreter can give, by brute force over (a, b, m).
    let mut want: Vec<f64> = Vec::new();
    for m in 1..=n {
        for x in 0..=m {
            for y in 0..=m - x {
                let (mx, my) = if m == 1 {
                    (x as f64, y as f64)
                } else {
                    (x as f64 / m as f64, y as f64 / m as f64)
                };
                want.push(mx - my);
            }
        }
    }
    want.sort_by(f64::total_cmp);
    want.dedup();
    let got = a.nodes[g.output].all.numbers();
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(x, y)| x == y));
}

#[test]
fn reads_of_the_previous_position_are_not_means() {
    let program = "task = aggregate(select(indices, indices - 1, ==), tokens_int, -1);";
    let vocab = [Atom::Int(1), Atom::Int(2), Atom::Int(3)];
    let (g, a) = analyse(program, &vocab, 64);
    let a = a.expect("analyses");
    assert_eq!(shown(&a, &g, None), ["-1", "1", "2", "3"]);
    assert_eq!(shown(&a, &g, Some(0)), ["-1"]);
    assert_eq!(shown(&a, &g, Some(5)), ["1", "2", "3"]);
}

#[test]
fn the_original_library_length_is_exact() {
    let program = "full = select(1, 1, ==);\n\
        task = round(1 / aggregate(full, indicator(indices == 0)));";
    let (g, a) = analyse(program, &chars("ab"), 12);
    let a = a.expect("analyses");
    let want: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    assert_eq!(shown(&a, &g, None), want);
    // At index 4 the length is at least 5.
    assert_eq!(
        shown(&a, &g, Some(4)).first().map(String::as_str),
        Some("5")
    );
}

#[test]
fn the_original_library_width_never_divides_by_zero() {
    // selector_width as the original library defines it: the selector or
    // position 0, whose indicator mean is 1/(w+1).
    let program = "def width(sel) {\n\
            at0 = select(indices, 0, ==);\n\
            s_and0 = sel and at0;\n\
            s_or0 = sel or at0;\n\
            inverted = aggregate(s_or0, indicator(indices == 0));\n\
            except0 = (1 / inverted) - 1;\n\
            valat0 = aggregate(s_and0, 1, 0);\n\
            return round(except0 + valat0);\n\
        }\n\
        task = width(select(tokens, tokens, ==));";
    let (g, a) = analyse(program, &chars("ab"), 6);
    let a = a.expect("analyses");
    assert!(a.partial_failures.is_empty(), "{:?}", a.partial_failures);
    let got = shown(&a, &g, None);
    assert!(
        got.contains(&"6".to_string()) && got.contains(&"1".to_string()),
        "{got:?}"
    );
}

#[test]
fn a_map_that_fails_everywhere_is_an_error() {
    let (_, a) = analyse("task = tokens_int + 1;", &chars("ab"), 4);
    assert_eq!(a.err().as_deref(), Some("rasp::compile::map_fails"));
    let (_, a) = analyse("task = 1 / (indices - indices);", &chars("ab"), 4);
    assert_eq!(a.err().as_deref(), Some("rasp::compile::map_fails"));
}

#[test]
fn a_map_that_fails_somewhere_is_noted() {
    let vocab = [Atom::Int(0), Atom::Int(1), Atom::Int(2)];
    let (_, a) = analyse("task = 6 / tokens_int;", &vocab, 4);
    let a = a.expect("analyses");
    assert_eq!(a.partial_failures.len(), 1);
    assert!(a.partial_failures[0].example.contains("(6, 0)"));
}

#[test]
fn too_many_means_are_a_span_and_too_many_categories_a_limit() {
    let vocab: Vec<Atom> = (0..100).map(Atom::Int).collect();
    let (g, a) = analyse(
        "task = 2 * aggregate(select(indices, indices, <=), tokens_int, 0) - 1;",
        &vocab,
        100,
    );
    let a = a.expect("a span");
    assert!(matches!(a.nodes[g.output].shape, Shape::Span));
    assert_eq!(
        shown(&a, &g, None),
        ["-1.0", "197.0"],
        "its least and greatest"
    );
    // A read of many string tokens has no number to carry.
    let words: Vec<Atom> = (0..30_000)
        .map(|i| Atom::Str(format!("w{i}").into()))
        .collect();
    let (_, a) = analyse(
        "task = aggregate(select(indices, indices, ==), tokens, \"x\");",
        &words,
        2,
    );
    assert_eq!(a.err().as_deref(), Some("rasp::compile::too_large"));
}

fn ints(values: impl IntoIterator<Item = i64>) -> Vec<Atom> {
    values.into_iter().map(Atom::Int).collect()
}

#[test]
fn a_sort_by_distinct_keys_reads_its_values() {
    // tracr's make_sort: keys made distinct by a fraction of the index; the
    // rank `target_pos` fixes the keys, which fix the position, so the final
    // select picks one key and the sorted values are the tokens themselves.
    let program = "keys = tokens_int + 1 * indices / 16;\n\
        target_pos = selector_width(select(keys, keys, <));\n\
        task = aggregate(select(target_pos, indices, ==), tokens_int);";
    let (g, a) = analyse(program, &ints(1..=5), 16);
    let mut a = a.expect("analyses");
    assert_eq!(shown(&a, &g, None), ["0", "1", "2", "3", "4", "5"]);
    let Some(sel) = g.nodes[g.output].op.selector() else {
        panic!("an aggregate");
    };
    assert!(a.facts(&g, sel).at_most_one);
}

#[test]
fn a_stable_sort_by_a_lexicographic_rank_reads_its_values() {
    // The rank counts the keys before the query in (key, index) order: two
    // disjoint selectors whose widths add up.
    let program = "smaller = selector_width(select(tokens_int, tokens_int, <));\n\
        before = selector_width(select(tokens_int, tokens_int, ==) and select(indices, indices, <));\n\
        place = smaller + before;\n\
        task = aggregate(select(place, indices, ==), tokens_int, 0);";
    let (g, a) = analyse(program, &ints(1..=3), 24);
    let a = a.expect("analyses");
    assert_eq!(shown(&a, &g, None), ["0", "1", "2", "3"]);
}

#[test]
fn a_sort_by_repeated_keys_averages_equal_values_only() {
    // sort_unique over keys that may repeat: the keys sharing a rank share
    // their token, so each sorted value is a token (or a mean of equal ones).
    let program = "target = selector_width(select(tokens_int, tokens_int, <));\n\
        task = aggregate(select(target, indices, ==), tokens_int, 0);";
    let (g, a) = analyse(program, &ints(1..=4), 64);
    let a = a.expect("analyses");
    let got = a.nodes[g.output].all.numbers();
    assert_eq!(got, [0.0, 1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn keys_that_do_not_fix_the_values_still_average() {
    // Positions holding 2 and 3 share the key 0: their mean is a value.
    let program = "key = indicator(tokens_int == 1);\n\
        task = aggregate(select(key, 0, ==), tokens_int, 0);";
    let (g, a) = analyse(program, &ints(1..=3), 4);
    let a = a.expect("analyses");
    assert!(a.nodes[g.output].all.numbers().contains(&2.5));
}

#[test]
fn overlapping_counts_are_not_a_rank() {
    // `<=` and `<` on indices overlap: their sum is not a rank, and nothing
    // is proved distinct (the select may pick two keys).
    let program = "place = selector_width(select(tokens_int, tokens_int, <=)) + selector_width(select(indices, indices, <));\n\
        task = aggregate(select(place, indices, ==), tokens_int, 0);";
    let (g, a) = analyse(program, &ints(1..=3), 6);
    let mut a = a.expect("analyses");
    let Some(sel) = g.nodes[g.output].op.selector() else {
        panic!("an aggregate");
    };
    assert!(!a.facts(&g, sel).at_most_one);
}

#[test]
fn a_conjunction_too_large_to_evaluate_may_select_nothing() {
    // At 400 the `indices < indices` part is not evaluated key by key; the
    // query itself (kept by `==`) is not selected by it, so 0 stays.
    let program = "task = selector_width(select(tokens_int, tokens_int, ==) and select(indices, indices, <));";
    let (g, a) = analyse(program, &ints(1..=3), 400);
    let a = a.expect("analyses");
    for i in [5, 399] {
        assert_eq!(
            shown(&a, &g, Some(i)).first().map(String::as_str),
            Some("0")
        );
    }
}
