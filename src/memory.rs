//! Memory accounting, so that a program that builds too much stops with a
//! diagnostic (`rasp::eval::limit`) instead of being killed for running out
//! of memory.
//!
//! Counting needs [`Counting`] installed as the program's global allocator
//! (the `rasp` binary does, as do the crate's tests): the system's
//! allocator, wrapped to keep, per thread, the bytes that thread has
//! allocated minus those it has freed. A [`Budget`] taken when an
//! evaluation starts (a `run` of the interpreter, one s-op evaluation on one
//! input) then knows how much the evaluation holds, and the evaluator checks
//! it at every step (call or loop iteration), after every s-op column and
//! every few thousand positions of a map. Every single operation is bounded
//! by the other limits (strings of a million characters, lists of ten
//! million items), so an evaluation overshoots its budget by at most one
//! operation's worth.
//!
//! There are two limits. Each evaluation's own, per thread
//! ([`set_limit`]), and one for the whole process, all threads together
//! ([`set_process_limit`], the command line's `--memory`): each thread adds
//! its changes to a shared count in batches of 256 KiB, so the shared count
//! stays off the allocation path. Unless set, both are [`default_limit`]:
//! [`MAX_DEFAULT_LIMIT`], or half the machine's memory if that is less.
//! Without it nothing is counted and memory budgets never run out
//! ([`is_counting`] tells); the time limit holds either way.
//!
//! A budget also carries the time limit ([`set_time_limit`]) and Ctrl-C's
//! request to stop ([`interrupt`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The most memory one evaluation may hold by default.
pub const MAX_DEFAULT_LIMIT: usize = 8 << 30;

/// Bytes allocated minus bytes freed by the whole process, give or take
/// [`FLUSH`] per thread (each thread adds its changes in batches).
static PROCESS_NET: AtomicIsize = AtomicIsize::new(0);

/// A thread adds its allocations to [`PROCESS_NET`] once they change by
/// this much (keeps the shared counter off the allocation path).
const FLUSH: isize = 256 << 10;

/// The most the whole process may hold while evaluating; 0 for the default.
static PROCESS_LIMIT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static NET: Cell<isize> = const { Cell::new(0) };
    /// This thread's changes not yet added to [`PROCESS_NET`].
    static PENDING: Cell<isize> = const { Cell::new(0) };
    /// This thread's limit; 0 for the default.
    static LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// Sets the limit of evaluations on this thread (budgets taken later).
pub fn set_limit(bytes: usize) {
    LIMIT.with(|l| l.set(bytes.max(1)));
}

/// Sets the most the whole process may hold while evaluating, all threads
/// together (and the limit of each evaluation on this thread too).
pub fn set_process_limit(bytes: usize) {
    PROCESS_LIMIT.store(bytes.max(1), Ordering::Relaxed);
    set_limit(bytes);
}

/// The most the whole process may hold: set, or [`default_limit`].
pub fn process_limit() -> usize {
    match PROCESS_LIMIT.load(Ordering::Relaxed) {
        0 => default_limit(),
        set => set,
    }
}

/// What the whole process holds, give or take 256 KiB per thread.
pub fn process_held() -> isize {
    PROCESS_NET.load(Ordering::Relaxed)
}

/// This thread's limit.
pub fn limit() -> usize {
    match LIMIT.with(Cell::get) {
        0 => default_limit(),
        set => set,
    }
}

/// [`MAX_DEFAULT_LIMIT`], or half the physical memory if that is less.
pub fn default_limit() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| match physical_memory() {
        Some(bytes) => MAX_DEFAULT_LIMIT.min(bytes / 2),
        None => MAX_DEFAULT_LIMIT,
    })
}

#[cfg(unix)]
fn physical_memory() -> Option<usize> {
    // SAFETY: `sysconf` only reads system configuration values.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let bytes = usize::try_from(pages)
        .ok()?
        .checked_mul(usize::try_from(page).ok()?)?;
    (bytes > 0).then_some(bytes)
}

#[cfg(not(unix))]
fn physical_memory() -> Option<usize> {
    None
}

fn net() -> isize {
    NET.try_with(Cell::get).unwrap_or(0)
}

