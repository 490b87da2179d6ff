//! Liveness: the heartbeat finds dead peers, timeouts drop stuck ones, and the client
//! reconnects and accounts for every message. Short durations (tens to hundreds of ms).
#![allow(deprecated)] // the async-std adapter is tested while it is supported

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use suite::relay::Relay;
use suite::stoppable::Stoppable;
use suite::*;
use ws_echo::client::{ClientConfig, Event};
use ws_echo::{Config, Echo, Ending, Error, Handler, Timeout};

const MS: Duration = Duration::from_millis(1);
/// What a deadline may be late by on a loaded two-core machine.
const SLACK: Duration = Duration::from_millis(300);

#[test]
fn the_server_drops_a_client_behind_a_pulled_cable() {
    let config = Config::default()
        .ping_interval(Some(100 * MS))
        .pong_timeout(100 * MS);
    let (server, summaries) = Stoppable::start("127.0.0.1:0", config, Echo);
    let relay = Relay::start(server.addr);
    let mut raw = Raw::upgrade(relay.addr);
    raw.send(true, TEXT, b"before");
    assert_eq!(raw.read().payload, b"before");
    relay.cut();
    let cut = Instant::now();
    let summary = summaries.recv_timeout(IO_TIMEOUT).unwrap();
    let noticed = cut.elapsed();
    match summary.ending {
        Ending::TimedOut(Timeout::Unresponsive { silent }) => {
            assert!(
                silent >= 200 * MS && silent < 200 * MS + SLACK,
                "silent {silent:?}"
            )
        }
        other => panic!("expected a heartbeat timeout, got {other:?}"),
    }
    assert!(noticed < 200 * MS + SLACK, "noticed after {noticed:?}");
    assert_eq!((summary.messages_in, summary.messages_out), (1, 1));
    assert_eq!(
        summary
            .to_string()
            .split(';')
            .next()
            .unwrap()
            .split(" silent")
            .next(),
        Some("timed out: unresponsive,")
    );
}

#[test]
fn a_connection_whose_cable_is_back_before_the_deadline_survives() {
    let config = Config::default()
        .ping_interval(Some(100 * MS))
        .pong_timeout(400 * MS);
    let (server, summaries) = Stoppable::start("127.0.0.1:0", config, Echo);
    let relay = Relay::start(server.addr);
    let mut raw = Raw::upgrade(relay.addr);
    relay.cut();
    // Sent while the cable is out: held, not lost.
    raw.send(true, TEXT, b"during");
    std::thread::sleep(150 * MS); // the outage: longer than the ping interval
    relay.restore();
    // The server's ping, sent during the outage, arrives now; answer it and get the echo.
    let mut got = Vec::new();
    while got.len() < 2 {
        let frame = raw.read();
        if frame.opcode == PING {
            raw.send(true, PONG, &frame.payload);
        }
        got.push(frame.opcode);
    }
    got.sort();
    assert_eq!(got, vec![TEXT, PING]);
    raw.send(true, TEXT, b"after");
    assert_eq!(
        raw.read(),
        Frame {
            fin: true,
            opcode: TEXT,
            payload: b"after".to_vec()
        }
    );
    raw.send(true, CLOSE, &close_payload(1000, ""));
    assert_eq!(raw.read_close().0, 1000);
    let summary = summaries.recv_timeout(IO_TIMEOUT).unwrap();
    assert_eq!(
        summary.ending,
        Ending::PeerClosed {
            code: Some(1000),
            reason: String::new()
        }
    );
    assert_eq!((summary.messages_in, summary.messages_out), (2, 2));
}

#[test]
fn the_client_declares_a_dead_link_and_reconnects_when_the_cable_is_back() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let relay = Relay::start(addr);
        let config = ClientConfig::new(format!("ws://{}/ws", relay.addr))
            .interval(50 * MS)
            .count(8)
            .ping_interval(Some(100 * MS))
            .pong_timeout(100 * MS)
            .handshake_timeout(200 * MS)
            .backoff(20 * MS, 100 * MS);
        let (mut cut_at, mut down_after, mut resending) = (None, None, None);
        let report = run_client(rt, &config, never(), |event| match event {
            Event::Echo { seq: 3, .. } => {
                relay.cut();
                cut_at = Some(Instant::now());
            }
            Event::LinkDown { reason } => {
                down_after = cut_at.map(|at| at.elapsed());
                assert!(
                    reason.starts_with("no answer from the server for "),
                    "{reason}"
                );
                // Plug the cable back in a little later: reconnect attempts fail meanwhile.
                let relay = relay.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(100 * MS);
                    relay.restore();
                });
            }
            Event::Reconnected { resending: n, .. } => resending = Some(*n),
            _ => {}
        })
        .unwrap();
        let down_after = down_after.expect("the link was never declared down");
        assert!(
            down_after < 200 * MS + SLACK,
            "declared dead after {down_after:?} under {rt:?}"
        );
        let resending = resending.expect("never reconnected");
        assert!(resending >= 1, "messages sent during the outage are resent");
        assert_eq!(report.reconnects, 1);
        assert_eq!(report.resent, resending);
        assert_eq!(
            (
                report.sent,
                report.echoed,
                report.missing,
                report.unexpected
            ),
            (8, 8, 0, 0)
        );
    }
}

