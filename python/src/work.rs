//! Long work off the interpreter lock, stoppable by Ctrl-C.
//!
//! Everything that may take a while (running a program, a batch of inputs,
//! a compilation, a verification) runs through [`interruptible`]: on a
//! worker thread of its own (with the large stack the `rasp` binary gives
//! its main thread, for deeply nested values), while the calling thread,
//! without the GIL, waits for it and every [`POLL`] takes the GIL back for a
//! moment to let Python handle signals. When a handler raises (Ctrl-C's
//! `KeyboardInterrupt`), the work is asked to stop: the evaluator through
//! [`rasp::memory::interrupt`], which it checks at every step, and the
//! binding's own loops through [`Cancel`]. The work's result is dropped and
//! the exception raised.
//!
//! Python runs signal handlers on its main thread only; from another Python
//! thread the work runs to its end.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::internal;

/// How often the waiting thread lets Python check for signals.
const POLL: Duration = Duration::from_millis(50);

/// The worker's stack, as large as the `rasp` binary's main thread (only
/// what is used is ever touched).
const STACK_SIZE: usize = 512 << 20;

/// Whether the caller was interrupted: loops of the binding's own check it
/// between blocks of work.
#[derive(Default)]
pub struct Cancel(AtomicBool);

impl Cancel {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs `work` on a worker thread with the GIL released; Ctrl-C stops it
/// and raises `KeyboardInterrupt`. A panic in `work` becomes a
/// `rasp.RaspError` (an internal error), never a crash.
pub fn interruptible<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&Cancel) -> T + Send,
) -> PyResult<T> {
    let cancel = Cancel::default();
    let done = Done::default();
    let job = Mutex::new(Some(|cancel: &Cancel| {
        catch_unwind(AssertUnwindSafe(|| work(cancel)))
    }));
    std::thread::scope(|scope| {
        // Whichever thread starts takes the job (a closure of references,
        // so it can be offered twice).
        let run = || {
            let job = job.lock().ok().and_then(|mut slot| slot.take());
            let result = job.map(|job| job(&cancel));
            done.set();
            result
        };
        let worker = std::thread::Builder::new()
            .name("rasp".into())
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, run)
            // Where the system refuses a large stack, the default one.
            .or_else(|_| {
                std::thread::Builder::new()
                    .name("rasp".into())
                    .spawn_scoped(scope, run)
            })
            .map_err(|e| internal(py, &format!("cannot start a thread: {e}")))?;
        loop {
            if py.detach(|| done.wait(POLL)) {
                break;
            }
            if let Err(raised) = py.check_signals() {
                cancel.0.store(true, Ordering::Relaxed);
                rasp::memory::interrupt();
                let _ = py.detach(|| worker.join());
                rasp::memory::clear_interrupt();
                return Err(raised);
            }
        }
        match py.detach(|| worker.join()) {
            Ok(Some(Ok(value))) => Ok(value),
            Ok(Some(Err(panic))) | Err(panic) => Err(internal(py, &panic_message(&*panic))),
            Ok(None) => Err(internal(py, "the work did not start")),
        }
    })
}

/// Set by the worker when its job has ended, however it ended.
#[derive(Default)]
struct Done {
    ended: Mutex<bool>,
    signal: Condvar,
}

impl Done {
    fn set(&self) {
        if let Ok(mut ended) = self.ended.lock() {
            *ended = true;
        }
        self.signal.notify_all();
    }

    /// Whether the job ended, waiting for it at most `timeout`.
    fn wait(&self, timeout: Duration) -> bool {
        let Ok(ended) = self.ended.lock() else {
            return true;
        };
        match self
            .signal
            .wait_timeout_while(ended, timeout, |ended| !*ended)
        {
            Ok((ended, _)) => *ended,
            Err(_) => true,
        }
    }
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string());
    format!("the work stopped unexpectedly: {text}")
}
