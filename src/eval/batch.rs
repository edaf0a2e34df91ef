//! Evaluating one program on many inputs across threads.
//!
//! An s-op is a graph of reference-counted nodes that stays on the thread
//! that built it. To spread a batch over all cores, each worker thread builds
//! its own copy of the s-op, once, by running the program again
//! ([`Shared::new`] takes the recipe), prepares its evaluation order
//! ([`PreparedSOp`]), and keeps it in a thread-local slot for as long as that
//! batch run lasts. Program runs are deterministic, so
//! every copy computes the same function.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::run::PreparedSOp;
use super::sop::SOp;

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's copy of the s-op of the run with the given id,
    /// prepared for evaluation.
    static BUILT: RefCell<Option<(u64, Option<Rc<PreparedSOp>>)>> = const { RefCell::new(None) };
}

/// A program that each thread builds for itself on first use.
pub struct Shared<'a> {
    id: u64,
    build: &'a (dyn Fn() -> Option<SOp> + Sync),
}

impl<'a> Shared<'a> {
    /// `build` runs the program and returns its s-op (`None` if it fails,
    /// which cannot happen once it has run on the calling thread).
    pub fn new(build: &'a (dyn Fn() -> Option<SOp> + Sync)) -> Shared<'a> {
        Shared {
            id: NEXT_RUN.fetch_add(1, Ordering::Relaxed),
            build,
        }
    }

    /// Calls `f` with this thread's copy of the s-op.
    pub fn with<R>(&self, f: impl FnOnce(Option<&PreparedSOp>) -> R) -> R {
        let sop = BUILT.with(|slot| {
            let mut slot = slot.borrow_mut();
            match &*slot {
                Some((id, sop)) if *id == self.id => sop.clone(),
                _ => {
                    // Drop the previous run's copy before building this one.
                    *slot = None;
                    let sop = (self.build)().map(|sop| Rc::new(PreparedSOp::new(&sop)));
                    *slot = Some((self.id, sop.clone()));
                    sop
                }
            }
        });
        f(sop.as_deref())
    }
}
