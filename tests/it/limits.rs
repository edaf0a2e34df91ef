//! Every limit in one place: each test goes just past one and checks the
//! diagnostic's code and message (never a crash, a stack overflow or an
//! out-of-memory).

use rasp::compile::{compile, CompileError};
use rasp::eval::atom::Atom;
use rasp::eval::run::{eval_sop, MAX_INPUT_LEN, MAX_SELECTION_BYTES};
use rasp::eval::value::Value;
use rasp::eval::Limits;
use rasp::model::Model;
use rasp::syntax::span::source;
use rasp::syntax::{MAX_BLOCK_DEPTH, MAX_EXPR_DEPTH};
use rasp::Interpreter;

const SMALL: Limits = Limits {
    max_call_depth: 50,
    max_steps: 10_000,
    max_list_len: 1_000,
};

/// Runs `program` under `limits`; its error, code and message.
fn run_error(program: &str, limits: Limits) -> (String, String) {
    let mut interp = Interpreter::with_limits(limits).expect("starts");
    let err = interp
        .run(&source("<limits>", program.to_string()), None, &mut |_| {})
        .expect_err("the program goes past a limit");
    // Every diagnostic renders.
    assert!(!rasp::diagnostics::render(&err, false).is_empty());
    (err.code_name(), err.to_string())
}

fn assert_error(program: &str, limits: Limits, code: &str, message: &str) {
    let (got_code, got_message) = run_error(program, limits);
    assert_eq!(got_code, code, "{program}: {got_message}");
    assert!(
        got_message.contains(message),
        "{program}: `{got_message}` does not say `{message}`"
    );
}

#[test]
fn expression_nesting() {
    let depth = MAX_EXPR_DEPTH as usize + 1;
    let program = format!("x = {}1{};", "(".repeat(depth), ")".repeat(depth));
    assert_error(&program, SMALL, "rasp::syntax::too_deep", "too deeply");
}

#[test]
fn block_nesting() {
    let depth = MAX_BLOCK_DEPTH as usize + 1;
    let program = format!(
        "{}x = 1;{}",
        "for i in [1] { ".repeat(depth),
        " }".repeat(depth)
    );
    assert_error(&program, SMALL, "rasp::syntax::blocks_too_deep", "");
}

#[test]
fn recursion_depth() {
    assert_error(
        "def f(n) { return f(n + 1); }\nf(0);",
        SMALL,
        "rasp::eval::recursion_limit",
        "50",
    );
    // The default limit, deep enough to need the stack to grow, is an error
    // too, not a stack overflow.
    assert_error(
        "def f(n) { return f(n + 1); }\nf(0);",
        Limits::default(),
        "rasp::eval::recursion_limit",
        "2000",
    );
}

#[test]
fn steps_of_loops() {
    assert_error(
        "x = 0;\nfor i in range(1000) { for j in range(1000) { x = x + 1; } }",
        SMALL,
        "rasp::eval::limit",
        "10000 steps",
    );
}

#[test]
fn steps_of_comprehensions() {
    assert_error(
        "l = [[i + j for i in range(500)] for j in range(500)];",
        SMALL,
        "rasp::eval::limit",
        "steps",
    );
    assert_error(
        "d = {i: [j for j in range(900)] for i in range(900)};",
        SMALL,
        "rasp::eval::limit",
        "steps",
    );
}

#[test]
fn range_size() {
    assert_error(
        "l = range(1001);",
        SMALL,
        "rasp::eval::limit",
        "more than the limit of 1000",
    );
    assert_error(
        "l = range(10000000000);",
        Limits::default(),
        "rasp::eval::limit",
        "more than the limit",
    );
}

#[test]
fn list_size_by_concatenation() {
    // Doubling a list takes few steps but would need exponential memory.
    assert_error(
        "l = [1];\nfor i in range(64) { l = l + l; }",
        SMALL,
        "rasp::eval::limit",
        "more than the limit of 1000",
    );
    assert_error(
        "l = [1];\nfor i in range(64) { l = l + l; }",
        Limits::default(),
        "rasp::eval::limit",
        "more than the limit",
    );
}

