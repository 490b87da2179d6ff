//! The timed-writer client's logic against our server, under each compiled-in runtime.

#![allow(deprecated)] // the async-std adapter is tested while it is supported

use std::time::Duration;

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::Message;
use suite::*;
use ws_echo::client::{ClientConfig, Event};
use ws_echo::{Config, Error, Handler};

/// An address nobody listens on: a port we just released.
fn released_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn config_for(addr: std::net::SocketAddr) -> ClientConfig {
    ClientConfig::new(format!("ws://{addr}/ws")).interval(Duration::from_millis(20))
}

#[test]
fn the_client_gets_every_echo_then_closes_cleanly() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut events = Vec::new();
        let report = run_client(rt, &config_for(addr).count(5), never(), |e| {
            events.push(e.clone())
        })
        .unwrap();
        assert_eq!(
            (
                report.sent,
                report.echoed,
                report.missing,
                report.unexpected
            ),
            (5, 5, 0, 0)
        );
        assert_eq!(report.server_close, None);
        assert_eq!(
            events[0],
            Event::Connected {
                address: addr.to_string(),
                protocol: None,
                extensions: None,
            }
        );
        let echoes: Vec<(u64, String)> = events[1..]
            .iter()
            .map(|e| match e {
                Event::Echo { seq, text, .. } => (*seq, text.clone()),
                other => panic!("unexpected event {other:?}"),
            })
            .collect();
        let expected: Vec<(u64, String)> = (1..=5).map(|i| (i, "Hello World".to_owned())).collect();
        assert_eq!(echoes, expected);
    }
}

#[test]
fn stopping_the_client_closes_with_every_echo_accounted_for() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let (tx, rx) = async_channel::bounded::<()>(1);
        let stop = async move {
            let _ = rx.recv().await;
        };
        let config = config_for(addr).message("custom text");
        let report = run_client(rt, &config, stop, |e| {
            if let Event::Echo { seq: 3, .. } = e {
                let _ = tx.try_send(());
            }
        })
        .unwrap();
        assert_eq!((report.sent, report.echoed, report.missing), (3, 3, 0));
    }
}

/// Echoes the first message, then closes with 4001.
#[derive(Clone, Default)]
struct CloseOnSecond(u32);

impl Handler for CloseOnSecond {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        self.0 += 1;
        if self.0 == 2 {
            return Some(Message::Close(Some(CloseFrame {
                code: CloseCode::from(4001),
                reason: "enough".into(),
            })));
        }
        Some(message)
    }
}

#[test]
fn the_client_reports_the_servers_close_code_and_reason() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), CloseOnSecond::default());
        let mut events = Vec::new();
        let config = config_for(addr).count(5).reconnect(false);
        let report = run_client(rt, &config, never(), |e| events.push(e.clone())).unwrap();
        assert_eq!((report.sent, report.echoed, report.missing), (2, 1, 1));
        assert_eq!(report.server_close, Some((Some(4001), "enough".to_owned())));
        assert_eq!(
            events.last(),
            Some(&Event::ServerClosed {
                code: Some(4001),
                reason: "enough".to_owned()
            })
        );
    }
}

#[test]
fn the_client_fails_with_a_clear_error() {
    for rt in runtimes() {
        let free = released_port();
        match run_client(rt, &config_for(free).fail_fast(true), never(), |_| {}) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
            other => panic!("expected connection refused, got {other:?}"),
        }
        match run_client(
            rt,
            &ClientConfig::new("http://127.0.0.1/ws"),
            never(),
            |_| {},
        ) {
            Err(Error::InvalidUrl { reason, .. }) => {
                assert_eq!(reason, "the scheme must be ws:// or wss://")
            }
            other => panic!("expected an invalid URL, got {other:?}"),
        }
        let addr = start(rt, Config::default().path("/elsewhere"));
        match run_client(rt, &config_for(addr), never(), |_| {}) {
            Err(e @ Error::HttpStatus { status: 404, .. }) => assert_eq!(
                e.to_string(),
                "the server answered HTTP 404 instead of upgrading: \
                 no WebSocket endpoint at this path"
            ),
            other => panic!("expected HTTP 404, got {other:?}"),
        }
        // The server's reason comes with its status.
        let addr = start(
            rt,
            Config::default().allow_origin("https://allowed.example"),
        );
        match run_client(rt, &config_for(addr), never(), |_| {}) {
            Err(Error::HttpStatus { status, reason }) => {
                assert_eq!((status, reason.as_str()), (403, "origin not allowed"))
            }
            other => panic!("expected HTTP 403, got {other:?}"),
        }
    }
}

