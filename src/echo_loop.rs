//! The per-connection loop after the upgrade: read -> [`Handler`] -> write, limits, liveness,
//! the drain at shutdown and the close handshake.
//!
//! The loop itself ([`Conn::echo`]) is the data path; each policy it follows is a small type
//! with named steps: [`Batch`] (how much is echoed before a flush and a yield), [`Idle`] (the
//! idle timeout), [`Phase`] (serving, or draining at shutdown), and [`Liveness`] (heartbeat and
//! write timeout, shared with the client). What the stream under tungstenite does with the
//! bytes is [`Buffered`]'s.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::ops::ControlFlow::{self, Break, Continue};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::error::ProtocolError;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use async_tungstenite::tungstenite::{self, Message};
use async_tungstenite::WebSocketStream;
use futures_lite::{future, AsyncRead, AsyncWrite, StreamExt};
use futures_util::stream::FusedStream;
use futures_util::{FutureExt, SinkExt};

use crate::buffered::{self, Buffered};
use crate::liveness::{Beat, Liveness, Watched};
use crate::metrics::Live;
use crate::shutdown::Watch;
use crate::summary::{Ending, Summary, Timeout};
use crate::test_target::{End, Target};
use crate::timer::{later, Sleep, Timer};
use crate::{linger, Config, Handler, Open, Refusal};

/// Messages echoed in one go before we flush and let other tasks run, so that a peer whose
/// input never pauses cannot starve the rest of the executor.
const BATCH: u32 = 64;

/// The same in bytes (64 messages of 16 KiB): 64 large messages would keep the other
/// connections waiting while tens of megabytes go through.
const BATCH_BYTES: u64 = 1 << 20;

/// A close reason may hold 123 bytes: a control frame's 125 less the 2-byte code.
const MAX_REASON: usize = 123;

/// What a connection opens with, as the handler's [`on_open`](Handler::on_open) and the test
/// target's controls ask: first messages, a Close at once, and the controls to follow.
#[derive(Debug, Default)]
pub(crate) struct Opening {
    /// Sent before any echo: the test target's `?info`, the handler's greeting.
    pub(crate) first: Vec<Message>,
    /// Sent after `first`, ending the connection.
    pub(crate) close: Option<CloseFrame>,
    pub(crate) target: Option<Target>,
}

impl Opening {
    /// Adds what the handler answered; a refusal is the caller's to send.
    pub(crate) fn add(&mut self, open: Open) -> Result<(), Refusal> {
        match open {
            Open::Greet(Message::Close(frame)) => {
                self.close = Some(frame.unwrap_or_else(|| close_frame(CloseCode::Normal, "")));
            }
            Open::Greet(message) => self.first.push(message),
            Open::Close(frame) => self.close = Some(frame),
            Open::Refuse(refusal) => return Err(refusal),
            Open::Accept => {}
        }
        Ok(())
    }
}

/// Runs a WebSocket connection whose upgrade is done; `rest` is what the peer sent after its
/// request head.
pub(crate) async fn run<S, H>(
    stream: S,
    rest: Vec<u8>,
    config: &Config,
    mut handler: H,
    started: Instant,
    opening: Opening,
) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let (stream, activity) = Liveness::watch(stream);
    let stream = Buffered::new(stream, config.write_buffer_size);
    let framing = Some(buffered::framing(config));
    let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, framing).await;
    let liveness = Liveness::new(
        activity,
        config.timer,
        config.ping_interval,
        config.pong_timeout,
        config.write_timeout,
    )
    .also_waits(config.idle_timeout);
    let mut conn = Conn {
        ws,
        config,
        liveness,
        counts: Counts::default(),
        live: Live::open(),
        aside: opening
            .target
            .map(|target| Aside::new(config.timer, Some(target))),
    };
    let plain = opening.first.is_empty() && opening.close.is_none() && conn.aside.is_none();
    let opened = match plain {
        true => Continue(()),
        false => Box::pin(conn.open(opening.first, opening.close)).await,
    };
    let ending = match opened {
        Continue(()) => conn.echo(&mut handler).await,
        Break(ending) => ending,
    };
    let Counts {
        messages_in,
        messages_out,
        bytes_in,
        bytes_out,
    } = conn.counts;
    let summary = Summary {
        messages_in,
        messages_out,
        bytes_in,
        bytes_out,
        duration: started.elapsed(),
        ending,
    };
    if let Some(live) = conn.live {
        live.ended(&summary);
    }
    summary
}

