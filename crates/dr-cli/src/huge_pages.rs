//! The `dr` binary's global allocator: large blocks on transparent huge pages (Linux), when
//! the environment variable `DR_HUGE_PAGES=1` asks for it.
//!
//! A national-scale run touches its per-customer arrays once or twice each: at 10^6
//! customers the text report allocates ~60 MB, and with 4 KiB pages the kernel takes ~14 000
//! page faults to map it — about a quarter of the run's CPU time (measured with `perf`). With
//! `DR_HUGE_PAGES=1` this allocator maps every block of at least [`LARGE`] bytes itself,
//! 2 MiB-aligned, and asks for transparent huge pages with `madvise(MADV_HUGEPAGE)` (the
//! usual THP mode is `madvise`, so without the request no huge page is used): one fault per
//! 2 MiB instead of per 4 KiB. Growing a large block uses `mremap` (pages move, no copy).
//! Smaller blocks, every block when the variable is unset, and every block on other systems
//! go to the system allocator.
//!
//! Why it is off by default — measured on the project's 2-core virtual machine
//! (`/usr/bin/time -f "%e s %U u %S s %R minflt" target/release/dr solve
//! data/bidding_population.toml [--set population.count=10000000]`, alternating runs): at
//! 10^6 customers huge pages cut the faults from 13 900 to 300 and the system time from
//! ~0.03 s to ~0.01 s, but at 10^7 the system time rose from 0.33–0.39 s to 1.18–1.30 s
//! (wall 2.4–3.2 s → 4.1–4.9 s): `perf` shows 58 % of the run in `clear_page_erms` under
//! `do_huge_pmd_anonymous_page`, zeroing at about 0.5 GB/s. The machine is a Firecracker
//! guest booted with `page_reporting.page_reporting_order=11` (virtio-balloon free page
//! reporting): free blocks of 8 MiB are handed back to the host, so large contiguous blocks —
//! what huge pages need — are unbacked again and fault in the host on first touch, while
//! 4 KiB pages are recycled warm. On bare metal, or a guest without free page reporting, try
//! `DR_HUGE_PAGES=1`.
//!
//! Only the binary installs it (`main.rs`); the library crates never allocate through
//! anything but the global allocator, and the Python package keeps the interpreter's.
//! This is the one module of the workspace with `unsafe` code (the lints forbid it elsewhere
//! and deny it in the rest of this crate).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

/// Blocks of at least this many bytes are mapped on huge pages.
pub const LARGE: usize = 4 << 20;
/// The transparent huge page size on x86-64 and aarch64 Linux with 4 KiB base pages.
const HUGE: usize = 2 << 20;

/// The allocator (see the module doc).
pub struct HugePages;

/// `size` rounded up to whole huge pages, or `None` on overflow.
fn mapped_len(size: usize) -> Option<usize> {
    size.checked_add(HUGE - 1).map(|s| s & !(HUGE - 1))
}

/// Whether huge pages are on: 0 not yet read, 1 on (`DR_HUGE_PAGES=1`), 2 off.
static ENABLED: AtomicU8 = AtomicU8::new(0);

/// Whether huge pages are on for this process: only when the environment variable
/// `DR_HUGE_PAGES` is `1` (read once, without allocating). Off by default: see the module doc
/// for the measurements.
fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            #[cfg(target_os = "linux")]
            // SAFETY: getenv with a NUL-terminated name; the value is only read, at once.
            let on = unsafe {
                let v = libc::getenv(c"DR_HUGE_PAGES".as_ptr());
                !v.is_null() && *v == b'1' as libc::c_char && *v.add(1) == 0
            };
            #[cfg(not(target_os = "linux"))]
            let on = false;
            ENABLED.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            on
        }
    }
}

/// Whether a block of `layout` is mapped by this allocator rather than the system's.
fn is_large(layout: &Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= LARGE && layout.align() <= HUGE && enabled()
}

#[cfg(target_os = "linux")]
mod map {
    use super::HUGE;

