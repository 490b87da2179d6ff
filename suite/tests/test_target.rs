//! The test target (`ws_echo::test_target::TestTarget`): each control of the upgrade request's query, under
//! each runtime, on real sockets and read frame by frame; a bad value's 400; and a server
//! without it, which ignores them all.
#![cfg(feature = "test-target")]

use std::io::Read;
use std::time::{Duration, Instant};

use suite::*;
use ws_echo::client::{ClientConfig, Event};
use ws_echo::test_target::TestTarget;
use ws_echo::{Config, Echo};

/// A test target serving the echo under `rt`.
fn start_target(rt: Rt) -> std::net::SocketAddr {
    start_with(
        rt,
        Config::default(),
        TestTarget::new(Echo).instance("test-1"),
    )
}

/// The upgrade of `target` (path and query) on a test target; the 101 asserted exactly.
fn open(addr: std::net::SocketAddr, target: &str) -> Raw {
    Raw::upgrade_with(addr, &upgrade_request(target, ""))
}

#[test]
fn info_is_the_request_as_the_server_saw_it() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let request = upgrade_request("/ws?info&lb=eu", "X-Probe: seen by the server\r\n");
        let (stream, head) = answer_head(addr, &request);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let peer = stream.local_addr().unwrap();
        let mut raw = Raw { stream };
        let first = raw.read();
        assert_eq!((first.opcode, first.fin), (TEXT, true));
        let info: serde_json::Value = serde_json::from_slice(&first.payload).unwrap();
        assert_eq!(info["peer"], peer.to_string(), "{rt:?}");
        assert_eq!(info["local"], addr.to_string(), "{rt:?}");
        assert_eq!(info["method"], "GET");
        assert_eq!(info["path"], "/ws");
        assert_eq!(info["query"], "info&lb=eu");
        // The process's count: past the connections opened before (by other tests too).
        let id = info["id"].as_u64().unwrap();
        let mut later = open(addr, "/ws?info");
        let later: serde_json::Value = serde_json::from_slice(&later.read().payload).unwrap();
        assert!(
            id >= 1 && later["id"].as_u64().unwrap() > id,
            "{rt:?}: {id} {later}"
        );
        assert_eq!(info["instance"], "test-1");
        assert_eq!(info["protocol"], serde_json::Value::Null);
        assert_eq!(info["extensions"], serde_json::Value::Null);
        let headers = info["headers"].as_array().unwrap();
        assert_eq!(headers.len(), 6);
        assert_eq!(headers[0], serde_json::json!(["Host", "test"]));
        assert_eq!(
            headers[5],
            serde_json::json!(["X-Probe", "seen by the server"])
        );
        // Then a plain echo.
        raw.send(true, TEXT, b"after info");
        assert_eq!(raw.read().payload, b"after info");
    }
}

#[test]
fn delay_holds_each_echo_while_pings_are_answered_at_once() {
    const DELAY: Duration = Duration::from_millis(300);
    // The slack allowed past the delay: this machine is shared; a late timer, not a wrong one.
    const SLACK: Duration = Duration::from_secs(2);
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut raw = open(addr, "/ws?delay=300ms");
        let sent = Instant::now();
        raw.send(true, TEXT, b"one");
        raw.send(true, PING, b"meanwhile");
        let pong = raw.read();
        assert_eq!(
            (pong.opcode, pong.payload),
            (PONG, b"meanwhile".to_vec()),
            "{rt:?}"
        );
        // Before the echo, in frame order; and not held for a delay: on a connection whose
        // echo waits a minute, the pong comes long before (a margin no load on this shared
        // machine eats, where 300 ms could be).
        let mut long = open(addr, "/ws?delay=1m");
        let pinged = Instant::now();
        long.send(true, TEXT, b"not yet");
        long.send(true, PING, b"now");
        assert_eq!(
            long.read(),
            Frame {
                fin: true,
                opcode: PONG,
                payload: b"now".to_vec()
            }
        );
        assert!(
            pinged.elapsed() < Duration::from_secs(30),
            "{rt:?}: the pong waited"
        );
        drop(long);
        let echo = raw.read();
        let rtt = sent.elapsed();
        assert_eq!(
            (echo.opcode, echo.payload),
            (TEXT, b"one".to_vec()),
            "{rt:?}"
        );
        assert!(rtt >= DELAY && rtt < DELAY + SLACK, "{rt:?}: rtt {rtt:?}");
    }
}

