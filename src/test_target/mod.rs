//! The test target: a [`Handler`] wrapper that makes a connection behave as a client or a proxy
//! under test needs it to, as the upgrade request's query asks: the request as the server saw
//! it (`?info`), late answers (`?delay=200ms`, `?jitter=`), a Close or an abort after some
//! echoes (`?close=4000&after=3`, `?abort`), a refused upgrade (`?status=503`), answers in
//! frames (`?fragment=1024`), a chosen subprotocol and an added header in the 101
//! (`?subprotocol=chat`, `?header=X-Test:yes`), messages and pings the server sends on its own
//! (`?push=5&every=1s&text=tick`, `?ping=500ms`), and pings left unanswered (`?nopong`). A
//! bad control value gets HTTP 400 naming it; a query without
//! controls is served by the wrapped handler alone. TEST_TARGET.md has the table.
//!
//! Built on the public [`Handler`] API alone ([`Handler::on_open`], [`Handler::delivery`],
//! [`Open::Push`], [`Open::NoPong`]);
//! behind the `test-target` feature (on by default).
//!
//! ```
//! # #[cfg(feature = "smol")] {
//! use ws_echo::{runtimes::Runtime, test_target::TestTarget, Config, Echo, Server};
//!
//! let server = Server::bind(Runtime::Smol, "127.0.0.1:0", Config::default()).unwrap();
//! let handler = TestTarget::new(Echo).instance("eu-1");
//! // smol::block_on(server.run(handler))
//! # let _ = (server, handler);
//! # }
//! ```
//!
//! # Metrics
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `ws_echo_test_target_total` | counter | `control` (`info`, `delay`, `jitter`, `close`, `abort`, `fragment`, `subprotocol`, `header`, `push`, `ping`, `nopong`, `status`) | connections that asked for it |
//!
//! Recorded, as ws-echo's own metrics are, once [`metrics::describe`](crate::metrics::describe)
//! has been called.

mod controls;

use std::sync::{Arc, Once};
use std::time::Duration;

use crate::{Connection, Delivery, Handler, Message, Open, Push, Then};

use self::controls::Controls;

/// The counter of controls asked for.
const COUNTER: &str = "ws_echo_test_target_total";

/// A connection asked for these controls.
fn count(controls: &[&'static str]) {
    static DESCRIBED: Once = Once::new();
    if !crate::metrics::recording() {
        return;
    }
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            COUNTER,
            metrics::Unit::Count,
            "Connections that asked the test target for a control, by control"
        );
    });
    for &control in controls {
        metrics::counter!(COUNTER, "control" => control).increment(1);
    }
}

/// Whether a request's query asks a test target for `?info`, by the rule the test target reads
/// it with (the last `info` key wins; given alone, `1` or `true`).
pub fn asks_info(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "info")
        .last()
        .is_some_and(|(_, value)| controls::flag(&value) == Some(true))
}

/// Any [`Handler`], answering as the upgrade request's query asks (see the [module](self)).
///
/// Each connection follows its own request's controls: a [`Server`](crate::Server) clones the
/// handler for every connection, and the clone starts with none.
#[derive(Clone, Debug)]
pub struct TestTarget<H> {
    inner: H,
    /// The instance's name in `?info`.
    instance: Arc<str>,
    /// This connection's controls; `None` until it opened with some.
    controls: Option<Controls>,
    /// Answers given so far.
    answers: u64,
    /// The end is on its way: nothing more is answered.
    ended: bool,
}

impl<H: Handler> TestTarget<H> {
    /// `inner` under the test target's controls; `?info` names the instance `pid` and the
    /// process id.
    pub fn new(inner: H) -> TestTarget<H> {
        TestTarget {
            inner,
            instance: format!("pid {}", std::process::id()).into(),
            controls: None,
            answers: 0,
            ended: false,
        }
    }

    /// This instance's name, as `?info` shows it (which instance behind a load balancer
    /// served a connection).
    pub fn instance(mut self, name: impl Into<String>) -> TestTarget<H> {
        self.instance = name.into().into();
        self
    }
}

impl<H: Handler> Handler for TestTarget<H> {
    fn on_open(&mut self, connection: &Connection<'_>) -> Open {
        // The controls first: a bad one is the answer, whatever the handler says.
        let controls = match Controls::parse(connection.query()) {
            Ok(controls) => controls,
            Err(refusal) => return Open::Refuse(refusal),
        };
        let opened = self.inner.on_open(connection);
        let Some(controls) = controls else {
            return opened;
        };
        let mut steps = Vec::with_capacity(3);
        if let Some(name) = &controls.subprotocol {
            steps.push(Open::Protocol(name.clone()));
        }
        if let Some((name, value)) = &controls.header {
            steps.push(Open::Header(name.clone(), value.clone()));
        }
        if controls.info {
            let chosen = controls
                .subprotocol
                .as_deref()
                .filter(|name| offered(connection).contains(name));
            let protocol = chosen.or(connection.protocol());
            let greeting = info(connection, &self.instance, protocol, &controls);
            steps.push(Open::Greet(greeting));
        }
        steps.extend(own_schedule(&controls));
        steps.push(opened);
        match &controls.end {
            Some(Then::Close(frame)) if controls.after == 0 => {
                steps.push(Open::Close(frame.clone()))
            }
            Some(Then::Abort) if controls.after == 0 => steps.push(Open::Abort),
            _ => {}
        }
        self.controls = Some(controls);
        Open::Sequence(steps)
    }

    fn on_message(&mut self, message: Message) -> Option<Message> {
        if self.ended {
            return None;
        }
        self.inner.on_message(message)
    }

