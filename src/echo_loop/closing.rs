//! How a connection ends: the close handshake (ours, the peer's, after bad input) and the
//! abort without one, each flushing what is owed first; and the [`Ending`] an error means.

use std::io;
use std::ops::ControlFlow::Break;
use std::time::Duration;

use async_tungstenite::tungstenite::error::ProtocolError;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::{self, Message};
use futures_lite::{future, AsyncRead, AsyncWrite, StreamExt};
use futures_util::stream::FusedStream;
use futures_util::FutureExt;

use super::Conn;
use crate::handler::Then;
use crate::linger;
use crate::summary::Ending;

/// A close reason may hold 123 bytes: a control frame's 125 less the 2-byte code.
const MAX_REASON: usize = 123;

impl<S> Conn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The peer sent Close: tungstenite has queued the same Close back, behind every echo
    /// already fed, and flushing sends them all. An error here means the peer is gone.
    pub(super) async fn peer_closed(&mut self, frame: Option<CloseFrame>) -> Ending {
        if let Break(ending) = self.flush().await {
            log::debug!("flushing the close reply failed: {ending}");
        }
        let (code, reason) = match frame {
            Some(frame) => (Some(frame.code.into()), frame.reason.to_string()),
            None => (None, String::new()),
        };
        Ending::PeerClosed { code, reason }
    }

    /// Ends the connection as a handler asked: a Close after everything fed, or the TCP
    /// connection shut down without one once everything fed has gone.
    ///
    /// The abort shuts down our sending side (the peer reads EOF after the last echo) and then
    /// reads and discards until the peer's EOF, within the close timeout: letting the socket go
    /// with the peer's later messages unread would make the kernel answer with a reset, and the
    /// peer's kernel would then throw away the echoes it had not yet handed on.
    pub(super) async fn end(&mut self, then: Then) -> Ending {
        match then {
            Then::Close(frame) => self.close(frame, self.config.timeouts.close).await,
            Then::Abort | Then::Continue => {
                if let Break(ending) = self.flush().await {
                    return ending;
                }
                let (timer, timeout) = (self.running.timer, self.config.timeouts.close);
                linger::linger(self.ws.get_mut(), timer, timeout).await;
                Ending::Aborted
            }
        }
    }

    /// Ends the connection after a read error: bad input gets its close code, a vanished peer
    /// gets the echoes still owed to it if it is still reading.
    pub(super) async fn fail(&mut self, error: tungstenite::Error) -> Ending {
        use tungstenite::Error as E;
        let code = match &error {
            E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                // EOF: the peer may only have shut down its sending side; hand it what it is
                // owed.
                if let Break(ending) = self.flush().await {
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
        self.close(close_frame(code, &reason), self.config.timeouts.close)
            .await
    }

    /// Sends `frame` (after everything already fed), then waits for the peer's Close or EOF
    /// before letting the connection go, so that our Close is read rather than lost to a
    /// reset; all of it within `timeout`.
    pub(super) async fn close(&mut self, frame: CloseFrame, timeout: Duration) -> Ending {
        let (code, reason) = (frame.code.into(), frame.reason.to_string());
        let ws = &mut self.ws;
        // Completes when the connection has ended on the peer's side: its Close, its EOF, a
        // reset, or a send that fails because it is gone.
        let closing = async {
            if let Err(e) = ws.send(Message::Close(Some(frame))).await {
                return log::debug!("sending Close failed: {e}");
            }
            if ws.is_terminated() {
                // The WebSocket layer stopped reading after the error.
                return linger::drain(ws.get_mut()).await;
            }
            // Wait for the peer's Close; messages sent after ours are not answered.
            while let Some(Ok(message)) = ws.next().await {
                if message.is_close() {
                    return;
                }
            }
        };
        let gave_up = self.running.timer.after(timeout).map(|()| true);
        let dropped = future::or(closing.map(|()| false), gave_up).await;
        Ending::ServerClosed {
            code,
            reason,
            dropped,
        }
    }
}

/// A Close frame with `code` and `reason`, cut to what a control frame holds (at a character's
/// boundary).
pub(super) fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
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
pub(super) fn ending_of(error: tungstenite::Error) -> Ending {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_is_cut_at_a_character_boundary_within_123_bytes() {
        let reason = "é".repeat(100);
        let frame = close_frame(CloseCode::Normal, &reason);
        assert_eq!(frame.reason.len(), 122);
        assert_eq!(close_frame(CloseCode::Away, "bye").reason.as_str(), "bye");
    }
}
