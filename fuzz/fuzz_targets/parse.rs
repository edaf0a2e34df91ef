//! The lexer and parser on arbitrary bytes: any text gives a program or a
//! diagnostic that renders, never a panic; parsing the same text again must
//! free all it allocates ([`rasp_fuzz::leak_checked`]).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasp::syntax::parse_program;
use rasp::syntax::span::source;

fuzz_target!(init: rasp_fuzz::init(), |bytes: &[u8]| {
    rasp_fuzz::leak_checked(|| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let src = source("<fuzz>", text);
        if let Err(e) = parse_program(&src) {
            let _ = rasp::diagnostics::render(&e, false);
        }
        true
    });
});
