//! [`serve`] and [`serve_upgraded`]: one connection from its first byte to its last. The upgrade's
//! I/O lives here (reading the request head, writing the answer, lingering after a refusal);
//! what the head gets is decided by [`handshake`](crate::handshake), without I/O, and the
//! WebSocket connection is run by [`echo_loop`](crate::echo_loop).

use std::future::Future;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Config;
use crate::echo_loop::{self, Prelude};
use crate::error::Error;
use crate::handler::Handler;
use crate::handshake::{self, response, Answer, Decision, Refusal, Upgrade};
use crate::linger;
use crate::open::{Connection, Open};
use crate::running::Running;
use crate::summary::Served;
use crate::timer::{later, Timer};

/// Serves one connection on a raw stream: answers the HTTP upgrade (checking the path and
/// origin against `config`), then runs the echo loop with `handler` until the connection ends.
///
/// Returns [`Served::WebSocket`] with the connection's [`Summary`](crate::Summary), [`Served::Page`] when it
/// was a plain `GET /` answered with [`Config::page`], [`Served::Health`] for a health check
/// ([`Config::health`]), or an [`Error`] when no WebSocket
/// connection was established: [`Error::Refused`] after we answered with an HTTP error status,
/// [`Error::HandshakeEof`], [`Error::HandshakeTimeout`] or [`Error::Io`] when the peer went
/// away or took too long first.
///
/// # What each situation gets
///
/// | situation | answer |
/// |---|---|
/// | text / binary message | the same bytes, same type; fragmented input echoed as one message |
/// | ping | pong with the same payload |
/// | the peer's Close(code) | Close with the same code and reason, after every echo due; then the end |
/// | EOF or reset without a Close | the echoes still due, if the peer reads; the summary says which |
/// | protocol error, unmasked frame, reserved bits or opcodes, bad close code | Close 1002 |
/// | invalid UTF-8 in a text message or a close reason | Close 1007 |
/// | a message over [`Config::max_message_size`], a frame over [`Limits::frame_limit`](crate::Limits::frame_limit) | Close 1009 |
/// | the handler panics | that connection gets Close 1011; nothing else is affected |
/// | the shutdown signal ([`Config::shutdown`]) | Close 1001 after echoing what already arrived |
/// | no data for [`Config::idle_timeout`] | Close 1001 "idle timeout" |
/// | silent past [`Config::ping_interval`] + [`Config::pong_timeout`] | dropped: [`Timeout::Unresponsive`](crate::Timeout) |
/// | a write without progress for [`Config::write_timeout`] | dropped: [`Timeout::WriteStalled`](crate::Timeout) |
/// | the upgrade not done within [`Config::handshake_timeout`] | dropped: [`Error::HandshakeTimeout`] |
/// | another path / an origin not allowed | HTTP 404 / 403 |
/// | not a WebSocket upgrade, or a version other than 13 | HTTP 426 with `Sec-WebSocket-Version: 13` |
/// | not GET, not HTTP/1.1, a missing or malformed key / a request head too large | HTTP 400 / 431 |
/// | a plain `GET /` with [`Config::page`] set | 200 and the page |
/// | a plain `GET` of [`Config::health`] | `200 ok`; `503 draining` once the shutdown signal fired |
/// | an upgrade once the shutdown signal fired | HTTP 503 "shutting down, retry later", `Retry-After: 1` |
/// | the handler's [`on_open`](Handler::on_open) answers [`Open::Refuse`](crate::Open) / [`Open::Close`](crate::Open) | that HTTP status / the 101, then that Close |
///
/// An HTTP refusal's body is its one-line reason. Echoes of everything that has already arrived
/// are written before one flush, and the loop stops reading while the socket cannot take its
/// echoes: a peer that floods without reading is held to one message's worth of memory and
/// then dropped by the write timeout. A [`Server`](crate::Server) adds 503 with `Retry-After`
/// over its connection limit.
///
/// # Running it
///
/// Runs on any executor: the stream only has to implement the futures-io traits; its timers
/// are [`Config::timer`]'s. When we end a connection we call the stream's `close` (for TCP,
/// shutting down our sending side) and read until the peer's EOF for up to
/// [`Config::close_timeout`], so that our last Close or HTTP error is not destroyed by a
/// reset; a stream whose `close` does not shut down writing still works, but lingers the full
/// timeout. Not cancel-safe: dropping the future drops the connection without a Close.
///
/// ```
/// use futures_lite::{AsyncRead, AsyncWrite};
/// use ws_echo::Served;
///
/// /// Called by the application for each connection it accepts.
/// async fn on_accept(stream: impl AsyncRead + AsyncWrite + Unpin) {
///     match ws_echo::serve(stream, &ws_echo::Config::default(), ws_echo::Echo).await {
///         Ok(Served::WebSocket(summary)) => log::info!("{summary}"),
///         Ok(_) => log::info!("served the page"),
///         Err(e) => log::info!("no WebSocket connection: {e}"),
///     }
/// }
/// ```
pub async fn serve<S, H>(stream: S, config: &Config, handler: H) -> Result<Served, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    config.check()?;
    let running = Running::of(config);
    serve_as(
        stream,
        Identity::counted(None, None),
        config,
        &running,
        handler,
    )
    .await
}