    fn delivery(&mut self, answer: &Message) -> Delivery {
        let mut delivery = self.inner.delivery(answer);
        let Some(controls) = &self.controls else {
            return delivery;
        };
        delivery.delay += controls.delay + jitter(controls.jitter);
        if let Some(size) = controls.fragment {
            delivery.frame_size = Some(delivery.frame_size.map_or(size, |own| own.min(size)));
        }
        self.answers += 1;
        if let Some(end) = controls
            .end
            .as_ref()
            .filter(|_| self.answers >= controls.after)
        {
            delivery.then = end.clone();
            self.ended = true;
        }
        delivery
    }
}

/// What the server does on its own: `?push=`, `?ping=`, `?nopong`.
fn own_schedule(controls: &Controls) -> Vec<Open> {
    let mut steps = Vec::new();
    if let Some(push) = &controls.push {
        let message = Message::text(push.text.as_str());
        steps.push(Open::Push(
            Push::every(push.every, message).times(push.times),
        ));
    }
    if let Some(every) = controls.ping {
        let ping = Message::Ping(PING_PAYLOAD.as_bytes().to_vec().into());
        steps.push(Open::Push(Push::every(every, ping)));
    }
    if controls.nopong {
        steps.push(Open::NoPong);
    }
    steps
}

/// What `?ping=`'s pings carry, for the client's Pong to echo.
pub const PING_PAYLOAD: &str = "test-target";

/// Up to `jitter` more, at random.
fn jitter(jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// The subprotocols the client offered, in order (every `Sec-WebSocket-Protocol` header).
fn offered<'r>(connection: &Connection<'r>) -> Vec<&'r str> {
    connection
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-protocol"))
        .filter_map(|(_, value)| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// The `?info` message: the request as the server saw it, one JSON text; `protocol`, the
/// subprotocol selected; and what the server does on its own as `controls` asked.
fn info(
    connection: &Connection<'_>,
    instance: &str,
    protocol: Option<&str>,
    controls: &Controls,
) -> Message {
    let address = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string());
    let headers: Vec<[String; 2]> = connection
        .headers()
        .map(|(name, value)| [name.to_owned(), String::from_utf8_lossy(value).into_owned()])
        .collect();
    let info = serde_json::json!({
        "id": connection.id(),
        "peer": address(connection.peer()),
        "local": address(connection.local()),
        "method": connection.method(),
        "path": connection.path(),
        "query": connection.query(),
        "headers": headers,
        "protocol": protocol,
        "offered_protocols": offered(connection),
        "extensions": connection.extensions(),
        "instance": instance,
        "push": controls.push.as_ref().map(|push| serde_json::json!({
            "times": push.times,
            "every_ms": push.every.as_millis() as u64,
            "text": push.text,
        })),
        "ping_ms": controls.ping.map(|ping| ping.as_millis() as u64),
        "nopong": controls.nopong,
    });
    Message::text(info.to_string())
}

/// The bundled page ([`Config::bundled_page`](crate::Config::bundled_page)) for `path`, with
/// the test target's controls offered (info, a delay, a close after some echoes), for
/// [`Config::page`](crate::Config::page).
pub fn page(path: &str) -> String {
    crate::page::render(path, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CloseCode, CloseFrame, Echo};

    fn opened(query: &str) -> (TestTarget<Echo>, Open) {
        let mut target = TestTarget::new(Echo).instance("t");
        let request = format!("/ws?{query}");
        let open = target.on_open(&Connection::new("GET", &request, &[]));
        (target, open)
    }

    #[test]
    fn the_end_comes_with_its_counted_answer_and_nothing_is_answered_after_it() {
        let (mut target, open) = opened("close=4000&after=2&reason=bye");
        assert_eq!(open, Open::Sequence(vec![Open::Accept]));
        let answer = Message::text("x");
        assert_eq!(target.delivery(&answer).then, Then::Continue);
        let second = target.delivery(&answer);
        let bye = CloseFrame {
            code: CloseCode::Library(4000),
            reason: "bye".into(),
        };
        assert_eq!(second.then, Then::Close(bye));
        assert_eq!(target.on_message(answer), None);
    }

    #[test]
    fn info_greets_first_and_an_end_after_none_comes_at_once() {
        let (_, open) = opened("info&abort");
        let Open::Sequence(steps) = open else {
            panic!("{open:?}");
        };
        assert!(
            matches!(&steps[0], Open::Greet(Message::Text(t)) if t.contains("\"instance\":\"t\""))
        );
        assert_eq!(steps[1..], [Open::Accept, Open::Abort]);
    }

    #[test]
    fn delay_jitter_and_fragment_shape_every_delivery() {
        let (mut target, _) = opened("delay=10ms&jitter=5ms&fragment=3");
        for _ in 0..100 {
            let delivery = target.delivery(&Message::text("hello"));
            let delay = delivery.delay;
            assert!(delay >= Duration::from_millis(10) && delay <= Duration::from_millis(15));
            assert_eq!(delivery.frame_size, Some(3));
        }
    }

    #[test]
    fn without_controls_the_wrapped_handler_answers_alone() {
        let (mut target, open) = opened("token=abc");
        assert_eq!(open, Open::Accept);
        assert_eq!(target.delivery(&Message::text("x")), Delivery::now());
        let (_, refused) = opened("delay=soon");
        assert!(matches!(refused, Open::Refuse(r) if r.status() == 400));
    }

    #[test]
    fn info_is_asked_by_the_last_info_key() {
        assert!(asks_info("info"));
        assert!(asks_info("a=1&info=true"));
        assert!(!asks_info("info&info=0"));
        assert!(!asks_info("information"));
    }
}