/// One connection after the upgrade.
struct Conn<'a, S> {
    ws: WebSocketStream<Buffered<Watched<S>>>,
    config: &'a Config,
    liveness: Liveness,
    counts: Counts,
    /// The connection's metrics, its traffic added at each flush; `None` when none are
    /// recorded.
    live: Option<Live>,
    /// What only a connection with late answers or test target controls needs; `None` (one
    /// test on the data path) for the plain echo.
    aside: Option<Box<Aside>>,
}

/// Answers waiting for their time ([`Handler::delay`], `?delay=`), and the test target's
/// controls when the request gave some.
struct Aside {
    later: Later,
    target: Option<Target>,
}

impl Aside {
    fn new(timer: Timer, target: Option<Target>) -> Box<Aside> {
        Box::new(Aside {
            later: Later::new(timer),
            target,
        })
    }
}

/// Answers that go out later than at once, in the order given, each at or after its time.
/// What they hold counts against the connection's bound: past it, the loop stops reading.
struct Later {
    queue: VecDeque<(Instant, Message)>,
    /// Payload bytes waiting, and [`ENTRY`] for each answer.
    bytes: usize,
    sleep: Sleep,
    /// The deadline `sleep` is set to.
    armed: Option<Instant>,
}

/// What a waiting answer costs besides its payload, for the bound.
const ENTRY: usize = 64;

