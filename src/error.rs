//! [`Error`]: everything that can go wrong before a connection's echo loop runs, or in the client.

use std::io;

use async_tungstenite::tungstenite;

/// What went wrong. Each variant says when it happens; match on it, its text is one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// We refused the upgrade request and answered it with this HTTP status
    /// (400, 403, 404, 426, 431, ...). The reason is the body we sent.
    #[error("refused the upgrade with HTTP {status}: {reason}")]
    Refused {
        /// The HTTP status we answered with.
        status: u16,
        /// Why, in a few words (also the response body).
        reason: &'static str,
    },
    /// TLS could not be set up (a certificate or key file) or its handshake failed (an
    /// untrusted or expired certificate, a wrong host name, a peer that does not speak TLS).
    /// The text names the reason.
    #[error("TLS: {0}")]
    Tls(String),
    /// The peer did not complete the upgrade within the handshake timeout.
    #[error("the handshake did not complete in time")]
    HandshakeTimeout,
    /// The peer closed the connection before completing the upgrade request.
    #[error("the peer closed the connection during the handshake")]
    HandshakeEof,
    /// A server answered our upgrade request with something other than 101.
    #[error("the server answered HTTP {status} instead of upgrading")]
    HttpStatus {
        /// The status the server sent.
        status: u16,
    },
    /// The URL given to the client is not a usable `ws://` URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client got no answer to its Close in time, or the server closed abnormally.
    #[error("connection lost: {0}")]
    ConnectionLost(String),
    /// A socket operation failed (connection refused, reset, ...).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The WebSocket layer reported an error the variants above do not cover.
    #[error("websocket: {0}")]
    WebSocket(#[source] Box<tungstenite::Error>),
}

impl From<tungstenite::Error> for Error {
    fn from(e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::Io(e) => Error::Io(e),
            tungstenite::Error::Http(response) => Error::HttpStatus {
                status: response.status().as_u16(),
            },
            other => Error::WebSocket(Box::new(other)),
        }
    }
}
