//! The weight-file loader on arbitrary bytes (and, from the seed corpus,
//! on mutations of valid compiled models): a model or a diagnostic, never a
//! panic or a huge allocation. A model that loads runs one input. Loading
//! and running the same bytes again must free all it allocates
//! ([`rasp_fuzz::leak_checked`]; the forward pass runs on this thread).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rasp::model::Model;

fuzz_target!(init: rasp_fuzz::init(), |bytes: &[u8]| {
    rasp_fuzz::leak_checked(|| {
        load_and_run(bytes);
        true
    });
});

fn load_and_run(bytes: &[u8]) {
    match Model::from_bytes(bytes) {
        Ok(model) => {
            // A loaded model is usable: its first token, once, then twice.
            if let Some(token) = model.meta.vocab.first().cloned() {
                for len in 1..=2usize.min(model.meta.max_len) {
                    if let Ok(ids) = model.encode(&vec![token.clone(); len]) {
                        if let Ok(fwd) = model.forward(&[ids], false) {
                            let _ = model.decode(&fwd);
                        }
                    }
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
