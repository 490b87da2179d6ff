//! Memory stays bounded under a flood, a peer that never reads, and oversized input. The
//! whole test process's heap is counted (a counting global allocator); the test's own client
//! allocates its buffers before measuring, so the growth is the server's.
#![allow(deprecated)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use suite::*;
use ws_echo::Config;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `f` and returns by how much the heap peaked above where it started.
fn peak_growth(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

#[test]
fn a_100_megabyte_flood_that_reads_its_echoes_keeps_the_server_under_512_kib() {
    let _one = MEASURING.lock().unwrap();
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let raw = Raw::upgrade(addr);
        let payload = vec![0xa5u8; 64 * 1024];
        let message = frame(true, BINARY, &payload, true);
        let expected_echo = frame(true, BINARY, &payload, false);
        let messages = 100 * MIB / payload.len(); // 1600 messages, 100 MiB
        let mut reader = raw.stream.try_clone().unwrap();
        let mut writer = raw.stream;
        let mut buf = vec![0u8; 64 * 1024];
        let growth = peak_growth(|| {
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    for _ in 0..messages {
                        writer.write_all(&message).unwrap();
                    }
                });
                // Every echo, byte for byte, without allocating.
                let total = expected_echo.len() * messages;
                let mut seen = 0;
                while seen < total {
                    let n = reader.read(&mut buf).unwrap();
                    assert!(n > 0, "EOF after {seen} of {total} bytes");
                    for (i, byte) in buf[..n].iter().enumerate() {
                        assert_eq!(*byte, expected_echo[(seen + i) % expected_echo.len()]);
                    }
                    seen += n;
                }
            });
        });
        println!("{rt:?}: 100 MiB flood, heap peak growth {growth} bytes");
        assert!(growth < 512 * KIB, "{rt:?}: heap grew by {growth} bytes");
    }
}

#[test]
fn a_peer_that_never_reads_cannot_grow_the_server_past_512_kib() {
    let _one = MEASURING.lock().unwrap();
    for rt in runtimes() {
        let addr = start(
            rt,
            Config::default().write_timeout(std::time::Duration::from_millis(300)),
        );
        let mut raw = Raw::upgrade(addr);
        let message = frame(true, BINARY, &[0x3c; 64 * 1024], true);
        let mut pushed = 0usize;
        let growth = peak_growth(|| {
            // Until the server stops reading (our writes block, then fail once it gives up).
            raw.stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            while pushed < 100 * MIB && raw.stream.write_all(&message).is_ok() {
                pushed += message.len();
            }
        });
        println!(
            "{rt:?}: never-reading peer pushed {pushed} bytes, heap peak growth {growth} bytes"
        );
        assert!(
            pushed < 100 * MIB,
            "the server kept reading without anyone reading its echoes"
        );
        assert!(growth < 512 * KIB, "{rt:?}: heap grew by {growth} bytes");
    }
}

#[test]
fn oversized_input_is_refused_without_buffering_it() {
    let _one = MEASURING.lock().unwrap();
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        // A single frame that announces 100 MiB and sends it.
        let mut raw = Raw::upgrade(addr);
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(100 * MIB as u64).to_be_bytes());
        header.extend_from_slice(&[0, 0, 0, 0]);
        let chunk = vec![0u8; 64 * 1024];
        let growth = peak_growth(|| {
            raw.send_raw(&header);
            for _ in 0..(100 * MIB / chunk.len()) {
                if raw.stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        println!("{rt:?}: 100 MiB frame, heap peak growth {growth} bytes");
        // At most 64 KiB read-ahead buffers: the one this connection reads into, and the one
        // spare each executor thread keeps for its next busy connection (made once per thread).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let bound = (threads + 2) * 64 * KIB;
        assert!(growth < bound, "{rt:?}: heap grew by {growth} bytes");
        assert_eq!(raw.read_close().0, 1009);
        // Fragments of 256 KiB that add up past the 1 MiB limit: at most the limit is held.
        let mut raw = Raw::upgrade(addr);
        let fragment = vec![1u8; 256 * 1024];
        let first = frame(false, BINARY, &fragment, true);
        let more = frame(false, CONTINUATION, &fragment, true);
        let growth = peak_growth(|| {
            raw.send_raw(&first);
            for _ in 0..400 {
                if raw.stream.write_all(&more).is_err() {
                    break;
                }
            }
        });
        println!("{rt:?}: 100 MiB in fragments, heap peak growth {growth} bytes");
        // The limit (1 MiB) plus the fragment being read.
        assert!(growth < 2 * MIB, "{rt:?}: heap grew by {growth} bytes");
        assert_eq!(raw.read_close().0, 1009);
    }
}
