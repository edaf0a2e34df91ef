//! Memory accounting, so that a program that builds too much stops with a
//! diagnostic (`rasp::eval::limit`) instead of being killed for running out
//! of memory.
//!
//! With the `memory-limit` feature (on by default) the crate installs a
//! global allocator: the system's, wrapped to keep, per thread, the bytes that
//! thread has allocated minus those it has freed. A [`Budget`] taken when an
//! evaluation starts (a `run` of the interpreter, one s-op evaluation on one
//! input) then knows how much the evaluation holds, and the evaluator checks
//! it at every step (call or loop iteration), after every s-op column and
//! every few thousand positions of a map. Every single operation is bounded
//! by the other limits (strings of a million characters, lists of ten
//! million items), so an evaluation overshoots its budget by at most one
//! operation's worth.
//!
//! The limit is per thread ([`set_limit`]); unless set, it is
//! [`default_limit`]: [`MAX_DEFAULT_LIMIT`], or half the machine's memory if
//! that is less. Without the feature nothing is counted and budgets never
//! run out.

use std::cell::Cell;
use std::sync::OnceLock;

/// The most memory one evaluation may hold by default.
pub const MAX_DEFAULT_LIMIT: usize = 8 << 30;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static NET: Cell<isize> = const { Cell::new(0) };
    /// This thread's limit; 0 for the default.
    static LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// Sets the limit of evaluations on this thread (budgets taken later).
pub fn set_limit(bytes: usize) {
    LIMIT.with(|l| l.set(bytes.max(1)));
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

/// What an evaluation may hold from the moment it starts.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    start: isize,
    limit: usize,
}

impl Budget {
    /// A budget of this thread's limit, starting now.
    pub fn start() -> Budget {
        Budget {
            start: net(),
            limit: limit(),
        }
    }

    /// `Err(limit)` when this thread holds more than the limit beyond what
    /// it held at the start.
    pub fn check(&self) -> Result<(), usize> {
        let held = net().saturating_sub(self.start);
        if held > 0 && held as usize > self.limit {
            Err(self.limit)
        } else {
            Ok(())
        }
    }
}

#[cfg(feature = "memory-limit")]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};

    /// The system allocator, counting each thread's net bytes in `NET` (a
    /// constant-initialised thread local without destructor: reading it
    /// never allocates).
    struct Counting;

    fn add(delta: isize) {
        let _ = super::NET.try_with(|n| n.set(n.get().wrapping_add(delta)));
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

    #[global_allocator]
    static GLOBAL: Counting = Counting;
}

#[cfg(all(test, feature = "memory-limit"))]
mod tests {
    use super::*;

    #[test]
    fn a_budget_sees_what_this_thread_holds() {
        let budget = Budget {
            start: net(),
            limit: 1 << 20,
        };
        assert!(budget.check().is_ok());
        let big = vec![1u8; 2 << 20];
        assert_eq!(budget.check(), Err(1 << 20));
        drop(big);
        assert!(budget.check().is_ok());
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
