//! The per-connection loop after the upgrade: read -> [`Handler`] -> write, limits, liveness,
//! the drain at shutdown and the close handshake.
//!
//! The loop itself ([`Conn::echo`]) is the data path: it waits ([`Conn::wait`]) as
//! [`decide`] plans, takes each message to the handler, feeds the answer and flushes once what
//! had arrived is answered. Each concern beside it has a file: how it waits ([`wait`]), answers
//! kept for later ([`waiting`]), what a connection opens with ([`opening`]), the drain
//! ([`drain`]) and how a connection ends ([`closing`]). What the stream under tungstenite does with the bytes is the
//! codec's ([`crate::codec`]).

mod closing;
mod counts;
mod decide;
mod drain;
mod opening;
mod pushing;
mod wait;
mod waiting;

use std::future::Future;
use std::ops::ControlFlow::{self, Break, Continue};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::time::Instant;

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncWrite};
use futures_util::SinkExt;

use self::closing::{close_frame, ending_of};
use self::counts::Counts;
use self::decide::{after_flush, AfterFlush, Batch};
use self::drain::Phase;
use self::pushing::Pushes;
use self::wait::{Event, Idle};
use self::waiting::WaitingAnswers;
use crate::codec::{self, Codec};
use crate::config::Config;
use crate::handler::Handler;
use crate::liveness::{Beat, Liveness};
use crate::metrics::Live;
use crate::running::Running;
use crate::shutdown::Watch;
use crate::summary::{Ending, Summary, Timeout};

pub(crate) use self::opening::Prelude;

/// Runs a WebSocket connection whose upgrade is done; `rest` is what the peer sent after its
/// request head.
pub(crate) async fn run<S, H>(
    stream: S,
    rest: Vec<u8>,
    config: &Config,
    running: &Running,
    mut handler: H,
    started: Instant,
    mut prelude: Prelude,
) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let (mut stream, activity) = codec::stack(stream, config);
    if prelude.no_pong {
        stream.drop_pongs();
    }
    let deflate = prelude.deflate.map(|agreed| agreed.server_window_bits);
    let rest = match deflate {
        // What the peer sent after its request goes through the inflating layer too.
        Some(_) => {
            let limits = &config.limits;
            stream.arm(rest, limits.max_message_size, limits.frame_limit());
            Vec::new()
        }
        None => rest,
    };
    let framing = Some(codec::framing(config));
    let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, framing).await;
    let pushes = Pushes::new(std::mem::take(&mut prelude.pushes), Instant::now());
    let liveness = Liveness::new(activity, running.timer, &config.heartbeat)
        .also_waits(config.timeouts.idle)
        .also_waits(pushes.as_deref().and_then(Pushes::shortest));
    let mut conn = Conn {
        ws,
        config,
        running,
        liveness,
        counts: Counts::default(),
        live: Live::open(),
        waiting: None,
        pushes,
        deflate,
    };
    let opened = match prelude.is_empty() {
        true => Continue(()),
        false => Box::pin(conn.open(prelude)).await,
    };
    let ending = match opened {
        Continue(()) => conn.echo(&mut handler).await,
        Break(ending) => ending,
    };
    let summary = conn.counts.summary(started.elapsed(), ending);
    if let Some(live) = conn.live {
        live.ended(&summary);
    }
    summary
}

/// One connection after the upgrade.
struct Conn<'a, S> {
    ws: WebSocketStream<Codec<S>>,
    config: &'a Config,
    /// The timer and the shutdown signal.
    running: &'a Running,
    liveness: Liveness,
    counts: Counts,
    /// The connection's metrics, its traffic added at each flush; `None` when none are
    /// recorded.
    live: Option<Live>,
    /// Answers kept for later; `None` (one test on the data path) until the handler first
    /// asks for a delivery other than at once and whole.
    waiting: Option<Box<WaitingAnswers>>,
    /// Messages sent on the server's own schedule ([`crate::Open::Push`]), if any.
    pushes: Option<Box<Pushes>>,
    /// permessage-deflate's window for our answers, when agreed.
    deflate: Option<u8>,
}

/// What the loop keeps between its steps, besides the connection.
struct LoopState {
    batch: Batch,
    idle: Idle,
    phase: Phase,
    /// The shutdown signal, watched without a lock at every wait.
    shutdown: Watch,
    /// See [`Facts::stream_waiting`].
    stream_waiting: bool,
}

/// What the handler's answer to a message calls for.
enum Handled {
    /// Send this answer at once.
    Answer(Message),
    /// Nothing to send now (no answer, or one kept for later).
    Nothing,
    /// Close the connection with this frame.
    Close(CloseFrame),
    /// The peer closed: answer and end.
    PeerClosed(Option<CloseFrame>),
}

