//! The churn mode (`--mode churn`), for soaking a server: `--conns` clients at a time, each
//! connecting, exchanging [`MESSAGES`] messages (the first half one at a time, the rest
//! pipelined ten to a write; every tenth 64 KiB binary, the others 20-byte texts), then
//! leaving, one session in ten by a reset (SO_LINGER 0: RST, no Close) and the others with
//! the close handshake; then again, until `--duration` is over. Every echo is checked byte for
//! byte; a failed upgrade, a wrong or missing echo or an unanswered Close is an error.
//!
//! With `--server-pid`, the server's RSS and open descriptors are read every second: the
//! report gives them as they were after the first minute (or the first quarter of a shorter
//! run) and at the end (medians of ten readings each), and the descriptors once every client
//! has left, against before the first one came.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;

use crate::{masked_frame, rss_kib, server_frame, upgrade_from};

/// Messages per session.
pub const MESSAGES: usize = 100;
/// The large messages' size.
const LARGE: usize = 64 * 1024;
/// A pipelined burst.
const BURST: usize = 10;

/// What the churn counted.
#[derive(Default)]
pub struct Churn {
    pub sessions: u64,
    pub resets: u64,
    pub messages: u64,
    pub errors: u64,
    /// The first few errors, each once.
    pub first_errors: Vec<String>,
    /// The server's (RSS KiB, open descriptors) once a second, from the first connection.
    pub samples: Vec<(u64, u64)>,
    /// Its open descriptors before the first connection and once every client had left.
    pub fds_before: Option<u64>,
    pub fds_after: Option<u64>,
}

impl Churn {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_errors.len() < 5 && !self.first_errors.contains(&what) {
            self.first_errors.push(what);
        }
    }

    /// The median of ten readings from `at`, as (RSS KiB, descriptors).
    pub fn at(&self, at: usize) -> Option<(u64, u64)> {
        let window = self.samples.get(at..(at + 10).min(self.samples.len()))?;
        if window.is_empty() {
            return None;
        }
        let median = |mut v: Vec<u64>| {
            v.sort_unstable();
            v[v.len() / 2]
        };
        Some((
            median(window.iter().map(|s| s.0).collect()),
            median(window.iter().map(|s| s.1).collect()),
        ))
    }
}

/// The frames one session sends, and the echoes it expects, message by message.
struct Script {
    frames: Vec<Vec<u8>>,
    echoes: Vec<Vec<u8>>,
}

impl Script {
    fn new() -> Script {
        let (mut frames, mut echoes) = (Vec::new(), Vec::new());
        for i in 0..MESSAGES {
            let (opcode, payload) = if i % 10 == 9 {
                (
                    0x2,
                    (0..LARGE).map(|b| (b % 251) as u8).collect::<Vec<u8>>(),
                )
            } else {
                (
                    0x1,
                    format!("message {i:02} of {MESSAGES}, ok").into_bytes(),
                )
            };
            frames.push(masked_frame(opcode, &payload));
            echoes.push(server_frame(opcode, &payload));
        }
        Script { frames, echoes }
    }
}

/// Runs the churn until `deadline`: `conns` clients at a time, from `sources` in turn.
pub async fn churn(
    ex: &smol::LocalExecutor<'_>,
    conns: usize,
    sources: &[IpAddr],
    host_port: &str,
    path: &str,
    deadline: Instant,
    server_pid: Option<u32>,
) -> Churn {
    let script = Rc::new(Script::new());
    let total = Rc::new(RefCell::new(Churn {
        fds_before: server_pid.and_then(open_fds),
        ..Churn::default()
    }));
    let sampler = server_pid.map(|pid| {
        let total = Rc::clone(&total);
        ex.spawn(async move {
            while Instant::now() < deadline {
                smol::Timer::after(Duration::from_secs(1)).await;
                if let Some(sample) = rss_kib(pid).zip(open_fds(pid)) {
                    total.borrow_mut().samples.push(sample);
                }
            }
        })
    });
    let clients: Vec<_> = (0..conns)
        .map(|i| {
            let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
            let (script, total) = (Rc::clone(&script), Rc::clone(&total));
            let (host_port, path) = (host_port.to_owned(), path.to_owned());
            ex.spawn(async move {
                let mut session = i as u64;
                while Instant::now() < deadline {
                    let reset = session % 10 == 9;
                    match one_session(source, &host_port, &path, &script, reset).await {
                        Ok(()) => {
                            let mut total = total.borrow_mut();
                            total.sessions += 1;
                            total.messages += MESSAGES as u64;
                            total.resets += u64::from(reset);
                        }
                        Err(e) => total.borrow_mut().error(e),
                    }
                    session += conns as u64;
                }
            })
        })
        .collect();
    for client in clients {
        client.await;
    }
    if let Some(sampler) = sampler {
        sampler.await;
    }
    // Every client has left: the server's descriptors should be back where they started.
    if let Some(pid) = server_pid {
        smol::Timer::after(Duration::from_secs(2)).await;
        total.borrow_mut().fds_after = open_fds(pid);
    }
    Rc::try_unwrap(total).map_or_else(|_| Churn::default(), RefCell::into_inner)
}

/// One client's session: upgrade, the script's messages, then a Close or a reset.
async fn one_session(
    source: Option<IpAddr>,
    host_port: &str,
    path: &str,
    script: &Script,
    reset: bool,
) -> Result<(), String> {
    let mut stream = upgrade_from(source, host_port, path)
        .await
        .map_err(|e| format!("upgrade: {e}"))?;
    let half = MESSAGES / 2;
    // One at a time, then bursts of ten in one write.
    for i in 0..half {
        stream
            .write_all(&script.frames[i])
            .await
            .map_err(|e| format!("send: {e}"))?;
        expect(&mut stream, &script.echoes[i], i).await?;
    }
    for start in (half..MESSAGES).step_by(BURST) {
        let burst: Vec<u8> = script.frames[start..start + BURST].concat();
        stream
            .write_all(&burst)
            .await
            .map_err(|e| format!("send: {e}"))?;
        for i in start..start + BURST {
            expect(&mut stream, &script.echoes[i], i).await?;
        }
    }
    if reset {
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .map_err(|e| format!("SO_LINGER: {e}"))?;
        return Ok(()); // dropped: RST
    }
    // Close 1000, masked with a zero key; the server's Close 1000 back, then its EOF.
    stream
        .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .await
        .map_err(|e| format!("close: {e}"))?;
    let mut close = [0u8; 4];
    within(stream.read_exact(&mut close))
        .await
        .map_err(|e| format!("the Close answer: {e}"))?;
    if close != [0x88, 0x02, 0x03, 0xe8] {
        return Err(format!("the Close answer: {close:02x?}"));
    }
    Ok(())
}

/// Reads exactly `echo` (message `i`'s) or says what came instead.
async fn expect(stream: &mut TcpStream, echo: &[u8], i: usize) -> Result<(), String> {
    let mut got = vec![0u8; echo.len()];
    within(stream.read_exact(&mut got))
        .await
        .map_err(|e| format!("echo of message {i}: {e}"))?;
    if got != echo {
        return Err(format!("echo of message {i}: wrong bytes"));
    }
    Ok(())
}

/// `io` with a bound: a server that stops answering is an error, not a hang.
async fn within<T>(
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    futures_lite::future::or(io, async {
        smol::Timer::after(Duration::from_secs(10)).await;
        Err(std::io::Error::other("no answer within 10 s"))
    })
    .await
}

/// Open file descriptors of a process, from /proc/PID/fd.
fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}
