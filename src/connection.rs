//! [`serve`] and [`serve_upgraded`]: one connection from its first byte to its last. The upgrade's
//! I/O lives here (reading the request head, writing the answer, lingering after a refusal);
//! what the head gets is decided by [`handshake`](crate::handshake), without I/O, and the
//! WebSocket connection is run by [`echo_loop`](crate::echo_loop).

use std::future::Future;
use std::time::Instant;

use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::handshake::{self, Decision};
use crate::timer::{later, Timer};
use crate::{echo_loop, linger, Config, Error, Handler, Served, Summary};

/// Serves one connection on a raw stream: answers the HTTP upgrade (checking the path and
/// origin against `config`), then runs the echo loop with `handler` until the connection ends.
///
/// Returns [`Served::WebSocket`] with the connection's [`Summary`], [`Served::Page`] when it
/// was a plain `GET /` answered with [`Config::page`], or an [`Error`] when no WebSocket
/// connection was established: [`Error::Refused`] after we answered with an HTTP error status,
/// [`Error::HandshakeEof`], [`Error::HandshakeTimeout`] or [`Error::Io`] when the peer went
/// away or took too long first.
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
    let started = Instant::now();
    let deadline = later(started, config.handshake_timeout);
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let acceptor = futures_rustls::TlsAcceptor::from(std::sync::Arc::clone(tls));
        let accepting = Box::pin(async {
            acceptor
                .accept(stream)
                .await
                .map_err(|e| Error::Tls(format!("handshake failed: {e}")))
        });
        let stream = within(config.timer, deadline, accepting).await?;
        return upgrade_and_run(stream, config, handler, started, deadline).await;
    }
    upgrade_and_run(stream, config, handler, started, deadline).await
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
    echo_loop::run(stream, Vec::new(), config, handler, Instant::now()).await
}

/// The HTTP upgrade (before `deadline`), then the loop.
async fn upgrade_and_run<S, H>(
    mut stream: S,
    config: &Config,
    handler: H,
    started: Instant,
    deadline: Instant,
) -> Result<Served, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    // Boxed: its buffers would otherwise stay in every connection's future for its whole life.
    let upgrade = Box::pin(upgrade(&mut stream, config));
    let Some(rest) = within(config.timer, deadline, upgrade).await? else {
        return Ok(Served::Page);
    };
    let summary = echo_loop::run(stream, rest, config, handler, started).await;
    Ok(Served::WebSocket(summary))
}

/// Reads the request head, answers it as [`handshake::decide`] says, and lingers after an
/// answer that ends the connection. Returns the bytes the peer sent after the head (the start
/// of its first frames, if it did not wait for our 101), or `None` after the page.
///
/// Not cancel-safe: dropping it part-way loses what was read of the request.
async fn upgrade<S>(stream: &mut S, config: &Config) -> Result<Option<Vec<u8>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 2048];
    loop {
        let decision = handshake::decide(&head, config);
        let last = match decision {
            Decision::NeedMore => {
                // One byte past the limit is enough to tell that the head is too large.
                let room = (config.max_request_head + 1).saturating_sub(head.len());
                let want = room.min(chunk.len());
                let n = stream.read(&mut chunk[..want]).await?;
                if n == 0 {
                    return Err(Error::HandshakeEof);
                }
                head.extend_from_slice(&chunk[..n]);
                continue;
            }
            Decision::Upgrade { accept, head_len } => {
                stream
                    .write_all(handshake::upgrade_response(&accept).as_bytes())
                    .await?;
                stream.flush().await?;
                head.drain(..head_len);
                return Ok(Some(head));
            }
            Decision::Page(page) => handshake::page_response(page),
            Decision::Refuse(refusal) => refusal.response(),
        };
        linger::answer_and_linger(stream, last.as_bytes(), config.timer, config.close_timeout)
            .await?;
        return match decision {
            Decision::Refuse(refusal) => Err(Error::Refused {
                status: refusal.status,
                reason: refusal.reason,
            }),
            _ => Ok(None),
        };
    }
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
