//! The client's wire with the `tls` feature: the dialed stream as it is for ws://, inside TLS
//! for wss:// (see `plain.rs` for the wire without it; `mod.rs` picks one of the two).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_tungstenite::tungstenite::handshake::client::Request;
use futures_lite::{AsyncRead, AsyncWrite};
use futures_rustls::client::TlsStream;
use futures_rustls::pki_types::ServerName;
use futures_rustls::TlsConnector;

use super::ClientConfig;
use crate::error::Error;

/// The port of a wss:// URL that names none.
pub(super) const WSS_PORT: Result<u16, &str> = Ok(443);

/// What wss:// needs: whom to trust, and the name the certificate must carry.
pub(super) struct Secure {
    connector: TlsConnector,
    name: ServerName<'static>,
}

/// The TLS setup for a wss:// request, or `None` for ws://.
pub(super) fn secure(config: &ClientConfig, request: &Request) -> Result<Option<Secure>, Error> {
    let uri = request.uri();
    if uri.scheme_str() != Some("wss") {
        return Ok(None);
    }
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| Error::Tls(format!("{host:?} is not a valid server name: {e}")))?;
    let tls = match &config.tls {
        Some(tls) => Arc::clone(tls),
        None => crate::tls::client_config(None)?,
    };
    let connector = TlsConnector::from(tls);
    Ok(Some(Secure { connector, name }))
}

/// The dialed stream, as it is (ws://) or inside TLS (wss://).
pub(super) enum Wire<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
}

/// Wraps `stream` in TLS when `secure` says so.
pub(super) async fn wrap<S>(stream: S, secure: Option<&Secure>) -> Result<Wire<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match secure {
        None => Ok(Wire::Plain(stream)),
        Some(secure) => secure
            .connector
            .connect(secure.name.clone(), stream)
            .await
            .map(|tls| Wire::Tls(Box::new(tls)))
            .map_err(|e| crate::tls::explain(&e)),
    }
}

/// Delegates a poll method to whichever stream a `Wire` holds.
macro_rules! wire {
    ($self:ident, $stream:ident => $call:expr) => {
        match $self.get_mut() {
            Wire::Plain($stream) => $call,
            Wire::Tls($stream) => $call,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        wire!(self, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        wire!(self, stream => Pin::new(stream).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        wire!(self, stream => Pin::new(stream).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        wire!(self, stream => Pin::new(stream).poll_close(cx))
    }
}
