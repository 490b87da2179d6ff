//! Limits and bad input after the upgrade: each gets its close code, and others keep being
//! served.

use async_tungstenite::tungstenite::Message;
use suite::*;
use ws_echo::{Config, Echo, Handler};

#[test]
fn a_message_over_the_limit_gets_close_1009() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().max_message_size(1000));
        // Exactly at the limit is fine.
        let mut raw = Raw::upgrade(addr);
        raw.send(true, BINARY, &[7u8; 1000]);
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: BINARY,
                payload: vec![7u8; 1000]
            }
        );
        // One byte over, in a single frame.
        raw.send(true, BINARY, &[7u8; 1001]);
        let (code, _reason) = raw.read_close();
        assert_eq!(code, 1009);
        raw.assert_eof();
        // One byte over, in fragments that are each under the limit.
        let mut raw = Raw::upgrade(addr);
        raw.send(false, TEXT, &[b'a'; 600]);
        raw.send(true, CONTINUATION, &[b'a'; 401]);
        assert_eq!(raw.read_close().0, 1009);
        raw.assert_eof();
        // A large oversize message the server stops reading part-way: the Close still arrives.
        let mut raw = Raw::upgrade(addr);
        raw.send(true, BINARY, &vec![1u8; 4 << 20]);
        assert_eq!(raw.read_close().0, 1009);
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("served")),
            Message::text("served")
        );
    }
}

/// A message limit set above the default lets single frames that large through: the frame
/// limit follows the message limit unless set on its own.
#[test]
fn the_frame_limit_follows_the_message_limit_unless_set_on_its_own() {
    const MIB: usize = 1 << 20;
    for rt in runtimes() {
        let addr = start(rt, Config::default().max_message_size(16 * MIB));
        let mut raw = Raw::upgrade(addr);
        for size in [4 * MIB, 8 * MIB, 16 * MIB] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            raw.send(true, BINARY, &payload);
            let echo = raw.read();
            assert_eq!((echo.fin, echo.opcode), (true, BINARY), "{rt:?}: {size}");
            assert!(
                echo.payload == payload,
                "{rt:?}: the {size}-byte echo differs"
            );
        }
        raw.send(true, BINARY, &vec![3u8; 16 * MIB + 1]);
        assert_eq!(raw.read_close().0, 1009, "{rt:?}: one byte over 16 MiB");

        // Set on its own, the frame limit holds below the message limit: a 2 MiB frame is
        // refused, the same 2 MiB in two 1 MiB fragments is echoed whole.
        let config = Config::default()
            .max_message_size(16 * MIB)
            .max_frame_size(MIB);
        let addr = start(rt, config);
        let mut raw = Raw::upgrade(addr);
        raw.send(false, BINARY, &vec![5u8; MIB]);
        raw.send(true, CONTINUATION, &vec![5u8; MIB]);
        let echo = raw.read();
        assert_eq!(echo.opcode, BINARY);
        assert!(echo.payload == vec![5u8; 2 * MIB], "{rt:?}: fragments");
        raw.send(true, BINARY, &vec![5u8; 2 * MIB]);
        assert_eq!(raw.read_close().0, 1009, "{rt:?}: a 2 MiB frame over 1 MiB");
    }
}

#[test]
fn invalid_utf8_in_text_gets_close_1007() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade(addr);
        raw.send(true, TEXT, b"ok \xff\xfe");
        assert_eq!(raw.read_close(), (1007, "invalid UTF-8".to_owned()));
        raw.assert_eof();
        // Split across fragments: a multi-byte character cut in two is fine...
        let mut raw = Raw::upgrade(addr);
        raw.send(false, TEXT, &"é".as_bytes()[..1]);
        raw.send(true, CONTINUATION, &"é".as_bytes()[1..]);
        assert_eq!(raw.read().payload, "é".as_bytes());
        // ...but an invalid sequence is not.
        raw.send(false, TEXT, b"\xc3");
        raw.send(true, CONTINUATION, b"\x28");
        assert_eq!(raw.read_close().0, 1007);
    }
}