impl<S> Conn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The loop itself: wait, then act on what woke us. While the socket cannot take our
    /// echoes, `feed` waits and we stop reading: that is the backpressure.
    ///
    /// The steps that end a connection, and the timer's, are boxed: they run once or rarely,
    /// and inline they would make every connection's future larger for its whole life.
    async fn echo<H: Handler>(&mut self, handler: &mut H) -> Ending {
        let mut state = LoopState {
            batch: Batch::default(),
            idle: Idle {
                timeout: self.config.timeouts.idle,
                last_data: Instant::now(),
            },
            phase: Phase::Serving,
            shutdown: Watch::new(self.running.shutdown.clone()),
            stream_waiting: false,
        };
        loop {
            let step = match self.wait(&mut state).await {
                Event::Item(Some(Ok(message))) => match self.take(message, handler, &mut state) {
                    Handled::Answer(answer) => {
                        // Inline rather than an `async fn`: one state machine less per echo.
                        let len = answer.len() as u64;
                        let answer = self.compressed(answer);
                        self.write(|ws| ws.feed(answer)).await.map_continue(|()| {
                            self.counts.sent(len);
                            state.batch.add(len);
                        })
                    }
                    Handled::Nothing => Continue(()),
                    Handled::Close(frame) => {
                        Break(Box::pin(self.close(frame, self.config.timeouts.close)).await)
                    }
                    Handled::PeerClosed(frame) => Break(Box::pin(self.peer_closed(frame)).await),
                },
                Event::Item(Some(Err(e))) => Break(Box::pin(self.fail(e)).await),
                // The stream ends only after the close handshake, which returns first.
                Event::Item(None) => Break(Ending::Eof),
                // One call, so that the loop holds one copy of the flush.
                event @ (Event::CaughtUp | Event::BatchFull) => {
                    let caught_up = matches!(event, Event::CaughtUp);
                    self.flush_batch(caught_up, &mut state).await
                }
                Event::Timer => Box::pin(self.on_timer(&mut state)).await,
                Event::AnswerDue => Box::pin(self.send_due(&mut state.batch)).await,
                Event::Shutdown => {
                    state.phase.drain();
                    Continue(())
                }
            };
            if let Break(ending) = step {
                return ending;
            }
        }
    }

    /// Flushes what is queued (everything that had arrived is answered, `caught_up`, or the
    /// batch is full), then goes on, yields, starts the drain or closes, as [`after_flush`]
    /// says.
    #[inline]
    async fn flush_batch(&mut self, caught_up: bool, state: &mut LoopState) -> ControlFlow<Ending> {
        if !state.batch.is_empty() {
            let (flushed, at_first_poll) = with_first_poll(pin!(self.flush())).await;
            flushed?;
            state.batch = Batch::default();
            state.stream_waiting = caught_up && at_first_poll;
            if let Some(live) = &mut self.live {
                live.report(self.counts.all());
            }
        }
        let shutdown = self.running.is_shutting_down();
        match after_flush(state.phase, shutdown, self.answers_waiting(), caught_up) {
            AfterFlush::Go => Continue(()),
            AfterFlush::Yield => {
                self.running.timer.yield_now().await;
                Continue(())
            }
            AfterFlush::Drain => {
                state.phase.drain();
                Continue(())
            }
            AfterFlush::Close => {
                let away = close_frame(CloseCode::Away, "going away");
                Break(Box::pin(self.close(away, self.config.timeouts.drain)).await)
            }
        }
    }

    /// Takes one message: a data message goes through the handler, whose answer is sent at
    /// once or kept for later; tungstenite queues the pong to a ping itself; a Close ends the
    /// connection.
    #[inline]
    fn take<H: Handler>(
        &mut self,
        message: Message,
        handler: &mut H,
        state: &mut LoopState,
    ) -> Handled {
        match message {
            Message::Text(_) | Message::Binary(_) => {
                state.idle.data();
                state.phase.took_one();
                self.counts.received(message.len() as u64);
                let answer = match catch_unwind(AssertUnwindSafe(|| handler.on_message(message))) {
                    Ok(Some(Message::Close(frame))) => {
                        let frame = frame.unwrap_or_else(|| close_frame(CloseCode::Normal, ""));
                        return Handled::Close(frame);
                    }
                    Ok(Some(answer)) => answer,
                    Ok(None) => return Handled::Nothing,
                    Err(_) => return handler_failed(),
                };
                let Ok(delivery) = catch_unwind(AssertUnwindSafe(|| handler.delivery(&answer)))
                else {
                    return handler_failed();
                };
                if self.waiting.is_none() && delivery.is_plain() && !self.compress_later(&answer) {
                    return Handled::Answer(answer);
                }
                self.keep(answer, delivery);
                Handled::Nothing
            }
            // tungstenite has queued the pong; the next flush sends it.
            Message::Ping(_) => {
                state.batch.add(0);
                Handled::Nothing
            }
            Message::Pong(_) | Message::Frame(_) => Handled::Nothing,
            Message::Close(frame) => Handled::PeerClosed(frame),
        }
    }

    /// The timer fired: ping a silent peer or give up on it, send the pushes due, and close an
    /// idle connection.
    async fn on_timer(&mut self, state: &mut LoopState) -> ControlFlow<Ending> {
        let now = Instant::now();
        match self.liveness.beat(now) {
            Beat::Dead(silent) => return Break(Ending::TimedOut(Timeout::Unresponsive { silent })),
            Beat::Ping => {
                self.write(|ws| SinkExt::send(ws, Message::Ping(Default::default())))
                    .await?
            }
            Beat::Wait => {}
        }
        let due = self.pushes.as_mut().map(|p| p.take_due(now));
        if let Some(due) = due.filter(|due| !due.is_empty()) {
            for message in due {
                let data = message.is_text() || message.is_binary();
                let len = message.len() as u64;
                self.feed_aside(message).await?;
                if data {
                    self.counts.sent(len);
                }
            }
            self.flush().await?;
        }
        if state.idle.expired(now) && !self.answers_waiting() {
            let idle = close_frame(CloseCode::Away, "idle timeout");
            return Break(self.close(idle, self.config.timeouts.close).await);
        }
        Continue(())
    }

    /// Feeds `message` off the data path (a greeting, a late answer, a frame).
    async fn feed_aside(&mut self, message: Message) -> ControlFlow<Ending> {
        let message = match self.deflate {
            Some(bits) if self.compress_later(&message) => {
                codec::deflate::compress_yielding(message, bits, self.running.timer).await
            }
            _ => self.compressed(message),
        };
        self.write(|ws| ws.feed(message)).await
    }

    /// Whether `answer` is compressed in steps, letting the other connections run between
    /// them: a large one, when permessage-deflate was agreed. It then takes the way of answers
    /// kept for later, which can wait, and keeps its place among them.
    #[inline(always)]
    fn compress_later(&self, answer: &Message) -> bool {
        self.deflate.is_some() && answer.len() > codec::deflate::COMPRESS_STEP
    }

    /// `message` as it goes out: compressed when permessage-deflate was agreed.
    #[inline(always)]
    fn compressed(&self, message: Message) -> Message {
        match self.deflate {
            None => message,
            Some(window_bits) => codec::deflate::compress(message, window_bits),
        }
    }

    /// Runs one write operation under the write timeout. Not an `async fn`: that would wrap
    /// every write in one more state machine.
    #[inline(always)]
    fn write<'w, F, T>(
        &'w mut self,
        op: impl FnOnce(&'w mut WebSocketStream<Codec<S>>) -> F,
    ) -> impl Future<Output = ControlFlow<Ending, T>> + 'w
    where
        F: Future<Output = Result<T, tungstenite::Error>> + Unpin + 'w,
    {
        let written = self.liveness.write(op(&mut self.ws));
        futures_util::FutureExt::map(written, |outcome| match outcome {
            Some(Ok(value)) => Continue(value),
            Some(Err(e)) => Break(ending_of(e)),
            None => Break(Ending::TimedOut(Timeout::WriteStalled)),
        })
    }

    /// Sends everything queued: tungstenite's output, then the codec's (after the peer's Close,
    /// tungstenite hands its last bytes on without flushing them).
    async fn flush(&mut self) -> ControlFlow<Ending> {
        self.write(|ws| ws.flush()).await?;
        if self.ws.get_ref().get_ref().holds_output() {
            self.write(|ws| {
                let flushed = futures_lite::AsyncWriteExt::flush(ws.get_mut());
                futures_util::FutureExt::map(flushed, |r| r.map_err(tungstenite::Error::Io))
            })
            .await?;
        }
        Continue(())
    }
}

/// A handler that panicked: its connection gets Close 1011, and nothing else is affected.
#[cold]
fn handler_failed() -> Handled {
    log::warn!("the handler panicked; closing the connection with 1011");
    Handled::Close(close_frame(CloseCode::Error, "handler failed"))
}

/// Runs `step`, telling also whether it completed on its first poll (without the task having
/// been suspended in between). It takes the step pinned where the caller keeps it: an `async
/// fn` taking the step itself would hold it twice, as its argument and pinned.
fn with_first_poll<F: Future>(
    mut step: Pin<&mut F>,
) -> impl Future<Output = (F::Output, bool)> + '_ {
    let mut first = true;
    future::poll_fn(move |cx| {
        let was_first = std::mem::replace(&mut first, false);
        step.as_mut().poll(cx).map(|output| (output, was_first))
    })
}
