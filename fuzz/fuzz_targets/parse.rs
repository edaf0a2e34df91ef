//! The lexer and parser on arbitrary bytes: any text gives a program or a
//! diagnostic that renders, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasp::syntax::parse_program;
use rasp::syntax::span::source;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let src = source("<fuzz>", text);
    if let Err(e) = parse_program(&src) {
        let _ = rasp::diagnostics::render(&e, false);
    }
});