    /// Maps `len` bytes (a multiple of [`HUGE`]) of zeroed memory at a 2 MiB-aligned address
    /// and requests huge pages for it; null when the system refuses.
    pub(super) unsafe fn map(len: usize) -> *mut u8 {
        let Some(span) = len.checked_add(HUGE) else {
            return std::ptr::null_mut();
        };
        // SAFETY: an anonymous private mapping with no address hint touches no existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let start = p as usize;
        let aligned = (start + HUGE - 1) & !(HUGE - 1);
        let head = aligned - start;
        let tail = span - head - len;
        // SAFETY: both ranges lie inside the mapping just made and are not handed out.
        unsafe {
            if head > 0 {
                libc::munmap(p, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
            // Advisory: if the kernel declines, the block still works on small pages.
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
        aligned as *mut u8
    }

    /// Unmaps a block returned by [`map`] or [`remap`] (`len` as mapped).
    pub(super) unsafe fn unmap(ptr: *mut u8, len: usize) {
        // SAFETY: the caller passes a block of exactly `len` mapped bytes it owns.
        unsafe {
            libc::munmap(ptr.cast(), len);
        }
    }

    /// Resizes a mapped block, moving it if needed; null when the system refuses (the old
    /// block is then untouched).
    pub(super) unsafe fn remap(ptr: *mut u8, old_len: usize, new_len: usize) -> *mut u8 {
        // SAFETY: the caller passes a block of exactly `old_len` mapped bytes it owns.
        let p = unsafe { libc::mremap(ptr.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // A moved block keeps its huge-page request (it is a property of the mapping).
        p.cast()
    }
}

#[cfg(not(target_os = "linux"))]
mod map {
    pub(super) unsafe fn map(_len: usize) -> *mut u8 {
        unreachable!("large blocks are mapped on Linux only")
    }
    pub(super) unsafe fn unmap(_ptr: *mut u8, _len: usize) {
        unreachable!("large blocks are mapped on Linux only")
    }
    pub(super) unsafe fn remap(_ptr: *mut u8, _old: usize, _new: usize) -> *mut u8 {
        unreachable!("large blocks are mapped on Linux only")
    }
}

// SAFETY: large blocks are fresh private mappings of at least `layout.size()` bytes, aligned
// to 2 MiB (≥ `layout.align()`), freed with the length they were mapped with (recomputed from
// the layout the caller must pass back); everything else is the system allocator's.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            match mapped_len(layout.size()) {
                // SAFETY: see the impl comment.
                Some(len) => unsafe { map::map(len) },
                None => std::ptr::null_mut(),
            }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            // Fresh anonymous mappings are zero-filled by the kernel.
            // SAFETY: as `alloc`.
            unsafe { self.alloc(layout) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            if let Some(len) = mapped_len(layout.size()) {
                // SAFETY: `ptr` was mapped with this length by `alloc`/`realloc`.
                unsafe { map::unmap(ptr, len) }
            }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` forms a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_large(&layout), is_large(&new_layout)) {
            // SAFETY: forwarded with the caller's guarantees.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => match (mapped_len(layout.size()), mapped_len(new_size)) {
                (Some(old_len), Some(new_len)) if old_len == new_len => ptr,
                // SAFETY: `ptr` is a block of `old_len` mapped bytes.
                (Some(old_len), Some(new_len)) => unsafe { map::remap(ptr, old_len, new_len) },
                _ => std::ptr::null_mut(),
            },
            _ => {
                // Crossing the threshold: a new block, a copy of the common prefix, and the
                // old block freed (only once per block's life).
                // SAFETY: `new_layout` is valid (above); the blocks do not overlap.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocates, grows, shrinks and frees through the allocator directly (the test binary
    /// keeps the system allocator as its global one).
    #[test]
    fn large_blocks_round_trip_through_map_remap_and_unmap() {
        // As with DR_HUGE_PAGES=1 (the test binary's global allocator stays the system's).
        ENABLED.store(1, Ordering::Relaxed);
        assert_eq!(
            is_large(&Layout::from_size_align(LARGE, 8).unwrap()),
            cfg!(target_os = "linux")
        );
        let a = HugePages;
        for &size in &[LARGE - 8, LARGE, LARGE + 12_345, 3 * LARGE] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: a valid non-zero layout; every pointer is used within its size.
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                if is_large(&layout) {
                    assert_eq!(p as usize % HUGE, 0, "2 MiB-aligned");
                }
                let bytes = std::slice::from_raw_parts_mut(p, size);
                assert!(bytes.iter().all(|&b| b == 0), "zeroed");
                for (i, b) in bytes.iter_mut().enumerate() {
                    *b = (i % 251) as u8;
                }
                // Grow across and beyond the threshold, then shrink below it.
                let mut p = p;
                let mut layout = layout;
                // The prefix written above that every resize so far has kept.
                let mut written = size;
                for &new_size in &[size * 2 + 7, size + 1, LARGE / 2] {
                    let q = a.realloc(p, layout, new_size);
                    assert!(!q.is_null());
                    written = written.min(new_size);
                    let kept = std::slice::from_raw_parts(q, written);
                    assert!(kept.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
                    p = q;
                    layout = Layout::from_size_align(new_size, 8).unwrap();
                }
                a.dealloc(p, layout);
            }
        }
    }

    #[test]
    fn small_and_over_aligned_blocks_go_to_the_system_allocator() {
        assert!(!is_large(&Layout::from_size_align(LARGE - 1, 8).unwrap()));
        assert!(!is_large(
            &Layout::from_size_align(LARGE, 2 * HUGE).unwrap()
        ));
        assert_eq!(mapped_len(usize::MAX), None);
        assert_eq!(mapped_len(HUGE + 1), Some(2 * HUGE));
    }
}
