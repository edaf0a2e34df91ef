//! What the fuzz targets share: the evaluator's time and memory limits, and
//! the leak check.
//!
//! libFuzzer's own leak detection needs LeakSanitizer, which needs ptrace:
//! in containers without it nothing would be checked. The targets use the
//! crate's counting allocator instead ([`rasp::memory::held`], the bytes this
//! thread has allocated and not freed): [`leak_checked`] runs an input's work
//! twice and requires the second run to free every byte it allocates. The
//! first run may fill caches and lazy statics that live on; the second must
//! not add to them. This finds a cycle of `Rc`s or a `mem::forget` on the
//! fuzzing thread, where all the targets' work runs: the forward pass gives
//! rayon's threads work only for a batch of several items and more than 256
//! positions, and the targets run one item at a time.

use std::time::Duration;

/// The crate's counting allocator, which the memory limits and the leak
/// check read (the `rasp` binary installs it too).
#[global_allocator]
static ALLOCATOR: rasp::memory::Counting = rasp::memory::Counting;

/// The time one evaluation (a program's run, one s-op on one input) may
/// take: well under libFuzzer's `-timeout=10` of `scripts/fuzz.sh`, so a
/// slow input ends with the evaluator's `rasp::eval::limit` diagnostic.
pub const TIME_LIMIT: Duration = Duration::from_secs(1);

/// The memory one evaluation may hold, and (`PROCESS_MEMORY_LIMIT`) the
/// whole process: well inside libFuzzer's `-rss_limit_mb=2048`, so an input
/// that builds too much ends with the evaluator's diagnostic too.
pub const MEMORY_LIMIT: usize = 256 << 20;
pub const PROCESS_MEMORY_LIMIT: usize = 1 << 30;

/// Once, before the first input: sets the evaluator's time and memory
/// limits (budgets taken later, on this thread).
pub fn init() {
    assert!(
        rasp::memory::is_counting(),
        "the counting allocator is not installed"
    );
    rasp::memory::set_time_limit(Some(TIME_LIMIT));
    // Sets this thread's limit too, so the per-evaluation one comes after.
    rasp::memory::set_process_limit(PROCESS_MEMORY_LIMIT);
    rasp::memory::set_limit(MEMORY_LIMIT);
}

/// Runs `work` on one input twice and panics (a crash libFuzzer saves) if
/// the second run ends holding more or less than it started with.
///
/// `work` returns whether a second run would repeat the first: `false` when
/// an evaluation ran out of time or memory, where the point it stopped at
/// depends on the machine's speed; the second run is then skipped.
pub fn leak_checked(mut work: impl FnMut() -> bool) {
    if !work() {
        return;
    }
    let before = rasp::memory::held();
    work();
    let leaked = rasp::memory::held() - before;
    assert_eq!(
        leaked, 0,
        "the second run of the same input left {leaked} bytes allocated (negative: freed more than it allocated)"
    );
}
