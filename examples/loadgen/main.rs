//! A load generator for WebSocket echo servers: ours or anyone's.
//!
//! ```text
//! cargo run --release --features smol --example loadgen -- --url ws://127.0.0.1:8080/ws \
//!     --mode pingpong --conns 100 --payload 20 --duration 5s [--server-pid PID] [--json]
//! ```
//!
//! Modes: `pingpong` (one message in flight per connection), `pipelined` (`--window W` in
//! flight), `idle` (hold `--conns` upgraded connections; with `--server-pid`, the server's RSS
//! per connection), `handshakes` (connect, upgrade, close, again), and `timed`: the seed's
//! client, `--conns` times at once. Each connection sends one message every `--interval`
//! (their start times spread evenly over it), on schedule whether or not earlier echoes are
//! back (open loop), from the moment it is up (as the seed's clients do: none sits silent
//! while the others connect); what is measured is the `--duration` after all are connected
//! (the sends due then; the earlier ones' echoes are checked, not counted). A round trip is counted from
//! when the send was due, and how late each send left is reported too. A message sent and
//! never echoed (5 s past the end) is an error. `--sources 127.0.0.2,127.0.0.3` spreads the
//! connections over several loopback source addresses, each with its own ephemeral ports.
//! `churn` soaks a server: `--conns` clients at a time connecting, exchanging 100 messages
//! (some pipelined, some 64 KiB) and leaving, a tenth of them by reset (see `churn.rs`).
//! Every echo is checked byte for byte; a mismatch counts as an error. With `--server-pid` it also reports the server's
//! CPU time per message (or per handshake) from /proc, and its own, so that a reader can see
//! whether the generator costs less than what it measures.
//!
//! It speaks the protocol by hand to stay cheap: each message is masked once, ahead of time,
//! and echoes are compared in place.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use argh::FromArgs;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;

mod churn;

/// Load a WebSocket echo server and check every echo.
#[derive(FromArgs)]
struct Args {
    /// the ws:// URL of the server (default ws://127.0.0.1:8080/ws)
    #[argh(option, default = "String::from(\"ws://127.0.0.1:8080/ws\")")]
    url: String,
    /// pingpong, pipelined, idle, handshakes, timed or churn (default pingpong)
    #[argh(option, default = "String::from(\"pingpong\")")]
    mode: String,
    /// connections (default 100)
    #[argh(option, default = "100")]
    conns: usize,
    /// payload bytes per message (default 20)
    #[argh(option, default = "20")]
    payload: usize,
    /// messages in flight per connection in pipelined mode (default 16)
    #[argh(option, default = "16")]
    window: usize,
    /// how long to load, like 5s (default 5s)
    #[argh(
        option,
        default = "Duration::from_secs(5)",
        from_str_fn(parse_duration)
    )]
    duration: Duration,
    /// timed mode: time between one connection's sends (default 2s)
    #[argh(
        option,
        default = "Duration::from_secs(2)",
        from_str_fn(parse_duration)
    )]
    interval: Duration,
    /// timed mode: source addresses to connect from, comma-separated (default: the system's)
    #[argh(option, default = "String::new()")]
    sources: String,
    /// timed mode: sends fall due on a grid this fine, like 1ms (default 0: exactly spread);
    /// fewer wake-ups for the generator, which on a small machine costs more than the server
    #[argh(option, default = "Duration::ZERO", from_str_fn(parse_duration))]
    tick: Duration,
    /// timed mode: when the measured window starts, in milliseconds since the Unix epoch, so
    /// that several generator processes measure the same window (default: once connected)
    #[argh(option)]
    start_at: Option<u64>,
    /// timed mode: this generator is part K of N, like 2/3: its send times interleave with
    /// the others', so that all N together spread evenly over the interval (default 1/1)
    #[argh(option, default = "(1, 1)", from_str_fn(parse_part))]
    part: (usize, usize),
    /// send binary messages instead of text (the Go seed echoes binary as text)
    #[argh(switch)]
    binary: bool,
    /// the server's pid: report its CPU time per message and, in idle mode, RSS per connection
    #[argh(option)]
    server_pid: Option<u32>,
    /// print one JSON object instead of the table
    #[argh(switch)]
    json: bool,
    /// timed mode: also print, on standard error, each second of the window: its echoes,
    /// their p99 and max round trip, and the pings the server sent in it
    #[argh(switch)]
    series: bool,
}

