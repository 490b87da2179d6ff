//! The handler sees the connection (`Handler::on_open`): what the upgrade carried, the
//! addresses and the id; it greets, closes or refuses. And answers later than at once
//! (`Handler::delay`): pings answered meanwhile, order kept, the bound on what waits, and the
//! drain at shutdown after every waiting answer.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use suite::*;
use ws_echo::{
    CloseCode, CloseFrame, Config, Connection, Delivery, Handler, Message, Open, Refusal,
};

/// What `on_open` saw, as owned values.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    id: u64,
    peer: Option<std::net::SocketAddr>,
    local: Option<std::net::SocketAddr>,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    protocol: Option<String>,
}

/// Records what it saw and answers as `open` says.
#[derive(Clone)]
struct Recording {
    seen: Arc<Mutex<Vec<Seen>>>,
    open: Open,
}

impl Handler for Recording {
    fn on_open(&mut self, c: &Connection<'_>) -> Open {
        self.seen.lock().unwrap().push(Seen {
            id: c.id(),
            peer: c.peer(),
            local: c.local(),
            method: c.method().to_owned(),
            path: c.path().to_owned(),
            query: c.query().map(str::to_owned),
            headers: c
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_vec()))
                .collect(),
            protocol: c.protocol().map(str::to_owned),
        });
        self.open.clone()
    }

    fn on_message(&mut self, message: Message) -> Option<Message> {
        Some(message)
    }
}

fn recording(open: Open) -> Recording {
    Recording {
        seen: Arc::default(),
        open,
    }
}

#[test]
fn on_open_sees_the_request_the_addresses_and_the_id() {
    let mut ids = Vec::new();
    for rt in runtimes() {
        let handler = recording(Open::Accept);
        let config = Config::default().protocol("echo");
        let addr = start_with(rt, config, handler.clone());
        let request = upgrade_request(
            "/ws?room=7&x",
            "X-Probe: one two\r\nSec-WebSocket-Protocol: chat, echo\r\n",
        );
        let (stream, head) = answer_head(addr, &request);
        assert!(head.contains("Sec-WebSocket-Protocol: echo\r\n"), "{head}");
        let mut raw = Raw {
            stream: stream.try_clone().unwrap(),
        };
        raw.send(true, TEXT, b"hi");
        assert_eq!(raw.read().payload, b"hi");
        let seen = handler.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{rt:?}");
        let seen = &seen[0];
        ids.push(seen.id);
        assert_eq!(seen.peer, Some(stream.local_addr().unwrap()), "{rt:?}");
        assert_eq!(seen.local, Some(addr), "{rt:?}");
        assert_eq!(
            (
                seen.method.as_str(),
                seen.path.as_str(),
                seen.query.as_deref()
            ),
            ("GET", "/ws", Some("room=7&x"))
        );
        let names: Vec<&str> = seen.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Host",
                "Upgrade",
                "Connection",
                "Sec-WebSocket-Key",
                "Sec-WebSocket-Version",
                "X-Probe",
                "Sec-WebSocket-Protocol"
            ]
        );
        assert_eq!(seen.headers[5].1, b"one two");
        assert_eq!(seen.protocol.as_deref(), Some("echo"));
        drop(stream.shutdown(std::net::Shutdown::Both));
    }
    // One count for the process: each runtime's server (a listener of its own) gave its first
    // connection an id of its own, not each a #1.
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    assert!(ids.iter().all(|&id| id >= 1), "{ids:?}");
}

#[test]
fn a_greeting_comes_first_then_the_echoes() {
    for rt in runtimes() {
        let addr = start_with(
            rt,
            Config::default(),
            recording(Open::Greet(Message::text("welcome"))),
        );
        let mut raw = Raw::upgrade(addr);
        raw.send(true, TEXT, b"hi");
        let first = raw.read();
        assert_eq!(
            (first.opcode, first.payload),
            (TEXT, b"welcome".to_vec()),
            "{rt:?}"
        );
        assert_eq!(raw.read().payload, b"hi", "{rt:?}");
    }
}

