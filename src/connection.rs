//! The per-connection loop: read -> [`Handler`] -> write, limits, and the close handshake.

use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::error::ProtocolError;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use futures_util::stream::FusedStream;
use futures_util::SinkExt;

use crate::buffered::Buffered;
use crate::liveness::{write_within, Activity, Beat, Heartbeat, Watched};
use crate::shutdown::Watch;
use crate::summary::{Ending, Summary, Timeout};
use crate::timer::{self, later, Clock};
use crate::{handshake, Config, Error, Handler, Shutdown};

/// Messages echoed in one go before we flush and let other tasks run, so that a peer whose
/// input never pauses cannot starve the rest of the executor.
const BATCH: u32 = 64;

/// The same in bytes (64 messages of 16 KiB): 64 large messages would keep the other
/// connections waiting while tens of megabytes go through.
const BATCH_BYTES: u64 = 1 << 20;

/// A close reason may hold 123 bytes: a control frame's 125 less the 2-byte code.
const MAX_REASON: usize = 123;

/// Serves one WebSocket connection on a raw stream: answers the HTTP upgrade (checking the
/// path and origin against `config`), then runs the echo loop with `handler` until the
/// connection ends.
///
/// Returns the connection's [`Summary`], or an [`Error`] when no WebSocket connection was
/// established: [`Error::Refused`] after we answered with an HTTP error status,
/// [`Error::HandshakeEof`] or [`Error::Io`] when the peer went away first.
///
/// Runs on any executor: the stream only has to implement the futures-io traits. When we end
/// a connection we call the stream's `close` (for TCP, shutting down our sending side) and read
/// until the peer's EOF for up to [`Config::close_timeout`], so that our last Close or HTTP error
/// is not destroyed by a reset; a stream whose `close` does not shut down writing still works,
/// but lingers the full timeout. Not cancel-safe: dropping the future drops the connection
/// without a Close.
///
/// ```
/// use futures_lite::{AsyncRead, AsyncWrite};
///
/// /// Called by the application for each connection it accepts.
/// async fn on_accept(stream: impl AsyncRead + AsyncWrite + Unpin) {
///     match ws_echo::serve(stream, &ws_echo::Config::default(), ws_echo::Echo).await {
///         Ok(summary) => log::info!("{summary}"),
///         Err(e) => log::info!("no WebSocket connection: {e}"),
///     }
/// }
/// ```
pub async fn serve<S, H>(stream: S, config: &Config, handler: H) -> Result<Summary, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let started = Instant::now();
    let deadline = later(started, config.handshake_timeout);
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let acceptor = futures_rustls::TlsAcceptor::from(Arc::clone(tls));
        let accepting = Box::pin(async {
            acceptor
                .accept(stream)
                .await
                .map_err(|e| Error::Tls(format!("handshake failed: {e}")))
        });
        let stream = within(config.clock, deadline, accepting).await?;
        return upgrade_and_run(stream, config, handler, started, deadline).await;
    }
    upgrade_and_run(stream, config, handler, started, deadline).await
}

/// The HTTP upgrade (before `deadline`), then the loop.
async fn upgrade_and_run<S, H>(
    mut stream: S,
    config: &Config,
    handler: H,
    started: Instant,
    deadline: Instant,
) -> Result<Summary, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    // Boxed: its buffers would otherwise stay in every connection's future for its whole life.
    let rest = within(
        config.clock,
        deadline,
        Box::pin(handshake::accept(&mut stream, config)),
    )
    .await?;
    Ok(run(stream, rest, config, handler, started).await)
}

/// Runs a handshake step, failing with [`Error::HandshakeTimeout`] at `deadline`.
async fn within<T>(
    clock: Clock,
    deadline: Instant,
    step: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    future::or(step, async {
        clock.at(deadline).await;
        Err(Error::HandshakeTimeout)
    })
    .await
}

/// Runs the echo loop on a stream whose HTTP upgrade was already done by the application's own
/// HTTP layer (it answered 101 itself). Path, origin and version checks are then the
/// application's; limits, timeouts and everything after the upgrade are ours.
///
/// Not cancel-safe, like [`serve`].
pub async fn serve_upgraded<S, H>(stream: S, config: &Config, handler: H) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    run(stream, Vec::new(), config, handler, Instant::now()).await
}

/// Counts kept while the loop runs.
#[derive(Default)]
struct Counts {
    messages_in: u64,
    messages_out: u64,
    bytes_in: u64,
    bytes_out: u64,
}

