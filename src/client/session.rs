//! One connection of the client: resend what awaits its echo, then the timed writes, the
//! heartbeat and echo matching until the count is reached, the run is stopped, or the link
//! ends.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncWrite, StreamExt};
use futures_util::SinkExt;

use super::answer::HeadRecorder;
use super::echoes::{Echoes, Matched};
use super::wire::Wire;
use super::{ClientConfig, ClientReport, Event};
use crate::codec::deflate::Inflate;
use crate::codec::watched::Watched;
use crate::error::Error;
use crate::liveness::{Beat, Liveness};
use crate::timer::Interval;

/// One connection: the WebSocket and its liveness.
pub(super) struct Link<S> {
    pub(super) ws: WebSocketStream<Inflate<HeadRecorder<Watched<Wire<S>>>>>,
    pub(super) liveness: Liveness,
    /// The subprotocol the server selected.
    pub(super) protocol: Option<String>,
    /// The extensions the server agreed to, as its answer names them.
    pub(super) extensions: Option<String>,
    /// permessage-deflate's window for what we send, when agreed.
    pub(super) deflate: Option<u8>,
    /// How long the dial took, and the upgrade (TLS included) after it.
    pub(super) connect_time: Duration,
    pub(super) handshake_time: Duration,
}

/// Close 1009: the message was too big for the server.
const TOO_BIG: u16 = 1009;

/// How a connection ended.
pub(super) enum SessionEnd {
    /// Count reached or stopped: we closed with 1000.
    Finished,
    /// The server sent Close.
    ServerClosed(Option<u16>, String),
    /// The link died; why.
    Lost(String),
}

/// What a run keeps across connections.
pub(super) struct Run<'a, E> {
    pub(super) config: &'a ClientConfig,
    pub(super) report: ClientReport,
    pub(super) echoes: Echoes,
    pub(super) on_event: &'a mut E,
    /// The connection's first message is the server's view of the request (`?info`).
    pub(super) info_due: bool,
}

impl<'a, E> Run<'a, E> {
    /// A run whose first connection is `link`.
    pub(super) fn new<S>(config: &'a ClientConfig, link: &Link<S>, on_event: &'a mut E) -> Self {
        Run {
            config,
            report: ClientReport {
                connect_time: link.connect_time,
                handshake_time: link.handshake_time,
                ..ClientReport::default()
            },
            echoes: Echoes::default(),
            on_event,
            info_due: false,
        }
    }
}

/// What woke a session up.
enum Step {
    Stop,
    Tick,
    Heartbeat,
    Received(Option<Result<Message, tungstenite::Error>>),
}

