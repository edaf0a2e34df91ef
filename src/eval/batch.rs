//! One s-op on many inputs, on all cores: what `rasp run` does with a
//! batch, and what other front ends (the Python package) do with one.
//!
//! Every worker reads the same [`PreparedSOp`](super::run::PreparedSOp)
//! (its graph is immutable and atomically reference-counted). An input that
//! ran out of the memory budget while others ran beside it may fit alone, so
//! such inputs run again one at a time before their failure is kept.

use rayon::prelude::*;

use super::error::{ErrorKind, EvalError};
use crate::memory::Exceeded;

/// Batches at least this large run in parallel.
pub const PARALLEL_MIN: usize = 8;

/// `work` applied to every item, in item order: on this thread for a small
/// batch, else on all cores. `work` returns its result and whether the item
/// failed on the memory budget; those items run again one at a time, and
/// their second result is kept.
pub fn run_batch<I: Sync, O: Send>(items: &[I], work: impl Fn(&I) -> (O, bool) + Sync) -> Vec<O> {
    if items.len() < PARALLEL_MIN {
        return items.iter().map(|item| work(item).0).collect();
    }
    let first: Vec<(O, bool)> = items.par_iter().map(&work).collect();
    first
        .into_iter()
        .zip(items)
        .map(|((out, memory), item)| if memory { work(item).0 } else { out })
        .collect()
}

/// Whether an evaluation failed on the memory budget (and so may succeed
/// when it runs alone).
pub fn out_of_memory(error: &EvalError) -> bool {
    matches!(error.kind, ErrorKind::Budget(Exceeded::Memory(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_its_order_and_reruns_what_ran_out_of_memory() {
        let items: Vec<usize> = (0..100).collect();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let out = run_batch(&items, |&i| {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (i * 2, i % 10 == 0)
        });
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        // Ten items "ran out of memory" and ran twice.
        assert_eq!(runs.into_inner(), 110);
        assert_eq!(run_batch(&[1, 2], |&i| (i, true)), [1, 2]);
    }
}