async fn run<S, H>(
    stream: S,
    rest: Vec<u8>,
    config: &Config,
    mut handler: H,
    started: Instant,
) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let activity = Activity::new();
    let stream = Buffered::new(
        Watched::new(stream, Arc::clone(&activity)),
        config.write_buffer_size,
    );
    let ws_config = Some(config.websocket_config());
    let mut conn = Conn {
        ws: WebSocketStream::from_partially_read(stream, rest, Role::Server, ws_config).await,
        config,
        activity,
    };
    let mut counts = Counts::default();
    let ending = conn.echo(&mut handler, &mut counts).await;
    Summary {
        messages_in: counts.messages_in,
        messages_out: counts.messages_out,
        bytes_in: counts.bytes_in,
        bytes_out: counts.bytes_out,
        duration: started.elapsed(),
        ending,
    }
}

/// One connection after the upgrade.
struct Conn<'a, S> {
    ws: WebSocketStream<Buffered<Watched<S>>>,
    config: &'a Config,
    activity: Arc<Activity>,
}

/// What the loop woke up for.
enum Wake {
    /// A message, an error, or the end of the stream.
    Item(Option<Result<Message, tungstenite::Error>>),
    /// Nothing more has arrived: time to flush.
    Pending,
    /// The batch (or the drain budget) is used up: flush, and let other tasks run.
    Full,
    /// A timer: the heartbeat or the idle timeout.
    Timer,
    /// The shutdown signal.
    Shutdown,
}

