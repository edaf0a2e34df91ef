//! The evaluator on programs that parse, under small limits so every run
//! ends; the s-ops a program binds are then evaluated on a few inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasp::eval::run::eval_sop;
use rasp::eval::Limits;
use rasp::syntax::span::source;
use rasp::Interpreter;

const LIMITS: Limits = Limits {
    max_call_depth: 64,
    max_steps: 20_000,
    max_list_len: 10_000,
};

const INPUTS: [&str; 4] = ["abca", "[3, 1, 2, 1]", "[0.5, -2, 7]", "[True, False]"];

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let src = source("<fuzz>", text.to_string());
    // Programs that do not parse are the parser target's business.
    if rasp::syntax::parse_program(&src).is_err() {
        return;
    }
    // Well inside libFuzzer's 2 GiB, so a program that builds too much ends
    // with the evaluator's diagnostic.
    rasp::memory::set_limit(256 << 20);
    let Ok(mut interp) = Interpreter::with_limits(LIMITS) else {
        return;
    };
    let mut sops = Vec::new();
    let result = interp.run(&src, None, &mut |event| sops.extend(event.into_sops()));
    if let Err(e) = result {
        let _ = rasp::diagnostics::render(&e, false);
    }
    for sop in sops.iter().rev().take(3) {
        for input in INPUTS {
            if let Ok(atoms) = Interpreter::parse_input(input) {
                if let Err(e) = eval_sop(sop, &atoms) {
                    let _ = rasp::diagnostics::render(&e, false);
                }
            }
        }
    }
});
