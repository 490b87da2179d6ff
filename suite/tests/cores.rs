//! Several executor threads, as the server example runs (one per core, `--threads`):
//! connections spread over them, and a connection whose handler burns CPU holds up only itself.
//! With one thread, the same burn holds up everyone: the control that shows the test can fail.
//!
//! Under tokio's multi-thread runtime the first does not hold, and is not asserted: its I/O
//! driver is polled only by a worker parked on it, and the worker that took A's event from the
//! driver is the one burning, while the other sleeps on a condition variable; B's event waits
//! in the kernel until the burn ends (tokio's answer is `spawn_blocking` or `block_in_place`
//! for CPU-heavy work). The second holds under tokio too.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::{self, Message};
use suite::runtime;
use suite::*;
use ws_echo::{Config, Handler, Server};

/// How long "burn" spins at most if never released: a failing test ends, it does not hang.
const LONGEST_BURN: Duration = Duration::from_secs(10);

/// Echoes everything, noting which thread handled each text; "burn" spins on its thread until
/// released.
#[derive(Clone, Default)]
struct Burner {
    burning: Arc<AtomicBool>,
    release: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(String, ThreadId)>>>,
}

impl Handler for Burner {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        let text = message.to_text().unwrap_or_default().to_owned();
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((text.clone(), thread::current().id()));
        }
        if text == "burn" {
            self.burning.store(true, Ordering::SeqCst);
            let started = Instant::now();
            while !self.release.load(Ordering::SeqCst) && started.elapsed() < LONGEST_BURN {
                std::hint::spin_loop();
            }
        }
        Some(message)
    }
}

impl Burner {
    fn thread_of(&self, text: &str) -> ThreadId {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .find(|(t, _)| t == text)
            .map(|(_, id)| *id)
            .unwrap()
    }
}

/// A server under `rt` on `threads` executor threads, as the server example starts one, and
/// how to stop it: under smol its threads run the examples' one executor, so a server still
/// running would lend its threads to the next one.
struct OnThreads {
    addr: std::net::SocketAddr,
    shutdown: ws_echo::Shutdown,
    running: thread::JoinHandle<()>,
}

fn start_on_threads(rt: Rt, threads: usize, handler: Burner) -> OnThreads {
    let server = Server::bind(rt, "127.0.0.1:0", Config::default()).unwrap();
    let (addr, shutdown) = (server.local_addr().unwrap(), server.shutdown_handle());
    let running = thread::spawn(move || {
        let _ = runtime::block_on_threads(rt, threads, runtime::run_server(rt, server, handler));
    });
    OnThreads {
        addr,
        shutdown,
        running,
    }
}

impl OnThreads {
    /// Shuts the server down and waits until its threads have ended.
    fn stop(self) {
        self.shutdown.trigger();
        self.running.join().unwrap();
    }
}

/// A's "burn" spins on its thread; B, connected before, sends "hello" meanwhile. Some(echo) if
/// it came back within `wait` while A still burned, with the threads A and B were handled on.
fn burn_and_probe(addr: std::net::SocketAddr, burner: &Burner, wait: Duration) -> Option<bool> {
    let mut a = connect(addr);
    let mut b = connect(addr);
    // Both upgraded and idle: B's task is waiting on its socket, not queued behind A.
    assert_eq!(
        round_trip(&mut b, Message::text("ready")),
        Message::text("ready")
    );
    a.send(Message::text("burn")).unwrap();
    eventually("the handler burns", || {
        burner.burning.load(Ordering::SeqCst)
    });
    b.get_mut().set_read_timeout(Some(wait)).unwrap();
    b.send(Message::text("hello")).unwrap();
    let answered = match b.read() {
        Ok(echo) => {
            assert_eq!(echo, Message::text("hello"));
            assert!(
                !burner.release.load(Ordering::SeqCst),
                "released before the echo"
            );
            Some(burner.thread_of("hello") != burner.thread_of("burn"))
        }
        Err(tungstenite::Error::Io(e))
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            None
        }
        Err(e) => panic!("B: {e}"),
    };
    burner.release.store(true, Ordering::SeqCst);
    assert_eq!(round_trip_read(&mut a), Message::text("burn"));
    if answered.is_none() {
        // B's echo was held up behind the burn: it comes once A's handler returns.
        b.get_mut().set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        assert_eq!(b.read().unwrap(), Message::text("hello"));
    }
    answered
}

fn round_trip_read(ws: &mut Ws) -> Message {
    loop {
        match ws.read().unwrap() {
            Message::Ping(_) | Message::Pong(_) => continue,
            other => return other,
        }
    }
}

/// One test, its cases one after another: they share the examples' smol executor.
#[test]
fn a_burning_handler_holds_up_only_its_own_connection_on_two_threads_and_everyone_on_one() {
    for rt in runtimes() {
        // On one thread: B waits for A's handler (async-std's pool is one thread per core).
        if rt.name() != "async-std" {
            let burner = Burner::default();
            let server = start_on_threads(rt, 1, burner.clone());
            let answered = burn_and_probe(server.addr, &burner, Duration::from_millis(500));
            assert_eq!(
                answered, None,
                "{rt:?}, one thread: B waited for A's handler"
            );
            server.stop();
        }
        // On two threads: B's echo comes back while A burns, from the other thread.
        if rt.name() == "tokio" {
            continue; // see the top of this file
        }
        if rt.name() == "async-std" && runtime::cores() < 2 {
            eprintln!("async-std: skipped, {} core here", runtime::cores());
            continue;
        }
        let burner = Burner::default();
        let server = start_on_threads(rt, 2, burner.clone());
        let answered = burn_and_probe(server.addr, &burner, Duration::from_secs(5));
        assert_eq!(
            answered,
            Some(true),
            "{rt:?}, two threads: B's echo came back while A burned, from another thread"
        );
        server.stop();
    }
}