impl<S> Conn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The loop itself. Everything that has already arrived is echoed before one flush; only
    /// then do we wait for more input. While the socket cannot take our echoes, `feed` waits
    /// and we stop reading: that is the backpressure.
    async fn echo<H: Handler>(&mut self, handler: &mut H, counts: &mut Counts) -> Ending {
        let mut heartbeat = Heartbeat::new(self.config.ping_interval, self.config.pong_timeout);
        let mut last_data = Instant::now();
        // Messages (or pongs) queued since the last flush.
        let mut unflushed: u32 = 0;
        // Bytes of the messages echoed since the last flush.
        let mut unflushed_bytes: u64 = 0;
        // Shutting down: how many more messages we echo before closing with 1001. What has
        // already arrived is echoed until nothing more is waiting or this budget is spent
        // (a peer that never pauses would otherwise keep us open); the peer learns from the
        // Close that what follows was not taken.
        let mut draining: Option<u32> = None;
        // One timer and one shutdown listener for the connection's life: registering them
        // anew at every wait would cost a reactor round trip per message. Deadlines only ever
        // move later, so the timer is re-armed only when it fires (or when none is set).
        let clock = self.config.clock;
        let mut timer = clock.never();
        let mut armed: Option<Instant> = None;
        let mut shutdown = Watch::new(self.config.shutdown.clone());
        // The last poll of the stream returned Pending, and since then nothing has run but a
        // flush that completed at once, all in the same poll of this task: the stream's waker
        // is registered and no wake-up can have been missed, so the wait that follows need not
        // poll the stream again before it sleeps (that poll would cost a second pass through
        // async-tungstenite and the socket for every message that ends a burst).
        let mut stream_waiting = false;
        loop {
            let skip_stream = std::mem::take(&mut stream_waiting);
            let wake = if unflushed == 0 && draining.is_none() {
                let beat = heartbeat.deadline(self.activity.last_read());
                let idle = self.config.idle_timeout.map(|idle| later(last_data, idle));
                match beat.into_iter().chain(idle).min() {
                    Some(due) if armed.is_none_or(|at| due < at) => {
                        timer.set_at(due);
                        armed = Some(due);
                    }
                    None if armed.is_some() => {
                        timer = clock.never();
                        armed = None;
                    }
                    _ => {}
                }
                let (ws, timer) = (&mut self.ws, &mut timer);
                let mut skip = skip_stream;
                future::poll_fn(|cx| {
                    if !std::mem::take(&mut skip) {
                        if let Poll::Ready(item) = StreamExt::poll_next(ws, cx) {
                            return Poll::Ready(Wake::Item(item));
                        }
                    }
                    if Pin::new(&mut *timer).poll(cx).is_ready() {
                        return Poll::Ready(Wake::Timer);
                    }
                    if shutdown.poll_triggered(cx).is_ready() {
                        return Poll::Ready(Wake::Shutdown);
                    }
                    Poll::Pending
                })
                .await
            } else if unflushed >= BATCH || unflushed_bytes >= BATCH_BYTES || draining == Some(0) {
                Wake::Full
            } else {
                future::poll_once(self.ws.next())
                    .await
                    .map_or(Wake::Pending, Wake::Item)
            };
            let message = match wake {
                Wake::Pending | Wake::Full => {
                    if unflushed > 0 {
                        let (flushed, at_once) = at_once(self.flush()).await;
                        if let Err(ending) = flushed {
                            return ending;
                        }
                        unflushed = 0;
                        unflushed_bytes = 0;
                        stream_waiting = matches!(wake, Wake::Pending) && at_once;
                    }
                    if draining.is_none() && self.shutdown_requested() {
                        draining = Some(BATCH);
                    } else if draining.is_some()
                        && (matches!(wake, Wake::Pending) || draining == Some(0))
                    {
                        // Everything that had arrived is echoed (or the budget is spent).
                        let going_away = close_frame(CloseCode::Away, "going away");
                        return self.close(going_away, self.config.drain_timeout).await;
                    } else if matches!(wake, Wake::Full) {
                        timer::yield_now().await;
                    }
                    continue;
                }
                Wake::Shutdown => {
                    draining = Some(BATCH);
                    continue;
                }
                Wake::Timer => {
                    armed = None; // spent
                    let now = Instant::now();
                    match heartbeat.check(self.activity.last_read(), now) {
                        Beat::Dead(silent) => {
                            return Ending::TimedOut(Timeout::Unresponsive { silent })
                        }
                        Beat::Ping => {
                            let ping = Message::Ping(Default::default());
                            if let Err(ending) = self.write(|ws| ws.send(ping)).await {
                                return ending;
                            }
                        }
                        Beat::Wait => {}
                    }
                    if self
                        .config
                        .idle_timeout
                        .is_some_and(|idle| now >= later(last_data, idle))
                    {
                        let idle = close_frame(CloseCode::Away, "idle timeout");
                        return self.close(idle, self.config.close_timeout).await;
                    }
                    continue;
                }
                Wake::Item(Some(Ok(message))) => message,
                Wake::Item(Some(Err(e))) => return self.fail(e).await,
                // The stream ends only after the close handshake, which returns below first.
                Wake::Item(None) => return Ending::Eof,
            };
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    if self.config.idle_timeout.is_some() {
                        last_data = Instant::now();
                    }
                    if let Some(left) = &mut draining {
                        *left = left.saturating_sub(1);
                    }
                    counts.messages_in += 1;
                    counts.bytes_in += message.len() as u64;
                    let reply = match catch_unwind(AssertUnwindSafe(|| handler.on_message(message)))
                    {
                        Ok(reply) => reply,
                        Err(_) => {
                            log::warn!("the handler panicked; closing the connection with 1011");
                            let failed = close_frame(CloseCode::Error, "handler failed");
                            return self.close(failed, self.config.close_timeout).await;
                        }
                    };
                    match reply {
                        None => {}
                        Some(Message::Close(frame)) => {
                            let frame = frame.unwrap_or_else(|| close_frame(CloseCode::Normal, ""));
                            return self.close(frame, self.config.close_timeout).await;
                        }
                        Some(reply) => {
                            let len = reply.len() as u64;
                            if let Err(ending) = self.write(|ws| ws.feed(reply)).await {
                                return ending;
                            }
                            counts.messages_out += 1;
                            counts.bytes_out += len;
                            unflushed += 1;
                            unflushed_bytes += len;
                        }
                    }
                }
                // tungstenite has queued the pong; the next flush sends it.
                Message::Ping(_) => unflushed += 1,
                Message::Pong(_) | Message::Frame(_) => {}
                Message::Close(frame) => {
                    // tungstenite has queued the same Close back, behind every echo already
                    // fed: flushing sends them all. An error here means the peer is gone.
                    if let Err(ending) = self.flush().await {
                        log::debug!("flushing the close reply failed: {ending}");
                    }
                    return match frame {
                        Some(frame) => Ending::PeerClosed {
                            code: Some(frame.code.into()),
                            reason: frame.reason.to_string(),
                        },
                        None => Ending::PeerClosed {
                            code: None,
                            reason: String::new(),
                        },
                    };
                }
            }
        }
    }

    fn shutdown_requested(&self) -> bool {
        self.config
            .shutdown
            .as_ref()
            .is_some_and(Shutdown::is_triggered)
    }

    /// Runs one write operation under the write timeout.
    async fn write<'w, F, T>(
        &'w mut self,
        op: impl FnOnce(&'w mut WebSocketStream<Buffered<Watched<S>>>) -> F,
    ) -> Result<T, Ending>
    where
        F: Future<Output = Result<T, tungstenite::Error>> + 'w,
    {
        let (clock, timeout) = (self.config.clock, self.config.write_timeout);
        match write_within(clock, &self.activity, timeout, op(&mut self.ws)).await {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(ending_of(e)),
            None => Err(Ending::TimedOut(Timeout::WriteStalled)),
        }
    }

    /// Sends everything queued: tungstenite's output, then our gathering buffer (after the
    /// peer's Close, tungstenite hands its last bytes on without flushing them).
    async fn flush(&mut self) -> Result<(), Ending> {
        self.write(|ws| ws.flush()).await?;
        if self.ws.get_ref().holds_output() {
            self.write(|ws| async { Ok(ws.get_mut().flush().await?) })
                .await?;
        }
        Ok(())
    }

    /// Ends the connection after a read error: bad input gets its close code, a vanished peer
    /// gets the echoes still owed to it if it is still reading.
    async fn fail(&mut self, error: tungstenite::Error) -> Ending {
        use tungstenite::Error as E;
        let code = match &error {
            E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                // EOF: the peer may only have shut down its sending side; hand it what it is
                // owed.
                if let Err(ending) = self.flush().await {
                    log::debug!("flushing after EOF failed: {ending}");
                }
                return Ending::Eof;
            }
            E::Protocol(_) => CloseCode::Protocol,
            E::Utf8(_) => CloseCode::Invalid,
            E::Capacity(_) => CloseCode::Size,
            E::Io(_) => return ending_of(error),
            _ => CloseCode::Error,
        };
        let reason = match &error {
            E::Utf8(_) => "invalid UTF-8".to_owned(),
            other => other.to_string(),
        };
        self.close(close_frame(code, &reason), self.config.close_timeout)
            .await
    }

    /// Sends `frame` (after everything already fed), then waits for the peer's Close or EOF
    /// before letting the connection go, so that our Close is read rather than lost to a
    /// reset; all of it within `close_timeout`.
    async fn close(&mut self, frame: CloseFrame, timeout: Duration) -> Ending {
        let (code, reason) = (frame.code.into(), frame.reason.to_string());
        let ws = &mut self.ws;
        // Completes when the connection has ended on the peer's side: its Close, its EOF, a
        // reset, or a send that fails because it is gone.
        // Boxed, like the handshake: only a closing connection pays for it.
        let closing = Box::pin(async {
            if let Err(e) = ws.send(Message::Close(Some(frame))).await {
                return log::debug!("sending Close failed: {e}");
            }
            if ws.is_terminated() {
                // The WebSocket layer stopped reading after the error.
                return drain(ws.get_mut()).await;
            }
            // Wait for the peer's Close; messages sent after ours are not answered.
            while let Some(Ok(message)) = ws.next().await {
                if message.is_close() {
                    return;
                }
            }
        });
        let dropped = future::or(
            async {
                closing.await;
                false
            },
            async {
                self.config.clock.after(timeout).await;
                true
            },
        )
        .await;
        Ending::ServerClosed {
            code,
            reason,
            dropped,
        }
    }
}

