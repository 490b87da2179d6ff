//! [`Shutdown`]: a signal that asks connections to end gracefully.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use event_listener::{Event, EventListener};

/// Asks every connection that watches it to end gracefully: echo what has already arrived,
/// send Close 1001 "going away", and wait up to [`Config::drain_timeout`](crate::Config) for
/// the peer's answer.
///
/// Cloning gives another handle to the same signal. Put one in [`Config::shutdown`](crate::Config)
/// and every connection served with that config watches it; a [`Server`](crate::Server) also stops
/// accepting when it is triggered.
///
/// ```
/// let shutdown = ws_echo::Shutdown::new();
/// let config = ws_echo::Config::default().shutdown(shutdown.clone());
/// assert!(!shutdown.is_triggered());
/// shutdown.trigger();
/// assert!(config.shutdown.as_ref().is_some_and(|s| s.is_triggered()));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Shutdown(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    event: Event,
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Triggers it; every waiter wakes. Triggering again does nothing.
    pub fn trigger(&self) {
        if !self.0.triggered.swap(true, Ordering::SeqCst) {
            self.0.event.notify(usize::MAX);
        }
    }

    /// Whether it has been triggered.
    pub fn is_triggered(&self) -> bool {
        self.0.triggered.load(Ordering::SeqCst)
    }

    /// Completes once it is triggered (at once if it already was). Cancel-safe.
    pub async fn triggered(&self) {
        let mut watch = Watch::new(Some(self.clone()));
        std::future::poll_fn(|cx| watch.poll_triggered(cx)).await
    }
}

/// Watches a [`Shutdown`] (or none) for a task that polls it far more often than it fires (a
/// connection's task polls it at every wait for input): after the first poll it touches the
/// signal's listener (a lock) again only when the signal was triggered or the task's waker
/// changed.
#[derive(Debug)]
pub(crate) struct Watch {
    shutdown: Option<Shutdown>,
    /// A listener that was polled, and the waker it wakes.
    listening: Option<(EventListener, Waker)>,
}

impl Watch {
    pub(crate) fn new(shutdown: Option<Shutdown>) -> Watch {
        Watch {
            shutdown,
            listening: None,
        }
    }

    /// Ready once the signal is triggered (and again at every poll after); never without one.
    pub(crate) fn poll_triggered(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(shutdown) = &self.shutdown else {
            return Poll::Pending;
        };
        if shutdown.is_triggered() {
            return Poll::Ready(());
        }
        if let Some((_, waker)) = &self.listening {
            if waker.will_wake(cx.waker()) {
                return Poll::Pending;
            }
        }
        let mut listener = match self.listening.take() {
            Some((listener, _)) => listener,
            None => {
                let listener = shutdown.0.event.listen();
                // Triggered before the listener existed: it will not hear of it.
                if shutdown.is_triggered() {
                    return Poll::Ready(());
                }
                listener
            }
        };
        match Pin::new(&mut listener).poll(cx) {
            // Only `trigger` notifies, after setting the flag.
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => {
                self.listening = Some((listener, cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// Counts its wake-ups.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_watch_wakes_its_task_once_triggered_and_stays_ready() {
        let shutdown = Shutdown::new();
        let mut watch = Watch::new(Some(shutdown.clone()));
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        assert!(watch.poll_triggered(&mut cx).is_pending());
        assert!(watch.poll_triggered(&mut cx).is_pending());
        shutdown.trigger();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(watch.poll_triggered(&mut cx).is_ready());
        assert!(watch.poll_triggered(&mut cx).is_ready());
    }

    #[test]
    fn a_watch_polled_by_another_task_wakes_that_one() {
        let shutdown = Shutdown::new();
        let mut watch = Watch::new(Some(shutdown.clone()));
        let first = Arc::new(Counter(AtomicUsize::new(0)));
        let second = Arc::new(Counter(AtomicUsize::new(0)));
        let (w1, w2) = (
            Waker::from(Arc::clone(&first)),
            Waker::from(Arc::clone(&second)),
        );
        assert!(watch
            .poll_triggered(&mut Context::from_waker(&w1))
            .is_pending());
        assert!(watch
            .poll_triggered(&mut Context::from_waker(&w2))
            .is_pending());
        shutdown.trigger();
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_watch_of_no_signal_never_fires() {
        let mut watch = Watch::new(None);
        let waker = Waker::noop();
        assert!(watch
            .poll_triggered(&mut Context::from_waker(waker))
            .is_pending());
    }

    #[test]
    fn a_watch_of_a_signal_already_triggered_is_ready_at_once() {
        let shutdown = Shutdown::new();
        shutdown.trigger();
        let mut watch = Watch::new(Some(shutdown));
        assert!(watch
            .poll_triggered(&mut Context::from_waker(Waker::noop()))
            .is_ready());
    }
}
