//! [`Error`]: everything that can go wrong before a connection's echo loop runs, or in the client.

use std::io;

use async_tungstenite::tungstenite;

/// What went wrong. Each variant says when it happens; match on it, its text is one line.
///
/// ```
/// use ws_echo::Error;
///
/// fn log_refusal(error: &Error) {
///     match error {
///         Error::Refused { status, reason } => println!("answered {status}: {reason}"),
///         Error::HandshakeTimeout | Error::HandshakeEof => println!("the peer went quiet"),
///         other => println!("{other}"),
///     }
/// }
/// let refused = Error::Refused { status: 403, reason: "origin not allowed" };
/// assert_eq!(refused.to_string(), "refused the upgrade with HTTP 403: origin not allowed");
/// log_refusal(&refused);
/// ```
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
    /// A server answered our upgrade request with something other than 101; `reason` is the
    /// first line of its body (ws-echo's own refusals say why there), empty if none.
    #[error(
        "the server answered HTTP {status} instead of upgrading{}",
        shown(reason)
    )]
    HttpStatus {
        /// The status the server sent.
        status: u16,
        /// The first line of the answer's body, at most 200 characters.
        reason: String,
    },
    /// A setting cannot work as given (a path without its leading `/`, a limit of 0, ...); the
    /// text names it.
    #[error("invalid setting: {0}")]
    InvalidConfig(String),
    /// The URL given to the client is not a usable `ws://` URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client offered subprotocols ([`ClientConfig::protocols`](crate::client::ClientConfig))
    /// and the server selected none of them.
    #[error("the server selected none of the subprotocols offered ({})", offered.join(", "))]
    NoSubprotocol {
        /// What the client offered.
        offered: Vec<String>,
    },
    /// The server agreed to an extension the client did not offer, or with parameters it cannot
    /// honour ([`ClientConfig::deflate`](crate::client::ClientConfig)): RFC 7692 has the client
    /// fail the connection.
    #[error("the server's extensions {answer:?}: {why}")]
    BadExtension {
        /// The server's `Sec-WebSocket-Extensions` answer.
        answer: String,
        /// What is wrong with it.
        why: &'static str,
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
                reason: first_line(response.body().as_deref().unwrap_or_default()),
            },
            other => Error::WebSocket(Box::new(other)),
        }
    }
}

/// The first line of a body, trimmed, at most 200 characters.
fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or_default().trim();
    line.chars().take(200).collect()
}

/// ": reason", or nothing for an empty one.
fn shown(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_answer_is_shown_with_the_first_line_of_its_body() {
        let with = Error::HttpStatus {
            status: 403,
            reason: first_line(b"origin not allowed\nmore\n"),
        };
        assert_eq!(
            with.to_string(),
            "the server answered HTTP 403 instead of upgrading: origin not allowed"
        );
        let without = Error::HttpStatus {
            status: 404,
            reason: first_line(b""),
        };
        assert_eq!(
            without.to_string(),
            "the server answered HTTP 404 instead of upgrading"
        );
        assert_eq!(first_line(&[b'x'; 500]).len(), 200);
    }
}