/// The bytes this thread has allocated and not freed (0 unless [`Counting`]
/// is the global allocator): equal before and after a piece of work that
/// frees everything it allocates, so tests use it to find leaks (a cycle of
/// `Rc`s, say) where no leak sanitizer can run.
pub fn held() -> isize {
    net()
}

/// The time one evaluation may take, in milliseconds (0: no limit), for
/// every thread: set once by the command line or the REPL.
static TIME_LIMIT_MS: AtomicU64 = AtomicU64::new(0);

/// Set by Ctrl-C while an evaluation runs (see [`interrupt`]).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Checks since this thread last read the clock.
    static TICKS: Cell<u32> = const { Cell::new(0) };
}

/// The clock is read once per this many checks (a check is a step, an s-op
/// column or a block of positions: far apart enough that this costs
/// nothing, close enough that a limit is noticed within milliseconds).
const TICKS_PER_CLOCK: u32 = 64;

/// Sets the time each evaluation may take from its start (budgets taken
/// later); `None` for no limit.
pub fn set_time_limit(limit: Option<Duration>) {
    let ms = limit.map_or(0, |d| {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    });
    TIME_LIMIT_MS.store(ms, Ordering::Relaxed);
}

/// The time each evaluation may take, if limited.
pub fn time_limit() -> Option<Duration> {
    match TIME_LIMIT_MS.load(Ordering::Relaxed) {
        0 => None,
        ms => Some(Duration::from_millis(ms)),
    }
}

/// Asks every running evaluation to stop at its next check (safe to call
/// from a signal handler: it only stores an atomic flag).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Clears [`interrupt`]'s request (before the next evaluation).
pub fn clear_interrupt() {
    INTERRUPTED.store(false, Ordering::Relaxed);
}

/// What a budget ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// More memory than the limit, in bytes.
    Memory(usize),
    /// More time than the limit.
    Time(Duration),
    /// Stopped by [`interrupt`] (Ctrl-C).
    Interrupted,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exceeded::Memory(limit) => {
                write!(f, "more than the limit of {} MiB of memory", limit >> 20)
            }
            Exceeded::Time(limit) => {
                write!(f, "more than the time limit of {}", show_duration(*limit))
            }
            Exceeded::Interrupted => write!(f, "interrupted (Ctrl-C)"),
        }
    }
}

/// `1.5 s`, `250 ms`.
fn show_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        let s = d.as_secs_f64();
        if s.fract() == 0.0 {
            format!("{s} s")
        } else {
            format!("{s:.3} s")
        }
    }
}

/// What an evaluation may hold, and how long it may take, from the moment
/// it starts.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    start: isize,
    limit: usize,
    /// The most the whole process may hold ([`process_limit`]).
    process_limit: usize,
    /// When the time runs out, with the limit it came from.
    deadline: Option<(Instant, Duration)>,
}

impl Budget {
    /// A budget of this thread's memory limit and the time limit, starting
    /// now.
    pub fn start() -> Budget {
        Budget {
            start: net(),
            limit: limit(),
            process_limit: process_limit(),
            deadline: time_limit().map(|d| (Instant::now() + d, d)),
        }
    }

    /// `Err` when this thread holds more than the memory limit beyond what
    /// it held at the start, when the time limit has passed, or when an
    /// interrupt was asked for.
    pub fn check(&self) -> Result<(), Exceeded> {
        let held = net().saturating_sub(self.start);
        if held > 0 && held as usize > self.limit {
            return Err(Exceeded::Memory(self.limit));
        }
        let process = process_held();
        if process > 0 && process as usize > self.process_limit {
            return Err(Exceeded::Memory(self.process_limit));
        }
        if INTERRUPTED.load(Ordering::Relaxed) {
            return Err(Exceeded::Interrupted);
        }
        if let Some((deadline, limit)) = self.deadline {
            let tick = TICKS.with(|t| {
                let n = t.get().wrapping_add(1);
                t.set(n);
                n
            });
            if tick % TICKS_PER_CLOCK == 0 && Instant::now() >= deadline {
                return Err(Exceeded::Time(limit));
            }
        }
        Ok(())
    }