#[test]
fn list_size_by_repetition() {
    // Repetition multiplies a list in one step: bounded before it allocates.
    assert_error(
        "l = [1, 2] * 501;",
        SMALL,
        "rasp::eval::limit",
        "`*` would make a list of 1002 items, more than the limit of 1000",
    );
    assert_error(
        "l = 9223372036854775807 * [1, 2];",
        Limits::default(),
        "rasp::eval::limit",
        "more than the limit",
    );
}

#[test]
fn string_length() {
    assert_error(
        "s = \"ab\";\nfor i in range(64) { s = s + s; }",
        SMALL,
        "rasp::eval::limit",
        "longer than the limit of 1000000 characters",
    );
    assert_error(
        "s = \"ab\" * 10000000;",
        SMALL,
        "rasp::eval::limit",
        "longer than the limit of 1000000 characters",
    );
}

/// Runs `last` after building a list nested 100,000 deep, on a thread with
/// the stack the `rasp` binary gives its worker (dropping such a list
/// recurses once per level); what it printed.
fn run_deep(last: &'static str) -> usize {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || run_deep_here(last))
        .expect("spawns")
        .join()
        .expect("no panic")
}

fn run_deep_here(last: &str) -> usize {
    let mut interp = Interpreter::new().expect("starts");
    let program = format!("l = [];\nfor i in range(100000) {{ l = [l]; }}\n{last}\n");
    let mut printed = 0;
    interp
        .run(&source("<deep>", program), None, &mut |e| {
            if let rasp::eval::Event::Value { value, .. } = e {
                printed += rasp::eval::print::value_text(&value).len();
            }
        })
        .expect("runs");
    printed
}

#[test]
fn deep_lists_compare_without_overflowing_the_stack() {
    assert_eq!(run_deep("same = l == [l];\nsame;"), 5);
}

#[test]
fn deep_lists_print_without_overflowing_the_stack() {
    assert_eq!(run_deep("l;"), 200_002);
}

fn sop(program: &str, name: &str) -> rasp::eval::sop::SOp {
    let mut interp = Interpreter::new().expect("starts");
    interp
        .run(&source("<limits>", program.to_string()), None, &mut |_| {})
        .expect("runs");
    match interp.get(name) {
        Some(Value::SOp(s)) => s,
        _ => panic!("{name} is an s-op"),
    }
}

/// `sop` goes past a limit on `over` (code `rasp::eval::limit`, a message
/// containing `message`) and evaluates on `under`.
fn assert_sop_limit(sop: &rasp::eval::sop::SOp, over: &[Atom], under: &[Atom], message: &str) {
    let err = rasp::Error::from(eval_sop(sop, over).expect_err("past the limit"));
    assert_eq!(err.code_name(), "rasp::eval::limit", "{err}");
    assert!(
        err.to_string().contains(message),
        "`{err}` does not say `{message}`"
    );
    assert!(eval_sop(sop, under).is_ok(), "within the limit");
}

#[test]
fn input_length() {
    let long = vec![Atom::Int(1); MAX_INPUT_LEN + 1];
    // Just at the limit, a map is fine.
    assert_sop_limit(
        &sop("x = tokens;", "x"),
        &long,
        &long[1..],
        &format!("longer than the limit of {MAX_INPUT_LEN}"),
    );
}

#[test]
fn selection_bytes() {
    // Orders by three key columns at once have no plan: the selector becomes
    // an n×n bit matrix, refused before allocating when it would pass the
    // limit.
    let s = sop(
        "w = selector_width(select(tokens, tokens, <) and select(indices, indices, >) and select(indices % 5, indices % 5, <=));",
        "w",
    );
    let n = 200_000;
    assert!(n * n / 8 > MAX_SELECTION_BYTES, "the input is long enough");
    let long: Vec<Atom> = (0..n).map(|i| Atom::Int(i as i64 % 7)).collect();
    let limit = format!("more than the limit of {} MiB", MAX_SELECTION_BYTES >> 20);
    assert_sop_limit(&s, &long, &long[..300], &limit);
}

