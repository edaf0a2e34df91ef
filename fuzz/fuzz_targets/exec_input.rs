//! `rasp exec` inputs: any text is parsed as an input, encoded against a
//! small compiled model and run, or gives a diagnostic. Doing it again for
//! the same text must free all it allocates ([`rasp_fuzz::leak_checked`];
//! the models are compiled once, in the first run of the first input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasp::eval::atom::Atom;
use rasp::eval::value::Value;
use rasp::model::Model;
use rasp::syntax::span::source;
use rasp::Interpreter;

thread_local! {
    /// Models over strings and over ints, compiled once (values hold `Rc`s,
    /// so one per thread).
    static MODELS: Vec<Model> = compile_models();
}

fn compile_models() -> Vec<Model> {
    let strings: Vec<Atom> = ["a", "b", "("]
        .iter()
        .map(|s| Atom::Str((*s).into()))
        .collect();
    let ints = vec![Atom::Int(0), Atom::Int(1), Atom::Int(-2)];
    [
        ("task = reverse(tokens);", strings),
        ("task = tokens_int + length;", ints),
    ]
    .into_iter()
    .map(|(program, vocab)| {
        let mut interp = Interpreter::new().expect("starts");
        interp
            .run(&source("<fuzz>", program.to_string()), None, &mut |_| {})
            .expect("runs");
        let Some(Value::SOp(sop)) = interp.get("task") else {
            panic!("task is an s-op");
        };
        rasp::compile::compile(&sop, "task", program, &vocab, 6).expect("compiles")
    })
    .collect()
}

fuzz_target!(init: rasp_fuzz::init(), |bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    rasp_fuzz::leak_checked(|| {
        exec(text);
        true
    });
});

fn exec(text: &str) {
    let input = match Interpreter::parse_input(text) {
        Ok(input) => input,
        Err(e) => {
            let _ = rasp::diagnostics::render(&e, false);
            return;
        }
    };
    MODELS.with(|models| {
        for model in models {
            match model.encode(&input) {
                Ok(ids) => {
                    if let Ok(fwd) = model.forward(&[ids], false) {
                        let _ = model.decode(&fwd);
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    });
}
