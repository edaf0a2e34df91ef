//! The evaluator on programs that parse, under small step, depth and size
//! limits and the time and memory limits of [`rasp_fuzz::init`], so every
//! run ends (with the evaluator's diagnostic when a limit is reached); the
//! s-ops a program binds are then evaluated on a few inputs. Each input runs
//! twice and the second run must free all it allocates
//! ([`rasp_fuzz::leak_checked`]).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasp::eval::error::ErrorKind;
use rasp::eval::run::eval_sop;
use rasp::eval::Limits;
use rasp::syntax::span::{source, Source};
use rasp::Interpreter;

const LIMITS: Limits = Limits {
    max_call_depth: 64,
    max_steps: 20_000,
    max_list_len: 10_000,
};

const INPUTS: [&str; 4] = ["abca", "[3, 1, 2, 1]", "[0.5, -2, 7]", "[True, False]"];

fuzz_target!(init: rasp_fuzz::init(), |bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let src = source("<fuzz>", text.to_string());
    // Programs that do not parse are the parser target's business.
    if rasp::syntax::parse_program(&src).is_err() {
        return;
    }
    rasp_fuzz::leak_checked(|| run(&src));
});

/// Runs the program and its last three s-ops; `false` if an evaluation ran
/// out of time or memory (it then stops there).
fn run(src: &Source) -> bool {
    let Ok(mut interp) = Interpreter::with_limits(LIMITS) else {
        return true;
    };
    let mut sops = Vec::new();
    let result = interp.run(src, None, &mut |event| sops.extend(event.into_sops()));
    if let Err(e) = result {
        let _ = rasp::diagnostics::render(&e, false);
        if matches!(&e, rasp::Error::Eval(e) if matches!(e.kind, ErrorKind::Budget(_))) {
            return false;
        }
    }
    for sop in sops.iter().rev().take(3) {
        for input in INPUTS {
            if let Ok(atoms) = Interpreter::parse_input(input) {
                if let Err(e) = eval_sop(sop, &atoms) {
                    let _ = rasp::diagnostics::render(&e, false);
                    if matches!(e.kind, ErrorKind::Budget(_)) {
                        return false;
                    }
                }
            }
        }
    }
    true
}
