//! Dialing the server: the first connection (retried while its failure may pass) and the ones
//! after the link went down, each with the backoff's waits ([`Backoff`]); one attempt is a dial
//! and an upgrade within the handshake timeout ([`connect`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use async_tungstenite::tungstenite::handshake::client::{Request, Response};
use async_tungstenite::tungstenite::{self, protocol::WebSocketConfig};
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncWrite};

use super::backoff::Backoff;
use super::session::{Link, Run};
use super::wire::{self, Secure};
use super::{answer, extensions, ClientConfig, Event};
use crate::codec::deflate::Inflate;
use crate::error::Error;
use crate::liveness::Liveness;

/// Dialing the server, the first time and again: the dialer, what to dial (the request, the
/// address, TLS), and the backoff, which lives across sessions.
pub(super) struct Dialing<'d, D> {
    pub(super) dial: &'d mut D,
    pub(super) target: (&'d Request, &'d str, Option<&'d Secure>),
    pub(super) backoff: &'d mut Backoff,
}

impl<D, F, S> Dialing<'_, D>
where
    D: FnMut(String) -> F,
    F: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Dials once (and upgrades, within the handshake timeout).
    async fn once(&mut self, config: &ClientConfig) -> Result<Link<S>, Failed> {
        let (request, address, secure) = self.target;
        connect(config, self.dial, request, address, secure).await
    }

    /// The first connection, retried with backoff while its failure may pass (a refused or
    /// reset connection, a timeout, a 5xx, 408 or 429; see [`ClientConfig::fail_fast`]);
    /// `Ok(None)` once `stop` comes first.
    pub(super) async fn first(
        &mut self,
        config: &ClientConfig,
        mut stop: Pin<&mut impl Future<Output = ()>>,
        on_event: &mut impl FnMut(&Event),
    ) -> Result<Option<Link<S>>, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failed = match self.once(config).await {
                Ok(link) => return Ok(Some(link)),
                Err(failed) if config.fail_fast || !failed.passing() => return Err(failed.error),
                Err(failed) => failed,
            };
            let next_in = self.wait_after(config, &failed);
            on_event(&Event::ConnectFailed {
                address: self.target.1.to_owned(),
                error: failed.error.to_string(),
                attempt,
                next_in,
            });
            if stopped_within(config, next_in, stop.as_mut()).await {
                return Ok(None);
            }
        }
    }

    /// Dials again after the link went down, after a wait of the backoff's (see
    /// [`Backoff`]); `None` once `stop` comes first.
    pub(super) async fn again<E: FnMut(&Event)>(
        &mut self,
        run: &mut Run<'_, E>,
        mut stop: Pin<&mut impl Future<Output = ()>>,
    ) -> Option<Link<S>> {
        let config = run.config;
        let mut delay = self.backoff.next_wait();
        let mut attempt = 0;
        loop {
            if stopped_within(config, delay, stop.as_mut()).await {
                return None;
            }
            attempt += 1;
            match self.once(config).await {
                Ok(link) => return Some(link),
                Err(failed) => {
                    delay = self.wait_after(config, &failed);
                    (run.on_event)(&Event::ReconnectFailed {
                        address: self.target.1.to_owned(),
                        error: failed.error.to_string(),
                        attempt,
                        next_in: delay,
                    });
                }
            }
        }
    }

    /// The wait after a failed attempt: the backoff's, or longer if the server said so.
    fn wait_after(&mut self, config: &ClientConfig, failed: &Failed) -> Duration {
        Backoff::at_least(
            self.backoff.next_wait(),
            failed.retry_after,
            config.backoff_max,
        )
    }
}

/// Waits `delay`; `true` if `stop` came first.
async fn stopped_within(
    config: &ClientConfig,
    delay: Duration,
    stop: Pin<&mut impl Future<Output = ()>>,
) -> bool {
    future::or(
        async {
            stop.await;
            true
        },
        async {
            config.timer.after(delay).await;
            false
        },
    )
    .await
}

/// A failed attempt: why, and when the server asked us to come back (`Retry-After`).
struct Failed {
    error: Error,
    retry_after: Option<Duration>,
}