#[test]
fn selectors_people_write_need_no_bit_matrix() {
    // On 200,000 positions a bit matrix passes the limit, so these run only
    // through plans: the stable sort with an index tie-break, an `or` of two
    // orders, and a width of two orders.
    let n = 200_000;
    assert!(n * n / 8 > MAX_SELECTION_BYTES, "the input is long enough");
    let long: Vec<Atom> = (0..n)
        .map(|i| Atom::Int((i as i64 * 7919) % 1000))
        .collect();
    let programs = [
        "smaller = select(tokens, tokens, <);\nsame_earlier = select(tokens, tokens, ==) and select(indices, indices, <);\ntarget = selector_width(smaller or same_earlier);\ny = aggregate(select(target, indices, ==), tokens);",
        "y = selector_width(select(tokens, tokens, <) or select(indices, indices, >));",
        "y = selector_width(select(indices, indices, <) and select(tokens, tokens, >));",
    ];
    // `tokens` are strings: the sort is in string order.
    let mut sorted: Vec<String> = long.iter().map(|a| a.to_str().repr()).collect();
    sorted.sort_unstable();
    for (i, program) in programs.iter().enumerate() {
        let out = eval_sop(&sop(program, "y"), &long).expect("runs through a plan");
        assert_eq!(out.values.len(), n);
        if i == 0 {
            let got: Vec<String> = out.values.iter().map(Atom::repr).collect();
            assert!(got == sorted, "the stable sort sorts");
        }
    }
}

#[test]
fn memory_of_a_program() {
    // Each item is a fresh string of a million characters; every other
    // limit allows 1,000 of them (a gigabyte).
    rasp::memory::set_limit(64 << 20);
    assert_error(
        "big = \"a\" * 999999;\nl = [big + \"b\" for i in range(1000)];",
        SMALL,
        "rasp::eval::limit",
        "holds more than the limit of 64 MiB of memory",
    );
    // The same program within the limit runs.
    let mut interp = Interpreter::with_limits(SMALL).expect("starts");
    let program = "big = \"a\" * 999999;\nl = [big + \"b\" for i in range(20)];";
    interp
        .run(&source("<memory>", program.to_string()), None, &mut |_| {})
        .expect("20 MB fit in 64 MiB");
}

#[test]
fn memory_of_an_sop() {
    // A map building a 100,000-character string at each of 2,000 positions
    // (200 MB); 100 positions (10 MB) fit.
    rasp::memory::set_limit(64 << 20);
    let s = sop("x = tokens + (\"a\" * 100000);", "x");
    let input: Vec<Atom> = (0..2000).map(|_| Atom::str("b")).collect();
    assert_sop_limit(
        &s,
        &input,
        &input[..100],
        "holds more than the limit of 64 MiB of memory",
    );
}

fn ints(range: std::ops::Range<i64>) -> Vec<Atom> {
    range.map(Atom::Int).collect()
}

/// Compiling `program`'s `task` goes past a compiler limit: code `code`,
/// a message containing `message`.
fn assert_compile_limit(program: &str, vocab: &[Atom], max_len: usize, code: &str, message: &str) {
    let s = sop(program, "task");
    let err: CompileError =
        compile(&s, "task", program, vocab, max_len).expect_err("over a compiler limit");
    assert_eq!(err.code_name(), code, "{err}");
    assert!(
        err.to_string().contains(message),
        "`{err}` does not say `{message}`"
    );
}

#[test]
fn compiled_value_sets() {
    // A node whose values number more than the limit (`values::MAX_VALUES`).
    // (`a * 1000 + b` is affine and costs nothing, but its values must be
    // listed to decode it.)
    assert_compile_limit(
        "a = aggregate(select(indices, 0, ==), tokens_int, 0);\n\
         b = aggregate(select(indices, 1, ==), tokens_int, 0);\n\
         task = a * 1000 + b;",
        &ints(0..150),
        3,
        "rasp::compile::too_large",
        "the values `task` can take are too many to list",
    );
    // The means of many different values over long inputs are carried as
    // numbers, which a comparison cannot tell apart.
    assert_compile_limit(
        "m = aggregate(select(indices, indices, <=), tokens_int, 0);\ntask = m > 50;",
        &ints(0..100),
        100,
        "rasp::compile::unsupported",
        "`m` takes too many values to list",
    );
    // Nor can a selector compare them.
    assert_compile_limit(
        "m = aggregate(select(indices, indices, <=), tokens_int, 0);\n\
         task = aggregate(select(m, m, <), tokens_int, 0);",
        &ints(0..100),
        100,
        "rasp::compile::unsupported",
        "a selector cannot compare it",
    );
}