#[test]
fn jitter_adds_at_most_its_amount_and_order_is_kept() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut raw = open(addr, "/ws?delay=50ms&jitter=100ms");
        let sent = Instant::now();
        for n in 0..10u8 {
            raw.send(true, BINARY, &[n]);
        }
        for n in 0..10u8 {
            assert_eq!(raw.read().payload, [n], "{rt:?}: in order");
        }
        assert!(sent.elapsed() >= Duration::from_millis(50), "{rt:?}");
    }
}

#[test]
fn close_after_three_gives_exactly_three_echoes_then_the_close() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut raw = open(addr, "/ws?close=4000&after=3&reason=bye%20now");
        for n in 0..5u8 {
            raw.send(true, BINARY, &[n]);
        }
        for n in 0..3u8 {
            let echo = raw.read();
            assert_eq!((echo.opcode, echo.payload), (BINARY, vec![n]), "{rt:?}");
        }
        assert_eq!(raw.read_close(), (4000, "bye now".to_owned()), "{rt:?}");
        raw.send(true, CLOSE, &close_payload(4000, ""));
        raw.assert_eof();
    }
}

#[test]
fn abort_after_three_gives_three_echoes_then_eof_without_a_close() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut raw = open(addr, "/ws?abort&after=3");
        for n in 0..3u8 {
            raw.send(true, BINARY, &[n]);
        }
        for n in 0..3u8 {
            assert_eq!(raw.read().payload, [n], "{rt:?}");
        }
        let mut rest = Vec::new();
        raw.stream.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"", "{rt:?}: EOF, no Close");
    }
}

/// Five messages at once, then the abort after three: three echoes and EOF every time,
/// never a reset that would make the client's kernel drop echoes it had received (the server
/// lets the socket go only after reading what the client sent after the third).
#[test]
fn abort_after_three_under_a_flood_gives_three_echoes_then_eof_every_time() {
    for rt in runtimes() {
        let addr = start_target(rt);
        for round in 0..50 {
            let mut raw = open(addr, "/ws?abort&after=3");
            raw.stream.set_nodelay(true).unwrap();
            for n in 0..5u8 {
                raw.send(true, BINARY, &[n]); // five writes: some land after the server's read
            }
            let mut rest = Vec::new();
            let read = raw.stream.read_to_end(&mut rest);
            assert!(read.is_ok(), "{rt:?} round {round}: {read:?}");
            let echoes: Vec<u8> = (0..3u8)
                .flat_map(|n| frame(true, BINARY, &[n], false))
                .collect();
            assert_eq!(rest, echoes, "{rt:?} round {round}: three echoes, then EOF");
        }
    }
}

/// Our client under `?abort&after=3`: it reconnects after each abort and every message sent is
/// accounted for, echoed or missing.
#[test]
fn the_client_reconnects_through_aborts_and_accounts_for_every_message() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut config = ClientConfig::new(format!("ws://{addr}/ws?abort&after=3"))
            .interval(Duration::from_millis(5))
            .count(10);
        config.backoff_initial = Duration::from_millis(5);
        let mut downs = 0;
        let report = run_client(rt, &config, never(), |e| {
            if let Event::LinkDown { reason } = e {
                assert_eq!(reason, "the server closed the connection without a Close");
                downs += 1;
            }
        })
        .unwrap();
        assert_eq!(report.echoed, 10, "{rt:?}: {report:?}");
        assert_eq!(report.missing + report.unexpected, 0, "{rt:?}: {report:?}");
        assert_eq!(report.sent, report.echoed + report.missing, "{rt:?}");
        // Every third echo ends a connection: after 3, 6 and 9.
        assert_eq!(report.reconnects, 3, "{rt:?}: {report:?}");
        assert_eq!(downs, 3, "{rt:?}");
    }
}

/// Our client under `?close=4000&after=3`: each Close is reported, counted as abnormal, and
/// reconnected from; every message is accounted for.
#[test]
fn the_client_reconnects_through_closes_and_accounts_for_every_message() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut config =
            ClientConfig::new(format!("ws://{addr}/ws?close=4000&after=3&reason=again"))
                .interval(Duration::from_millis(5))
                .count(7);
        config.backoff_initial = Duration::from_millis(5);
        let mut closes = Vec::new();
        let report = run_client(rt, &config, never(), |e| {
            if let Event::ServerClosed { code, reason } = e {
                closes.push((*code, reason.clone()));
            }
        })
        .unwrap();
        assert_eq!(
            (report.echoed, report.missing, report.unexpected),
            (7, 0, 0),
            "{rt:?}: {report:?}"
        );
        assert_eq!(report.sent, 7, "{rt:?}");
        // After 3 and 6 echoes; the 7th ends the run before a third close.
        assert_eq!(closes, vec![(Some(4000), "again".to_owned()); 2], "{rt:?}");
        assert_eq!(
            (report.reconnects, report.abnormal_closes),
            (2, 2),
            "{rt:?}"
        );
    }
}

