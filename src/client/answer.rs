//! The first bytes of the server's answer, kept while the upgrade is under way: tungstenite
//! refuses an HTTP/1.0 answer before it reads its status, and a user should still be told
//! that status (`python3 -m http.server` answers 404 in HTTP/1.0).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};

use crate::error::Error;

/// At most this much of the answer is kept: its status line is what matters.
const KEPT: usize = 512;

/// A stream that keeps the first bytes it reads, until told to stop.
#[derive(Debug)]
pub(super) struct HeadRecorder<S> {
    inner: S,
    head: Option<Arc<Mutex<Vec<u8>>>>,
}

impl<S> HeadRecorder<S> {
    /// `inner`, and a handle on what it hears.
    pub(super) fn new(inner: S) -> (HeadRecorder<S>, Arc<Mutex<Vec<u8>>>) {
        let head = Arc::new(Mutex::new(Vec::new()));
        let heard = HeadRecorder {
            inner,
            head: Some(Arc::clone(&head)),
        };
        (heard, head)
    }

    /// The upgrade is done: keep nothing more.
    pub(super) fn stop(&mut self) {
        self.head = None;
    }
}

/// The error for an answer that was no upgrade, from its status line (`HTTP/1.0 404 File not
/// found`), when the head heard holds one.
pub(super) fn refusal(head: &Mutex<Vec<u8>>) -> Option<Error> {
    let head = head.lock().ok()?;
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().filter(|v| v.starts_with("HTTP/"))?;
    // A 101 upgraded: the protocol error came after it (a subprotocol, an accept key) and says
    // more than the status would.
    let status = parts.next()?.parse::<u16>().ok().filter(|&s| s != 101)?;
    let phrase = parts.next().unwrap_or_default();
    Some(Error::HttpStatus {
        status,
        reason: format!("an {version} answer: {phrase}")
            .trim_end_matches([':', ' '])
            .to_owned(),
    })
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadRecorder<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(n)), Some(head)) = (&read, &this.head) {
            if let Ok(mut head) = head.lock() {
                let room = KEPT.saturating_sub(head.len());
                head.extend_from_slice(&buf[..(*n).min(room)]);
            }
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadRecorder<S> {
    crate::codec::pass_through!(poll_write, poll_flush, poll_close);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_1_0_answer_is_told_by_its_status() {
        let head = Mutex::new(b"HTTP/1.0 404 File not found\r\nServer: x\r\n\r\n".to_vec());
        let error = refusal(&head).map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("the server answered HTTP 404 instead of upgrading: an HTTP/1.0 answer: File not found")
        );
        assert!(refusal(&Mutex::new(b"SSH-2.0-OpenSSH\r\n".to_vec())).is_none());
        assert!(refusal(&Mutex::new(Vec::new())).is_none());
    }
}
