//! Tests of the parser: precedence, statements, spans, errors, limits.
use super::*;
use crate::syntax::ast::{Expr, ExprKind, Program, StmtKind};
use crate::syntax::span::source;

fn parse(text: &str) -> Result<Program, SyntaxError> {
    parse_program(&source("test.rasp", text))
}

fn parse_err(text: &str) -> SyntaxError {
    match parse(text) {
        Ok(program) => panic!("{text:?} parsed: {program:?}"),
        Err(err) => err,
    }
}

/// The code name of the error `text` gives.
fn err_code(text: &str) -> &'static str {
    parse_err(text).code_name()
}

/// An expression as an s-expression: `(+ 1 (* 2 3))`.
fn sexpr_of(expr: &Expr) -> String {
    let list = |head: &str, items: &[&Expr]| {
        let parts: Vec<String> = items.iter().map(|e| sexpr_of(e)).collect();
        if parts.is_empty() {
            format!("({head})")
        } else {
            format!("({head} {})", parts.join(" "))
        }
    };
    let names = |vars: &[crate::syntax::ast::Ident]| {
        let names: Vec<&str> = vars.iter().map(|v| &*v.name).collect();
        names.join(",")
    };
    match &expr.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Name(n) => n.to_string(),
        ExprKind::List(items) => list("list", &items.iter().collect::<Vec<_>>()),
        ExprKind::Dict(pairs) => {
            let parts: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", sexpr_of(k), sexpr_of(v)))
                .collect();
            format!("(dict {})", parts.join(" "))
        }
        ExprKind::ListComp { elem, vars, iter } => {
            format!(
                "(listcomp {} {} {})",
                sexpr_of(elem),
                names(vars),
                sexpr_of(iter)
            )
        }
        ExprKind::DictComp {
            key,
            value,
            vars,
            iter,
        } => format!(
            "(dictcomp {} {} {} {})",
            sexpr_of(key),
            sexpr_of(value),
            names(vars),
            sexpr_of(iter)
        ),
        ExprKind::Select {
            keys, queries, op, ..
        } => list(&format!("select{}", op.symbol()), &[keys, queries]),
        ExprKind::Aggregate {
            selector,
            values,
            default,
        } => match default {
            Some(d) => list("aggregate", &[selector, values, d]),
            None => list("aggregate", &[selector, values]),
        },
        ExprKind::Range(args) => list("range", &args.iter().collect::<Vec<_>>()),
        ExprKind::Zip(args) => list("zip", &args.iter().collect::<Vec<_>>()),
        ExprKind::Len(e) => list("len", &[e]),
        ExprKind::Round(e) => list("round", &[e]),
        ExprKind::Indicator(e) => list("indicator", &[e]),
        ExprKind::Index { target, index } => list("index", &[target, index]),
        ExprKind::Call { callee, args } => {
            let mut items: Vec<&Expr> = vec![callee];
            items.extend(args.iter());
            list("call", &items)
        }
        ExprKind::Unary { op, operand } => list(op.symbol(), &[operand]),
        ExprKind::Binary { op, lhs, rhs, .. } => list(op.symbol(), &[lhs, rhs]),
        ExprKind::Ternary {
            then,
            cond,
            otherwise,
        } => list("if", &[then, cond, otherwise]),
        ExprKind::In { elem, container } => list("in", &[elem, container]),
    }
}

/// Parses `text;` as one expression statement and prints it.
fn sexpr(text: &str) -> String {
    let program = match parse(&format!("{text};")) {
        Ok(program) => program,
        Err(err) => panic!("{text:?}: {err:?}"),
    };
    match program.stmts.as_slice() {
        [stmt] => match &stmt.kind {
            StmtKind::Expr(expr) => sexpr_of(expr),
            other => panic!("not an expression: {other:?}"),
        },
        other => panic!("not one statement: {other:?}"),
    }
}