/// `?info` through our client: the first message of each connection is the server's view,
/// not an echo.
#[test]
fn the_client_takes_info_as_the_servers_view_not_as_an_echo() {
    let rt = runtimes()[0];
    let addr = start_target(rt);
    let config = ClientConfig::new(format!("ws://{addr}/ws?info&delay=20ms"))
        .interval(Duration::from_millis(5))
        .count(3);
    let mut views = Vec::new();
    let mut rtts = Vec::new();
    let report = run_client(rt, &config, never(), |e| match e {
        Event::ServerInfo { json } => views.push(json.clone()),
        Event::Echo { rtt, .. } => rtts.push(*rtt),
        _ => {}
    })
    .unwrap();
    assert_eq!(
        (report.echoed, report.unexpected, report.missing),
        (3, 0, 0)
    );
    assert_eq!(views.len(), 1);
    let info: serde_json::Value = serde_json::from_str(&views[0]).unwrap();
    assert_eq!(info["query"], "info&delay=20ms");
    assert!(
        rtts.iter().all(|rtt| *rtt >= Duration::from_millis(20)),
        "{rtts:?}"
    );
}

#[test]
fn status_refuses_the_upgrade_with_that_status() {
    for rt in runtimes() {
        let addr = start_target(rt);
        assert_eq!(
            http(addr, &upgrade_request("/ws?status=503", "")),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 26\r\nConnection: close\r\nRetry-After: 1\r\n\r\n\
             refused as ?status= asked\n",
            "{rt:?}"
        );
        let answer = http(addr, &upgrade_request("/ws?status=418", ""));
        assert!(
            answer.starts_with("HTTP/1.1 418 I'm a teapot\r\n"),
            "{answer}"
        );
    }
}

#[test]
fn fragment_sends_each_echo_in_frames_of_at_most_that_size() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut raw = open(addr, "/ws?fragment=1024");
        let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        raw.send(true, BINARY, &payload);
        let frames: Vec<Frame> = (0..3).map(|_| raw.read()).collect();
        let shapes: Vec<(bool, u8, usize)> = frames
            .iter()
            .map(|f| (f.fin, f.opcode, f.payload.len()))
            .collect();
        assert_eq!(
            shapes,
            [
                (false, BINARY, 1024),
                (false, CONTINUATION, 1024),
                (true, CONTINUATION, 952)
            ],
            "{rt:?}"
        );
        let whole: Vec<u8> = frames.into_iter().flat_map(|f| f.payload).collect();
        assert_eq!(whole, payload, "{rt:?}");
        // Text too, split anywhere (the whole is what must be UTF-8); a short one stays whole.
        let text = "é".repeat(1000);
        raw.send(true, TEXT, text.as_bytes());
        let first = raw.read();
        assert_eq!(
            (first.fin, first.opcode, first.payload.len()),
            (false, TEXT, 1024)
        );
        let second = raw.read();
        assert_eq!(
            (second.fin, second.opcode, second.payload.len()),
            (true, CONTINUATION, 976)
        );
        assert_eq!([first.payload, second.payload].concat(), text.as_bytes());
        raw.send(true, TEXT, b"short");
        let short = raw.read();
        assert_eq!(
            (short.fin, short.opcode, short.payload),
            (true, TEXT, b"short".to_vec())
        );
    }
}

#[test]
fn a_bad_control_value_gets_400_naming_it() {
    for rt in runtimes() {
        let addr = start_target(rt);
        for (query, reason) in [
            (
                "delay=soon",
                "bad delay: want a duration such as 200ms, at most 1m",
            ),
            (
                "close=1006",
                "bad close: want a code we may send: 1000-1003, 1007-1014, 3000-4999",
            ),
            (
                "fragment=0",
                "bad fragment: want a frame size in bytes, 1 or more",
            ),
            (
                "status=302",
                "bad status: want an HTTP error status, 400-599",
            ),
        ] {
            let answer = http(addr, &upgrade_request(&format!("/ws?{query}"), ""));
            assert_eq!(
                answer,
                format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{reason}\n",
                    reason.len() + 1
                ),
                "{rt:?}: {query}"
            );
        }
    }
}

