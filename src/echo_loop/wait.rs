//! How the loop waits: as [`plan_wait`](super::decide::plan_wait) says, it reads what has
//! arrived, flushes, or sleeps on the stream, the heartbeat's timer, the answers' time and the
//! shutdown signal, and tells what woke it ([`Event`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_lite::{AsyncRead, AsyncWrite, StreamExt};

use super::decide::{plan_wait, Facts, Wait};
use super::pushing::Pushes;
use super::waiting::WaitingAnswers;
use super::{Conn, LoopState};
use crate::codec::Codec;
use crate::liveness::Liveness;
use crate::shutdown::Watch;
use crate::timer::later;

/// The idle timeout: Close 1001 when no data message has arrived for its duration.
pub(super) struct Idle {
    pub(super) timeout: Option<Duration>,
    pub(super) last_data: Instant,
}

impl Idle {
    /// A data message arrived (the clock is read only when the timeout is on).
    pub(super) fn data(&mut self) {
        if self.timeout.is_some() {
            self.last_data = Instant::now();
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|idle| later(self.last_data, idle))
    }

    pub(super) fn expired(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|due| now >= due)
    }
}

/// The earlier of two deadlines, either of which may be absent.
#[inline(always)]
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the loop woke up for.
pub(super) enum Event {
    /// A message, an error, or the end of the stream.
    Item(Option<Result<Message, tungstenite::Error>>),
    /// Nothing more has arrived: time to flush.
    CaughtUp,
    /// The batch (or the drain budget) is used up: flush, and let other tasks run.
    BatchFull,
    /// The timer: the heartbeat or the idle timeout.
    Timer,
    /// A waiting answer's time has come.
    AnswerDue,
    /// The shutdown signal.
    Shutdown,
}

impl<S> Conn<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Waits for the next thing to do, as [`plan_wait`] says: with nothing queued, it sleeps on
    /// the stream, the timer, the answers' time and the shutdown signal; with echoes queued, it
    /// only takes what has already arrived. (A `poll_fn`, not an `async fn`: the loop builds
    /// one at every message.)
    #[inline(always)]
    pub(super) fn wait<'w>(&'w mut self, state: &'w mut LoopState) -> NextEvent<'w, S> {
        let plan = plan_wait(Facts {
            batch: state.batch,
            phase: state.phase,
            waiting: self.answers_waiting(),
            waiting_full: self.waiting.as_deref().is_some_and(WaitingAnswers::is_full),
            stream_waiting: std::mem::take(&mut state.stream_waiting),
        });
        if plan.sleep {
            let pushed = self.pushes.as_deref().and_then(Pushes::deadline);
            self.liveness.aim(earliest(state.idle.deadline(), pushed));
        }
        NextEvent {
            skip_read: plan.skip_first_read,
            plan,
            ws: &mut self.ws,
            liveness: &mut self.liveness,
            shutdown: &mut state.shutdown,
            waiting: self.waiting.as_deref_mut().filter(|w| !w.is_empty()),
        }
    }
}

/// The next thing for the loop to do, as its [`Wait`] plan says (see [`Conn::wait`]). A type of
/// its own rather than a `poll_fn`, so that its poll is inlined into the loop's whatever else
/// the loop holds.
pub(super) struct NextEvent<'w, S> {
    plan: Wait,
    /// The first poll of the stream is still to be skipped.
    skip_read: bool,
    ws: &'w mut WebSocketStream<Codec<S>>,
    liveness: &'w mut Liveness,
    shutdown: &'w mut Watch,
    /// Answers waiting for their time, if any.
    waiting: Option<&'w mut WaitingAnswers>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Future for NextEvent<'_, S> {
    type Output = Event;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Event> {
        let this = &mut *self;
        let plan = this.plan;
        if plan.flush_now {
            return Poll::Ready(Event::BatchFull);
        }
        if plan.read && !std::mem::take(&mut this.skip_read) {
            if let Poll::Ready(item) = StreamExt::poll_next(this.ws, cx) {
                return Poll::Ready(Event::Item(item));
            }
        }
        if !plan.sleep {
            return Poll::Ready(Event::CaughtUp);
        }
        if let Some(waiting) = this.waiting.as_deref_mut() {
            if waiting.poll_due(cx).is_ready() {
                return Poll::Ready(Event::AnswerDue);
            }
        }
        if this.liveness.poll_timer(cx).is_ready() {
            return Poll::Ready(Event::Timer);
        }
        if plan.watch_shutdown && this.shutdown.poll_triggered(cx).is_ready() {
            return Poll::Ready(Event::Shutdown);
        }
        Poll::Pending
    }
}
