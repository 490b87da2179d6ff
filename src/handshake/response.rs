//! The one writer of every HTTP answer the server sends: the 101 and every refusal, the page,
//! the health check and the metrics. Each answer's headers are listed in one place: the 101's by
//! [`Upgrade::headers`](super::Upgrade::headers), a refusal's by
//! [`Refusal::headers`](super::Refusal::headers).

use super::refusal::{reason_phrase, Refusal};
use super::upgrade::Upgrade;

/// An HTTP/1.1 answer: the status line, `headers` in order, a blank line and `body`.
pub(crate) fn write(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let phrase = reason_phrase(status);
    let size: usize = (headers.iter())
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum();
    // One allocation: the status line is 13 bytes besides its phrase (a status has 3 digits).
    let mut answer = String::with_capacity(13 + phrase.len() + 2 + size + 2 + body.len());
    let digits = [status / 100, status / 10 % 10, status % 10].map(|d| char::from(b'0' + d as u8));
    answer.push_str("HTTP/1.1 ");
    answer.extend(digits);
    answer.push(' ');
    answer.push_str(phrase);
    answer.push_str("\r\n");
    for (name, value) in headers {
        answer.push_str(name);
        answer.push_str(": ");
        answer.push_str(value);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    answer.push_str(body);
    answer
}

/// The 101 answer: [`Upgrade::headers`], then `extra` headers (a handler's
/// [`Open::Header`](crate::Open)); one that is not a valid header, or that the upgrade owns, is
/// left out with a warning.
pub(crate) fn upgrade_with(upgrade: &Upgrade, extra: &[(String, String)]) -> String {
    let mut headers = upgrade.headers();
    for (name, value) in extra {
        match header_fault(name, value) {
            None => headers.push((name.as_str(), value.as_str())),
            Some(fault) => {
                log::warn!("the 101 goes without the handler's header {name:?}: {fault}")
            }
        }
    }
    write(101, &headers, "")
}

/// Whether `text` is an HTTP token (RFC 9110, 5.6.2): a header's name, a subprotocol's.
pub(crate) fn is_token(text: &str) -> bool {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !text.is_empty() && text.bytes().all(tchar)
}

/// Why `name: value` may not go in a 101, if it may not.
pub(crate) fn header_fault(name: &str, value: &str) -> Option<&'static str> {
    const OWNED: [&str; 4] = [
        "upgrade",
        "connection",
        "content-length",
        "transfer-encoding",
    ];
    if !is_token(name) {
        return Some("its name is not an HTTP token");
    }
    if !value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return Some("its value holds control or non-ASCII characters");
    }
    let lower = name.to_ascii_lowercase();
    if OWNED.contains(&lower.as_str()) || lower.starts_with("sec-websocket-") {
        return Some("the upgrade sets it");
    }
    None
}

/// A refusal's answer: its status, its content type, the body's length, `Connection: close`,
/// then the headers its status calls for (426's version, 503's `Retry-After`).
pub(crate) fn refusal(refusal: &Refusal) -> String {
    let body = refusal.body();
    let length = body.len().to_string();
    let mut own = refusal.headers().iter().copied();
    let mut headers: Vec<(&str, &str)> = own.next().into_iter().collect();
    headers.extend([("Content-Length", length.as_str()), ("Connection", "close")]);
    headers.extend(own);
    write(refusal.status(), &headers, &body)
}

/// A 200 answer carrying `body` of `content_type`, not to be cached.
pub(crate) fn ok(content_type: &str, body: &str) -> String {
    let length = body.len().to_string();
    let headers = [
        ("Content-Type", content_type),
        ("Content-Length", length.as_str()),
        ("Cache-Control", "no-cache"),
        ("Connection", "close"),
    ];
    write(200, &headers, body)
}

/// The page's answer.
pub(crate) fn page(page: &str) -> String {
    ok("text/html; charset=utf-8", page)
}

/// The health check's answer: `200 ok` while serving, `503 draining` (with `Retry-After`) once
/// the shutdown signal has fired.
pub(crate) fn health(draining: bool) -> String {
    match draining {
        true => refusal(&Refusal::of(503, "draining")),
        false => ok("text/plain; charset=utf-8", "ok\n"),
    }
}

/// The metrics endpoint's answer, with the rendered metrics.
pub(crate) fn metrics(body: &str) -> String {
    ok(crate::metrics::CONTENT_TYPE, body)
}