#[test]
fn without_the_setting_every_control_is_ignored() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = open(
            addr,
            "/ws?info&delay=5s&close=4000&after=0&abort&status=503&fragment=1&delay=soon",
        );
        let sent = Instant::now();
        for n in 0..3u8 {
            raw.send(true, BINARY, &[n, n]);
        }
        for n in 0..3u8 {
            assert_eq!(
                raw.read(),
                Frame {
                    fin: true,
                    opcode: BINARY,
                    payload: vec![n, n]
                }
            );
        }
        assert!(sent.elapsed() < Duration::from_secs(5), "{rt:?}: delayed");
        raw.send(true, CLOSE, &close_payload(1000, ""));
        assert_eq!(raw.read_close(), (1000, String::new()), "{rt:?}");
    }
}

/// `?status=503` answers with `Retry-After: 1`: the client's first connection is retried (a 503
/// may pass), after the second the server asked for rather than its own 10 ms.
#[test]
fn a_503_with_retry_after_is_retried_after_the_time_it_names() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let (tx, rx) = async_channel::bounded::<()>(1);
        let stop = async move {
            let _ = rx.recv().await;
        };
        let config = ClientConfig::new(format!("ws://{addr}/ws?status=503"))
            .backoff(Duration::from_millis(10), Duration::from_secs(5));
        let mut waits = Vec::new();
        let report = run_client(rt, &config, stop, |e| {
            if let Event::ConnectFailed { error, next_in, .. } = e {
                assert!(error.contains("HTTP 503"), "{error}");
                waits.push(*next_in);
                let _ = tx.try_send(());
            }
        })
        .unwrap();
        assert_eq!(waits, [Duration::from_secs(1)], "{rt:?}");
        assert_eq!((report.sent, report.down_at_end), (0, true), "{rt:?}");
    }
}

/// `?info` against a server without the test target: the first message is our own echo, not
/// the server's view; the client says the control was ignored and counts the echo.
#[test]
fn info_asked_of_a_plain_server_is_reported_as_ignored_and_nothing_is_lost() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let config = ClientConfig::new(format!("ws://{addr}/ws?info"))
            .interval(Duration::from_millis(10))
            .count(3);
        let mut events = Vec::new();
        let report = run_client(rt, &config, never(), |e| events.push(e.clone())).unwrap();
        assert_eq!(
            (
                report.sent,
                report.echoed,
                report.missing,
                report.unexpected
            ),
            (3, 3, 0, 0),
            "{rt:?}"
        );
        let ignored = events.iter().filter(|e| **e == Event::InfoIgnored).count();
        assert_eq!(ignored, 1, "{rt:?}: {events:?}");
        assert!(
            !events.iter().any(|e| matches!(e, Event::ServerInfo { .. })),
            "{rt:?}"
        );
    }
}

/// `?subprotocol=` selects a subprotocol the client offered (and `?info` says what was offered
/// and what was selected); one it did not offer selects nothing. `?header=Name:value` puts the
/// header in the 101; a header the upgrade owns, or not a header at all, is a 400 naming it.
#[test]
fn subprotocol_and_header_shape_the_101() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let offer = "Sec-WebSocket-Protocol: mqtt, chat.v2\r\n";
        let (stream, head) = answer_head(
            addr,
            &upgrade_request("/ws?subprotocol=chat.v2&header=X-Test:%20yes&info", offer),
        );
        assert!(head.starts_with("HTTP/1.1 101 "), "{rt:?}: {head}");
        assert!(
            head.contains("\r\nSec-WebSocket-Protocol: chat.v2\r\n"),
            "{rt:?}: {head}"
        );
        assert!(head.ends_with("\r\nX-Test: yes\r\n\r\n"), "{rt:?}: {head}");
        let mut raw = Raw { stream };
        let info: serde_json::Value = serde_json::from_slice(&raw.read().payload).unwrap();
        assert_eq!(info["protocol"], "chat.v2", "{rt:?}");
        assert_eq!(
            info["offered_protocols"],
            serde_json::json!(["mqtt", "chat.v2"]),
            "{rt:?}"
        );
        let (_, head) = answer_head(addr, &upgrade_request("/ws?subprotocol=stomp", offer));
        assert!(head.starts_with("HTTP/1.1 101 "), "{rt:?}: {head}");
        assert!(
            !head.contains("Sec-WebSocket-Protocol"),
            "{rt:?}: not offered: {head}"
        );
        for bad in [
            "header=Connection:close",
            "header=no-colon",
            "subprotocol=a%20b",
        ] {
            let (_, head) = answer_head(addr, &upgrade_request(&format!("/ws?{bad}"), ""));
            assert!(head.starts_with("HTTP/1.1 400 "), "{rt:?} {bad}: {head}");
        }
    }
}