impl Failed {
    /// Whether trying again may help: the server was not there, reset us or was too slow, or
    /// it answered 408, 429 or a 5xx. A refusal such as 403, a bad URL or a TLS failure will
    /// not pass by itself.
    fn passing(&self) -> bool {
        match &self.error {
            Error::Io(_) | Error::HandshakeTimeout | Error::HandshakeEof => true,
            Error::WebSocket(e) => matches!(
                **e,
                tungstenite::Error::Io(_)
                    | tungstenite::Error::ConnectionClosed
                    | tungstenite::Error::Protocol(ProtocolError::HandshakeIncomplete)
            ),
            Error::HttpStatus { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }
}

impl From<io::Error> for Failed {
    fn from(error: io::Error) -> Failed {
        Failed::from(Error::Io(error))
    }
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// The upgraded stream, the subprotocol and the extensions the server's answer named; or why
/// the upgrade failed (and the answer's `Retry-After`, if it gave one in seconds).
#[allow(clippy::type_complexity)]
fn upgraded<T>(
    result: Result<(WebSocketStream<T>, Response), tungstenite::Error>,
    config: &ClientConfig,
    heard: &std::sync::Mutex<Vec<u8>>,
) -> Result<(WebSocketStream<T>, Option<String>, Option<String>), Failed> {
    match result {
        Ok((ws, response)) => {
            let header = |name| {
                let value = response.headers().get(name);
                value.and_then(|v| v.to_str().ok()).map(str::to_owned)
            };
            let protocol = header("Sec-WebSocket-Protocol");
            Ok((ws, protocol, header("Sec-WebSocket-Extensions")))
        }
        Err(tungstenite::Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(
            SubProtocolError::NoSubProtocol,
        ))) => Err(Failed::from(Error::NoSubprotocol {
            offered: config.protocols.clone(),
        })),
        // Refused before its status was read (an HTTP/1.0 answer): tell the status.
        Err(e @ tungstenite::Error::Protocol(_)) => Err(Failed::from(
            answer::refusal(heard).unwrap_or_else(|| e.into()),
        )),
        Err(tungstenite::Error::Http(response)) => {
            let retry_after = response.headers().get("Retry-After");
            let seconds = retry_after.and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
            Err(Failed {
                error: tungstenite::Error::Http(response).into(),
                retry_after: seconds.map(Duration::from_secs),
            })
        }
        Err(e) => Err(Failed::from(Error::from(e))),
    }
}

/// Dials and upgrades (TLS first for wss://), within the handshake timeout.
async fn connect<D, F, S>(
    config: &ClientConfig,
    dial: &mut D,
    request: &Request,
    address: &str,
    secure: Option<&Secure>,
) -> Result<Link<S>, Failed>
where
    D: FnMut(String) -> F,
    F: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connecting = async {
        let started = Instant::now();
        let stream = dial(address.to_owned()).await?;
        let connect_time = started.elapsed();
        let stream = wire::wrap(stream, secure).await?;
        let (stream, activity) = crate::codec::watched::watch(stream);
        let (stream, heard) = answer::HeadRecorder::new(stream);
        let stream = Inflate::gated(stream);
        let ws_config = WebSocketConfig::default().read_buffer_size(4096);
        let upgrading =
            async_tungstenite::client_async_with_config(request.clone(), stream, Some(ws_config));
        let (mut ws, protocol, extensions) = upgraded(upgrading.await, config, &heard)?;
        ws.get_mut().get_mut().stop();
        let deflate = extensions::agreed_deflate(config, extensions.as_deref())?;
        let inflating = deflate.map(|agreed| {
            let limit = 64 << 20; // what the client reads: the server's echo of what it sent
            (limit, limit, agreed.takeover)
        });
        ws.get_mut().open(inflating);
        let liveness = Liveness::new(activity, config.timer, &config.heartbeat);
        Ok(Link {
            ws,
            liveness,
            protocol,
            extensions,
            deflate: deflate.map(|agreed| agreed.window_bits),
            connect_time,
            handshake_time: started.elapsed() - connect_time,
        })
    };
    future::or(connecting, async {
        config.timer.after(config.handshake_timeout).await;
        Err(Failed::from(Error::HandshakeTimeout))
    })
    .await
}