#[test]
fn protocol_errors_get_close_1002() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unmasked frame", frame(true, TEXT, b"hi", false)),
        ("reserved bit", {
            let mut f = frame(true, TEXT, b"hi", true);
            f[0] |= 0x40;
            f
        }),
        ("reserved opcode", frame(true, 0x3, b"hi", true)),
        ("reserved control opcode", frame(true, 0xB, b"", true)),
        (
            "continuation without start",
            frame(true, CONTINUATION, b"hi", true),
        ),
        ("fragmented ping", frame(false, PING, b"hi", true)),
        ("ping over 125 bytes", frame(true, PING, &[0u8; 126], true)),
        ("one-byte close payload", frame(true, CLOSE, &[3], true)),
        ("new message inside a fragmented one", {
            let mut f = frame(false, TEXT, b"a", true);
            f.extend(frame(true, TEXT, b"b", true));
            f
        }),
    ];
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        for (what, bytes) in &cases {
            let mut raw = Raw::upgrade(addr);
            raw.send_raw(bytes);
            assert_eq!(raw.read_close().0, 1002, "{what} under {rt:?}");
            raw.assert_eof();
        }
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("served")),
            Message::text("served")
        );
    }
}

#[test]
fn close_codes_that_may_not_be_sent_are_answered_with_1002() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        for code in [999u16, 1004, 1005, 1006, 1015, 2999] {
            let mut raw = Raw::upgrade(addr);
            raw.send(true, CLOSE, &close_payload(code, ""));
            assert_eq!(raw.read_close().0, 1002, "code {code} under {rt:?}");
            raw.assert_eof();
        }
    }
}

/// Panics on "boom" in `on_message`, or on "late boom" in `delivery`.
#[derive(Clone)]
struct PanicsOnBoom;

impl Handler for PanicsOnBoom {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        assert!(
            message != Message::text("boom"),
            "the handler was told to panic"
        );
        Some(message)
    }

    fn delivery(&mut self, answer: &Message) -> ws_echo::Delivery {
        assert!(
            *answer != Message::text("late boom"),
            "the handler was told to panic in delivery"
        );
        ws_echo::Delivery::now()
    }
}

#[test]
fn a_panicking_handler_gets_close_1011_and_others_are_unaffected() {
    for (rt, boom) in runtimes()
        .into_iter()
        .flat_map(|rt| [(rt, &b"boom"[..]), (rt, &b"late boom"[..])])
    {
        let addr = start_with(rt, Config::default(), PanicsOnBoom);
        let mut bystander = connect(addr);
        assert_eq!(
            round_trip(&mut bystander, Message::text("before")),
            Message::text("before")
        );
        let mut raw = Raw::upgrade(addr);
        raw.send(true, TEXT, boom);
        assert_eq!(raw.read_close(), (1011, "handler failed".to_owned()));
        // The server waits for our answer to its Close, then ends the connection.
        raw.send(true, CLOSE, &close_payload(1011, ""));
        raw.assert_eof();
        assert_eq!(
            round_trip(&mut bystander, Message::text("after")),
            Message::text("after")
        );
    }
}

#[test]
fn invalid_utf8_in_a_close_reason_gets_close_1007() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade(addr);
        let mut payload = close_payload(1000, "");
        payload.extend_from_slice(b"\xff\xfe");
        raw.send(true, CLOSE, &payload);
        assert_eq!(raw.read_close().0, 1007);
        raw.assert_eof();
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("served")),
            Message::text("served")
        );
    }
}

#[test]
fn over_the_connection_limit_gets_503_with_retry_after_and_a_freed_place_is_reused() {
    for rt in runtimes() {
        let server = ws_echo::Server::bind(rt, "127.0.0.1:0", Config::default()).unwrap();
        let addr = start_bound(rt, server.max_connections(Some(2)), Echo).addr;
        let mut first = connect(addr);
        let mut second = connect(addr);
        let answer = http(addr, &upgrade_request("/ws", ""));
        assert_eq!(
            answer,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 34\r\nConnection: close\r\nRetry-After: 1\r\n\r\n\
             too many connections, retry later\n"
        );
        assert_eq!(
            round_trip(&mut first, Message::text("one")),
            Message::text("one")
        );
        assert_eq!(
            round_trip(&mut second, Message::text("two")),
            Message::text("two")
        );
        // When one leaves, its place is free again.
        first.close(None).unwrap();
        while first.read().is_ok() {}
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        let mut third = loop {
            // The server frees the place when the connection's task ends, just after our EOF.
            if let Ok((ws, _)) = async_tungstenite::tungstenite::client(
                format!("ws://{addr}/ws"),
                std::net::TcpStream::connect(addr).unwrap(),
            ) {
                break ws;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the place was never freed"
            );
        };
        assert_eq!(
            round_trip(&mut third, Message::text("three")),
            Message::text("three")
        );
    }
}