/// The churn mode: run it, print what it counted; failure when anything was lost.
fn churn_and_report(
    ex: &smol::LocalExecutor<'_>,
    args: &Args,
    host_port: &str,
    path: &str,
) -> ExitCode {
    let sources = match sources(args) {
        Ok(sources) => sources,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let deadline = Instant::now() + args.duration;
    let c = smol::block_on(ex.run(churn::churn(
        ex,
        args.conns,
        &sources,
        host_port,
        path,
        deadline,
        args.server_pid,
    )));
    // After the first minute (a quarter of a shorter run), and at the end.
    let first = (args.duration.as_secs() as usize / 4).min(60);
    let (early, end) = (c.at(first), c.at(c.samples.len().saturating_sub(10)));
    let change = |a: u64, b: u64| (b as f64 - a as f64) / (a.max(1) as f64) * 100.0;
    let or_null = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
    if args.json {
        let errors: Vec<String> = c.first_errors.iter().map(|e| format!("{e:?}")).collect();
        println!(
            "{{\"mode\":\"churn\",\"conns\":{},\"duration_s\":{},\"sessions\":{},\"resets\":{},\"messages\":{},\"errors\":{},\"first_errors\":[{}],\"rss_kib\":{{\"early\":{},\"end\":{}}},\"fds\":{{\"before\":{},\"early\":{},\"end\":{},\"after\":{}}},\"early_at_s\":{first}}}",
            args.conns, args.duration.as_secs(), c.sessions, c.resets, c.messages, c.errors,
            errors.join(","), or_null(early.map(|e| e.0)), or_null(end.map(|e| e.0)),
            or_null(c.fds_before), or_null(early.map(|e| e.1)), or_null(end.map(|e| e.1)),
            or_null(c.fds_after)
        );
    } else {
        println!(
            "churn: {} clients at a time for {:?}: {} sessions ({} left by reset), {} messages echoed, {} errors",
            args.conns, args.duration, c.sessions, c.resets, c.messages, c.errors
        );
        for e in &c.first_errors {
            println!("  error: {e}");
        }
        if let (Some(early), Some(end)) = (early, end) {
            println!(
                "server RSS {} KiB after {first} s, {} KiB at the end ({:+.1}%); open descriptors {} then {} ({:+.1}%)",
                early.0, end.0, change(early.0, end.0), early.1, end.1, change(early.1, end.1)
            );
        }
        if let (Some(before), Some(after)) = (c.fds_before, c.fds_after) {
            println!(
                "open descriptors before the first client: {before}; once all had left: {after}"
            );
        }
    }
    if c.errors == 0 && c.sessions > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse_part(value: &str) -> Result<(usize, usize), String> {
    let parsed = value
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)));
    match parsed {
        Some((k, n)) if 1 <= k && k <= n => Ok((k, n)),
        _ => Err(format!("--part {value:?}: K/N with 1 <= K <= N, like 2/3")),
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{value:?}: {e}"))
}

/// What one run measured.
#[derive(Default)]
struct Tally {
    messages: u64,
    errors: u64,
    rtts_us: Vec<u32>,
    /// Timed mode: the second of the window each round trip's send was due in, and the
    /// seconds pings arrived in (for --series).
    due_s: Vec<u16>,
    ping_s: Vec<u16>,
    /// Timed mode: how late each send left, after it was due.
    late_us: Vec<u32>,
    /// Idle and timed modes: the server's RSS with every connection held.
    server_rss_kib: Option<u64>,
    /// Timed mode: the server's CPU seconds, and ours, over the window.
    server_cpu_s: Option<f64>,
    own_cpu_s: Option<f64>,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    // Each connection is a file descriptor: thousands of them need the soft limit raised.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: could not raise the file descriptor limit: {e}");
    }
    let Some((host_port, path)) = args.url.strip_prefix("ws://").map(|rest| {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        (host.to_owned(), format!("/{path}"))
    }) else {
        eprintln!("error: --url must be ws://HOST:PORT/PATH");
        return ExitCode::FAILURE;
    };
    let ex = Rc::new(smol::LocalExecutor::new());
    if args.mode == "churn" {
        return churn_and_report(&ex, &args, &host_port, &path);
    }
    let started_cpu = (
        cpu_seconds(None),
        args.server_pid.map(|pid| cpu_seconds(Some(pid))),
    );
    let started_rss = args.server_pid.and_then(rss_kib);
    let (tally, elapsed) = match smol::block_on(ex.run(run(&ex, &args, &host_port, &path))) {
        Ok(measured) => measured,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let own_cpu = tally.own_cpu_s.unwrap_or(cpu_seconds(None) - started_cpu.0);
    let server_cpu = tally.server_cpu_s.or(args
        .server_pid
        .map(|pid| cpu_seconds(Some(pid)) - started_cpu.1.unwrap_or(0.0)));
    let measured = Measured {
        elapsed,
        own_cpu,
        server_cpu,
        rss_before: started_rss,
    };
    report(&args, tally, measured);
    ExitCode::SUCCESS
}

