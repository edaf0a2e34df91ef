//! Golden test cases: RASP programs that carry their expected results.
//!
//! A case is an ordinary `.rasp` file whose comment lines starting with `#>`
//! hold the expectations (they may appear anywhere; by convention at the end):
//!
//! ```text
//! # What this tests.
//! x = 2 ^ 3 ^ 2;
//! x;
//! double = tokens_int * 2 + x;
//! #> print: 64              one line per top-level expression statement
//! #> sop: double            optional: the s-op the inputs run
//! #> input: [1, 2]          an input, as `rasp run --input` takes it
//! #> output: [66, 68]       its expected output, as `rasp run` prints it
//! #> input: hello
//! #> error                  reading or evaluating that input must fail
//! ```
//!
//! Two optional keys describe how the case is compiled:
//!
//! ```text
//! #> vocab: a,b,c                       the vocabulary, as `rasp compile --vocab`
//!                                       takes it (or a RASP list: [1, 2, 3])
//! #> tracr: d_model 40, params 4529     tracr's model size at max_len 16
//! ```
//!
//! The same cases run through the interpreter (`tests/programs.rs`) and,
//! where they compile, through compiled models.

/// What one input must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The printed output sequence, e.g. `[o, l, l, e, h]`.
    Output(String),
    /// Evaluation must fail.
    Error,
}

/// A parsed golden case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Case {
    /// Expected values of top-level expression statements, in order.
    pub prints: Vec<String>,
    /// The s-op to run, if not the default one.
    pub sop: Option<String>,
    /// Inputs with what they must give.
    pub inputs: Vec<(String, Expected)>,
    /// The vocabulary to compile with, as `rasp compile --vocab` takes it.
    pub vocab: Option<String>,
    /// tracr's model size for the same program, for comparison.
    pub tracr: Option<TracrSize>,
}

/// The size of the model tracr compiles for a program (at max_len 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracrSize {
    /// The residual stream width.
    pub d_model: usize,
    /// The total number of parameters.
    pub params: usize,
}

/// Reads `d_model D, params P`.
fn parse_tracr(text: &str) -> Option<TracrSize> {
    let (d_model, params) = text.split_once(',')?;
    let number = |field: &str, key: &str| {
        let value = field.trim().strip_prefix(key)?;
        if !value.starts_with(char::is_whitespace) {
            return None;
        }
        value.trim().parse::<usize>().ok()
    };
    Some(TracrSize {
        d_model: number(d_model, "d_model")?,
        params: number(params, "params")?,
    })
}

/// A malformed header line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CaseError {
    pub line: usize,
    pub message: String,
}

/// Reads the `#>` header lines of a case file.
pub fn parse_case(text: &str) -> Result<Case, CaseError> {
    let mut case = Case::default();
    let mut pending: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(rest) = raw.trim_start().strip_prefix("#>") else {
            continue;
        };
        let rest = rest.trim();
        let err = |message: &str| CaseError {
            line,
            message: message.to_string(),
        };
        let (key, value) = match rest.split_once(':') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (rest, None),
        };
        match (key, value) {
            ("print", Some(v)) => case.prints.push(v.to_string()),
            ("sop", Some(v)) => case.sop = Some(v.to_string()),
            ("vocab", Some(v)) => {
                if v.is_empty() {
                    return Err(err("an empty vocabulary"));
                }
                if case.vocab.replace(v.to_string()).is_some() {
                    return Err(err("a second `#> vocab:` line"));
                }
            }
            ("tracr", Some(v)) => {
                let size = parse_tracr(v)
                    .ok_or_else(|| err("expected `#> tracr: d_model D, params P`"))?;
                if case.tracr.replace(size).is_some() {
                    return Err(err("a second `#> tracr:` line"));
                }
            }
            ("input", Some(v)) => {
                if pending.is_some() {
                    return Err(err("an input without an output or error before it"));
                }
                pending = Some(v.to_string());
            }
            ("output", Some(v)) => {
                let input = pending
                    .take()
                    .ok_or_else(|| err("an output without an input"))?;
                case.inputs.push((input, Expected::Output(v.to_string())));
            }
            ("error", _) => {
                let input = pending
                    .take()
                    .ok_or_else(|| err("an error without an input"))?;
                case.inputs.push((input, Expected::Error));
            }
            _ => return Err(err(&format!("unknown header `#> {rest}`"))),
        }
    }
    if let Some(input) = pending {
        return Err(CaseError {
            line: text.lines().count(),
            message: format!("input `{input}` has no output or error"),
        });
    }
    Ok(case)
}

#[cfg(test)]
mod tests {
    #[allow(
        unused_imports,
        reason = "tests/programs.rs has its own harness and runs none of these"
    )]
    use super::*;

    #[test]
    fn parses_headers() {
        let case = parse_case("x;\n#> print: 3\n#> sop: s\n#> input: ab\n#> output: [a, b]\n#> input: [1]\n#> error\n")
            .expect("valid case");
        assert_eq!(case.prints, vec!["3"]);
        assert_eq!(case.sop.as_deref(), Some("s"));
        assert_eq!(
            case.inputs,
            vec![
                ("ab".into(), Expected::Output("[a, b]".into())),
                ("[1]".into(), Expected::Error)
            ]
        );
    }

    #[test]
    fn parses_vocab_and_tracr() {
        let case = parse_case(
            "#> vocab: (,),{,}\n#> tracr: d_model 88, params 3079592\n#> input: ()\n#> output: [T, T]\n",
        )
        .expect("valid case");
        assert_eq!(case.vocab.as_deref(), Some("(,),{,}"));
        assert_eq!(
            case.tracr,
            Some(TracrSize {
                d_model: 88,
                params: 3_079_592
            })
        );
        let list = parse_case("#> vocab: [1, 2, 3]\n").expect("valid case");
        assert_eq!(list.vocab.as_deref(), Some("[1, 2, 3]"));
        let plain = parse_case("x = tokens;\n").expect("valid case");
        assert_eq!((plain.vocab, plain.tracr), (None, None));
    }

    #[test]
    fn rejects_bad_vocab_and_tracr() {
        assert!(parse_case("#> vocab:\n").is_err());
        assert!(parse_case("#> vocab: a\n#> vocab: b\n").is_err());
        for bad in [
            "#> tracr: d_model 40\n",
            "#> tracr: d_model 40, params\n",
            "#> tracr: d_model40, params 4529\n",
            "#> tracr: params 4529, d_model 40\n",
            "#> tracr: d_model 40, params 4,529\n",
            "#> tracr: d_model -1, params 4529\n",
            "#> tracr: d_model 40, params 4529\n#> tracr: d_model 40, params 4529\n",
        ] {
            assert!(parse_case(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn rejects_dangling_input() {
        assert!(parse_case("#> input: ab\n").is_err());
        assert!(parse_case("#> output: [a]\n").is_err());
    }
}