#[test]
fn settings_that_cannot_work_are_refused_up_front() {
    for rt in runtimes() {
        for (config, message) in [
            (
                Config::default().path("ws"),
                "invalid setting: the path \"ws\" must start with /",
            ),
            (
                Config::default().max_message_size(0),
                "invalid setting: max_message_size must be above 0",
            ),
            (
                Config::default().max_frame_size(0),
                "invalid setting: max_frame_size must be above 0",
            ),
        ] {
            let error = ws_echo::Server::bind(rt, "127.0.0.1:0", config.clone()).unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
            assert_eq!(error.to_string(), message);
            // serve says the same, without answering anything.
            let mut stream = futures_lite::io::Cursor::new(Vec::new());
            let served = futures_lite::future::block_on(ws_echo::serve(&mut stream, &config, Echo));
            assert_eq!(served.unwrap_err().to_string(), message);
            assert!(stream.into_inner().is_empty());
        }
        let server = ws_echo::Server::bind(rt, "127.0.0.1:0", Config::default()).unwrap();
        let error = block_on(rt, server.max_connections(Some(0)).run(Echo)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "max_connections of 0 would refuse every connection"
        );
    }
}

/// Connects to `addr` from the loopback address `from` (127.0.0.2, ...) and upgrades.
fn upgrade_from(from: [u8; 4], addr: std::net::SocketAddr) -> std::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let source = std::net::SocketAddr::from((from, 0));
    socket.bind(&source.into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    std::io::Write::write_all(&mut stream, upgrade_request("/ws", "").as_bytes()).unwrap();
    stream
}

/// What the server first answers on `stream`, up to `len` bytes or its end.
fn answer(stream: &mut std::net::TcpStream, len: usize) -> String {
    let mut answer = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match std::io::Read::read(stream, &mut answer[got..]).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    String::from_utf8_lossy(&answer[..got]).into_owned()
}

#[test]
fn past_its_limit_one_address_gets_429_and_another_is_served() {
    const ACCEPTED: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    const TOO_MANY: &str = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; \
                            charset=utf-8\r\nContent-Length: 52\r\nConnection: close\r\n\
                            Retry-After: 1\r\n\r\ntoo many connections from your address, retry later\n";
    for rt in runtimes() {
        let server = ws_echo::Server::bind(rt, "127.0.0.1:0", Config::default()).unwrap();
        let server = start_bound(rt, server.max_connections_per_ip(Some(2)), Echo);
        let addr = server.addr;
        let mut first = upgrade_from([127, 0, 0, 2], addr);
        let mut second = upgrade_from([127, 0, 0, 2], addr);
        assert_eq!(answer(&mut first, ACCEPTED.len()), ACCEPTED, "{rt:?}");
        assert_eq!(answer(&mut second, ACCEPTED.len()), ACCEPTED, "{rt:?}");
        let mut third = upgrade_from([127, 0, 0, 2], addr);
        assert_eq!(
            answer(&mut third, TOO_MANY.len() + 1),
            TOO_MANY,
            "{rt:?}: the third from .2"
        );
        let mut other = upgrade_from([127, 0, 0, 3], addr);
        assert_eq!(
            answer(&mut other, ACCEPTED.len()),
            ACCEPTED,
            "{rt:?}: .3 is served"
        );
        // One of .2's ends: its place is free again.
        drop(first);
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        let mut retries = 0;
        let again = loop {
            let mut stream = upgrade_from([127, 0, 0, 2], addr);
            let got = answer(&mut stream, ACCEPTED.len());
            if got == ACCEPTED {
                break stream;
            }
            assert_eq!(got, &TOO_MANY[..ACCEPTED.len()], "{rt:?}");
            retries += 1;
            assert!(
                std::time::Instant::now() < deadline,
                "{rt:?}: the place was never freed"
            );
        };
        let mut raw = Raw {
            stream: again.try_clone().unwrap(),
        };
        raw.send(true, TEXT, b"served again");
        assert_eq!(raw.read().payload, b"served again");
        // The 429s are refusals: the third, and any retry before the server saw the end.
        assert_eq!(server.stats.snapshot().refused, 1 + retries, "{rt:?}");
        drop((again, second, other));
    }
    let server = ws_echo::Server::bind(runtimes()[0], "127.0.0.1:0", Config::default()).unwrap();
    let error = block_on(
        runtimes()[0],
        server.max_connections_per_ip(Some(0)).run(Echo),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "max_connections_per_ip of 0 would refuse every connection"
    );
}