async fn run(
    ex: &Rc<smol::LocalExecutor<'_>>,
    args: &Args,
    host_port: &str,
    path: &str,
) -> std::io::Result<(Tally, Duration)> {
    let payload: Vec<u8> = (0..args.payload).map(|i| b'a' + (i % 26) as u8).collect();
    let opcode = if args.binary { 0x2 } else { 0x1 };
    let frame = Rc::new(masked_frame(opcode, &payload));
    let echo = Rc::new(server_frame(opcode, &payload));
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut tasks = Vec::new();
    match args.mode.as_str() {
        "pingpong" | "pipelined" => {
            let window = if args.mode == "pingpong" {
                1
            } else {
                args.window.max(1)
            };
            for _ in 0..args.conns {
                let stream = upgrade(host_port, path).await?;
                let (frame, echo) = (Rc::clone(&frame), Rc::clone(&echo));
                tasks.push(ex.spawn(load(stream, frame, echo, window, deadline)));
            }
        }
        "idle" => {
            let mut held = Vec::new();
            for _ in 0..args.conns {
                held.push(upgrade(host_port, path).await?);
            }
            smol::Timer::after(Duration::from_millis(500)).await; // let the server settle
            let tally = Tally {
                messages: held.len() as u64,
                server_rss_kib: args.server_pid.and_then(rss_kib),
                ..Tally::default()
            };
            return Ok((tally, started.elapsed()));
        }
        "handshakes" => {
            for _ in 0..args.conns {
                let (host_port, path) = (host_port.to_owned(), path.to_owned());
                tasks.push(ex.spawn(async move {
                    let mut tally = Tally::default();
                    while Instant::now() < deadline {
                        let at = Instant::now();
                        match upgrade(&host_port, &path).await {
                            Ok(mut stream) => {
                                // Close 1000, masked with a zero key; then the server's answer.
                                let _ = stream
                                    .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
                                    .await;
                                let mut rest = [0u8; 64];
                                let _ = stream.read(&mut rest).await;
                                tally.messages += 1;
                                tally.rtts_us.push(at.elapsed().as_micros() as u32);
                            }
                            Err(_) => tally.errors += 1,
                        }
                    }
                    tally
                }));
            }
        }
        "timed" => return timed(ex, args, host_port, path, frame, echo).await,
        other => {
            return Err(std::io::Error::other(format!(
                "unknown mode {other:?}: pingpong, pipelined, idle, handshakes, timed or churn"
            )))
        }
    }
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await;
        total.messages += tally.messages;
        total.errors += tally.errors;
        total.rtts_us.extend(tally.rtts_us);
    }
    Ok((total, started.elapsed()))
}

/// `--sources`, parsed.
fn sources(args: &Args) -> std::io::Result<Vec<std::net::IpAddr>> {
    (args.sources.split(','))
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|e| std::io::Error::other(format!("--sources {s:?}: {e}")))
        })
        .collect()
}