#[test]
fn precedence_matches_the_reference() {
    assert_eq!(sexpr("2^3^2"), "(^ (^ 2 3) 2)");
    assert_eq!(sexpr("7%4*2"), "(% 7 (* 4 2))");
    assert_eq!(sexpr("7*4%2"), "(% (* 7 4) 2)");
    assert_eq!(sexpr("1+7%4"), "(+ 1 (% 7 4))");
    assert_eq!(
        sexpr("True or False and False"),
        "(and (or True False) False)"
    );
    assert_eq!(
        sexpr("1 if True else 2 if False else 3"),
        "(if (if 1 True 2) False 3)"
    );
    assert_eq!(sexpr("1+2 in [3]"), "(in (+ 1 2) (list 3))");
    assert_eq!(sexpr("-2^2"), "(^ (- 2) 2)");
    assert_eq!(sexpr("3>2>1"), "(> (> 3 2) 1)");
    assert_eq!(sexpr("not x in L"), "(in (not x) L)");
    assert_eq!(sexpr("- - x"), "(- (- x))");
    assert_eq!(sexpr("-+not x"), "(- (+ (not x)))");
    assert_eq!(sexpr("1 - -2"), "(- 1 (- 2))");
    assert_eq!(sexpr("a - b - c"), "(- (- a b) c)");
    assert_eq!(sexpr("a / b * c"), "(* (/ a b) c)");
    assert_eq!(sexpr("1 + 2 * 3 ^ 4"), "(+ 1 (* 2 (^ 3 4)))");
    assert_eq!(sexpr("a < b + 1 and c"), "(and (< a (+ b 1)) c)");
    assert_eq!(sexpr("a != b == c"), "(== (!= a b) c)");
    assert_eq!(sexpr("-f(x)[0]"), "(- (index (call f x) 0))");
    assert_eq!(
        sexpr("f(x)(y)[1][2]"),
        "(index (index (call (call f x) y) 1) 2)"
    );
    assert_eq!(sexpr("(1 + 2) * 3"), "(* (+ 1 2) 3)");
    assert_eq!(sexpr("1 if a in b else 2"), "(if 1 (in a b) 2)");
    assert_eq!(sexpr("1 if c else 2 + 3"), "(if 1 c (+ 2 3))");
    assert_eq!(sexpr("1 if c else a or b"), "(if 1 c (or a b))");
    assert_eq!(sexpr("x in a if c else b"), "(in x (if a c b))");
    assert_eq!(sexpr("a in b in c"), "(in (in a b) c)");
    assert_eq!(sexpr("a or b if c else d"), "(if (or a b) c d)");
    assert_eq!(sexpr("not 1 == 2"), "(== (not 1) 2)");
    assert_eq!(sexpr("1 if 0 else 2 in [2]"), "(in (if 1 0 2) (list 2))");
    assert_eq!(sexpr("-[1,2][0]"), "(- (index (list 1 2) 0))");
    assert_eq!(sexpr("2 * 3 % 4"), "(% (* 2 3) 4)");
    assert_eq!(sexpr("1 < 2 == True"), "(== (< 1 2) True)");
    assert_eq!(sexpr("1 if True else 0 or 5"), "(if 1 True (or 0 5))");
}

