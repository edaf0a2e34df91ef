//! The backend without a terminal: lines in, text out.

use super::{Session, Status};

fn session() -> Session {
    Session::new().expect("the standard library loads")
}

/// Feeds each line and joins what the session prints.
fn transcript(session: &mut Session, lines: &[&str]) -> String {
    lines.iter().map(|l| session.feed(l).text).collect()
}

#[test]
fn sop_prints_its_value_on_the_running_example() {
    let mut s = session();
    let text = transcript(
        &mut s,
        &["rev = aggregate(select(indices, length - indices - 1, ==), tokens);"],
    );
    assert!(text.contains("s-op: rev"), "{text}");
    assert!(
        text.contains("Example: rev(\"hello\") = [o, l, l, e, h] (strings)"),
        "{text}"
    );
}

#[test]
fn unfinished_input_asks_for_more() {
    let mut s = session();
    assert_eq!(s.feed("def f(x) {").status, Status::More);
    assert!(s.is_pending());
    assert_eq!(s.feed("  return x + 1;").status, Status::More);
    let done = s.feed("}");
    assert_eq!(done.status, Status::Ready);
    assert!(done.text.contains("function f(x)"), "{}", done.text);
    assert_eq!(s.feed("x = 3").status, Status::More);
    assert!(s.feed(";").text.contains("value: x = 3"));
}

#[test]
fn is_complete_follows_the_parser() {
    let s = session();
    assert!(s.is_complete("x = 3;"));
    assert!(!s.is_complete("x = (3"));
    assert!(!s.is_complete("x = [1,\n2"));
    assert!(!s.is_complete("def f(x) { return x;"));
    assert!(s.is_complete("x = );"), "an error more lines cannot fix");
    assert!(s.is_complete("show example"), "commands are complete");
    assert!(s.is_complete("set example [1, 2]"));
    assert!(
        s.is_complete("set example [1, 2;"),
        "an error more lines cannot fix"
    );
    assert!(
        !s.is_complete("set example [1, 2"),
        "an unfinished example goes on, as in the reference"
    );
}

#[test]
fn an_unfinished_example_continues() {
    let mut s = session();
    assert_eq!(s.feed("set example [1,").status, Status::More);
    let out = s.feed("  2]");
    assert_eq!(out.status, Status::Ready);
    assert!(
        out.text.contains("running example is: [1, 2]"),
        "{}",
        out.text
    );
    assert!(s.feed("set example hey").text.contains("\"hey\""));
    let out = s.feed("set example \"ab\" # a comment").text;
    assert_eq!(out, "running example is: \"ab\"\n");
    let out = s.feed("set s-op example \"cd\"; x = 1;").text;
    assert!(out.contains("s-op example is: \"cd\""), "{out}");
    assert!(out.contains("value: x = 1"), "{out}");
}

#[test]
fn commands_in_input_of_several_lines() {
    let mut s = session();
    let out = s.feed("x = 1;\nset selector example \"ab\"\nexit\ny = 2;\n");
    assert_eq!(out.status, Status::Exit);
    assert!(
        out.text.contains("selector example is: \"ab\""),
        "{}",
        out.text
    );
    assert!(!out.text.contains("y = 2"), "{}", out.text);
}

#[test]
fn an_error_abandons_only_its_statement() {
    let mut s = session();
    let out = s.feed("a = 1; b = nosuch; c = 3;");
    assert!(out.failed);
    assert!(out.text.contains("value: a = 1"));
    assert!(out.text.contains("nosuch"));
    assert!(out.text.contains("value: c = 3"));
    assert!(s.feed("a + c;").text.contains("value: 4"));
}

#[test]
fn failing_example_still_binds() {
    let mut s = session();
    let out = s.feed("z = tokens_int + 1;");
    assert!(out.text.contains("s-op: z"), "{}", out.text);
    assert!(out.text.contains("failed"), "{}", out.text);
    assert!(!out.failed);
    assert!(s.feed("set example [1, 2, 3]").text.contains("[1, 2, 3]"));
    assert!(s.feed("z;").text.contains("[2, 3, 4] (ints)"));
}

#[test]
fn commands() {
    let mut s = session();
    assert_eq!(s.feed("exit").status, Status::Exit);
    assert_eq!(s.feed("quit").status, Status::Exit);
    assert!(s.feed(":help").text.contains(":load FILE"));
    assert!(s.feed(":nope").failed);
    assert!(s.feed(":type 1 + 2").text.contains("int"));
    s.feed("examples off");
    assert!(!s.feed("tokens;").text.contains("Example"));
    s.feed("examples on");
    assert!(s.feed("tokens;").text.contains("Example"));
    assert!(s.feed("set example \"ab\"").text.contains("\"ab\""));
    assert!(s.feed("show example").text.contains("\"ab\""));
    s.feed("full seq display on");
    let out = s.feed("tokens;").text;
    assert!(out.contains("input:  a b (strings)"), "{out}");
}

#[test]
fn set_is_still_a_name() {
    let mut s = session();
    assert!(s.feed("set = 3;").text.contains("value: set = 3"));
    assert!(s.feed("exit = set + 1;").text.contains("value: exit = 4"));
    assert!(s.feed("exit + 1;").text.contains("value: 5"));
}

#[test]
fn finish_reports_unfinished_input() {
    let mut s = session();
    s.feed("x = [1,");
    let out = s.finish();
    assert_eq!(out.status, Status::Exit);
    assert!(out.failed);
    s.feed("y = (");
    s.cancel();
    assert!(!s.is_pending());
}

#[test]
fn completer_sees_session_names() {
    let mut s = session();
    s.feed("my_reverse = tokens;");
    let (_, found) = s.completer().complete("my_r", 4);
    assert_eq!(found, vec!["my_reverse".to_string()]);
}