/// The timed mode: each connection sends on its own schedule from the moment it is up, as the
/// seed's clients do (a connection that waited for 19,899 others in silence would be one the
/// server's heartbeat pings: a storm of pings that is no part of the workload); the measured
/// window opens once every connection is up, and only the sends due in it count.
async fn timed(
    ex: &Rc<smol::LocalExecutor<'_>>,
    args: &Args,
    host_port: &str,
    path: &str,
    frame: Rc<Vec<u8>>,
    echo: Rc<Vec<u8>>,
) -> std::io::Result<(Tally, Duration)> {
    let sources = sources(args)?;
    let connecting = Instant::now();
    // What the phases are counted from: the common start of several generators' windows, or
    // when this one began to connect.
    let reference = match args.start_at {
        Some(at) => Instant::now() + until_epoch_ms(at)?,
        None => connecting,
    };
    let window: Rc<Window> = Rc::default();
    let (part, parts) = (args.part.0 - 1, args.part.1);
    let mut tasks = Vec::with_capacity(args.conns);
    for i in 0..args.conns {
        let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
        let stream = upgrade_from(source, host_port, path).await.map_err(|e| {
            std::io::Error::other(format!("connection {} of {}: {e}", i + 1, args.conns))
        })?;
        let share = (i * parts + part) as f64 / (args.conns * parts) as f64;
        let phase = reference + on_grid(args.interval.mul_f64(share), args.tick);
        let first = next_on_phase(phase, args.interval, Instant::now());
        let (frame, echo, window) = (Rc::clone(&frame), Rc::clone(&echo), Rc::clone(&window));
        tasks.push(ex.spawn(on_schedule(
            stream,
            frame,
            echo,
            first,
            args.interval,
            window,
        )));
    }
    if args.series {
        eprintln!(
            "connected {} in {:.1} s",
            args.conns,
            connecting.elapsed().as_secs_f64()
        );
    }
    let start = match args.start_at {
        None => Instant::now() + Duration::from_millis(100),
        Some(_) if Instant::now() > reference => {
            return Err(std::io::Error::other(
                "--start-at passed before every connection was up",
            ))
        }
        Some(_) => reference,
    };
    let end = start + args.duration;
    window.0.set(Some((start, end)));
    if args.series {
        let at = std::time::SystemTime::now() + start.saturating_duration_since(Instant::now());
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        eprintln!("window starts at {ms} ms since the Unix epoch");
    }
    // The server's RSS and both sides' CPU as the window opens: the sends before it (and the
    // handshakes) are not the load measured.
    smol::Timer::at(start).await;
    let rss_connected = args.server_pid.and_then(rss_kib);
    let cpu_connected = args.server_pid.map(|pid| cpu_seconds(Some(pid)));
    let own_connected = cpu_seconds(None);
    let mut total = Tally {
        server_rss_kib: rss_connected,
        ..Tally::default()
    };
    // Every connection stays open until the CPU is read: closing 19,900 is work for the server
    // too, and not the load measured.
    let mut open = Vec::with_capacity(args.conns);
    for task in tasks {
        let (tally, stream) = task.await;
        open.push(stream);
        total.messages += tally.messages;
        total.errors += tally.errors;
        total.rtts_us.extend(tally.rtts_us);
        total.due_s.extend(tally.due_s);
        total.ping_s.extend(tally.ping_s);
        total.late_us.extend(tally.late_us);
    }
    // CPU from the window's start to the last echo.
    total.server_cpu_s =
        (args.server_pid.zip(cpu_connected)).map(|(pid, at)| cpu_seconds(Some(pid)) - at);
    total.own_cpu_s = Some(cpu_seconds(None) - own_connected);
    drop(open);
    Ok((total, end.duration_since(start)))
}

/// How long until `ms` since the Unix epoch (`--start-at`).
fn until_epoch_ms(ms: u64) -> std::io::Result<Duration> {
    let at = std::time::UNIX_EPOCH + Duration::from_millis(ms);
    at.duration_since(std::time::SystemTime::now())
        .map_err(|_| std::io::Error::other("--start-at passed before the generator started"))
}

/// The timed window, once every connection is up: (start, end). Before it, sends are warm-up.
#[derive(Default)]
struct Window(std::cell::Cell<Option<(Instant, Instant)>>);

impl Window {
    /// The second of the window `at` falls in, if it falls in the window.
    fn second(&self, at: Instant) -> Option<u16> {
        let (start, _) = self.0.get()?;
        (at >= start).then(|| at.duration_since(start).as_secs() as u16)
    }

    /// Whether a send due `at` comes after the window (sending ends).
    fn past(&self, at: Instant) -> bool {
        self.0.get().is_some_and(|(_, end)| at >= end)
    }

    /// Ready 5 s past the window's end, once `sent` says the sending is over: what is still
    /// due then was never echoed. (Waiting for the sender first keeps each connection from
    /// polling for the window while the others connect.)
    async fn closed(&self, sent: smol::channel::Receiver<()>) {
        let _ = sent.recv().await;
        loop {
            match self.0.get() {
                Some((_, end)) => {
                    smol::Timer::at(end + Duration::from_secs(5)).await;
                    return;
                }
                None => smol::Timer::after(Duration::from_millis(100)).await,
            };
        }
    }
}