#[test]
fn primaries() {
    assert_eq!(sexpr("1.5"), "1.5");
    assert_eq!(sexpr("\"hi there\""), "\"hi there\"");
    assert_eq!(sexpr("[]"), "(list)");
    assert_eq!(sexpr("[1, [2], x]"), "(list 1 (list 2) x)");
    assert_eq!(sexpr("{}"), "(dict )");
    assert_eq!(sexpr("{1: \"a\", b: c}"), "(dict 1:\"a\" b:c)");
    assert_eq!(sexpr("[x + 1 for x in L]"), "(listcomp (+ x 1) x L)");
    assert_eq!(
        sexpr("[a for a, b in zip(L, M)]"),
        "(listcomp a a,b (zip L M))"
    );
    assert_eq!(sexpr("{k: 0 for k in L}"), "(dictcomp k 0 k L)");
    assert_eq!(sexpr("[x in L for x in M]"), "(listcomp (in x L) x M)");
    assert_eq!(
        sexpr("select(indices, indices, <)"),
        "(select< indices indices)"
    );
    assert_eq!(sexpr("select (a, b, !=)"), "(select!= a b)");
    assert_eq!(sexpr("aggregate(s, v)"), "(aggregate s v)");
    assert_eq!(sexpr("aggregate  (s, v, \"\")"), "(aggregate s v \"\")");
    // Before anything but `(`, they are names.
    assert_eq!(sexpr("select"), "select");
    assert_eq!(sexpr("aggregate + 1"), "(+ aggregate 1)");
    assert_eq!(sexpr("select[0]"), "(index select 0)");
    assert_eq!(
        sexpr("aggregate(select, select(select, aggregate, ==))"),
        "(aggregate select (select== select aggregate))"
    );
    assert_eq!(sexpr("range(3)"), "(range 3)");
    assert_eq!(sexpr("range(1, 10, 2)"), "(range 1 10 2)");
    assert_eq!(sexpr("len(L)"), "(len L)");
    assert_eq!(sexpr("round(x / 2)"), "(round (/ x 2))");
    assert_eq!(
        sexpr("indicator(tokens == \"a\")"),
        "(indicator (== tokens \"a\"))"
    );
    assert_eq!(sexpr("f()"), "(call f)");
    assert_eq!(sexpr("f(1, 2)"), "(call f 1 2)");
    assert_eq!(
        sexpr("select(a, b, ==)(\"abc\")"),
        "(call (select== a b) \"abc\")"
    );
}

