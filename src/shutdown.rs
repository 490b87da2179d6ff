//! [`Shutdown`]: a signal that asks connections to end gracefully.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use event_listener::Event;

/// Asks every connection that watches it to end gracefully: echo what has already arrived,
/// send Close 1001 "going away", and wait up to [`Config::drain_timeout`](crate::Config) for
/// the peer's answer.
///
/// Cloning gives another handle to the same signal. Put one in [`Config::shutdown`](crate::Config)
/// and every connection served with that config watches it; the adapters' servers also stop
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
        loop {
            if self.is_triggered() {
                return;
            }
            let listener = self.0.event.listen();
            if self.is_triggered() {
                return;
            }
            listener.await;
        }
    }
}