/// The first time on `phase`'s schedule (`phase` plus or minus whole intervals) at or after
/// `now`.
fn next_on_phase(phase: Instant, interval: Duration, now: Instant) -> Instant {
    let step = interval.as_nanos().max(1);
    if phase >= now {
        let back = (phase - now).as_nanos() / step;
        phase - Duration::from_nanos(u64::try_from(back * step).unwrap_or(u64::MAX))
    } else {
        let ahead = (now - phase).as_nanos().div_ceil(step);
        phase + Duration::from_nanos(u64::try_from(ahead * step).unwrap_or(u64::MAX))
    }
}

/// `offset` rounded up to a multiple of `tick` (none: as it is).
fn on_grid(offset: Duration, tick: Duration) -> Duration {
    if tick.is_zero() {
        return offset;
    }
    let ticks = offset.as_nanos().div_ceil(tick.as_nanos());
    tick.saturating_mul(u32::try_from(ticks).unwrap_or(u32::MAX))
}

/// One timed connection: a send every `interval` from `first` until the window's end, each
/// echo checked, and those of sends due in the window timed from when they were due. The
/// server's pings are answered.
async fn on_schedule(
    stream: TcpStream,
    frame: Rc<Vec<u8>>,
    echo: Rc<Vec<u8>>,
    first: Instant,
    interval: Duration,
    window: Rc<Window>,
) -> (Tally, TcpStream) {
    // When each send in flight was due, and its second of the window (None: warm-up).
    let due = Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
    let sent_all = Rc::new(std::cell::Cell::new(false));
    let (sent_tx, sent_rx) = smol::channel::bounded::<()>(1);
    // Counted as echoes arrive, so that a reader stopped at the deadline loses nothing.
    let tally = Rc::new(std::cell::RefCell::new(Tally::default()));
    // Sends and pongs go out whole, one at a time.
    let writer = Rc::new(smol::lock::Mutex::new(stream.clone()));
    let sending = {
        let (writer, due, sent_all) = (Rc::clone(&writer), Rc::clone(&due), Rc::clone(&sent_all));
        let window = Rc::clone(&window);
        async move {
            let (mut late, mut errors) = (Vec::new(), 0);
            let mut at = first;
            while !window.past(at) {
                smol::Timer::at(at).await;
                if window.past(at) {
                    break;
                }
                let second = window.second(at);
                if second.is_some() {
                    late.push(at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                if writer.lock().await.write_all(&frame).await.is_err() {
                    errors += 1;
                    break;
                }
                due.borrow_mut().push_back((at, second));
                at += interval;
            }
            sent_all.set(true);
            drop(sent_tx);
            (late, errors)
        }
    };
    let receiving = {
        let (mut stream, due, tally) = (stream.clone(), Rc::clone(&due), Rc::clone(&tally));
        let window = Rc::clone(&window);
        async move {
            let mut input = vec![0u8; 512];
            let mut filled = 0;
            loop {
                let n = match stream.read(&mut input[filled..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                filled += n;
                let now = Instant::now();
                let mut at = 0;
                while let Some((opcode, payload, len)) = server_frame_at(&input[at..filled]) {
                    match opcode {
                        0x9 => {
                            if let Some(second) = window.second(now) {
                                tally.borrow_mut().ping_s.push(second);
                            }
                            let pong = masked_frame(0xA, &input[at + payload..at + len]);
                            if writer.lock().await.write_all(&pong).await.is_err() {
                                return;
                            }
                        }
                        0xA => {}
                        0x8 => return,
                        _ => {
                            let mut tally = tally.borrow_mut();
                            match due.borrow_mut().pop_front() {
                                Some((sent, second)) if input[at..at + len] == echo[..] => {
                                    // A warm-up echo is checked, not counted.
                                    if let Some(second) = second {
                                        tally.messages += 1;
                                        let rtt = now.duration_since(sent).as_micros();
                                        tally.rtts_us.push(rtt.min(u32::MAX as u128) as u32);
                                        tally.due_s.push(second);
                                    }
                                }
                                _ => tally.errors += 1,
                            }
                        }
                    }
                    at += len;
                }
                input.copy_within(at..filled, 0);
                filled -= at;
                if filled == input.len() {
                    return; // a frame larger than any this mode expects
                }
                if sent_all.get() && due.borrow().is_empty() {
                    return;
                }
            }
        }
    };
    let reading = futures_lite::future::or(receiving, window.closed(sent_rx));
    let ((late, send_errors), ()) = futures_lite::future::zip(sending, reading).await;
    let mut tally = std::mem::take(&mut *tally.borrow_mut());
    tally.late_us = late;
    tally.errors += send_errors + due.borrow().len() as u64;
    (tally, stream)
}

/// The first frame in `bytes`, if it is all there: its opcode, where its payload starts and
/// its whole length. Server frames are not masked.
fn server_frame_at(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let (first, second) = (*bytes.first()?, *bytes.get(1)?);
    let (payload_at, len) = match second & 0x7f {
        126 => (
            4,
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
        ),
        127 => return None,
        n => (2, n as usize),
    };
    (bytes.len() >= payload_at + len).then_some((first & 0x0f, payload_at, payload_at + len))
}

/// Keeps `window` messages in flight on one connection until `deadline`, checking each echo.
async fn load(
    mut stream: TcpStream,
    frame: Rc<Vec<u8>>,
    echo: Rc<Vec<u8>>,
    window: usize,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    // `window` frames back to back: the first burst; after each read, as many frames as
    // echoes came back go out again in one write, so that this side costs a read and a write
    // per batch rather than per message (and less than the server it measures).
    let burst = frame.repeat(window);
    let mut sent_at = std::collections::VecDeque::with_capacity(window);
    sent_at.extend(std::iter::repeat_n(Instant::now(), window));
    if stream.write_all(&burst).await.is_err() {
        tally.errors += 1;
        return tally;
    }
    let mut input = vec![0u8; (echo.len() * window).max(64 * 1024)];
    let mut filled = 0;
    while !sent_at.is_empty() {
        match stream.read(&mut input[filled..]).await {
            Ok(0) | Err(_) => {
                tally.errors += sent_at.len() as u64;
                break;
            }
            Ok(n) => filled += n,
        }
        let whole = filled / echo.len() * echo.len();
        let now = Instant::now();
        let mut answered = 0;
        for got in input[..whole].chunks_exact(echo.len()) {
            let Some(at) = sent_at.pop_front() else {
                tally.errors += 1; // an echo of nothing we sent
                continue;
            };
            answered += 1;
            let rtt = now.duration_since(at).as_micros();
            tally.rtts_us.push(rtt.min(u32::MAX as u128) as u32);
            if got == echo.as_slice() {
                tally.messages += 1;
            } else {
                tally.errors += 1;
            }
        }
        input.copy_within(whole..filled, 0);
        filled -= whole;
        if answered > 0 && now < deadline {
            if stream
                .write_all(&burst[..answered * frame.len()])
                .await
                .is_err()
            {
                tally.errors += 1;
                break;
            }
            sent_at.extend(std::iter::repeat_n(Instant::now(), answered));
        }
    }
    let _ = stream
        .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .await;
    tally
}

/// Connects and upgrades with a fixed key; fails unless the answer is 101.
async fn upgrade(host_port: &str, path: &str) -> std::io::Result<TcpStream> {
    upgrade_from(None, host_port, path).await
}

/// Like [`upgrade`], from the local address `source` when given (a loopback address of its
/// own has its own ephemeral ports: past 28,000 connections to one server address).
async fn upgrade_from(
    source: Option<std::net::IpAddr>,
    host_port: &str,
    path: &str,
) -> std::io::Result<TcpStream> {
    let mut stream = match source {
        None => TcpStream::connect(host_port).await?,
        Some(source) => connect_from(source, host_port).await?,
    };
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Origin: http://localhost/\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 4096 {
            return Err(std::io::Error::other(
                "the server closed during the upgrade",
            ));
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(std::io::Error::other("the server did not answer 101"));
    }
    Ok(stream)
}

/// A TCP connection to `host_port` from `source` (bound first, any port).
async fn connect_from(source: std::net::IpAddr, host_port: &str) -> std::io::Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let addr = (host_port.to_socket_addrs()?.next())
        .ok_or_else(|| std::io::Error::other(format!("{host_port}: no address")))?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.bind(&std::net::SocketAddr::new(source, 0).into())?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc_einprogress()) => {}
        Err(e) => return Err(e),
    }
    let stream = smol::Async::new(std::net::TcpStream::from(socket))?;
    stream.writable().await?;
    if let Some(e) = stream.get_ref().take_error()? {
        return Err(e);
    }
    Ok(TcpStream::from(stream))
}

