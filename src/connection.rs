//! The per-connection loop: read -> [`Handler`] -> write, limits, and the close handshake.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use async_io::Timer;
use async_tungstenite::tungstenite::error::ProtocolError;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use futures_util::stream::FusedStream;
use futures_util::SinkExt;

use crate::summary::{Ending, Summary};
use crate::{handshake, Config, Error, Handler};

/// Messages echoed in one go before we flush and let other tasks run, so that a peer whose
/// input never pauses cannot starve the rest of the executor.
const BATCH: u32 = 64;

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
pub async fn serve<S, H>(mut stream: S, config: &Config, handler: H) -> Result<Summary, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let started = Instant::now();
    let rest = handshake::accept(&mut stream, config).await?;
    let ws = WebSocketStream::from_partially_read(
        stream,
        rest,
        Role::Server,
        Some(config.websocket_config()),
    )
    .await;
    Ok(run(ws, config, handler, started).await)
}

/// Runs the echo loop on a stream whose HTTP upgrade was already done by the application's own
/// HTTP layer (it answered 101 itself). Path, origin and version checks are then the
/// application's; limits and everything after the upgrade are ours.
///
/// Not cancel-safe, like [`serve`].
pub async fn serve_upgraded<S, H>(stream: S, config: &Config, handler: H) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let started = Instant::now();
    let ws =
        WebSocketStream::from_raw_socket(stream, Role::Server, Some(config.websocket_config()))
            .await;
    run(ws, config, handler, started).await
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
    mut ws: WebSocketStream<S>,
    config: &Config,
    mut handler: H,
    started: Instant,
) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let mut counts = Counts::default();
    let ending = echo(&mut ws, config, &mut handler, &mut counts).await;
    Summary {
        messages_in: counts.messages_in,
        messages_out: counts.messages_out,
        bytes_in: counts.bytes_in,
        bytes_out: counts.bytes_out,
        duration: started.elapsed(),
        ending,
    }
}

/// The loop itself. Everything that has already arrived is echoed before one flush; only then
/// do we wait for more input. While the socket cannot take our echoes, `feed` waits and we
/// stop reading: that is the backpressure.
async fn echo<S, H>(
    ws: &mut WebSocketStream<S>,
    config: &Config,
    handler: &mut H,
    counts: &mut Counts,
) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    // Messages (or pongs) queued since the last flush.
    let mut unflushed: u32 = 0;
    loop {
        // `None`: nothing more has arrived (or the batch is full); `Some(None)`: the end.
        let item = if unflushed == 0 {
            Some(ws.next().await)
        } else if unflushed >= BATCH {
            None
        } else {
            future::poll_once(ws.next()).await
        };
        let message = match item {
            None => {
                if let Err(e) = ws.flush().await {
                    return ending_of(e);
                }
                if unflushed >= BATCH {
                    future::yield_now().await;
                }
                unflushed = 0;
                continue;
            }
            Some(Some(Ok(message))) => message,
            Some(Some(Err(e))) => return fail(ws, config, e).await,
            // The stream ends only after the close handshake, which returns below first.
            Some(None) => return Ending::Eof,
        };
        match message {
            Message::Text(_) | Message::Binary(_) => {
                counts.messages_in += 1;
                counts.bytes_in += message.len() as u64;
                let reply = match catch_unwind(AssertUnwindSafe(|| handler.on_message(message))) {
                    Ok(reply) => reply,
                    Err(_) => {
                        log::warn!("the handler panicked; closing the connection with 1011");
                        let frame = close_frame(CloseCode::Error, "handler failed");
                        return close(ws, config, frame).await;
                    }
                };
                match reply {
                    None => {}
                    Some(Message::Close(frame)) => {
                        let frame = frame.unwrap_or_else(|| close_frame(CloseCode::Normal, ""));
                        return close(ws, config, frame).await;
                    }
                    Some(reply) => {
                        let len = reply.len() as u64;
                        if let Err(e) = ws.feed(reply).await {
                            return ending_of(e);
                        }
                        counts.messages_out += 1;
                        counts.bytes_out += len;
                        unflushed += 1;
                    }
                }
            }
            // tungstenite has queued the pong; the next flush sends it.
            Message::Ping(_) => unflushed += 1,
            Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(frame) => {
                // tungstenite has queued the same Close back, behind every echo already fed:
                // flushing sends them all. An error here means the peer is gone already.
                if let Err(e) = ws.flush().await {
                    log::debug!("flushing the close reply failed: {e}");
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

/// Ends the connection after a read error: bad input gets its close code, a vanished peer
/// gets the echoes still owed to it if it is still reading.
async fn fail<S>(ws: &mut WebSocketStream<S>, config: &Config, error: tungstenite::Error) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use tungstenite::Error as E;
    let code = match &error {
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            // EOF: the peer may only have shut down its sending side; hand it what it is owed.
            if let Err(e) = ws.flush().await {
                log::debug!("flushing after EOF failed: {e}");
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
    close(ws, config, close_frame(code, &reason)).await
}

/// Sends `frame` (after everything already fed), then waits up to `close_timeout` for the
/// peer's Close or EOF before letting the connection go, so that our Close is read rather than
/// lost to a reset.
async fn close<S>(ws: &mut WebSocketStream<S>, config: &Config, frame: CloseFrame) -> Ending
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ending = Ending::ServerClosed {
        code: frame.code.into(),
        reason: frame.reason.to_string(),
    };
    if let Err(e) = ws.send(Message::Close(Some(frame))).await {
        log::debug!("sending Close failed: {e}");
        return ending;
    }
    let linger = async {
        if ws.is_terminated() {
            // The WebSocket layer stopped reading after the error.
            drain(ws.get_mut()).await;
        } else {
            // Wait for the peer's Close; messages sent after ours are not answered.
            while let Some(Ok(_)) = ws.next().await {}
        }
    };
    future::or(linger, sleep(config.close_timeout)).await;
    ending
}

/// Lets a connection go without losing what we sent last: shuts down our sending side, then
/// discards input until the peer closes or `timeout` passes. Closing a socket with unread input
/// makes the kernel send a reset, which can destroy our last words (a Close, an HTTP error)
/// before the peer reads them.
pub(crate) async fn linger<S>(stream: &mut S, timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    future::or(drain(stream), sleep(timeout)).await;
}

async fn drain<S>(stream: &mut S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Err(e) = stream.close().await {
        log::debug!("shutting down the write side failed: {e}");
    }
    let mut discard = [0u8; 4096];
    while let Ok(1..) = stream.read(&mut discard).await {}
}

async fn sleep(duration: Duration) {
    Timer::after(duration).await;
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