impl<E: FnMut(&Event)> Run<'_, E> {
    /// The report, with what never came back counted as missing.
    pub(super) fn finish(mut self) -> ClientReport {
        self.report.missing = self.echoes.len() as u64;
        self.report
    }

    /// Runs one connection until it ends.
    pub(super) async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        link: &mut Link<S>,
        mut stop: Pin<&mut impl Future<Output = ()>>,
    ) -> SessionEnd {
        // A test target asked for `?info` sends it first, before any echo.
        self.info_due = self.config.asks_info();
        if let Err(reason) = self.resend(link).await {
            return SessionEnd::Lost(reason);
        }
        let mut ticks = Interval::new(self.config.timer, Instant::now(), self.config.interval);
        loop {
            link.liveness.aim(None);
            let step = future::poll_fn(|cx| {
                if let Poll::Ready(()) = stop.as_mut().poll(cx) {
                    return Poll::Ready(Step::Stop);
                }
                if let Poll::Ready(item) = StreamExt::poll_next(&mut link.ws, cx) {
                    return Poll::Ready(Step::Received(item));
                }
                if link.liveness.poll_timer(cx).is_ready() {
                    return Poll::Ready(Step::Heartbeat);
                }
                ticks.poll_tick(cx).map(|()| Step::Tick)
            })
            .await;
            // Ok(true): finished, as asked; Err: the connection ended otherwise.
            let finished = match step {
                Step::Stop => Ok(true),
                Step::Tick => self.send_next(link).await,
                Step::Heartbeat => self.heartbeat(link).await.map(|()| false),
                Step::Received(item) => self.received(link, item).await,
            };
            match finished {
                Ok(false) => continue,
                Ok(true) => break,
                Err(end) => return end,
            }
        }
        self.close(link).await;
        SessionEnd::Finished
    }

    /// What follows a session's end: `Ok(true)`, the run is over; `Ok(false)`, reconnect (the
    /// link's loss said as an event); `Err`, the link died and reconnecting is off.
    pub(super) fn ended(&mut self, end: SessionEnd) -> Result<bool, Error> {
        let reconnect = self.config.reconnect;
        match end {
            SessionEnd::Finished => Ok(true),
            // The server refused a message as too big: the oldest awaiting its echo. Sending it
            // again would only be refused again, and every later message is the same.
            SessionEnd::ServerClosed(Some(TOO_BIG), reason) => {
                self.refuse_oldest();
                self.report.server_close = Some((Some(TOO_BIG), reason));
                Ok(true)
            }
            SessionEnd::ServerClosed(code, reason) if !reconnect => {
                self.report.server_close = Some((code, reason));
                Ok(true)
            }
            SessionEnd::Lost(reason) if !reconnect => Err(Error::ConnectionLost(reason)),
            // Said already, by `Event::ServerClosed`.
            SessionEnd::ServerClosed(..) => Ok(false),
            SessionEnd::Lost(reason) => {
                (self.on_event)(&Event::LinkDown { reason });
                Ok(false)
            }
        }
    }

    /// The server refused the oldest message awaiting its echo (Close 1009): it is counted as
    /// refused, and not sent again.
    pub(super) fn refuse_oldest(&mut self) {
        if self.echoes.refuse_oldest() {
            self.report.refused += 1;
        }
    }

    /// Sends again, on a new connection, every message still awaiting its echo.
    async fn resend<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        link: &mut Link<S>,
    ) -> Result<(), String> {
        for index in 0..self.echoes.len() {
            let Some(message) = self.echoes.get(index) else {
                break;
            };
            self.write(link, message).await?;
            self.echoes.resent(index);
            self.report.resent += 1;
        }
        Ok(())
    }

    /// The interval ticked: the next message goes out, unless all were sent; then `Ok(true)`
    /// once the oldest echo still awaited is older than the echo timeout: the run ends.
    async fn send_next<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        link: &mut Link<S>,
    ) -> Result<bool, SessionEnd> {
        if self.config.count.is_some_and(|n| self.report.sent >= n) {
            let late =
                (self.echoes.oldest_age()).is_some_and(|age| age >= self.config.echo_timeout);
            return Ok(late);
        }
        let message = self.config.message.clone();
        self.write(link, message.clone())
            .await
            .map_err(SessionEnd::Lost)?;
        self.report.sent += 1;
        self.echoes.sent(self.report.sent, message);
        Ok(false)
    }

    /// The heartbeat's timer fired: ping a silent server, or declare the link dead.
    async fn heartbeat<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        link: &mut Link<S>,
    ) -> Result<(), SessionEnd> {
        match link.liveness.beat(Instant::now()) {
            Beat::Dead(silent) => Err(SessionEnd::Lost(format!(
                "no answer from the server for {:.3}s",
                silent.as_secs_f64()
            ))),
            Beat::Ping => {
                let ping = Message::Ping(Default::default());
                self.write(link, ping).await.map_err(SessionEnd::Lost)
            }
            Beat::Wait => Ok(()),
        }
    }

    /// Something arrived: `Ok(true)` once every echo asked for is back; the server's Close
    /// (answered) or the end of the link end the session.
    async fn received<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        link: &mut Link<S>,
        item: Option<Result<Message, tungstenite::Error>>,
    ) -> Result<bool, SessionEnd> {
        let message = match item {
            None => {
                self.report.aborts += 1;
                return Err(SessionEnd::Lost("the connection ended".to_owned()));
            }
            Some(Err(e)) => {
                if ended_by_server(&e) {
                    self.report.aborts += 1;
                }
                return Err(SessionEnd::Lost(lost(e)));
            }
            Some(Ok(message)) => message,
        };
        if let Some((code, reason)) = self.receive(message) {
            // tungstenite has queued our answer to the server's Close: send it.
            let answer = SinkExt::flush(&mut link.ws);
            if link.liveness.write(answer).await.is_none() {
                log::debug!("answering the server's Close timed out");
            }
            return Err(SessionEnd::ServerClosed(code, reason));
        }
        Ok(self.config.count.is_some_and(|n| self.report.echoed >= n))
    }

    /// We end it: Close 1000, then count the echoes still arriving until the server answers
    /// (within the close timeout).
    async fn close<S: AsyncRead + AsyncWrite + Unpin>(&mut self, link: &mut Link<S>) {
        let bye = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        if self.write(link, Message::Close(Some(bye))).await.is_err() {
            return;
        }
        let answered = self.config.timer.after(self.config.close_timeout);
        let drain = async {
            while let Some(Ok(message)) = link.ws.next().await {
                if message.is_close() {
                    break; // the server's answer to our Close
                }
                self.receive(message);
            }
        };
        future::or(drain, answered).await;
    }

    /// Sends on `link` within the write timeout; `Err` carries why the link is dead.
    async fn write<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        link: &mut Link<S>,
        message: Message,
    ) -> Result<(), String> {
        let message = match link.deflate {
            Some(window_bits) => crate::codec::deflate::compress(message, window_bits),
            None => message,
        };
        match link
            .liveness
            .write(SinkExt::send(&mut link.ws, message))
            .await
        {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(format!("write failed: {e}")),
            None => Err(format!(
                "no write progress for {:?}",
                self.config.heartbeat.write_timeout
            )),
        }
    }

    /// Accounts for one received message; returns the server's Close if it was one.
    fn receive(&mut self, message: Message) -> Option<(Option<u16>, String)> {
        match message {
            Message::Text(_) | Message::Binary(_) => {}
            Message::Close(frame) => {
                let (code, reason) = match frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, String::new()),
                };
                if !matches!(code, Some(1000 | 1001)) {
                    self.report.abnormal_closes += 1;
                }
                (self.on_event)(&Event::ServerClosed {
                    code,
                    reason: reason.clone(),
                });
                return Some((code, reason));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return None,
        }
        let text = match &message {
            Message::Text(text) => text.to_string(),
            other => format!("{} bytes of binary", other.len()),
        };
        if std::mem::take(&mut self.info_due) {
            if is_info(&message) {
                (self.on_event)(&Event::ServerInfo { json: text });
                return None;
            }
            (self.on_event)(&Event::InfoIgnored);
        }
        match self.echoes.received(&message) {
            Matched::Echo { seq, rtt } => {
                self.report.echoed += 1;
                (self.on_event)(&Event::Echo { seq, rtt, text });
            }
            Matched::Unexpected => {
                self.report.unexpected += 1;
                (self.on_event)(&Event::Unexpected { text });
            }
        }
        None
    }
}

/// Whether `message` is a test target's `?info`: a JSON object naming the request's method,
/// path and headers (an echo of our own message, or any other text, is not).
fn is_info(message: &Message) -> bool {
    let Message::Text(text) = message else {
        return false;
    };
    let object = text.trim();
    object.starts_with('{')
        && object.ends_with('}')
        && ["\"method\":", "\"path\":", "\"headers\":"]
            .iter()
            .all(|key| object.contains(key))
}

/// Whether the server ended the connection without a Close: its EOF, or a reset.
fn ended_by_server(error: &tungstenite::Error) -> bool {
    use std::io::ErrorKind;
    use tungstenite::error::ProtocolError;
    match error {
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        tungstenite::Error::Io(e) => matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

fn lost(error: tungstenite::Error) -> String {
    use tungstenite::error::ProtocolError;
    match error {
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server closed the connection without a Close".to_owned()
        }
        other => other.to_string(),
    }
}