/// [`serve`] for a connection the application accepted itself and whose addresses it knows:
/// the handler's [`Connection`] carries them.
///
/// ```
/// # #[cfg(feature = "smol")]
/// async fn accept_loop(listener: smol::net::TcpListener) -> std::io::Result<()> {
///     let config = std::sync::Arc::new(ws_echo::Config::default());
///     loop {
///         let (stream, peer) = listener.accept().await?;
///         let local = stream.local_addr()?;
///         let config = std::sync::Arc::clone(&config);
///         smol::spawn(async move {
///             let _ = ws_echo::serve_accepted(stream, peer, local, &config, ws_echo::Echo).await;
///         })
///         .detach();
///     }
/// }
/// ```
pub async fn serve_accepted<S, H>(
    stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    config: &Config,
    handler: H,
) -> Result<Served, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    config.check()?;
    let identity = Identity::counted(Some(peer), Some(local));
    serve_as(stream, identity, config, &Running::of(config), handler).await
}

/// [`serve`], for a connection `identity` says who it is, under `running`, with settings
/// already checked.
pub(crate) async fn serve_as<S, H>(
    stream: S,
    identity: Identity,
    config: &Config,
    running: &Running,
    handler: H,
) -> Result<Served, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let started = Instant::now();
    let deadline = later(started, config.timeouts.handshake);
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let acceptor = futures_rustls::TlsAcceptor::from(std::sync::Arc::clone(tls));
        let accepting = Box::pin(async {
            acceptor
                .accept(stream)
                .await
                .map_err(|e| Error::Tls(format!("handshake failed: {e}")))
        });
        let stream = within(running.timer, deadline, accepting).await?;
        let started = (started, deadline);
        // Boxed: a TLS stream is some 9.5 KB, which every plain connection's future would
        // otherwise reserve as well (12,232 bytes a task against 2,688 without the feature).
        let served = Box::pin(upgrade_and_run(
            stream, config, running, handler, identity, started,
        ));
        return served.await;
    }
    let started = (started, deadline);
    upgrade_and_run(stream, config, running, handler, identity, started).await
}

/// The HTTP upgrade (started at `started.0`, before the deadline `started.1`), then the loop.
async fn upgrade_and_run<S, H>(
    mut stream: S,
    config: &Config,
    running: &Running,
    mut handler: H,
    identity: Identity,
    (started, deadline): (Instant, Instant),
) -> Result<Served, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    // Boxed: its buffers would otherwise stay in every connection's future for its whole life.
    let upgrade = Box::pin(upgrade(
        &mut stream,
        config,
        running,
        &mut handler,
        identity,
    ));
    let (rest, prelude) = match within(running.timer, deadline, upgrade).await? {
        Handshake::Upgraded(rest, prelude) => (rest, prelude),
        Handshake::Answered(served) => return Ok(served),
    };
    crate::metrics::handshake(started.elapsed());
    if identity.logged {
        let (id, peer, local) = (identity.id, Address(identity.peer), Address(identity.local));
        log::info!(
            conn = id, peer:% = peer, local:% = local, event = "open";
            "#{id} new connection {peer} -> {local}"
        );
    }
    let summary = echo_loop::run(stream, rest, config, running, handler, started, prelude).await;
    Ok(Served::WebSocket(summary))
}

/// Who a connection is, as far as the code that accepted it knows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity {
    pub(crate) id: u64,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) local: Option<SocketAddr>,
    /// A [`Server`](crate::Server)'s connection, which logs its upgrade at info (a probe of
    /// the health or metrics endpoint, never upgraded, logs only at debug).
    pub(crate) logged: bool,
}

impl Identity {
    /// A connection whose accepter gave no id: the next of the process's count.
    pub(crate) fn counted(peer: Option<SocketAddr>, local: Option<SocketAddr>) -> Identity {
        Identity {
            id: next_id(),
            peer,
            local,
            logged: false,
        }
    }
}

/// The next connection's id: one count for the whole process, so that two listeners' (or a
/// listener's and an embedder's) connections never share an id in the log.
pub(crate) fn next_id() -> u64 {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    COUNT.fetch_add(1, Ordering::Relaxed) + 1
}

/// An address as a log line shows it, `?` when unknown.
struct Address(Option<SocketAddr>);

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(address) => address.fmt(f),
            None => f.write_str("?"),
        }
    }
}