/// Runs `step`, telling also whether it completed on its first poll (without the task having
/// been suspended in between).
async fn at_once<F: Future>(step: F) -> (F::Output, bool) {
    let mut step = pin!(step);
    let mut first = true;
    future::poll_fn(|cx| {
        let was_first = std::mem::replace(&mut first, false);
        step.as_mut().poll(cx).map(|output| (output, was_first))
    })
    .await
}

/// Lets a connection go without losing what we sent last: shuts down our sending side, then
/// discards input until the peer closes or [`Config::close_timeout`] passes. Closing a socket
/// with unread input makes the kernel send a reset, which can destroy our last words (a Close,
/// an HTTP error) before the peer reads them.
pub(crate) async fn linger<S>(stream: &mut S, config: &Config)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    future::or(drain(stream), config.clock.after(config.close_timeout)).await;
}

async fn drain<S>(stream: &mut S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Err(e) = stream.close().await {
        log::debug!("shutting down the write side failed: {e}");
    }
    // On the heap: an array here would sit in every connection's future for its whole life.
    let mut discard = vec![0u8; 4096];
    while let Ok(1..) = stream.read(&mut discard).await {}
}

fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].into(),
    }
}

/// The ending for an error on which no Close can be sent any more.
fn ending_of(error: tungstenite::Error) -> Ending {
    match error {
        tungstenite::Error::Io(e) if is_reset(&e) => Ending::Reset,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => Ending::Eof,
        other => Ending::Failed(other.to_string()),
    }
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}
