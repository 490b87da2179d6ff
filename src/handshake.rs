//! The server side of the HTTP upgrade: read the request head, check it, answer 101 or refuse
//! it with a precise status and a one-line reason.

use async_tungstenite::tungstenite::handshake::derive_accept_key;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{Config, Error};

/// How many headers a request may carry before we answer 431.
const MAX_HEADERS: usize = 32;

/// A refusal: the HTTP status and the reason we send as the body.
type Refusal = (u16, &'static str);

/// Reads the upgrade request from `stream` and answers it. On success the 101 response has been
/// written and flushed, and the bytes the peer sent after the request head (the start of its
/// first frames, if it did not wait for our answer) are returned. On refusal the error response
/// has been written and [`Error::Refused`] is returned.
///
/// Not cancel-safe: dropping it part-way loses what was read of the request.
pub(crate) async fn accept<S>(stream: &mut S, config: &Config) -> Result<Vec<u8>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 2048];
    let (head_len, outcome) = loop {
        let room = (config.max_request_head + 1).saturating_sub(buf.len());
        let want = room.min(chunk.len());
        let n = stream.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Err(Error::HandshakeEof);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(len)) if len <= config.max_request_head => {
                break (len, check(&request, config));
            }
            Ok(httparse::Status::Partial) if buf.len() <= config.max_request_head => continue,
            Ok(_) | Err(httparse::Error::TooManyHeaders) => {
                break (buf.len(), Err((431, "request head too large")));
            }
            Err(_) => break (buf.len(), Err((400, "malformed HTTP request"))),
        }
    };
    match outcome {
        Ok(Answer::Page(page)) => {
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
                page.len()
            );
            stream.write_all(response.as_bytes()).await?;
            stream.write_all(page.as_bytes()).await?;
            stream.flush().await?;
            crate::connection::linger(stream, config).await;
            Err(Error::PageServed)
        }
        Ok(Answer::Upgrade(accept_key)) => {
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key}\r\n\r\n"
            );
            stream.write_all(response.as_bytes()).await?;
            stream.flush().await?;
            buf.drain(..head_len);
            Ok(buf)
        }
        Err((status, reason)) => {
            refuse(stream, status, reason).await?;
            crate::connection::linger(stream, config).await;
            Err(Error::Refused { status, reason })
        }
    }
}

/// The `Sec-WebSocket-Accept` value that answers a request's `Sec-WebSocket-Key` (RFC 6455,
/// 4.2.2), for applications that answer the upgrade themselves and then call
/// [`serve_upgraded`](crate::serve_upgraded).
///
/// ```
/// assert_eq!(ws_echo::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    derive_accept_key(key)
}

/// Writes an HTTP error response with `reason` as its body, and flushes it.
pub(crate) async fn refuse<S>(stream: &mut S, status: u16, reason: &str) -> Result<(), Error>
where
    S: AsyncWrite + Unpin,
{
    let extra = match status {
        426 => "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        503 => "Retry-After: 1\r\n",
        _ => "",
    };
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra}\r\n{reason}\n",
        reason_phrase(status),
        reason.len() + 1,
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await?;
    Ok(())
}

/// What a valid request gets.
enum Answer<'a> {
    /// 101, with this `Sec-WebSocket-Accept` value.
    Upgrade(String),
    /// 200 with the configured page.
    Page(&'a str),
}

/// Checks a complete request head.
fn check<'c>(
    request: &httparse::Request<'_, '_>,
    config: &'c Config,
) -> Result<Answer<'c>, Refusal> {
    let target = request.path.unwrap_or("");
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    let headers = &*request.headers;
    let upgrade = has_token(headers, "upgrade", "websocket");
    if let (Some(page), "/", false, Some("GET")) = (&config.page, path, upgrade, request.method) {
        return Ok(Answer::Page(page));
    }
    if path != config.path {
        return Err((404, "no WebSocket endpoint at this path"));
    }
    if request.method != Some("GET") {
        return Err((400, "the upgrade request must use GET"));
    }
    if request.version != Some(1) {
        return Err((400, "the upgrade request must use HTTP/1.1"));
    }
    let headers = &*request.headers;
    if !has_token(headers, "upgrade", "websocket") || !has_token(headers, "connection", "upgrade") {
        return Err((426, "this endpoint only speaks WebSocket"));
    }
    if header(headers, "sec-websocket-version") != Some(b"13".as_slice()) {
        return Err((426, "unsupported Sec-WebSocket-Version, use 13"));
    }
    let key = header(headers, "sec-websocket-key")
        .filter(|key| is_valid_key(key))
        .ok_or((400, "missing or malformed Sec-WebSocket-Key"))?;
    if !config.origin_allowed(header(headers, "origin")) {
        return Err((403, "origin not allowed"));
    }
    Ok(Answer::Upgrade(derive_accept_key(key)))
}

/// The value of the first header named `name` (ASCII case-insensitive), trimmed.
fn header<'a>(headers: &[httparse::Header<'a>], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.trim_ascii())
}

/// Whether any header named `name` lists `token` in its comma-separated value.
fn has_token(headers: &[httparse::Header<'_>], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// A key is the base64 encoding of 16 bytes: 22 base64 digits and `==` (RFC 6455, 4.1).
fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_sample_key_gets_the_rfc_accept_value() {
        // RFC 6455, section 1.3.
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused() {
        assert!(!is_valid_key(b""));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j*Q=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQAA"));
    }

    #[test]
    fn connection_header_tokens_are_matched_case_insensitively() {
        let headers = [httparse::Header {
            name: "Connection",
            value: b"keep-alive, Upgrade",
        }];
        assert!(has_token(&headers, "connection", "upgrade"));
        assert!(!has_token(&headers, "connection", "close"));
    }
}