/// Answers nothing.
#[derive(Clone, Copy)]
struct Mute;

impl Handler for Mute {
    fn on_message(&mut self, _: Message) -> Option<Message> {
        None
    }
}

#[test]
fn with_a_count_the_client_waits_for_missing_echoes_only_as_long_as_the_echo_timeout() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), Mute);
        let config = config_for(addr)
            .count(2)
            .echo_timeout(Duration::from_millis(100));
        let mut unexpected = 0;
        let report = run_client(rt, &config, never(), |e| {
            if let Event::Unexpected { .. } = e {
                unexpected += 1;
            }
        })
        .unwrap();
        assert_eq!((report.sent, report.echoed, report.missing), (2, 0, 2));
        assert_eq!((report.unexpected, unexpected), (0, 0));
    }
}

#[test]
fn a_close_from_the_server_is_one_event_and_the_client_reconnects() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), CloseOnSecond::default());
        let mut events = Vec::new();
        // Each connection closes on its second message: three echoes take three connections.
        // Sends 200 ms apart, so that the server's Close is in before the next send goes out
        // even when other tests load the machine (then exactly one message is resent).
        let config = config_for(addr)
            .interval(Duration::from_millis(200))
            .count(3)
            .backoff(Duration::from_millis(1), Duration::from_millis(1));
        let report = run_client(rt, &config, never(), |e| events.push(e.clone())).unwrap();
        assert_eq!((report.echoed, report.reconnects), (3, 2));
        let closes: Vec<usize> = (events.iter().enumerate())
            .filter(|(_, e)| {
                matches!(
                    e,
                    Event::ServerClosed {
                        code: Some(4001),
                        ..
                    }
                )
            })
            .map(|(at, _)| at)
            .collect();
        assert_eq!(closes.len(), 2, "{events:?}");
        for at in closes {
            assert!(
                matches!(events[at + 1], Event::Reconnected { resending: 1, .. }),
                "no LinkDown between the Close and the reconnect: {events:?}"
            );
        }
        assert!(!events.iter().any(|e| matches!(e, Event::LinkDown { .. })));
    }
}

#[test]
fn an_http_1_0_server_is_named_by_its_status_not_by_its_version() {
    for rt in runtimes() {
        // What `python3 -m http.server` answers to any upgrade request.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            stream
                .write_all(b"HTTP/1.0 404 File not found\r\nServer: SimpleHTTP/0.6\r\n\r\nnope")
                .unwrap();
        });
        match run_client(rt, &config_for(addr), never(), |_| {}) {
            Err(e @ Error::HttpStatus { status: 404, .. }) => assert_eq!(
                e.to_string(),
                "the server answered HTTP 404 instead of upgrading: \
                 an HTTP/1.0 answer: File not found"
            ),
            other => panic!("expected HTTP 404, got {other:?}"),
        }
    }
}

#[test]
fn the_client_offers_its_subprotocols_and_is_told_the_one_selected() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().protocol("echo"));
        let config = config_for(addr).protocol("mqtt").protocol("echo").count(2);
        let mut connected = None;
        let report = run_client(rt, &config, never(), |e| {
            if let Event::Connected { protocol, .. } = e {
                connected = Some(protocol.clone());
            }
        })
        .unwrap();
        assert_eq!(connected, Some(Some("echo".to_owned())), "{rt:?}");
        assert_eq!((report.sent, report.echoed, report.missing), (2, 2, 0));
        // An offer the server speaks none of: the server serves it without a protocol, and
        // the client, having asked for one, says so and does not go on.
        let config = config_for(addr).protocol("mqtt").count(2).reconnect(false);
        let error = run_client(rt, &config, never(), |_| {}).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the server selected none of the subprotocols offered (mqtt)",
            "{rt:?}"
        );
    }
}

/// A handler that fails on every message: each connection gets Close 1011.
#[derive(Clone)]
struct Failing;

impl ws_echo::Handler for Failing {
    fn on_message(
        &mut self,
        _: async_tungstenite::tungstenite::Message,
    ) -> Option<async_tungstenite::tungstenite::Message> {
        panic!("this handler fails on purpose");
    }
}