    /// [`Budget::check`], reading the clock now.
    pub fn check_now(&self) -> Result<(), Exceeded> {
        if let Some((deadline, limit)) = self.deadline {
            if Instant::now() >= deadline {
                return Err(Exceeded::Time(limit));
            }
        }
        self.check()
    }
}

/// `Err` unless `bytes` more fit in this thread's limit and the process's,
/// beside what they hold now: checked before a large allocation whose size
/// is known in advance (a forward pass's buffers), so that it fails with a
/// diagnostic instead of aborting.
pub fn reserve(bytes: usize) -> Result<(), Exceeded> {
    let held = |n: isize| usize::try_from(n).unwrap_or(0);
    let thread = limit();
    if held(net()).saturating_add(bytes) > thread {
        return Err(Exceeded::Memory(thread));
    }
    let process = process_limit();
    if held(process_held()).saturating_add(bytes) > process {
        return Err(Exceeded::Memory(process));
    }
    Ok(())
}

pub use counting::Counting;

/// Whether [`Counting`] is the global allocator (allocations are counted).
pub fn is_counting() -> bool {
    let before = net();
    let probe = std::hint::black_box(Box::new([0u8; 64]));
    let counted = net() != before;
    drop(probe);
    counted
}

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};

    /// The system allocator, counting each thread's net bytes in `NET` (a
    /// constant-initialised thread local without destructor: reading it
    /// never allocates). Install it with
    /// `#[global_allocator] static A: rasp::memory::Counting = rasp::memory::Counting;`.
    pub struct Counting;

    fn add(delta: isize) {
        let _ = super::NET.try_with(|n| n.set(n.get().wrapping_add(delta)));
        let _ = super::PENDING.try_with(|p| {
            let pending = p.get().wrapping_add(delta);
            if pending.unsigned_abs() >= super::FLUSH as usize {
                super::PROCESS_NET.fetch_add(pending, super::Ordering::Relaxed);
                p.set(0);
            } else {
                p.set(pending);
            }
        });
    }

    // SAFETY: every call is forwarded unchanged to `System`; the counter
    // update neither allocates nor touches the memory.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's guarantees for `alloc` hold for `System`.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as for `alloc`.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                add(layout.size() as isize);
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from this allocator, that is from `System`.
            unsafe { System.dealloc(ptr, layout) };
            add(-(layout.size() as isize));
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: as for `dealloc`; `new_size` is the caller's to check.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                add(new_size as isize - layout.size() as isize);
            }
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_sees_what_this_thread_holds() {
        let budget = Budget {
            start: net(),
            limit: 1 << 20,
            process_limit: usize::MAX,
            deadline: None,
        };
        assert!(budget.check().is_ok());
        let big = vec![1u8; 2 << 20];
        assert_eq!(budget.check(), Err(Exceeded::Memory(1 << 20)));
        drop(big);
        assert!(budget.check().is_ok());
    }

    #[test]
    fn a_budget_runs_out_of_time() {
        let limit = Duration::from_millis(20);
        let budget = Budget {
            start: net(),
            limit: usize::MAX,
            process_limit: usize::MAX,
            deadline: Some((Instant::now() + limit, limit)),
        };
        assert_eq!(budget.check_now(), Ok(()));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(budget.check_now(), Err(Exceeded::Time(limit)));
        // `check` reads the clock once every few calls, so within a few.
        let stopped = (0..=TICKS_PER_CLOCK).any(|_| budget.check().is_err());
        assert!(stopped);
        assert_eq!(
            Exceeded::Time(limit).to_string(),
            "more than the time limit of 20 ms"
        );
        assert_eq!(
            Exceeded::Time(Duration::from_millis(1500)).to_string(),
            "more than the time limit of 1.500 s"
        );
    }

    #[test]
    fn the_limit_is_per_thread() {
        set_limit(123);
        assert_eq!(limit(), 123);
        let other = std::thread::spawn(limit).join().expect("joins");
        assert_eq!(other, default_limit());
        assert!(default_limit() <= MAX_DEFAULT_LIMIT && default_limit() >= 1 << 20);
    }
}