#[test]
fn a_close_from_on_open_follows_the_101_and_an_http_refusal_replaces_it() {
    for rt in runtimes() {
        let frame = CloseFrame {
            code: CloseCode::from(4001),
            reason: "not today".into(),
        };
        let addr = start_with(rt, Config::default(), recording(Open::Close(frame)));
        let mut raw = Raw::upgrade(addr);
        assert_eq!(raw.read_close(), (4001, "not today".to_owned()), "{rt:?}");
        raw.send(true, CLOSE, &close_payload(4001, ""));
        raw.assert_eof();

        let refusal = Refusal::new(401, "log in first").unwrap();
        let addr = start_with(rt, Config::default(), recording(Open::Refuse(refusal)));
        assert_eq!(
            http(addr, &upgrade_request("/ws", "")),
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 13\r\nConnection: close\r\n\r\nlog in first\n",
            "{rt:?}"
        );
    }
}

/// A panic in `on_open` is that connection's HTTP 500; the next connection is served.
#[test]
fn a_panic_in_on_open_is_a_500_for_that_connection_only() {
    #[derive(Clone)]
    struct Picky;
    impl Handler for Picky {
        fn on_open(&mut self, c: &Connection<'_>) -> Open {
            assert!(c.header("x-fine").is_some(), "no x-fine");
            Open::Accept
        }
        fn on_message(&mut self, message: Message) -> Option<Message> {
            Some(message)
        }
    }
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), Picky);
        let answer = http(addr, &upgrade_request("/ws", ""));
        assert!(
            answer.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("\r\n\r\nhandler failed\n"), "{answer}");
        let mut raw = Raw::upgrade_with(addr, &upgrade_request("/ws", "X-Fine: 1\r\n"));
        raw.send(true, TEXT, b"ok");
        assert_eq!(raw.read().payload, b"ok");
    }
}

/// The handler of `Handler`'s docs, as they show it.
#[derive(Clone, Default)]
struct Rooms {
    room: String,
}

impl Handler for Rooms {
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        let room = connection
            .path()
            .strip_prefix("/rooms/")
            .filter(|r| !r.is_empty());
        let Some(room) = room else {
            return Open::Refuse(Refusal::new(404, "no such room").unwrap());
        };
        if connection.header("x-banned").is_some() {
            let reason = "banned".into();
            return Open::Close(CloseFrame {
                code: CloseCode::Policy,
                reason,
            });
        }
        self.room = room.to_owned();
        Open::Greet(Message::text(format!("welcome to {room}")))
    }

    fn on_message(&mut self, message: Message) -> Option<Message> {
        Some(message)
    }

    fn delivery(&mut self, _answer: &Message) -> Delivery {
        Delivery::after(Duration::from_secs(1)).in_frames_of(1024)
    }
}

#[test]
fn the_docs_handler_routes_by_path_and_refuses_by_a_header() {
    let rt = runtimes()[0];
    let addr = start_with(rt, Config::default().path("/rooms/"), Rooms::default());
    let mut tea = Raw::upgrade_with(addr, &upgrade_request("/rooms/tea", ""));
    assert_eq!(tea.read().payload, b"welcome to tea");
    let sent = Instant::now();
    tea.send(true, TEXT, b"milk?");
    assert_eq!(tea.read().payload, b"milk?");
    assert!(
        sent.elapsed() >= Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );

    let mut banned = Raw::upgrade_with(addr, &upgrade_request("/rooms/tea", "X-Banned: yes\r\n"));
    assert_eq!(banned.read_close(), (1008, "banned".to_owned()));
    for path in ["/rooms/", "/lobby"] {
        let answer = http(addr, &upgrade_request(path, ""));
        assert!(
            answer.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{path}: {answer}"
        );
    }
    let answer = http(addr, &upgrade_request("/rooms/", ""));
    assert!(answer.ends_with("no such room\n"), "{answer}");
    let answer = http(addr, &upgrade_request("/lobby", ""));
    assert!(
        answer.ends_with("no WebSocket endpoint at this path\n"),
        "{answer}"
    );
}