#[test]
fn compiled_map_tables() {
    // A map of three attention results whose values occur together in more
    // tuples than `values::TUPLE_BUDGET`.
    assert_compile_limit(
        "a = aggregate(select(indices, 0, ==), tokens_int, 0);\n\
         b = aggregate(select(indices, 1, ==), tokens_int, 0);\n\
         c = aggregate(select(indices, 2, ==), tokens_int, 0);\n\
         task = (a * 10000 + b * 100 + c) % 7;",
        &ints(0..100),
        3,
        "rasp::compile::too_large",
        "can take together number 1000000, more than the limit of 262144",
    );
}

#[test]
fn compiled_model_parameters() {
    // A read of 4,000 distinct tokens: a residual stream of 8,002
    // dimensions and a head as wide, about 160 million parameters.
    assert_compile_limit(
        "task = aggregate(select(tokens, tokens, ==), tokens);",
        &ints(0..4000),
        8,
        "rasp::compile::too_large",
        "parameters, more than the limit",
    );
}

#[test]
fn compiled_max_len() {
    assert_compile_limit(
        "task = tokens;",
        &ints(0..2),
        rasp::compile::MAX_LEN_LIMIT + 1,
        "rasp::compile::settings",
        "must be between 1 and 512",
    );
}

#[test]
fn weight_file_header_size() {
    // (A header declaring a 4 TB tensor in a small file is
    // `a_huge_declared_tensor_in_a_small_file_is_never_allocated` in
    // src/model/file_tests.rs.) A header length beyond the file: an error,
    // no allocation.
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend(b"{}");
    let err = Model::from_bytes(&bytes).expect_err("refused");
    assert_eq!(err.code_name(), "rasp::model::not_safetensors", "{err}");
}

#[test]
fn exec_input_length() {
    let s = sop("task = tokens;", "task");
    let model = compile(&s, "task", "task = tokens;", &ints(0..2), 4).expect("compiles");
    let err = model
        .encode(&vec![Atom::Int(0); 5])
        .expect_err("longer than max_len");
    assert_eq!(err.code_name(), "rasp::model::input_too_long");
    let err = model.encode(&[]).expect_err("empty");
    assert_eq!(err.code_name(), "rasp::model::empty_input");
}

#[test]
fn very_deep_lists_are_dropped_without_overflowing_the_stack() {
    // Dropping a list nested ten million deep once recursed per level:
    // `rasp run` aborted with "has overflowed its stack". Lists and dicts
    // are now freed with an explicit stack, so 300,000 levels of each go
    // on a thread with a 256 KiB stack (a recursive drop would need tens of
    // megabytes and abort the test process).
    let freed = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let mut list = Value::list(Vec::new());
            for _ in 0..300_000 {
                list = Value::list(vec![list, Value::Atom(Atom::Int(1))]);
            }
            let mut dict = Value::Dict(std::rc::Rc::new(rasp::eval::value::Dict::new()));
            for i in 0..300_000 {
                let mut d = rasp::eval::value::Dict::new();
                d.insert(Atom::Int(i), dict);
                d.insert(Atom::Int(-1), Value::list(Vec::new()));
                dict = Value::Dict(std::rc::Rc::new(d));
            }
            // A shared inner list outlives the outer one.
            let Value::List(items) = &list else {
                unreachable!("built as a list")
            };
            let inner = items[0].clone();
            drop(list);
            drop(dict);
            matches!(inner, Value::List(ref l) if l.len() == 2)
        })
        .expect("spawns")
        .join()
        .expect("no panic");
    assert!(freed, "the shared inner list survived intact");
}

#[test]
fn an_interpreter_frees_its_library() {
    // The library's functions close over the scopes they were defined in;
    // an interpreter that kept those cycles leaked its whole library (the
    // evaluator's fuzz target ran out of memory after 47,000 programs).
    let weak = {
        let interp = Interpreter::new().expect("starts");
        let Some(Value::Func(f)) = interp.get("reverse") else {
            panic!("reverse is a library function");
        };
        std::rc::Rc::downgrade(&f)
    };
    assert!(
        weak.upgrade().is_none(),
        "`reverse` outlives its interpreter"
    );
}