#[test]
fn push_sends_its_text_its_count_of_times_beside_the_echoes() {
    for rt in runtimes() {
        let addr = start_target(rt);
        // Before the upgrade: the server's schedule starts after it.
        let opened = Instant::now();
        let mut raw = open(addr, "/ws?push=3&every=50ms&text=tick");
        raw.send(true, TEXT, b"hello");
        let mut frames = Vec::new();
        while frames
            .iter()
            .filter(|f: &&Frame| f.payload == b"tick")
            .count()
            < 3
        {
            frames.push(raw.read());
        }
        // Every frame whole and a text: three pushes and the echo (in whichever order a busy
        // machine gives them), the last push two intervals after the first at the soonest.
        let text = |payload: &[u8]| Frame {
            fin: true,
            opcode: TEXT,
            payload: payload.to_vec(),
        };
        let mut sorted = frames;
        sorted.sort_by(|a, b| a.payload.cmp(&b.payload));
        let expected = [text(b"hello"), text(b"tick"), text(b"tick"), text(b"tick")];
        assert_eq!(sorted, expected, "{rt:?}");
        assert!(opened.elapsed() >= Duration::from_millis(150), "{rt:?}");
        // And no fourth: four intervals later, the next frame is the next echo.
        std::thread::sleep(Duration::from_millis(200));
        raw.send(true, TEXT, b"done");
        assert_eq!(raw.read().payload, b"done", "{rt:?}");
    }
}

#[test]
fn ping_pings_at_its_interval_whatever_the_heartbeat() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let opened = Instant::now();
        let mut raw = open(addr, "/ws?ping=50ms");
        for _ in 0..3 {
            let ping = raw.read();
            let expected = Frame {
                fin: true,
                opcode: PING,
                payload: ws_echo::test_target::PING_PAYLOAD.as_bytes().to_vec(),
            };
            assert_eq!(ping, expected, "{rt:?}");
            raw.send(true, PONG, &ping.payload);
        }
        assert!(opened.elapsed() >= Duration::from_millis(150), "{rt:?}");
        // The echoes go on between the pings.
        raw.send(true, TEXT, b"still here");
        let echo = loop {
            match raw.read() {
                frame if frame.opcode == PING => continue,
                frame => break frame,
            }
        };
        assert_eq!((echo.opcode, echo.payload), (TEXT, b"still here".to_vec()));
    }
}

#[test]
fn nopong_leaves_the_clients_pings_unanswered_and_echoes_on() {
    for rt in runtimes() {
        let addr = start_target(rt);
        // Without it, the Pong comes first, then the echo.
        let mut answered = open(addr, "/ws?delay=0ms");
        answered.send(true, PING, b"are you there");
        answered.send(true, TEXT, b"after");
        assert_eq!(
            (answered.read(), answered.read().payload),
            (
                Frame {
                    fin: true,
                    opcode: PONG,
                    payload: b"are you there".to_vec()
                },
                b"after".to_vec()
            ),
            "{rt:?}"
        );
        // With it: two pings, of 0 and 200 bytes (a two-byte length), then the echo alone.
        let mut silent = open(addr, "/ws?nopong");
        silent.send(true, PING, b"");
        silent.send(true, PING, &[7; 125]);
        silent.send(true, TEXT, b"after");
        silent.send(true, PING, b"again");
        silent.send(true, BINARY, &[1; 200]);
        assert_eq!(
            silent.read(),
            Frame {
                fin: true,
                opcode: TEXT,
                payload: b"after".to_vec()
            },
            "{rt:?}"
        );
        assert_eq!(silent.read().payload, [1; 200], "{rt:?}");
        // And the close handshake is as usual.
        silent.send(true, CLOSE, &close_payload(1000, ""));
        assert_eq!(silent.read_close(), (1000, String::new()), "{rt:?}");
    }
}

#[test]
fn info_says_what_the_server_does_on_its_own() {
    for rt in runtimes() {
        let addr = start_target(rt);
        let mut raw = open(addr, "/ws?info&push=2&every=1m&text=hi&ping=30s&nopong");
        let info: serde_json::Value = serde_json::from_slice(&raw.read().payload).unwrap();
        let push = serde_json::json!({"times": 2, "every_ms": 60000, "text": "hi"});
        assert_eq!(
            (&info["push"], &info["ping_ms"], &info["nopong"]),
            (&push, &serde_json::json!(30000), &serde_json::json!(true)),
            "{rt:?}"
        );
        let mut plain = open(addr, "/ws?info");
        let info: serde_json::Value = serde_json::from_slice(&plain.read().payload).unwrap();
        let null = serde_json::Value::Null;
        assert_eq!(
            (&info["push"], &info["ping_ms"], &info["nopong"]),
            (&null, &null, &serde_json::json!(false)),
            "{rt:?}"
        );
    }
}