#[test]
fn a_peer_that_never_completes_the_handshake_is_dropped_and_others_are_served() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().handshake_timeout(150 * MS));
        let started = Instant::now();
        let mut silent = TcpStream::connect(addr).unwrap();
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgr")
            .unwrap();
        // Meanwhile a normal client is served.
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("served")),
            Message::text("served")
        );
        for stream in [&mut silent, &mut half] {
            stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            assert_eq!(answer, b"", "dropped without an answer");
            let elapsed = started.elapsed();
            assert!(
                elapsed >= 150 * MS && elapsed < 150 * MS + SLACK,
                "dropped after {elapsed:?}"
            );
        }
        assert_eq!(
            round_trip(&mut ws, Message::text("still")),
            Message::text("still")
        );
    }
}

#[test]
fn a_peer_that_sends_but_never_reads_is_dropped_by_the_write_timeout() {
    let config = Config::default()
        .write_timeout(200 * MS)
        .ping_interval(None);
    let (server, summaries) = Stoppable::start("127.0.0.1:0", config, Echo);
    let mut raw = Raw::upgrade(server.addr);
    raw.stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    // Push 1 KiB messages and never read: the server's echoes fill both socket buffers, then it
    // stops reading, then ours fill too and our write fails or blocks until the server gives up.
    let message = frame(true, BINARY, &[0x5a; 1024], true);
    let mut pushed: u64 = 0;
    while pushed < 100 << 20 {
        if raw.stream.write_all(&message).is_err() {
            break;
        }
        pushed += message.len() as u64;
    }
    let summary = summaries.recv_timeout(IO_TIMEOUT).unwrap();
    assert_eq!(summary.ending, Ending::TimedOut(Timeout::WriteStalled));
    // The server stopped reading when it could not write: at most the message it was echoing
    // when it stalled is in its hands, beyond what the kernel buffers hold.
    assert!(
        summary.messages_in - summary.messages_out <= 1,
        "{summary:?}"
    );
    assert!(
        summary.bytes_in < pushed,
        "{} of {pushed}",
        summary.bytes_in
    );
}

/// Echoes messages 1 to 3, swallows the rest, and reports the fifth.
#[derive(Clone)]
struct EchoThreeThenSwallow {
    seen: u32,
    fifth: mpsc::Sender<()>,
}

impl Handler for EchoThreeThenSwallow {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        self.seen += 1;
        if self.seen == 5 {
            let _ = self.fifth.send(());
        }
        (self.seen <= 3).then_some(message)
    }
}

#[test]
fn after_a_server_restart_the_client_resends_exactly_what_was_not_echoed() {
    for rt in runtimes() {
        let (fifth_tx, fifth_rx) = mpsc::channel();
        let swallowing = EchoThreeThenSwallow {
            seen: 0,
            fifth: fifth_tx,
        };
        let (first, _) = Stoppable::start("127.0.0.1:0", Config::default(), swallowing);
        let addr = first.addr;
        // The restart: once the first server has swallowed message 5, it dies, and a normal one
        // comes up on the same port. Messages go out every 200 ms, so nothing else is in flight.
        let restarter = std::thread::spawn(move || {
            fifth_rx.recv_timeout(IO_TIMEOUT).unwrap();
            first.stop();
            Stoppable::start(&addr.to_string(), Config::default(), Echo)
        });
        let config = ClientConfig::new(format!("ws://{addr}/ws"))
            .interval(200 * MS)
            .count(6)
            .ping_interval(None)
            .backoff(20 * MS, 40 * MS);
        let mut events = Vec::new();
        let report = run_client(rt, &config, never(), |e| events.push(e.clone())).unwrap();
        let _second = restarter.join().unwrap();
        assert_eq!(
            (
                report.sent,
                report.echoed,
                report.missing,
                report.resent,
                report.reconnects
            ),
            (6, 6, 0, 2, 1),
            "{events:?}"
        );
        let echoed: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Echo { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(echoed, vec![1, 2, 3, 4, 5, 6]);
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::Reconnected { resending: 2, .. })));
    }
}

#[test]
fn with_reconnecting_off_a_dead_link_is_an_error() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let relay = Relay::start(addr);
        let config = ClientConfig::new(format!("ws://{}/ws", relay.addr))
            .interval(50 * MS)
            .ping_interval(Some(50 * MS))
            .pong_timeout(50 * MS)
            .reconnect(false);
        let result = run_client(rt, &config, never(), |event| {
            if let Event::Echo { seq: 1, .. } = event {
                relay.cut();
            }
        });
        match result {
            Err(Error::ConnectionLost(reason)) => {
                assert!(
                    reason.starts_with("no answer from the server for "),
                    "{reason}"
                )
            }
            other => panic!("expected the link to be lost, got {other:?}"),
        }
    }
}

/// Timeouts set to `Duration::MAX` mean "never": the server serves and closes as usual instead
/// of overflowing a deadline.
#[test]
fn timeouts_of_duration_max_mean_never() {
    for rt in runtimes() {
        let config = Config::default()
            .handshake_timeout(Duration::MAX)
            .write_timeout(Duration::MAX)
            .close_timeout(Duration::MAX)
            .ping_interval(Some(Duration::MAX))
            .pong_timeout(Duration::MAX)
            .idle_timeout(Some(Duration::MAX))
            .drain_timeout(Duration::MAX);
        let addr = start(rt, config);
        let mut raw = Raw::upgrade(addr);
        raw.send(true, TEXT, b"still here");
        let echo = raw.read();
        assert_eq!(
            (echo.opcode, echo.payload.as_slice()),
            (TEXT, &b"still here"[..])
        );
        raw.send(true, CLOSE, &close_payload(1000, "bye"));
        assert_eq!(raw.read_close(), (1000, "bye".to_owned()));
        raw.assert_eof();
    }
}