impl Later {
    fn new(timer: Timer) -> Later {
        Later {
            queue: VecDeque::new(),
            bytes: 0,
            sleep: timer.never(),
            armed: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Waits `answer` until `due`, or after the answer before it, whichever is later.
    fn push(&mut self, due: Instant, answer: Message) {
        let due = self.queue.back().map_or(due, |(last, _)| due.max(*last));
        self.bytes += answer.len() + ENTRY;
        self.queue.push_back((due, answer));
    }

    /// The first answer, if its time has come.
    fn pop_due(&mut self, now: Instant) -> Option<Message> {
        if self.queue.front().is_none_or(|(due, _)| *due > now) {
            return None;
        }
        let (_, answer) = self.queue.pop_front()?;
        self.bytes -= answer.len() + ENTRY;
        Some(answer)
    }

    /// Ready when the first answer's time has come.
    fn poll_due(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let Some(&(due, _)) = self.queue.front() else {
            return Poll::Pending;
        };
        if self.armed != Some(due) {
            self.sleep.set_at(due);
            self.armed = Some(due);
        }
        let fired = Pin::new(&mut self.sleep).poll(cx);
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
}

/// Data messages and payload bytes each way, for the [`Summary`].
#[derive(Default)]
struct Counts {
    messages_in: u64,
    messages_out: u64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Counts {
    /// As [`Live::report`] takes them.
    fn all(&self) -> [u64; 4] {
        [
            self.messages_in,
            self.messages_out,
            self.bytes_in,
            self.bytes_out,
        ]
    }
}

/// The echoes (and pongs) fed to tungstenite since the last flush. Everything that has already
/// arrived is echoed before one flush, up to [`BATCH`] messages or [`BATCH_BYTES`]; then we
/// flush and yield, so that a peer whose input never pauses cannot starve the others.
#[derive(Default)]
struct Batch {
    messages: u32,
    bytes: u64,
}

impl Batch {
    fn add(&mut self, bytes: u64) {
        self.messages += 1;
        self.bytes += bytes;
    }

    fn is_empty(&self) -> bool {
        self.messages == 0
    }

    fn is_full(&self) -> bool {
        self.messages >= BATCH || self.bytes >= BATCH_BYTES
    }
}

/// The idle timeout: Close 1001 when no data message has arrived for its duration.
struct Idle {
    timeout: Option<Duration>,
    last_data: Instant,
}

impl Idle {
    /// A data message arrived (the clock is read only when the timeout is on).
    fn data(&mut self) {
        if self.timeout.is_some() {
            self.last_data = Instant::now();
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|idle| later(self.last_data, idle))
    }

    fn expired(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|due| now >= due)
    }
}

/// Serving, or draining after the shutdown signal: what has already arrived is echoed until
/// nothing more is waiting or `left` more messages were echoed (a peer that never pauses would
/// otherwise keep us open), then Close 1001; the peer learns from it that what follows was not
/// taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    Draining { left: u32 },
}

impl Phase {
    fn drain(&mut self) {
        *self = Phase::Draining { left: BATCH };
    }

    /// One more message echoed.
    fn took_one(&mut self) {
        if let Phase::Draining { left } = self {
            *left = left.saturating_sub(1);
        }
    }

    fn budget_spent(self) -> bool {
        matches!(self, Phase::Draining { left: 0 })
    }
}

/// What the loop keeps between its steps, besides the connection.
struct State {
    batch: Batch,
    idle: Idle,
    phase: Phase,
    /// The shutdown signal, watched without a lock at every wait.
    shutdown: Watch,
    /// The last poll of the stream returned Pending, and since then nothing has run but a
    /// flush that completed at once, all in the same poll of this task: the stream's waker is
    /// registered and no wake-up can have been missed, so the wait that follows need not poll
    /// the stream again before it sleeps (that poll would cost a second pass through
    /// async-tungstenite and the socket for every message that ends a burst).
    stream_waiting: bool,
}

/// What a message calls for.
enum Take {
    /// Send this answer (at once, or after the handler's delay).
    Reply(Message),
    /// Nothing to send.
    Nothing,
    /// Close the connection with this frame.
    Close(CloseFrame),
    /// The peer closed: answer and end.
    PeerClosed(Option<CloseFrame>),
}

/// What follows a flush.
enum AfterBatch {
    /// Go on.
    Go,
    /// Let other tasks run first.
    Yield,
    /// Drained: close with this frame.
    Close(CloseFrame),
}

/// What the loop woke up for.
enum Wake {
    /// A message, an error, or the end of the stream.
    Item(Option<Result<Message, tungstenite::Error>>),
    /// Nothing more has arrived: time to flush.
    Pending,
    /// The batch (or the drain budget) is used up: flush, and let other tasks run.
    Full,
    /// The timer: the heartbeat or the idle timeout.
    Timer,
    /// A waiting answer's time has come.
    Due,
    /// The shutdown signal.
    Shutdown,
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
        let mut state = State {
            batch: Batch::default(),
            idle: Idle {
                timeout: self.config.idle_timeout,
                last_data: Instant::now(),
            },
            phase: Phase::Serving,
            shutdown: Watch::new(self.config.shutdown.clone()),
            stream_waiting: false,
        };
        loop {
            let wake = self.wait(&mut state).await;
            let step = match wake {
                Wake::Item(Some(Ok(message))) => match self.take(message, handler, &mut state) {
                    Take::Reply(reply) => {
                        // Inline rather than an `async fn`: one state machine less per echo.
                        let len = reply.len() as u64;
                        self.write(|ws| ws.feed(reply)).await.map_continue(|()| {
                            self.counts.messages_out += 1;
                            self.counts.bytes_out += len;
                            state.batch.add(len);
                        })
                    }
                    Take::Nothing => Continue(()),
                    Take::Close(frame) => {
                        Break(Box::pin(self.close(frame, self.config.close_timeout)).await)
                    }
                    Take::PeerClosed(frame) => Break(Box::pin(self.peer_closed(frame)).await),
                },
                Wake::Item(Some(Err(e))) => Break(Box::pin(self.fail(e)).await),
                // The stream ends only after the close handshake, which returns first.
                Wake::Item(None) => Break(Ending::Eof),
                wake @ (Wake::Pending | Wake::Full) => {
                    // Nothing more has arrived, or the batch is full: flush what is queued.
                    let pending = matches!(wake, Wake::Pending);
                    if !state.batch.is_empty() {
                        let (flushed, at_once) = at_once(pin!(self.flush())).await;
                        if let Break(ending) = flushed {
                            return ending;
                        }
                        state.batch = Batch::default();
                        state.stream_waiting = pending && at_once;
                        if let Some(live) = &mut self.live {
                            live.report(self.counts.all());
                        }
                    }
                    match self.after_batch(pending, &mut state) {
                        AfterBatch::Go => Continue(()),
                        AfterBatch::Yield => {
                            self.config.timer.yield_now().await;
                            Continue(())
                        }
                        AfterBatch::Close(frame) => {
                            Break(Box::pin(self.close(frame, self.config.drain_timeout)).await)
                        }
                    }
                }
                Wake::Timer => Box::pin(self.on_timer(&mut state)).await,
                Wake::Due => Box::pin(self.send_due(&mut state)).await,
                Wake::Shutdown => {
                    state.phase.drain();
                    Continue(())
                }
            };
            if let Break(ending) = step {
                return ending;
            }
        }
    }

    /// Waits for the next thing to do. With nothing queued, it sleeps on the stream, the timer
    /// and the shutdown signal; with echoes queued, it only takes what has already arrived.
    /// (A `poll_fn`, not an `async fn`: the loop builds one at every message.)
    #[inline]
    fn wait<'w>(&'w mut self, state: &'w mut State) -> impl Future<Output = Wake> + 'w {
        let stream_waiting = std::mem::take(&mut state.stream_waiting);
        // Answers waiting for their time, and whether they are as many as the bound allows:
        // then nothing more is read until some have gone.
        let (waiting, over) = match self.aside.as_deref() {
            None => (false, false),
            Some(Aside { later, .. }) => (
                !later.is_empty(),
                later.bytes >= self.config.max_message_size,
            ),
        };
        let spent = state.phase.budget_spent();
        let full = state.batch.is_full() || (spent && !waiting);
        let read = !spent && !over;
        let serving = matches!(state.phase, Phase::Serving);
        let sleep = !full && state.batch.is_empty() && (serving || waiting);
        // Only a sleep skips its first poll of the stream (see `State::stream_waiting`).
        let mut skip_stream = sleep && stream_waiting;
        if sleep {
            self.liveness.aim(state.idle.deadline());
        }
        let (ws, liveness, shutdown) = (&mut self.ws, &mut self.liveness, &mut state.shutdown);
        let mut later = (self.aside.as_deref_mut())
            .map(|aside| &mut aside.later)
            .filter(|_| waiting);
        future::poll_fn(move |cx| {
            if full {
                return Poll::Ready(Wake::Full);
            }
            if read && !std::mem::take(&mut skip_stream) {
                if let Poll::Ready(item) = StreamExt::poll_next(ws, cx) {
                    return Poll::Ready(Wake::Item(item));
                }
            }
            if !sleep {
                return Poll::Ready(Wake::Pending);
            }
            if let Some(later) = later.as_deref_mut() {
                if later.poll_due(cx).is_ready() {
                    return Poll::Ready(Wake::Due);
                }
            }
            if liveness.poll_timer(cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
            if serving && shutdown.poll_triggered(cx).is_ready() {
                return Poll::Ready(Wake::Shutdown);
            }
            Poll::Pending
        })
    }

    /// Takes one message: a data message goes through the handler, whose answer is to be
    /// sent; tungstenite queues the pong to a ping itself; a Close ends the connection.
    #[inline]
    fn take<H: Handler>(&mut self, message: Message, handler: &mut H, state: &mut State) -> Take {
        match message {
            Message::Text(_) | Message::Binary(_) => {
                state.idle.data();
                state.phase.took_one();
                self.counts.messages_in += 1;
                self.counts.bytes_in += message.len() as u64;
                match catch_unwind(AssertUnwindSafe(|| handler.on_message(message))) {
                    Err(_) => {
                        log::warn!("the handler panicked; closing the connection with 1011");
                        Take::Close(close_frame(CloseCode::Error, "handler failed"))
                    }
                    Ok(None) => Take::Nothing,
                    Ok(Some(Message::Close(frame))) => {
                        Take::Close(frame.unwrap_or_else(|| close_frame(CloseCode::Normal, "")))
                    }
                    Ok(Some(reply)) => {
                        let delay = handler.delay(&reply);
                        if self.aside.is_none() && delay.is_zero() {
                            return Take::Reply(reply);
                        }
                        self.queue(reply, delay);
                        Take::Nothing
                    }
                }
            }
            // tungstenite has queued the pong; the next flush sends it.
            Message::Ping(_) => {
                state.batch.add(0);
                Take::Nothing
            }
            Message::Pong(_) | Message::Frame(_) => Take::Nothing,
            Message::Close(frame) => Take::PeerClosed(frame),
        }
    }

    /// The peer sent Close: tungstenite has queued the same Close back, behind every echo
    /// already fed, and flushing sends them all. An error here means the peer is gone.
    async fn peer_closed(&mut self, frame: Option<CloseFrame>) -> Ending {
        if let Break(ending) = self.flush().await {
            log::debug!("flushing the close reply failed: {ending}");
        }
        let (code, reason) = match frame {
            Some(frame) => (Some(frame.code.into()), frame.reason.to_string()),
            None => (None, String::new()),
        };
        Ending::PeerClosed { code, reason }
    }

    /// After a flush: start draining if the shutdown came meanwhile, close with 1001 once
    /// drained (everything that had arrived is echoed, or the budget is spent), or yield after
    /// a full batch.
    fn after_batch(&self, pending: bool, state: &mut State) -> AfterBatch {
        let waiting = self.waiting();
        match state.phase {
            Phase::Serving if self.shutdown_requested() => {
                state.phase.drain();
                AfterBatch::Go
            }
            // Answers still waiting for their time go first.
            Phase::Draining { .. } if waiting => AfterBatch::Go,
            Phase::Draining { left } if pending || left == 0 => {
                AfterBatch::Close(close_frame(CloseCode::Away, "going away"))
            }
            _ if !pending => AfterBatch::Yield,
            _ => AfterBatch::Go,
        }
    }

    /// The timer fired: ping a silent peer or give up on it, and close an idle connection.
    async fn on_timer(&mut self, state: &mut State) -> ControlFlow<Ending> {
        let now = Instant::now();
        match self.liveness.beat(now) {
            Beat::Dead(silent) => return Break(Ending::TimedOut(Timeout::Unresponsive { silent })),
            Beat::Ping => {
                self.write(|ws| ws.send(Message::Ping(Default::default())))
                    .await?
            }
            Beat::Wait => {}
        }
        if state.idle.expired(now) && !self.waiting() {
            let idle = close_frame(CloseCode::Away, "idle timeout");
            return Break(self.close(idle, self.config.close_timeout).await);
        }
        Continue(())
    }

    /// Sends what the connection opens with (after the 101): the first messages, then the Close
    /// the handler asked for, or the test target's end when it comes after no echo.
    async fn open(
        &mut self,
        first: Vec<Message>,
        close: Option<CloseFrame>,
    ) -> ControlFlow<Ending> {
        let sent = !first.is_empty();
        for message in first {
            let len = message.len() as u64;
            self.feed_aside(message).await?;
            self.counts.messages_out += 1;
            self.counts.bytes_out += len;
        }
        if let Some(frame) = close {
            return Break(self.close(frame, self.config.close_timeout).await);
        }
        if let Some(end) = self.target().and_then(Target::due_end).cloned() {
            return Break(self.end(end).await);
        }
        if sent {
            self.flush().await?;
        }
        Continue(())
    }

    /// Queues an answer that does not take the plain echo's way: one the handler delays, or one
    /// of a connection under the test target's controls. The handler's delay and the test
    /// target's add up; behind answers already waiting it waits too, so that answers keep
    /// their order. The next wait finds it due (at once, when there is no delay) and
    /// [`send_due`](Self::send_due) delivers it. Kept out of line: the echo's path only tests
    /// whether to call it.
    #[inline(never)]
    fn queue(&mut self, reply: Message, delay: Duration) {
        let delay = delay + self.target().map_or(Duration::ZERO, Target::delay);
        let timer = self.config.timer;
        let aside = self.aside.get_or_insert_with(|| Aside::new(timer, None));
        aside.later.push(later(Instant::now(), delay), reply);
    }

    /// Sends every waiting answer whose time has come.
    async fn send_due(&mut self, state: &mut State) -> ControlFlow<Ending> {
        let now = Instant::now();
        while let Some(answer) = (self.aside.as_mut()).and_then(|aside| aside.later.pop_due(now)) {
            self.deliver(answer, state).await?;
        }
        Continue(())
    }

    /// Feeds one answer (in frames of the test target's `?fragment=` size), counts it, and
    /// ends the connection if the test target asked for that after this many echoes.
    async fn deliver(&mut self, reply: Message, state: &mut State) -> ControlFlow<Ending> {
        let len = reply.len() as u64;
        let frames = match self.target() {
            Some(target) => target.frames(reply),
            None => Err(reply),
        };
        match frames {
            Ok(frames) => {
                // `?fragment=1` makes a frame of every byte: let the others run between
                // batches of them, as between batches of echoes.
                for (n, frame) in frames.enumerate() {
                    self.feed_aside(frame).await?;
                    if n % BATCH as usize == BATCH as usize - 1 {
                        self.config.timer.yield_now().await;
                    }
                }
            }
            Err(reply) => self.feed_aside(reply).await?,
        }
        self.counts.messages_out += 1;
        self.counts.bytes_out += len;
        state.batch.add(len);
        if let Some(target) = self.aside.as_mut().and_then(|aside| aside.target.as_mut()) {
            target.echoed();
            if let Some(end) = target.due_end().cloned() {
                return Break(self.end(end).await);
            }
        }
        Continue(())
    }

    /// Feeds `message` off the data path (a greeting, a late answer, a fragment). A type of its
    /// own: the echo's one `feed` is then the only caller of its write, which the compiler
    /// inlines into the loop as long as it has no other (with three callers it did not, and
    /// every echo cost some 130 instructions more).
    async fn feed_aside(&mut self, message: Message) -> ControlFlow<Ending> {
        self.write(|ws| async move { ws.feed(message).await }).await
    }

    /// Ends the connection as the test target asked: a Close after everything fed, or the TCP
    /// connection shut down without one once everything fed has gone.
    async fn end(&mut self, end: End) -> Ending {
        match end {
            End::Close(frame) => self.close(frame, self.config.close_timeout).await,
            End::Abort => {
                if let Break(ending) = self.flush().await {
                    return ending;
                }
                let stream = self.ws.get_mut();
                if let Err(e) = futures_lite::AsyncWriteExt::close(stream).await {
                    log::debug!("shutting down for the abort failed: {e}");
                }
                Ending::Aborted
            }
        }
    }

    fn target(&self) -> Option<&Target> {
        self.aside.as_ref().and_then(|aside| aside.target.as_ref())
    }

    /// Whether answers are waiting for their time.
    fn waiting(&self) -> bool {
        self.aside
            .as_ref()
            .is_some_and(|aside| !aside.later.is_empty())
    }

    fn shutdown_requested(&self) -> bool {
        self.config
            .shutdown
            .as_ref()
            .is_some_and(crate::Shutdown::is_triggered)
    }

    /// Runs one write operation under the write timeout.
    async fn write<'w, F, T>(
        &'w mut self,
        op: impl FnOnce(&'w mut WebSocketStream<Buffered<Watched<S>>>) -> F,
    ) -> ControlFlow<Ending, T>
    where
        F: Future<Output = Result<T, tungstenite::Error>> + 'w,
    {
        match self.liveness.write(op(&mut self.ws)).await {
            Some(Ok(value)) => Continue(value),
            Some(Err(e)) => Break(ending_of(e)),
            None => Break(Ending::TimedOut(Timeout::WriteStalled)),
        }
    }

    /// Sends everything queued: tungstenite's output, then our gathering buffer (after the
    /// peer's Close, tungstenite hands its last bytes on without flushing them).
    async fn flush(&mut self) -> ControlFlow<Ending> {
        self.write(|ws| ws.flush()).await?;
        if self.ws.get_ref().holds_output() {
            self.write(|ws| async { Ok(futures_lite::AsyncWriteExt::flush(ws.get_mut()).await?) })
                .await?;
        }
        Continue(())
    }

    /// Ends the connection after a read error: bad input gets its close code, a vanished peer
    /// gets the echoes still owed to it if it is still reading.
    async fn fail(&mut self, error: tungstenite::Error) -> Ending {
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
        self.close(close_frame(code, &reason), self.config.close_timeout)
            .await
    }

    /// Sends `frame` (after everything already fed), then waits for the peer's Close or EOF
    /// before letting the connection go, so that our Close is read rather than lost to a
    /// reset; all of it within `timeout`.
    async fn close(&mut self, frame: CloseFrame, timeout: Duration) -> Ending {
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
        let gave_up = self.config.timer.after(timeout).map(|()| true);
        let dropped = future::or(closing.map(|()| false), gave_up).await;
        Ending::ServerClosed {
            code,
            reason,
            dropped,
        }
    }
}

/// Runs `step`, telling also whether it completed on its first poll (without the task having
/// been suspended in between). It takes the step pinned where the caller keeps it: an `async
/// fn` taking the step itself would hold it twice, as its argument and pinned.
fn at_once<F: Future>(mut step: Pin<&mut F>) -> impl Future<Output = (F::Output, bool)> + '_ {
    let mut first = true;
    future::poll_fn(move |cx| {
        let was_first = std::mem::replace(&mut first, false);
        step.as_mut().poll(cx).map(|output| (output, was_first))
    })
}

fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
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
fn ending_of(error: tungstenite::Error) -> Ending {
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