/// Delays each answer by what its text says in milliseconds (`"300"`), 0 for binary; notes
/// when each message was handled.
#[derive(Clone, Default)]
struct Slow {
    handled: Arc<Mutex<Vec<Instant>>>,
}

impl Handler for Slow {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        self.handled.lock().unwrap().push(Instant::now());
        Some(message)
    }

    fn delivery(&mut self, answer: &Message) -> Delivery {
        let ms = answer
            .to_text()
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        Delivery::after(Duration::from_millis(ms))
    }
}

#[test]
fn a_delayed_answer_waits_while_pings_are_answered_and_order_is_kept() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), Slow::default());
        let mut raw = Raw::upgrade(addr);
        let sent = Instant::now();
        raw.send(true, TEXT, b"300");
        raw.send(true, BINARY, b"now");
        raw.send(true, PING, b"p");
        let pong = raw.read();
        assert_eq!((pong.opcode, pong.payload), (PONG, b"p".to_vec()), "{rt:?}");
        // The pong came first, in frame order: it was not held behind the late answer.
        let first = raw.read();
        let waited = sent.elapsed();
        assert_eq!(
            (first.opcode, first.payload),
            (TEXT, b"300".to_vec()),
            "{rt:?}"
        );
        assert!(waited >= Duration::from_millis(300), "{rt:?}: {waited:?}");
        // The binary answer had no delay of its own, but goes out after the one before it.
        let second = raw.read();
        assert_eq!(
            (second.opcode, second.payload),
            (BINARY, b"now".to_vec()),
            "{rt:?}"
        );
        raw.send(true, CLOSE, &close_payload(1000, ""));
        assert_eq!(raw.read_close(), (1000, String::new()));
    }
}

/// What waits counts against `max_waiting_answers`: past it nothing more is read until answers
/// have gone, so a client that floods a delayed echo holds a bounded amount of memory.
#[test]
fn waiting_answers_are_bounded_and_reading_resumes_as_they_go() {
    const PAYLOAD: usize = 100;
    const BOUND: usize = 10 * 1024;
    // Each waiting answer counts its payload and 64 bytes: the first ("1000") 68, each binary
    // 164; reading stops once they reach the bound, with the first and 63 others taken.
    const HELD: usize = 1 + (BOUND - 68).div_ceil(PAYLOAD + 64);
    let rt = runtimes()[0];
    let handler = Slow::default();
    let addr = start_with(
        rt,
        Config::default().max_waiting_answers(BOUND),
        handler.clone(),
    );
    let mut raw = Raw::upgrade(addr);
    // The first waits a second; the binary ones have no delay but wait behind it.
    let mut burst = frame(true, TEXT, b"1000", true);
    for _ in 1..200 {
        burst.extend(frame(true, BINARY, &[7; PAYLOAD], true));
    }
    raw.send_raw(&burst);
    for n in 0..200 {
        let echo = raw.read();
        assert_eq!(
            echo.payload.len(),
            if n == 0 { 4 } else { PAYLOAD },
            "echo {n}"
        );
    }
    let handled = handler.handled.lock().unwrap().clone();
    assert_eq!(handled.len(), 200);
    // All 200 came in one write: HELD were taken at once, the next only once the first answer
    // had gone, a second later.
    let first = handled[0];
    let held = (handled.iter())
        .take_while(|at| at.duration_since(first) < Duration::from_secs(1))
        .count();
    assert_eq!(held, HELD, "messages taken while the first answer waited");
    assert!(handled[HELD].duration_since(first) >= Duration::from_secs(1));
}

