//! [`Running`]: what a running server, or one [`serve`](crate::serve) call, owns beside the
//! user's settings: whose timers its connections use, the signal that closes them, and the one
//! its health check watches. The settings ([`Config`]) are read, never written, once handed
//! over.

use crate::config::Config;
use crate::shutdown::Shutdown;
use crate::timer::Timer;

/// The state a connection is served under.
#[derive(Clone, Debug, Default)]
pub(crate) struct Running {
    /// Whose timers connections use, and how they yield.
    pub(crate) timer: Timer,
    /// When it fires, connections drain and close, and new upgrades get 503.
    pub(crate) shutdown: Option<Shutdown>,
    /// When it fires, the health check answers 503 (a server fires it at the signal, and
    /// `shutdown` only after its drain delay); `None`: the same as `shutdown`.
    pub(crate) draining: Option<Shutdown>,
}

impl Running {
    /// As `config` asks, for [`serve`](crate::serve): its timer and its shutdown signal.
    pub(crate) fn of(config: &Config) -> Running {
        Running {
            timer: config.timer,
            shutdown: config.shutdown.clone(),
            draining: None,
        }
    }

    /// Whether the health check answers 503.
    pub(crate) fn is_draining(&self) -> bool {
        (self.draining.as_ref())
            .or(self.shutdown.as_ref())
            .is_some_and(Shutdown::is_triggered)
    }

    /// Whether the shutdown signal has fired: connections close, new upgrades get 503.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.as_ref().is_some_and(Shutdown::is_triggered)
    }
}
