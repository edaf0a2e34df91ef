//! The README's commands, run: every ```sh block of README.md (but those
//! marked ```sh no-run, which install software or run for long) and every
//! ```rasp block, and the REPL transcripts of ```text repl blocks.
//!
//! In a `sh` block, a line `$ COMMAND` is a command whose standard output
//! must be the lines after it, up to the next `$` line: a line `...` stands
//! for any number of lines, and `...` inside a line for any text (timings).
//! A block without `$` lines is a list of commands whose output is not
//! checked. Every command must exit with success. `cargo run --release [-q]
//! --` and `target/release/rasp` are the `rasp` under test, which is also on
//! `PATH`; `cargo test` (this very run) is skipped. Commands run in a
//! scratch directory that links to the repository's `examples/`,
//! `stdlib/`, `tests/`, `scripts/` and `docs/`, so the files they write
//! stay out of the repository. A `rasp` block must run as a program. In a
//! `text repl` block, the lines after `>> ` are piped into `rasp` and what it
//! prints must be the block's other lines.

use std::path::{Path, PathBuf};
use std::process::Command;

use rasp::syntax::span::source;
use rasp::Interpreter;

/// A fenced block: its info string and its lines.
struct Block {
    info: String,
    lines: Vec<String>,
    /// The README line it starts on, for messages.
    line: usize,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    lines: Vec::new(),
                    line: i + 1,
                })
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => block.lines.push(line.to_string()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md ends inside a code block");
    blocks
}

/// A command and, for a `$` line, the output it must print.
struct Step {
    command: String,
    expected: Option<Vec<String>>,
}

fn steps(block: &Block) -> Vec<Step> {
    let dollar = block.lines.iter().any(|l| l.starts_with("$ "));
    if !dollar {
        return block
            .lines
            .iter()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| Step {
                command: l.clone(),
                expected: None,
            })
            .collect();
    }
    let mut steps: Vec<Step> = Vec::new();
    for line in &block.lines {
        match (line.strip_prefix("$ "), steps.last_mut()) {
            (Some(command), _) => steps.push(Step {
                command: command.to_string(),
                expected: Some(Vec::new()),
            }),
            (
                None,
                Some(Step {
                    expected: Some(out),
                    ..
                }),
            ) => out.push(line.clone()),
            (None, _) => panic!(
                "README block at line {}: output before any `$` line",
                block.line
            ),
        }
    }
    steps
}

/// The command as run here: the `rasp` under test for the ways the README
/// names it.
fn rewrite(command: &str) -> String {
    command
        .replace("cargo run --release -q -- ", "rasp ")
        .replace("cargo run --release -- ", "rasp ")
        .replace("target/release/rasp ", "rasp ")
}

/// Whether `got` (lines) matches `want`, where a line `...` matches any
/// number of lines and `...` in a line any text.
fn matches(want: &[String], got: &[&str]) -> bool {
    match want.split_first() {
        None => got.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=got.len()).any(|skip| matches(rest, &got[skip..]))
        }
        Some((first, rest)) => match got.split_first() {
            Some((line, more)) => line_matches(first, line) && matches(rest, more),
            None => false,
        },
    }
}

fn line_matches(want: &str, got: &str) -> bool {
    let parts: Vec<&str> = want.split("...").collect();
    if parts.len() == 1 {
        return want == got;
    }
    let mut at = 0;
    for (i, part) in parts.iter().enumerate() {
        let found = if i == 0 {
            got.starts_with(part).then_some(0)
        } else {
            got[at..].find(part).map(|p| p + at)
        };
        match found {
            Some(p) => at = p + part.len(),
            None => return false,
        }
    }
    parts.last().is_some_and(|last| last.is_empty()) || at == got.len()
}

/// A scratch directory linking to the repository's data, with `rasp` on
/// its `bin/`.
fn scratch() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("rasp-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("scratch dir");
    for sub in ["examples", "stdlib", "tests", "scripts", "docs"] {
        std::os::unix::fs::symlink(root.join(sub), dir.join(sub)).expect("link");
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rasp"), bin.join("rasp")).expect("link rasp");
    (dir, bin)
}

#[test]
fn every_command_the_readme_shows_works() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let (dir, bin) = scratch();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for block in blocks(&readme) {
        let mut info = block.info.split_whitespace();
        match info.next() {
            Some("sh") if !info.any(|w| w == "no-run") => {}
            Some("text") if info.any(|w| w == "repl") => {
                let input: String = block
                    .lines
                    .iter()
                    .filter_map(|l| l.strip_prefix(">> "))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let want: Vec<String> = block
                    .lines
                    .iter()
                    .filter(|l| !l.starts_with(">> "))
                    .cloned()
                    .collect();
                let out = crate::rasp_in(&dir, &[], Some(&input));
                let stdout = String::from_utf8_lossy(&out.stdout);
                let got: Vec<&str> = stdout.lines().collect();
                assert!(
                    out.status.success() && matches(&want, &got),
                    "README line {}: the REPL printed\n{stdout}\nbut the README shows\n{}",
                    block.line,
                    want.join("\n")
                );
                ran += 1;
                continue;
            }
            Some("rasp") => {
                let text = block.lines.join("\n") + "\n";
                let mut interp = Interpreter::new().expect("starts");
                interp
                    .run(&source("README.md", text.clone()), None, &mut |_| {})
                    .unwrap_or_else(|e| panic!("README line {}: {e}\n{text}", block.line));
                ran += 1;
                continue;
            }
            _ => continue,
        }
        for step in steps(&block) {
            if step.command.trim_start().starts_with("cargo test") {
                continue;
            }
            let command = rewrite(&step.command);
            let out = Command::new("sh")
                .args(["-c", &command])
                .current_dir(&dir)
                .env("PATH", &path)
                .env("NO_COLOR", "1")
                .output()
                .expect("sh runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "README line {}: `{}` failed ({}):\n{stdout}\n{}",
                block.line,
                step.command,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            if let Some(want) = &step.expected {
                let got: Vec<&str> = stdout.lines().collect();
                assert!(
                    matches(want, &got),
                    "README line {}: `{}` printed\n{stdout}\nbut the README shows\n{}",
                    block.line,
                    step.command,
                    want.join("\n")
                );
            }
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} README commands ran");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_patterns_match_as_documented() {
    let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&lines(&["a", "...", "d"]), &["a", "b", "c", "d"]));
    assert!(matches(&lines(&["a", "..."]), &["a"]));
    assert!(!matches(&lines(&["a", "d"]), &["a", "b", "d"]));
    assert!(line_matches("took (... s)", "took (0.3 s)"));
    assert!(line_matches("x ...", "x y z"));
    assert!(!line_matches("took (... s)", "took (0.3 ms"));
    assert!(!line_matches("a...b", "ab c"));
}