#[test]
fn files_larger_than_any_program_are_refused_before_they_are_read() {
    let dir = std::env::temp_dir().join(format!("rasp-limits-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let big = dir.join("big.rasp");
    let file = std::fs::File::create(&big).expect("create");
    // A sparse file: its size is known without writing 17 MB.
    file.set_len(rasp::files::MAX_PROGRAM_BYTES + 1)
        .expect("set length");
    let shown = big.display().to_string();
    for args in [
        vec!["run", shown.as_str(), "--input", "a"],
        vec!["analyze", shown.as_str()],
    ] {
        let out = crate::rasp(&args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = flat(&out.stderr);
        assert!(err.contains("rasp::cli::read_file"), "{err}");
        assert!(err.contains("over the limit of 16777216 bytes"), "{err}");
    }
    // `load` in a program and `:load` in the REPL say the same.
    let main = dir.join("main.rasp");
    std::fs::write(&main, format!("load \"{shown}\";\nx = tokens;\n")).expect("write");
    let out = crate::rasp(
        &["run", main.to_str().expect("utf-8"), "--input", "a"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = flat(&out.stderr);
    assert!(
        err.contains("rasp::eval::io") && err.contains("over the limit"),
        "{err}"
    );
    // (The piped REPL writes its diagnostics in order with its output.)
    let out = crate::rasp(&[], Some(&format!(":load {shown}\n1 + 1;\n")));
    let text = flat(&out.stdout);
    assert!(
        text.contains("rasp::repl::read_file") && text.contains("over the limit"),
        "{text}"
    );
    assert!(text.contains("value: 2"), "the session goes on: {text}");
    // An endless device stops at the limit.
    #[cfg(unix)]
    {
        let out = crate::rasp(&["run", "/dev/zero", "--input", "a"], None);
        assert_eq!(out.status.code(), Some(1));
        let err = flat(&out.stderr);
        assert!(err.contains("more than the limit"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard error with miette's wrapping undone.
fn flat(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_time_limit_stops_an_evaluation_and_every_other_input_still_runs() {
    let dir = std::env::temp_dir().join(format!("rasp-limits-time-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // The program's top level: a loop of ten million steps.
    let endless = dir.join("endless.rasp");
    std::fs::write(
        &endless,
        "x = 0;\nfor i in range(9000000) { x = x + 1; }\ntask = tokens;\n",
    )
    .expect("write");
    let started = std::time::Instant::now();
    let out = crate::rasp(
        &[
            "run",
            endless.to_str().expect("utf-8"),
            "--input",
            "a",
            "--timeout",
            "0.2",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = flat(&out.stderr);
    assert!(err.contains("rasp::eval::limit"), "{err}");
    assert!(
        err.contains("the program ran more than the time limit of 200 ms"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // One input's s-op: a chain of 20,000 maps of two columns each is
    // quick on 3 tokens and far past a second on 100,000; the inputs around
    // it get their outputs.
    let chain = dir.join("chain.rasp");
    std::fs::write(
        &chain,
        "s = indices;\nfor i in range(20000) { s = s + indices; }\n",
    )
    .expect("write");
    let long = "a".repeat(100_000);
    let stdin = format!("abc\n{long}\nxy\n");
    let out = crate::rasp(
        &["run", chain.to_str().expect("utf-8"), "--timeout", "1"],
        Some(&stdin),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "[0, 20001, 40002]");
    assert!(
        lines[1].starts_with("error: ") && lines[1].contains("time limit of 1 s"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "[0, 20001]");
    let err = flat(&out.stderr);
    assert!(err.contains("time limit of 1 s"), "{err}");
    // The s-op that was running is pointed at, with the input.
    assert!(
        err.contains("s + indices") && err.contains("fails on input `aaaa"),
        "{err}"
    );
    // A limit that is not a number of seconds is a usage error.
    for bad in ["-1", "soon", "1e99"] {
        let out = crate::rasp(
            &["run", chain.to_str().expect("utf-8"), "--timeout", bad],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_memory_budget_for_the_process_and_every_other_output_still_printed() {
    // Two inputs of two million tokens each need some 250 MiB apiece;
    // beside six small ones, under a budget of 400 MiB for the whole
    // process: run side by side they pass it, so they run again one at a
    // time, and every output is printed, in order.
    let big = "ab".repeat(1_000_000);
    let stdin = format!("{big}\nabc\nabc\nabc\n{big}\nxy\nxy\nxy\n");
    let out = crate::rasp(
        &["--memory", "400", "run", "examples/reverse.rasp"],
        Some(&stdin),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(out.status.code(), Some(0), "{}", flat(&out.stderr));
    assert_eq!(lines.len(), 8);
    let reversed_big = format!("[{}]", "b, a, ".repeat(1_000_000).trim_end_matches(", "));
    assert_eq!(lines[0], reversed_big);
    assert_eq!(lines[4], reversed_big);
    assert_eq!(&lines[1..4], ["[c, b, a]"; 3]);
    assert_eq!(&lines[5..], ["[y, x]"; 3]);
    // Under 150 MiB the large inputs do not fit even alone: each gets its
    // limit diagnostic, and the small ones their outputs.
    let out = crate::rasp(
        &["--memory", "150", "run", "examples/reverse.rasp"],
        Some(&stdin),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{lines:?}");
    for at in [0, 4] {
        assert!(
            lines[at].starts_with("error: ") && lines[at].contains("memory"),
            "{}",
            lines[at]
        );
    }
    assert_eq!(&lines[1..4], ["[c, b, a]"; 3]);
    assert_eq!(&lines[5..], ["[y, x]"; 3]);
    let err = flat(&out.stderr);
    assert_eq!(err.matches("rasp::eval::limit").count(), 2, "{err}");
    assert!(
        err.contains("more than the limit of 150 MiB of memory"),
        "{err}"
    );
    // A budget that is not a number of MiB is a usage error.
    let out = crate::rasp(
        &["--memory", "0", "run", "examples/reverse.rasp"],
        Some("ab\n"),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ordering_a_graph_of_many_nodes_checks_its_budget() {
    // The order of a long chain is made with a check every few thousand
    // nodes (the time budget and Ctrl-C reach it), and stops at its error.
    use rasp::eval::sop::{topological_order, topological_order_checked, Node};
    let chain = sop(
        "s = indices; for i in range(20000) { s = s + 1; }\ny = s;",
        "y",
    );
    let roots = [Node::SOp(chain)];
    let mut checks = 0;
    let stopped = topological_order_checked(&roots, || {
        checks += 1;
        if checks == 3 {
            Err("stop")
        } else {
            Ok(())
        }
    });
    assert_eq!(stopped.err(), Some("stop"));
    assert_eq!(checks, 3, "stops at the first failed check");
    let mut checks = 0;
    let order = topological_order_checked(&roots, || {
        checks += 1;
        Ok::<(), ()>(())
    })
    .expect("no check fails");
    assert!(checks >= 5, "checked while it went: {checks}");
    let ids: Vec<_> = order.iter().map(Node::id).collect();
    let plain: Vec<_> = topological_order(&roots).iter().map(Node::id).collect();
    assert_eq!(ids, plain);
}

#[test]
fn a_long_chain_of_affine_maps_runs_in_one_pass() {
    // `s = s + 1` two hundred thousand times on 100,000 tokens: one column
    // pass per map would be 2·10^10 steps; fused, the chain is one pass,
    // well inside the time limit. Its values and an overflow are the
    // unfused ones (tests/it/kernels.rs checks every step kind).
    let dir = std::env::temp_dir().join(format!("rasp-limits-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let chain = dir.join("chain.rasp");
    std::fs::write(
        &chain,
        "s = indices;\nfor i in range(200000) { s = s + 1; s = s * 1; }\ny = 2 * s - 1;\n",
    )
    .expect("write");
    let long = "a".repeat(100_000);
    let stdin = format!("{long}\nab\n");
    let out = crate::rasp(
        &[
            "run",
            chain.to_str().expect("utf-8"),
            "--timeout",
            "120",
            "--json",
        ],
        Some(&stdin),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", flat(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains(r#""output":[399999,400001,400003,"#),
        "starts with 2·200,000 − 1"
    );
    assert!(
        lines[0].ends_with(",599997]}"),
        "ends with 2·(99,999 + 200,000) − 1"
    );
    assert_eq!(lines[1], r#"{"input":["a","b"],"output":[399999,400001]}"#);
    // An overflow half-way is the error of the step that overflows.
    std::fs::write(&chain, "s = indices;\nfor i in range(100) { s = s * 2; }\n").expect("write");
    let out = crate::rasp(
        &["run", chain.to_str().expect("utf-8"), "--input", "ab"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = flat(&out.stderr);
    assert!(err.contains("s * 2") && err.contains("overflow"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