#[test]
fn shutdown_sends_1001_after_every_waiting_answer() {
    for rt in runtimes() {
        let running = start_server(rt, Config::default(), Slow::default());
        let mut raw = Raw::upgrade(running.addr);
        raw.send(true, TEXT, b"400");
        raw.send(true, TEXT, b"0");
        // Handled (the ping's pong comes after both were taken), then the shutdown.
        raw.send(true, PING, b"");
        assert_eq!(raw.read().opcode, PONG);
        let signalled = Instant::now();
        running.shutdown.trigger();
        assert_eq!(raw.read().payload, b"400", "{rt:?}");
        assert!(signalled.elapsed() >= Duration::from_millis(300), "{rt:?}");
        assert_eq!(raw.read().payload, b"0", "{rt:?}");
        assert_eq!(raw.read_close(), (1001, "going away".to_owned()), "{rt:?}");
    }
}

/// The `Handler` docs' handler that closes after its third answer, with a code of its own.
#[derive(Clone, Default)]
struct ThreeAndOut {
    answered: u32,
}

impl Handler for ThreeAndOut {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        (self.answered < 3).then_some(message)
    }

    fn delivery(&mut self, _answer: &Message) -> Delivery {
        self.answered += 1;
        match self.answered {
            3 => Delivery::now().then_close(CloseFrame {
                code: CloseCode::Library(4000),
                reason: "three is enough".into(),
            }),
            _ => Delivery::now(),
        }
    }
}

#[test]
fn a_handler_closes_after_its_third_answer_and_answers_nothing_more() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default(), ThreeAndOut::default());
        let mut raw = Raw::upgrade(addr);
        // Five at once: the fourth and fifth are read, and not answered.
        let mut burst = Vec::new();
        for n in 1..=5u8 {
            burst.extend(frame(true, BINARY, &[n; 3], true));
        }
        raw.send_raw(&burst);
        for n in 1..=3u8 {
            assert_eq!(raw.read().payload, [n; 3], "{rt:?}");
        }
        assert_eq!(
            raw.read_close(),
            (4000, "three is enough".to_owned()),
            "{rt:?}"
        );
        raw.send(true, CLOSE, &close_payload(4000, ""));
        raw.assert_eof();
    }
}

/// Greets, answers in frames of 4 bytes, and opens with an abort for `/gone`.
#[derive(Clone)]
struct Framed;

impl Handler for Framed {
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        let hello = Open::Greet(Message::text("hello"));
        match connection.path() {
            "/gone" => Open::Sequence(vec![hello, Open::Abort]),
            _ => Open::Sequence(vec![hello, Open::Greet(Message::text("again"))]),
        }
    }

    fn on_message(&mut self, message: Message) -> Option<Message> {
        Some(message)
    }

    fn delivery(&mut self, _answer: &Message) -> Delivery {
        Delivery::now().in_frames_of(4)
    }
}

#[test]
fn a_handler_answers_in_frames_greets_twice_and_aborts_at_open() {
    for rt in runtimes() {
        let addr = start_with(rt, Config::default().path("/"), Framed);
        let mut raw = Raw::upgrade_with(addr, &upgrade_request("/ws", ""));
        assert_eq!(raw.read().payload, b"hello", "{rt:?}");
        assert_eq!(raw.read().payload, b"again", "{rt:?}");
        raw.send(true, TEXT, b"0123456789");
        let frames: Vec<Frame> = (0..3).map(|_| raw.read()).collect();
        let shapes: Vec<(bool, u8, &[u8])> = frames
            .iter()
            .map(|f| (f.fin, f.opcode, f.payload.as_slice()))
            .collect();
        assert_eq!(
            shapes,
            [
                (false, TEXT, &b"0123"[..]),
                (false, CONTINUATION, &b"4567"[..]),
                (true, CONTINUATION, &b"89"[..]),
            ],
            "{rt:?}"
        );
        let mut gone = Raw::upgrade_with(addr, &upgrade_request("/gone", ""));
        assert_eq!(gone.read().payload, b"hello", "{rt:?}");
        gone.assert_eof();
    }
}
