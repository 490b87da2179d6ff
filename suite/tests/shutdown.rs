//! Graceful shutdown and statistics, under each compiled-in runtime.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use suite::*;
use ws_echo::{Config, Echo, ShutdownReport};

const MS: Duration = Duration::from_millis(1);
/// What a deadline may be late by on a loaded two-core machine.
const SLACK: Duration = Duration::from_millis(500);

#[test]
fn at_shutdown_every_received_message_is_echoed_before_close_1001() {
    for rt in runtimes() {
        let server = start_server(rt, Config::default(), Echo);
        let started = Arc::new(AtomicU64::new(0));
        let clients: Vec<_> = (0..5)
            .map(|c| {
                let (addr, started) = (server.addr, Arc::clone(&started));
                std::thread::spawn(move || {
                    let raw = Raw::upgrade(addr);
                    let mut writer = raw.stream.try_clone().unwrap();
                    let stop = Arc::new(AtomicBool::new(false));
                    // Pipelining: messages go out without waiting for their echoes, until the
                    // server's Close arrives (or a bound).
                    let sender = {
                        let stop = Arc::clone(&stop);
                        std::thread::spawn(move || {
                            let mut sent = 0u64;
                            while sent < 200_000 && !stop.load(Ordering::SeqCst) {
                                let text = format!("client {c} message {sent}");
                                let message = frame(true, TEXT, text.as_bytes(), true);
                                if std::io::Write::write_all(&mut writer, &message).is_err() {
                                    break;
                                }
                                sent += 1;
                            }
                            sent
                        })
                    };
                    let mut raw = raw;
                    let mut echoed = 0u64;
                    loop {
                        let got = raw.read();
                        if got.opcode == CLOSE {
                            assert_eq!(&got.payload[..2], &1001u16.to_be_bytes(), "client {c}");
                            assert_eq!(&got.payload[2..], b"going away");
                            break;
                        }
                        // Echoes are an exact, gapless prefix of what we sent.
                        let expected = format!("client {c} message {echoed}");
                        assert_eq!(got.payload, expected.into_bytes());
                        echoed += 1;
                        if echoed == 20 {
                            started.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    // As a well-behaved client: stop sending, answer the Close, see the end.
                    stop.store(true, Ordering::SeqCst);
                    let sent = sender.join().unwrap();
                    raw.send(true, CLOSE, &close_payload(1001, ""));
                    raw.assert_eof();
                    assert!(echoed <= sent);
                    echoed
                })
            })
            .collect();
        eventually("every client pipelining", || {
            started.load(Ordering::SeqCst) == 5
        });
        server.shutdown.trigger();
        let echoed: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
        let report = server.report.recv_timeout(IO_TIMEOUT).unwrap();
        assert_eq!(report, expected_report(5, 5, 0), "{rt:?}");
        let stats = server.stats.snapshot();
        // Every message the server took in was echoed, and every echo reached its client.
        assert_eq!(stats.messages_in, stats.messages_out, "{rt:?}");
        assert_eq!(stats.messages_out, echoed, "{rt:?}");
        assert_eq!(stats.closes, BTreeMap::from([(1001, 5)]), "{rt:?}");
        assert_eq!(stats.open, 0);
    }
}

fn expected_report(served: u64, closed_cleanly: u64, dropped: u64) -> ShutdownReport {
    let mut report = ShutdownReport::default();
    report.served = served;
    report.closed_cleanly = closed_cleanly;
    report.dropped = dropped;
    report
}

#[test]
fn a_peer_that_never_answers_the_close_is_dropped_at_the_drain_deadline() {
    for rt in runtimes() {
        let server = start_server(rt, Config::default().drain_timeout(300 * MS), Echo);
        let mut polite = Raw::upgrade(server.addr);
        let mut silent = Raw::upgrade(server.addr);
        eventually("both connections open", || {
            server.stats.snapshot().open == 2
        });
        let triggered = Instant::now();
        server.shutdown.trigger();
        assert_eq!(polite.read_close(), (1001, "going away".to_owned()));
        polite.send(true, CLOSE, &close_payload(1001, ""));
        polite.assert_eof();
        assert_eq!(silent.read_close(), (1001, "going away".to_owned()));
        // No answer from `silent`: the server gives up on it at the deadline.
        let report = server.report.recv_timeout(IO_TIMEOUT).unwrap();
        let took = triggered.elapsed();
        assert_eq!(report, expected_report(2, 1, 1), "{rt:?}");
        assert!(
            took >= 300 * MS && took < 300 * MS + SLACK,
            "{rt:?}: returned after {took:?}"
        );
        silent.assert_eof();
    }
}

#[test]
fn statistics_count_exactly_what_happened() {
    for rt in runtimes() {
        let server = start_server(rt, Config::default().page("<p>hi</p>"), Echo);
        let addr = server.addr;
        // A: three 10-byte messages, then Close 1000.
        let mut a = Raw::upgrade(addr);
        for _ in 0..3 {
            a.send(true, TEXT, b"0123456789");
            assert_eq!(a.read().payload, b"0123456789");
        }
        a.send(true, CLOSE, &close_payload(1000, ""));
        assert_eq!(a.read_close().0, 1000);
        a.assert_eof();
        // B: two binary messages of 5 bytes, then Close 4000.
        let mut b = Raw::upgrade(addr);
        for _ in 0..2 {
            b.send(true, BINARY, &[1, 2, 3, 4, 5]);
            assert_eq!(b.read().payload, vec![1, 2, 3, 4, 5]);
        }
        b.send(true, CLOSE, &close_payload(4000, "done"));
        assert_eq!(b.read_close(), (4000, "done".to_owned()));
        b.assert_eof();
        // C: the wrong path.
        assert!(http(addr, &upgrade_request("/nope", "")).starts_with("HTTP/1.1 404 "));
        // E: the page, which is not a refusal.
        assert!(http(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").ends_with("<p>hi</p>"));
        // D: one message, then EOF without a Close.
        let mut d = Raw::upgrade(addr);
        d.send(true, TEXT, b"bye");
        assert_eq!(d.read().payload, b"bye");
        d.stream.shutdown(std::net::Shutdown::Write).unwrap();
        d.assert_eof();
        eventually("all connections ended", || {
            let stats = server.stats.snapshot();
            stats.open == 0 && stats.refused == 1 && stats.pages == 1 && stats.without_close == 1
        });
        let stats = server.stats.snapshot();
        assert_eq!(
            (stats.connections, stats.refused, stats.open),
            (3, 1, 0),
            "{rt:?}"
        );
        assert_eq!((stats.messages_in, stats.messages_out), (6, 6), "{rt:?}");
        assert_eq!((stats.bytes_in, stats.bytes_out), (43, 43), "{rt:?}");
        assert_eq!(
            stats.closes,
            BTreeMap::from([(1000, 1), (4000, 1)]),
            "{rt:?}"
        );
        assert_eq!(stats.without_close, 1, "{rt:?}");
        assert_eq!(
            stats.to_string(),
            "3 connections (0 open, 1 refused, 1 page); in 6 messages / 43 B, \
             out 6 messages / 43 B; closes 1000: 1, 4000: 1; 1 without a close"
        );
        server.shutdown.trigger();
        let report = server.report.recv_timeout(IO_TIMEOUT).unwrap();
        assert_eq!(report, expected_report(5, 0, 0), "{rt:?}");
    }
}

#[test]
fn at_a_shutdown_under_a_hundred_clients_every_count_agrees() {
    for rt in runtimes() {
        let server = start_server(rt, Config::default(), Echo);
        let mut clients: Vec<Raw> = (0..100).map(|_| Raw::upgrade(server.addr)).collect();
        for (i, client) in clients.iter_mut().enumerate() {
            let text = format!("client {i}");
            client.send(true, TEXT, text.as_bytes());
            assert_eq!(client.read().payload, text.as_bytes());
        }
        eventually("all 100 open", || server.stats.snapshot().open == 100);
        server.shutdown.trigger();
        for client in &mut clients {
            assert_eq!(client.read_close(), (1001, "going away".to_owned()));
            client.send(true, CLOSE, &close_payload(1001, ""));
        }
        let report = server.report.recv_timeout(IO_TIMEOUT).unwrap();
        assert_eq!(report, expected_report(100, 100, 0), "{rt:?}");
        let stats = server.stats.snapshot();
        assert_eq!(
            (stats.connections, stats.open, stats.refused, stats.pages),
            (100, 0, 0, 0),
            "{rt:?}"
        );
        assert_eq!(stats.closes, BTreeMap::from([(1001, 100)]), "{rt:?}");
        assert_eq!(
            (stats.messages_in, stats.messages_out),
            (100, 100),
            "{rt:?}"
        );
    }
}
