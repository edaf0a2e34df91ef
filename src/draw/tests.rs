use super::*;
use crate::eval::value::Value;
use crate::syntax::span::source;
use crate::Interpreter;

/// `expr`, bound to `task`.
fn sop_of(expr: &str) -> SOp {
    let mut interp = Interpreter::new().expect("starts");
    let src = source("<draw>", format!("task = {expr};\n"));
    interp.run(&src, None, &mut |_| {}).expect("runs");
    let Some(Value::SOp(sop)) = interp.get("task") else {
        panic!("{expr} is an s-op");
    };
    sop
}

/// The flow of `expr` (bound to `task`) on `input`.
fn flow_of(expr: &str, input: &str) -> Result<Flow, DrawError> {
    let atoms = Interpreter::parse_input(input).expect("input");
    flow(&sop_of(expr), "task", &atoms, None)
}

#[test]
fn reverse_is_one_head_over_the_flipped_indices() {
    let f = flow_of(
        "aggregate(select(indices, length - indices - 1, ==), tokens)",
        "abc",
    )
    .expect("draws");
    // Layer 0 (input), layer 1 (length), layer 2 (the flip).
    assert_eq!(f.layers.len(), 3);
    assert_eq!(f.layers[1].heads.len(), 1);
    let length = &f.layers[1].heads[0];
    assert_eq!(length.uses[0].result.values, ["3", "3", "3"]);
    assert!(length.matrix.iter().flatten().all(|&on| on));
    let flip = &f.layers[2].heads[0];
    assert_eq!(flip.op, "==");
    assert_eq!(flip.keys[0].label, "indices");
    assert_eq!(flip.queries[0].values, ["2", "1", "0"]);
    // Query 0 selects key 2, and so on: an anti-diagonal.
    for (q, row) in flip.matrix.iter().enumerate() {
        for (k, on) in row.iter().enumerate() {
            assert_eq!(*on, q + k == 2, "query {q}, key {k}");
        }
    }
    let used = &flip.uses[0];
    assert_eq!(
        used.values.as_ref().map(|r| r.label.as_str()),
        Some("tokens")
    );
    assert_eq!(used.result.values, ["c", "b", "a"]);
    assert!(used.result.output);
    assert_eq!(used.default.as_deref(), Some("0"));
    // The flipped index is an element-wise step after layer 1.
    assert!(f.layers[1]
        .steps
        .iter()
        .any(|r| r.label == "length - indices - 1" && r.values == ["2", "1", "0"]));
}

#[test]
fn layers_and_heads_follow_the_analysis() {
    for expr in [
        "sort(tokens, tokens)",
        "histogram(tokens)",
        "dyck2(tokens)",
        "most_frequent(tokens, \"_\")",
    ] {
        let sop = sop_of(expr);
        let atoms = Interpreter::parse_input("({)}").expect("input");
        let f = flow(&sop, "task", &atoms, None).expect("draws");
        let analysis = crate::analyze::analyze(&sop, "task");
        assert_eq!(f.layers.len(), analysis.layers.len() + 1, "{expr}");
        for (layer, info) in f.layers[1..].iter().zip(&analysis.layers) {
            assert_eq!(layer.heads.len(), info.heads.len(), "{expr}");
        }
    }
}

#[test]
fn a_width_has_no_values_and_counts() {
    let f = flow_of("selector_width(select(tokens, tokens, ==))", "aab").expect("draws");
    let used = &f.layers[1].heads[0].uses[0];
    assert!(used.values.is_none());
    assert_eq!(used.result.values, ["2", "2", "1"]);
}

#[test]
fn limits_and_failures_are_errors() {
    let long = "a".repeat(MAX_INPUT_LEN + 1);
    assert!(matches!(
        flow_of("reverse(tokens)", &long),
        Err(DrawError::Limit { .. })
    ));
    // A mean of strings over several positions fails in the evaluator.
    let err = flow_of("aggregate(select(indices, indices, <=), tokens)", "ab").expect_err("fails");
    assert!(matches!(err, DrawError::Eval(_)));
    assert!(miette::Diagnostic::code(&err).is_some());
}

#[test]
fn renderings_carry_the_labels() {
    let f = flow_of("reverse(tokens)", "abc").expect("draws");
    let svg = Format::Svg.render(&f);
    assert!(svg.starts_with("<svg"));
    for label in ["layer 1", "layer 2", "head 1", "indices", "task"] {
        assert!(svg.contains(label), "{label} in the SVG");
    }
    let dot = Format::Dot.render(&f);
    assert!(dot.starts_with("digraph flow {"));
    assert!(dot.contains("cluster_layer2"));
    assert!(dot.contains("->"));
}

#[test]
fn default_paths_are_plain_file_names() {
    assert_eq!(
        default_path("sort(tokens, tokens)", Format::Svg),
        PathBuf::from("sort_tokens_tokens.svg")
    );
    assert_eq!(
        default_path("reverse", Format::Dot),
        PathBuf::from("reverse.dot")
    );
    assert_eq!(
        default_path("../..", Format::Svg),
        PathBuf::from("flow.svg")
    );
    assert_eq!(Format::for_path(Path::new("x.gv")), Some(Format::Dot));
    assert_eq!(Format::for_path(Path::new("x.svg")), Some(Format::Svg));
    assert_eq!(Format::for_path(Path::new("x.SVG")), Some(Format::Svg));
    assert_eq!(Format::for_path(Path::new("x")), Some(Format::Svg));
    assert_eq!(Format::for_path(Path::new("x.png")), None);
}

#[test]
fn the_input_is_shown_even_when_unread() {
    let f = flow_of("length", "abc").expect("draws");
    let first = &f.layers[0].steps[0];
    assert_eq!(first.label, "tokens (not read)");
    assert_eq!(first.values, ["a", "b", "c"]);
    let f = flow_of("tokens", "ab").expect("draws");
    assert_eq!(f.layers.len(), 1);
    assert_eq!(f.layers[0].steps.len(), 1);
    assert!(f.layers[0].steps[0].output);
}