fn only_stmt(text: &str) -> StmtKind {
    match parse(text) {
        Ok(program) if program.stmts.len() == 1 => program.stmts[0].kind.clone(),
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn statements() {
    let StmtKind::Assign { targets, values } = only_stmt("a, b = f(), 2;") else {
        panic!("not an assignment");
    };
    assert_eq!(targets.len(), 2);
    assert_eq!(values.len(), 2);
    assert!(matches!(only_stmt("x = 1;"), StmtKind::Assign { .. }));

    let StmtKind::Def(def) = only_stmt("def f(a, b) { c = a; def g() { return 1; } return c, b; }")
    else {
        panic!("not a def");
    };
    assert_eq!(&*def.name.name, "f");
    assert_eq!(def.params.len(), 2);
    assert_eq!(def.body.len(), 2);
    assert_eq!(def.results.len(), 2);
    let StmtKind::Def(def) = only_stmt("def f() { return 1; }") else {
        panic!("not a def");
    };
    assert!(def.params.is_empty() && def.body.is_empty());

    let StmtKind::For { vars, body, .. } = only_stmt("for a, b in zip(x, y) { z = a; z; }") else {
        panic!("not a for");
    };
    assert_eq!((vars.len(), body.len()), (2, 2));
    assert!(matches!(only_stmt("for x in L {}"), StmtKind::For { .. }));
    assert!(matches!(
        only_stmt("for x in L { for y in x { y; } }"),
        StmtKind::For { .. }
    ));

    let StmtKind::Load { path, path_span } = only_stmt("load \"lib\";") else {
        panic!("not a load");
    };
    assert_eq!(
        (path.as_str(), path_span.start, path_span.end),
        ("lib", 5, 10)
    );
    assert!(matches!(
        only_stmt("draw(s);"),
        StmtKind::Draw { input: None, .. }
    ));
    assert!(matches!(
        only_stmt("draw(s, \"abc\");"),
        StmtKind::Draw { input: Some(_), .. }
    ));
    assert!(matches!(
        only_stmt("# just\n x; # comments"),
        StmtKind::Expr(_)
    ));

    let program = parse("x = 1; y = 2; x + y;\n\nz = 3;").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(program.stmts.len(), 4);
    assert!(parse("").is_ok_and(|p| p.stmts.is_empty()));
}

#[test]
fn spans() {
    let program =
        parse("  a = 1 + f(2);\ndef g(x) { return x; }").unwrap_or_else(|e| panic!("{e:?}"));
    let span = |s: Span| (s.start, s.end);
    assert_eq!(span(program.stmts[0].span), (2, 15));
    let StmtKind::Assign { targets, values } = &program.stmts[0].kind else {
        panic!("not an assignment");
    };
    assert_eq!(span(targets[0].span), (2, 3));
    assert_eq!(span(values[0].span), (6, 14));
    let ExprKind::Binary { op_span, rhs, .. } = &values[0].kind else {
        panic!("not binary");
    };
    assert_eq!(span(*op_span), (8, 9));
    assert_eq!(span(rhs.span), (10, 14));
    let StmtKind::Def(def) = &program.stmts[1].kind else {
        panic!("not a def");
    };
    assert_eq!(span(program.stmts[1].span), (16, 38));
    assert_eq!(span(def.return_span), (27, 36));
    assert_eq!(span(def.params[0].span), (22, 23));

    let program = parse("select(k, q, <=);(1 + 2);").unwrap_or_else(|e| panic!("{e:?}"));
    let StmtKind::Expr(Expr {
        kind: ExprKind::Select { op_span, .. },
        ..
    }) = &program.stmts[0].kind
    else {
        panic!("not a select");
    };
    assert_eq!(span(*op_span), (13, 15));
    let StmtKind::Expr(paren) = &program.stmts[1].kind else {
        panic!("not an expression");
    };
    assert_eq!(span(paren.span), (17, 24));
}

#[test]
fn lexical_errors() {
    let err = parse_err("x = $;");
    assert_eq!((err.code_name(), err.span().start), ("invalid_token", 4));
    let err = parse_err("x = 1.;");
    assert!(err.to_string().contains("`.`"));
    assert!(format!(
        "{:?}",
        miette::Diagnostic::help(&err).map(|h| h.to_string())
    )
    .contains("digits on both sides"));
    let err = parse_err("x = 'a';");
    assert!(miette::Diagnostic::help(&err).is_some_and(|h| h.to_string().contains("double quotes")));
    assert_eq!(err_code("x = 99999999999999999999;"), "int_too_large");
    assert_eq!(err_code("x = \"abc;\ny;"), "unterminated_string");
    assert!(!parse_err("x = \"abc;\ny;").is_incomplete());
}

#[test]
fn grammar_errors() {
    let err = parse_err("1 +* 2;");
    assert_eq!(err.code_name(), "unexpected_token");
    assert_eq!(err.to_string(), "unexpected `*`");
    assert!(!err.is_incomplete());
    let err = parse_err("x = 1 y = 2;");
    assert_eq!(err.to_string(), "unexpected `y`");
    assert!(miette::Diagnostic::help(&err)
        .is_some_and(|h| h.to_string() == "a `;` may be missing before `y`"));
    assert_eq!(err_code("return 1;"), "unexpected_token");
    assert_eq!(err_code("def f() { x = 1; }"), "unexpected_token");
    assert_eq!(
        err_code("def f() { return 1; return 2; }"),
        "unexpected_token"
    );
    assert_eq!(err_code("a[0] = 1;"), "unexpected_token");
    assert_eq!(err_code("select(a, b, +);"), "unexpected_token");
    assert_eq!(err_code("f(1,);"), "unexpected_token");
    assert_eq!(err_code("x = ;"), "unexpected_token");
    assert_eq!(err_code(")"), "unexpected_token");
    assert_eq!(err_code("load x;"), "unexpected_token");
}

#[test]
fn incomplete_input() {
    for text in [
        "def f(x) {",
        "[1, 2",
        "x = 1",
        "\"abc",
        "x = \"abc",
        "1 +",
        "for x in L { x;",
    ] {
        let err = parse_err(text);
        assert!(err.is_incomplete(), "{text:?}: {err:?}");
    }
    assert_eq!(err_code("[1, 2"), "unexpected_eof");
    for text in ["1 +* 2;", "x = 1 y", ")", "\"abc\nx"] {
        assert!(!parse_err(text).is_incomplete(), "{text:?}");
    }
}

#[test]
fn expected_lists_are_readable() {
    let expected = |text: &str| match parse_err(text) {
        SyntaxError::UnexpectedToken { expected, .. }
        | SyntaxError::UnexpectedEof { expected, .. } => expected,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        expected("x = 1 y"),
        "expected `,`, an operator, or `;` to end the statement"
    );
    assert_eq!(expected("1 +* 2;"), "expected an expression");
    assert_eq!(expected("def 1"), "expected a name");
    assert_eq!(expected("f(1 2)"), "expected `,`, `)`, or an operator");
    assert_eq!(expected("f(1,"), "expected an argument");
    assert_eq!(expected("f(g(1), [2, (3 +"), "expected an expression");
    assert_eq!(expected("f(g(1), [2, len("), "expected an argument");
    assert_eq!(expected(")"), "expected a statement");
    assert_eq!(expected("(1;"), "expected `)` or an operator");
    assert_eq!(expected("for x y"), "expected `,` or `in`");
    assert_eq!(
        expected("def f(x) { return x }"),
        "expected `,`, an operator, or `;` to end the statement"
    );
    assert_eq!(
        expected("select(a, b, =)"),
        "expected an argument, `==`, `!=`, `<`, `>`, `<=`, or `>=`"
    );
}

#[test]
fn advice_fits_the_mistake() {
    let help = |text: &str| match parse_err(text) {
        SyntaxError::UnexpectedToken { help, .. } | SyntaxError::UnexpectedEof { help, .. } => {
            help.unwrap_or_default()
        }
        other => panic!("{other:?}"),
    };
    assert!(help("x = aggregate(s, v, default=0);").contains("`aggregate(s, v, 0)`"));
    assert!(help("x = f(a, b=1);").contains("no keyword arguments"));
    assert!(help("x = f(b=1);").contains("without `b=`"));
    assert!(help("x[0] = 1;").contains("only plain names"));
    assert!(help("x = if c then 1 else 0;").contains("`1 if c else 0`"));
    assert!(help("x = 1 if c then 2 else 3;").contains("`1 if c else 0`"));
}

#[test]
fn select_and_aggregate_count_their_arguments() {
    let arity = |text: &str| match parse_err(text) {
        SyntaxError::Arity { callee, got, .. } => (callee, got),
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(arity("select(a, b);"), ("select", 2));
    assert_eq!(arity("select();"), ("select", 0));
    assert_eq!(arity("select(a, b, ==, c);"), ("select", 4));
    assert_eq!(arity("aggregate(s);"), ("aggregate", 1));
    assert_eq!(arity("aggregate(s, v, 0, 1);"), ("aggregate", 4));
    assert_eq!(
        parse_err("select(indices, indices);").to_string(),
        "`select` takes 3 arguments (keys, queries, comparison), 2 given"
    );
    for text in ["select(==, a, b);", "select(a, b, c);", "select(a, <, b);"] {
        assert_eq!(parse_err(text).code_name(), "select_comparison", "{text}");
    }
    // The right counts still parse, comparisons among the keys included.
    assert!(parse("select(a == b, b, !=); aggregate(s, v); aggregate(s, v, 0);").is_ok());
}

#[test]
fn an_expression_parses_without_its_semicolon() {
    let expr = |text: &str| parse_expression(&source("<t>", text.to_string()));
    assert!(matches!(expr("reverse(tokens)"), Ok(Some(_))));
    assert!(matches!(expr("x = 1"), Ok(None)));
    assert!(matches!(expr("1; 2"), Ok(None)));
    // An unfinished one ends at its text, never at a `;` the user did not
    // type, and points at the bracket left open.
    let err = expr("f(1,").expect_err("unfinished");
    let SyntaxError::UnexpectedEof {
        expected, unclosed, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(expected, "expected an argument");
    assert_eq!(unclosed.map(|s| s.start), Some(1));
    assert_eq!(
        expr("x +* 1").expect_err("bad").to_string(),
        "unexpected `*`"
    );
}

#[test]
fn depth_limits() {
    let nested = |depth: usize| format!("{}1{};", "(".repeat(depth), ")".repeat(depth));
    assert!(parse(&nested(MAX_EXPR_DEPTH as usize - 1)).is_ok());
    assert_eq!(err_code(&nested(MAX_EXPR_DEPTH as usize)), "too_deep");
    let negated = |depth: usize| format!("{}1;", "-".repeat(depth));
    assert!(parse(&negated(MAX_EXPR_DEPTH as usize - 1)).is_ok());
    assert_eq!(err_code(&negated(MAX_EXPR_DEPTH as usize)), "too_deep");
    let sum = |terms: usize| format!("1{};", "+1".repeat(terms - 1));
    assert!(parse(&sum(MAX_EXPR_DEPTH as usize)).is_ok());
    assert_eq!(err_code(&sum(MAX_EXPR_DEPTH as usize + 1)), "too_deep");
    let err = parse_err(&nested(300));
    assert_eq!(err.span().start, 300 - MAX_EXPR_DEPTH as usize);

    let blocks = |depth: usize| format!("{}x;{}", "for x in L { ".repeat(depth), "}".repeat(depth));
    assert!(parse(&blocks(MAX_BLOCK_DEPTH as usize)).is_ok());
    assert_eq!(
        err_code(&blocks(MAX_BLOCK_DEPTH as usize + 1)),
        "blocks_too_deep"
    );
    let defs = |depth: usize| {
        format!(
            "{}{}",
            "def f() { ".repeat(depth),
            "return 1; }".repeat(depth)
        )
    };
    assert!(parse(&defs(MAX_BLOCK_DEPTH as usize)).is_ok());
    assert_eq!(
        err_code(&defs(MAX_BLOCK_DEPTH as usize + 1)),
        "blocks_too_deep"
    );
}

#[test]
fn huge_inputs_fail_without_overflowing() {
    const SIZE: usize = 1_000_000;
    let half = SIZE / 2;
    let cases = [
        "(".repeat(SIZE),
        format!("{}1{};", "(".repeat(half), ")".repeat(half)),
        format!("{}1;", "-".repeat(SIZE)),
        format!("1{};", "+1".repeat(half)),
        format!("{}1;", "not ".repeat(SIZE / 4)),
        format!("{}1;", "[".repeat(SIZE)),
        format!("{}1;", "1 if ".repeat(SIZE / 5)),
        format!("{}1;", "f(".repeat(half)),
        "def f() {".repeat(SIZE / 9),
        "for x in y {".repeat(SIZE / 12),
    ];
    for text in &cases {
        assert!(parse(text).is_err(), "{}", &text[..20]);
    }
}

#[test]
fn long_flat_inputs_parse() {
    let stmts = "x = 1;\n".repeat(10_000);
    assert_eq!(parse(&stmts).map(|p| p.stmts.len()).ok(), Some(10_000));
    let items = vec!["1"; 10_000].join(", ");
    assert!(parse(&format!("[{items}];")).is_ok());
    let names = vec!["a"; 10_000].join(", ");
    assert!(parse(&format!("{names} = f();")).is_ok());
}

mod never_panics {
    use super::parse;
    use proptest::prelude::*;

    /// Parses, and renders any error, which must not panic either.
    fn parse_and_render(text: &str) {
        if let Err(err) = parse(text) {
            let handler = miette::GraphicalReportHandler::new();
            let mut out = String::new();
            assert!(handler.render_report(&mut out, &err).is_ok());
        }
    }

    const TOKENS: &[&str] = &[
        "x",
        "f",
        "1",
        "2.5",
        "\"s\"",
        "\"",
        "def",
        "return",
        "for",
        "in",
        "if",
        "else",
        "not",
        "and",
        "or",
        "load",
        "draw",
        "select",
        "aggregate",
        "range",
        "zip",
        "len",
        "round",
        "indicator",
        ";",
        "=",
        ",",
        ":",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "^",
        "*",
        "/",
        "%",
        "+",
        "-",
        "==",
        "!=",
        "<",
        ">",
        "<=",
        ">=",
        "#",
        "\n",
        "$",
        ".",
        "'",
    ];

    proptest! {
        #[test]
        fn on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes);
            parse_and_render(&text);
        }

        #[test]
        fn on_random_tokens(picks in proptest::collection::vec(0..TOKENS.len(), 0..80)) {
            let text: Vec<&str> = picks.iter().map(|&i| TOKENS[i]).collect();
            parse_and_render(&text.join(" "));
        }
    }
}

#[test]
fn every_error_renders_with_its_label() {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    let cases = [
        ("x = $;", "not part of RASP"),
        ("x = \"abc", "this string is never closed"),
        ("x = 99999999999999999999;", "does not fit in 64 bits"),
        (
            "x = 1 y = 2;",
            "expected `,`, an operator, or `;` to end the statement",
        ),
        ("[1, 2", "expected `,`, `]`, or an operator"),
        ("def f(x) {\n  y = x;\n", "expected a statement or `return`"),
        (
            &format!("{}1{};", "(".repeat(300), ")".repeat(300)),
            "more than 256 levels deep",
        ),
        (
            &format!("{}1;", "-".repeat(300)),
            "more than 256 levels deep",
        ),
        (
            &format!("{}x;{}", "for x in y {".repeat(70), "}".repeat(70)),
            "this block holds more than 64 nested levels",
        ),
    ];
    for (text, label) in cases {
        let err = parse_err(text);
        let mut out = String::new();
        assert!(handler.render_report(&mut out, &err).is_ok());
        assert!(out.contains(label), "{text:?} rendered as\n{out}");
        assert!(
            out.contains(&format!("rasp::syntax::{}", err.code_name())),
            "{out}"
        );
    }
}

#[test]
fn non_ascii_text_is_one_invalid_token() {
    for (text, bad) in [("x = é;", "é"), ("a → b;", "→"), ("\"ü\" + ü;", "ü")] {
        let err = parse_err(text);
        assert_eq!(
            err.to_string(),
            format!("invalid token `{bad}`"),
            "{text:?}"
        );
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        assert!(handler.render_report(&mut out, &err).is_ok());
    }
}

/// The statements of `text`, one word each: `expr`, `assign`, `set`
/// (with its subset and example), or the command's words.
fn statement_kinds(text: &str) -> Vec<String> {
    let program = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
    program
        .stmts
        .iter()
        .map(|stmt| match &stmt.kind {
            StmtKind::Expr(_) => "expr".to_string(),
            StmtKind::Assign { .. } => "assign".to_string(),
            StmtKind::SetExample { subset, example } => {
                format!("set {}example {}", subset.prefix(), sexpr_of(example))
            }
            StmtKind::Command(command) => command.text(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn repl_commands_are_statements_on_their_own_lines() {
    assert_eq!(
        statement_kinds("set example \"abc\"\nx = 1;\nshow example\nexamples off\nx;\n"),
        [
            "set example \"abc\"",
            "assign",
            "show example",
            "examples off",
            "expr"
        ]
    );
    assert_eq!(
        statement_kinds("  set s-op example [1, 2]; x = 1;\n  exit() # bye\nquit;"),
        ["set s-op example (list 1 2)", "assign", "exit", "exit"]
    );
    // The example runs to the first line end where it could be complete.
    assert_eq!(
        statement_kinds("set selector example [1,\n 2] + \n [3]\n(1);"),
        ["set selector example (+ (list 1 2) (list 3))", "expr"]
    );
    assert_eq!(
        statement_kinds("full seq display on\nselector examples on\nset example \"a\""),
        [
            "full seq display on",
            "selector examples on",
            "set example \"a\""
        ]
    );
    // Not at the start of a line, or not a command's exact form: RASP.
    assert_eq!(
        statement_kinds("set = 3; exit = 1;\nexit + 1;\nx = 1; y = 2;"),
        ["assign", "assign", "expr", "assign", "assign"]
    );
}

#[test]
fn repl_commands_stand_only_at_top_level() {
    for text in [
        "def f() {\n  show example\n  return 1;\n}",
        "for x in [1] {\nexit\n}",
        "x = 1 +\nexit\n;",
        "x = 1; show example",
        "set example \"a\" \"b\"",
        "set example\n;",
    ] {
        assert_eq!(err_code(text), "unexpected_token", "{text:?}");
    }
    let expected = |text: &str| match parse_err(text) {
        SyntaxError::UnexpectedToken { expected, .. } => expected,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        expected("set example \"a\" \"b\""),
        "expected the end of the line or an operator"
    );
    assert_eq!(expected("show example\n)"), "expected a statement");
    // An unfinished example asks for more, as an unfinished statement does.
    for text in ["set example [1,", "set example \"a\" +", "set example"] {
        assert!(parse_err(text).is_incomplete(), "{text:?}");
    }
}