/// EINPROGRESS: a non-blocking connect under way (115 on Linux).
fn libc_einprogress() -> i32 {
    115
}

fn header(opcode: u8, len: usize, mask: bool) -> Vec<u8> {
    let bit = if mask { 0x80 } else { 0 };
    let mut out = vec![0x80 | opcode];
    match len {
        n if n < 126 => out.push(bit | n as u8),
        n if n <= 0xffff => {
            out.push(bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out
}

/// A client frame, masked once with a fixed key.
fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut out = header(opcode, payload.len(), true);
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// The frame an echo server sends back.
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = header(opcode, payload.len(), false);
    out.extend_from_slice(payload);
    out
}

/// CPU seconds (user + system) of a process, from /proc: ours when `pid` is `None`.
fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or("/proc/self/stat".to_owned(), |pid| {
        format!("/proc/{pid}/stat")
    });
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime is the 12th, stime 13th.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

/// Resident set size in KiB, from /proc/PID/status.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The `q` quantile of `sorted` by nearest rank (the smallest value with at least that share
/// of all at or below it); 0 when empty.
fn percentile(sorted: &[u32], q: f64) -> u32 {
    let at = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(at).copied().unwrap_or(0)
}

/// What the run took, beside what it counted.
struct Measured {
    elapsed: Duration,
    /// CPU seconds: ours, and the server's when its pid was given.
    own_cpu: f64,
    server_cpu: Option<f64>,
    /// The server's RSS before the first connection.
    rss_before: Option<u64>,
}

fn report(args: &Args, mut tally: Tally, measured: Measured) {
    if args.mode == "timed" {
        return report_timed(args, tally, measured);
    }
    let Measured {
        elapsed,
        own_cpu,
        server_cpu,
        rss_before,
    } = measured;
    if args.mode == "idle" {
        let per_conn = rss_before.zip(tally.server_rss_kib).map(|(before, after)| {
            after.saturating_sub(before) as f64 / tally.messages.max(1) as f64
        });
        if args.json {
            println!(
                "{{\"mode\":\"idle\",\"conns\":{},\"rss_kib_per_conn\":{}}}",
                tally.messages,
                per_conn.map_or("null".into(), |v| format!("{v:.2}"))
            );
        } else {
            println!(
                "idle: {} connections held; server RSS per connection: {}",
                tally.messages,
                per_conn.map_or("unknown (pass --server-pid)".into(), |v| format!(
                    "{v:.2} KiB"
                ))
            );
        }
        return;
    }
    tally.rtts_us.sort_unstable();
    let pct = |q: f64| percentile(&tally.rtts_us, q);
    let secs = elapsed.as_secs_f64();
    let rate = tally.messages as f64 / secs;
    let mb = rate * args.payload as f64 / 1e6;
    let per = |cpu: f64| cpu / tally.messages.max(1) as f64 * 1e6;
    let server = server_cpu.map(per);
    if args.json {
        println!(
            "{{\"mode\":\"{}\",\"conns\":{},\"payload\":{},\"window\":{},\"messages\":{},\"msgs_per_s\":{rate:.0},\"mb_per_s\":{mb:.2},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\"errors\":{},\"server_cpu_us_per_msg\":{},\"loadgen_cpu_us_per_msg\":{:.2}}}",
            args.mode, args.conns, args.payload, args.window, tally.messages, pct(0.5), pct(0.99), tally.rtts_us.last().copied().unwrap_or(0),
            tally.errors, server.map_or("null".into(), |v| format!("{v:.2}")), per(own_cpu)
        );
    } else {
        println!("mode        conns payload  msgs/s     MB/s   p50 us  p99 us  max us  errors  server CPU/msg  loadgen CPU/msg");
        println!(
            "{:<11} {:>5} {:>7} {:>7.0} {:>8.2} {:>8} {:>7} {:>7} {:>7}  {:>14}  {:>13.2}us",
            args.mode,
            args.conns,
            args.payload,
            rate,
            mb,
            pct(0.5),
            pct(0.99),
            tally.rtts_us.last().copied().unwrap_or(0),
            tally.errors,
            server.map_or("-".into(), |v| format!("{v:.2}us")),
            per(own_cpu)
        );
        if let Some(server) = server {
            if per(own_cpu) > server {
                println!("note: the load generator cost more CPU per message than the server");
            }
        }
    }
}

/// Each second of the timed window: its echoes' round trips (sorted) and the pings in it.
fn seconds(tally: &Tally) -> Vec<(Vec<u32>, u64)> {
    let count = tally
        .due_s
        .iter()
        .chain(&tally.ping_s)
        .max()
        .map_or(0, |s| *s as usize + 1);
    let mut seconds = vec![(Vec::new(), 0); count];
    for (&s, &rtt) in tally.due_s.iter().zip(&tally.rtts_us) {
        seconds[s as usize].0.push(rtt);
    }
    for &s in &tally.ping_s {
        seconds[s as usize].1 += 1;
    }
    for (rtts, _) in &mut seconds {
        rtts.sort_unstable();
    }
    seconds
}

/// The p99 of a typical second, in milliseconds: the median over the window's seconds of each
/// second's p99. A stall that hits every server alike (a burst of sends the generator could
/// not make on time) moves the window's p99 by which seconds it lands in; this far less.
fn typical_second_p99(seconds: &[(Vec<u32>, u64)]) -> f64 {
    let mut p99s: Vec<u32> = seconds
        .iter()
        .map(|(rtts, _)| percentile(rtts, 0.99))
        .collect();
    p99s.sort_unstable();
    f64::from(p99s.get(p99s.len() / 2).copied().unwrap_or(0)) / 1e3
}

/// Each second of the timed window on standard error: where in the window a tail sits.
fn print_series(seconds: &[(Vec<u32>, u64)]) {
    eprintln!("second  echoes   p99 ms   p99.9 ms   max ms   pings");
    for (s, (rtts, pings)) in seconds.iter().enumerate() {
        let ms = |q| f64::from(percentile(rtts, q)) / 1e3;
        eprintln!(
            "{s:>6} {:>7} {:>8.2} {:>10.2} {:>8.2} {pings:>7}",
            rtts.len(),
            ms(0.99),
            ms(0.999),
            ms(1.0)
        );
    }
}

/// The timed mode's figures: round trips from when each send was due, how late sends left,
/// the server's CPU per message and RSS per connection.
fn report_timed(args: &Args, mut tally: Tally, measured: Measured) {
    let seconds = seconds(&tally);
    if args.series {
        print_series(&seconds);
    }
    let typical = typical_second_p99(&seconds);
    let (elapsed, own_cpu) = (measured.elapsed, measured.own_cpu);
    let (server_cpu, rss_before) = (measured.server_cpu, measured.rss_before);
    tally.rtts_us.sort_unstable();
    tally.late_us.sort_unstable();
    // In milliseconds.
    let ms = |sorted: &[u32], q: f64| f64::from(percentile(sorted, q)) / 1e3;
    let rtt = |q| ms(&tally.rtts_us, q);
    let late = |q| ms(&tally.late_us, q);
    let rate = tally.messages as f64 / elapsed.as_secs_f64();
    let per = |cpu: f64| cpu / tally.messages.max(1) as f64 * 1e6;
    let server = server_cpu.map(per);
    let rss = rss_before
        .zip(tally.server_rss_kib)
        .map(|(before, after)| after.saturating_sub(before) as f64 / args.conns.max(1) as f64);
    let or_null = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.2}"));
    if args.json {
        println!(
            "{{\"mode\":\"timed\",\"conns\":{},\"interval_ms\":{},\"payload\":{},\"messages\":{},\"msgs_per_s\":{rate:.0},\"rtt_ms\":{{\"p50\":{:.3},\"p99\":{:.3},\"p999\":{:.3},\"max\":{:.3},\"p99_typical_second\":{typical:.3}}},\"late_ms\":{{\"p50\":{:.3},\"p99\":{:.3},\"max\":{:.3}}},\"errors\":{},\"server_cpu_us_per_msg\":{},\"server_rss_kib_per_conn\":{},\"loadgen_cpu_us_per_msg\":{:.2}}}",
            args.conns, args.interval.as_millis(), args.payload, tally.messages,
            rtt(0.5), rtt(0.99), rtt(0.999), rtt(1.0), late(0.5), late(0.99), late(1.0),
            tally.errors, or_null(server), or_null(rss), per(own_cpu)
        );
    } else {
        println!(
            "timed: {} connections, one message each every {:?}: {} echoed ({rate:.0}/s), {} errors",
            args.conns, args.interval, tally.messages, tally.errors
        );
        println!(
            "round trip from when due: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms; a typical second's p99 {typical:.3} ms",
            rtt(0.5),
            rtt(0.99),
            rtt(0.999),
            rtt(1.0)
        );
        println!(
            "sends left late by: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            late(0.5),
            late(0.99),
            late(1.0)
        );
        println!(
            "server CPU per message: {}; server RSS per connection: {}; loadgen CPU per message: {:.2} us",
            server.map_or("- (pass --server-pid)".into(), |v| format!("{v:.2} us")),
            rss.map_or("-".into(), |v| format!("{v:.2} KiB")),
            per(own_cpu)
        );
    }
}