#[test]
fn error_closes_and_a_run_that_ends_while_reconnecting_are_in_the_report() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), Failing);
        let (tx, rx) = async_channel::bounded::<()>(1);
        let stop = async move {
            let _ = rx.recv().await;
        };
        let mut closes = Vec::new();
        let mut failed_attempts = 0;
        let config = config_for(addr).backoff(Duration::from_millis(10), Duration::from_millis(20));
        let report = run_client(rt, &config, stop, |e| match e {
            Event::ServerClosed { code, .. } => {
                closes.push(*code);
                if closes.len() == 2 {
                    let _ = tx.try_send(());
                }
            }
            Event::ReconnectFailed { .. } => failed_attempts += 1,
            _ => {}
        })
        .unwrap();
        assert_eq!(closes, [Some(1011), Some(1011)], "{rt:?}");
        assert_eq!(failed_attempts, 0, "{rt:?}: the server was there");
        assert_eq!(
            (
                report.abnormal_closes,
                report.reconnects,
                report.down_at_end
            ),
            (2, 1, true),
            "{rt:?}: stopped after the second 1011, before reconnecting"
        );
        assert!(report.connect_time > Duration::ZERO && report.handshake_time > Duration::ZERO);
    }
}

/// A stop that comes after `after`, on a thread of its own.
fn stop_after(after: Duration) -> impl std::future::Future<Output = ()> {
    let (tx, rx) = async_channel::bounded::<()>(1);
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let _ = tx.try_send(());
    });
    async move {
        let _ = rx.recv().await;
    }
}

/// Without `fail_fast`, a first connection that is refused is tried again with the backoff,
/// each failure an event, until the run is stopped: then a report with nothing sent and the
/// link down at the end. A refusal that will not pass (404) is an error at once all the same.
#[test]
fn the_first_connection_is_retried_while_its_failure_may_pass() {
    for rt in runtimes() {
        let free = released_port();
        let config = config_for(free).backoff(Duration::from_millis(20), Duration::from_millis(40));
        let mut attempts = Vec::new();
        let report = run_client(rt, &config, stop_after(Duration::from_millis(400)), |e| {
            if let Event::ConnectFailed {
                attempt,
                next_in,
                error,
                ..
            } = e
            {
                assert!(error.contains("refused"), "{error}");
                assert!(
                    *next_in >= Duration::from_millis(10) && *next_in <= Duration::from_millis(40)
                );
                attempts.push(*attempt);
            }
        })
        .unwrap();
        assert!(attempts.len() >= 3, "{rt:?}: {attempts:?}");
        assert_eq!(
            attempts,
            (1..=attempts.len() as u64).collect::<Vec<_>>(),
            "{rt:?}"
        );
        assert_eq!(
            (report.sent, report.echoed, report.down_at_end),
            (0, 0, true),
            "{rt:?}"
        );
        let addr = start(rt, Config::default().path("/elsewhere"));
        let error = run_client(rt, &config_for(addr), never(), |_| {}).unwrap_err();
        assert!(
            matches!(error, Error::HttpStatus { status: 404, .. }),
            "{rt:?}: {error:?}"
        );
    }
}

/// A server that closes every session at once (1011, as a crash-looping backend would): the
/// waits keep doubling across sessions, from 20 ms: in 1.2 s, at most 7 sessions (one at the
/// start, then after at least 10, 20, 40, ... ms), where a backoff that started again at every
/// session would open dozens.
#[test]
fn sessions_closed_at_once_make_the_backoff_grow() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), Failing);
        let config = config_for(addr).backoff(Duration::from_millis(20), Duration::from_secs(1));
        let mut closes = 0;
        let report = run_client(rt, &config, stop_after(Duration::from_millis(1200)), |e| {
            if let Event::ServerClosed {
                code: Some(1011), ..
            } = e
            {
                closes += 1;
            }
        })
        .unwrap();
        assert!((3..=7).contains(&closes), "{rt:?}: {closes} sessions");
        assert_eq!(report.reconnects + 1, closes, "{rt:?}: {report:?}");
    }
}

/// Close 1009 for a message over the server's limit: counted as refused, never sent again,
/// and the run ends by itself (every later message would be refused too).
#[test]
fn a_message_refused_as_too_big_is_counted_and_not_sent_again() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().max_message_size(5));
        let config = config_for(addr).message("Hello World");
        let mut closes = Vec::new();
        let report = run_client(rt, &config, never(), |e| {
            if let Event::ServerClosed { code, .. } = e {
                closes.push(*code);
            }
        })
        .unwrap();
        assert_eq!(closes, [Some(1009)], "{rt:?}");
        assert_eq!(
            (
                report.sent,
                report.echoed,
                report.missing,
                report.refused,
                report.resent,
                report.reconnects
            ),
            (1, 0, 0, 1, 0, 0),
            "{rt:?}: {report:?}"
        );
        assert_eq!(
            report.server_close.map(|(code, _)| code),
            Some(Some(1009)),
            "{rt:?}"
        );
    }
}