/// How the handshake went, when it did not fail.
enum Handshake {
    /// Upgraded: the bytes the peer sent after the head (the start of its first frames, if
    /// it did not wait for our 101), and what the connection opens with.
    Upgraded(Vec<u8>, Prelude),
    /// A plain HTTP request, answered: the page or the health check.
    Answered(Served),
}

/// Reads the request head, answers it as [`handshake::decide`] and the handler's
/// [`on_open`](Handler::on_open) say, and lingers after an answer that ends the connection.
///
/// Not cancel-safe: dropping it part-way loses what was read of the request.
async fn upgrade<S, H>(
    stream: &mut S,
    config: &Config,
    running: &Running,
    handler: &mut H,
    identity: Identity,
) -> Result<Handshake, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 2048];
    let (last, served) = loop {
        match handshake::decide(&head, config, running) {
            Decision::NeedMore => {
                // One byte past the limit is enough to tell that the head is too large.
                let room = (config.limits.max_request_head + 1).saturating_sub(head.len());
                let want = room.min(chunk.len());
                let n = stream.read(&mut chunk[..want]).await?;
                if n == 0 {
                    return Err(Error::HandshakeEof);
                }
                head.extend_from_slice(&chunk[..n]);
            }
            Decision::Upgrade {
                mut upgrade,
                request,
                head_len,
            } => match open(handler, &mut upgrade, request, identity) {
                Ok(prelude) => {
                    let answer = response::upgrade_with(&upgrade, &prelude.headers);
                    stream.write_all(answer.as_bytes()).await?;
                    stream.flush().await?;
                    head.drain(..head_len);
                    return Ok(Handshake::Upgraded(head, prelude));
                }
                Err(refusal) => break refused(refusal),
            },
            Decision::Answer(answered) => break answer(answered),
        }
    };
    linger::answer_and_linger(
        stream,
        last.as_bytes(),
        running.timer,
        config.timeouts.close,
    )
    .await?;
    served.map(Handshake::Answered)
}

/// The answer to a plain request (the page, the health check, the metrics) or a refusal, and
/// what it served. Counted as decided, before the answer goes out: whoever reads the answer and
/// then the metrics finds it counted.
fn answer(answer: Answer<'_>) -> (String, Result<Served, Error>) {
    match answer {
        Answer::Page(page) => {
            crate::metrics::page();
            (response::page(page), Ok(Served::Page))
        }
        Answer::Health { draining } => {
            crate::metrics::health_check(draining);
            (response::health(draining), Ok(Served::Health { draining }))
        }
        Answer::Metrics(endpoint) => (response::metrics(&endpoint.render()), Ok(Served::Metrics)),
        Answer::Refuse(refusal) => refused(refusal),
    }
}

/// A refusal's answer, counted, and the error it ends the handshake with.
fn refused(refusal: Refusal) -> (String, Result<Served, Error>) {
    crate::metrics::refused(refusal.status());
    let error = Error::Refused {
        status: refusal.status(),
        reason: refusal.reason(),
    };
    (response::refusal(&refusal), Err(error))
}

/// Asks the handler about an upgrade that passed every check: what the connection opens with
/// (and the subprotocol it prefers, now selected if offered), or the refusal to answer
/// instead of the 101.
fn open<H: Handler>(
    handler: &mut H,
    upgrade: &mut Upgrade,
    request: handshake::Request<'_>,
    identity: Identity,
) -> Result<Prelude, Refusal> {
    let connection = Connection {
        id: identity.id,
        peer: identity.peer,
        local: identity.local,
        method: request.method,
        target: request.target,
        headers: &request.headers,
        protocol: upgrade.protocol(),
        extensions: upgrade.extensions(),
    };
    let mut prelude = Prelude::of(on_open(handler, &connection))?;
    prelude.deflate = upgrade.deflate();
    if let Some(name) = prelude.protocol.take() {
        upgrade.prefer_protocol(name, request.headers.iter().copied());
    }
    Ok(prelude)
}

/// The handler's answer to `connection`; a panic is a refusal with HTTP 500.
pub(crate) fn on_open<H: Handler>(handler: &mut H, connection: &Connection<'_>) -> Open {
    catch_unwind(AssertUnwindSafe(|| handler.on_open(connection))).unwrap_or_else(|_| {
        log::warn!("the handler panicked in on_open; refusing the connection");
        Open::Refuse(Refusal::of(500, "handler failed"))
    })
}

/// Runs a handshake step, failing with [`Error::HandshakeTimeout`] at `deadline`.
fn within<T>(
    timer: Timer,
    deadline: Instant,
    step: impl Future<Output = Result<T, Error>>,
) -> impl Future<Output = Result<T, Error>> {
    future::or(step, async move {
        timer.at(deadline).await;
        Err(Error::HandshakeTimeout)
    })
}
