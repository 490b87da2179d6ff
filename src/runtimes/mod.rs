//! What each runtime owns, behind its feature: turning a bound socket into its listener,
//! accepting, spawning a task, dialing, and its timer. Everything else (the accept loop, the
//! connection slots, the drain) is the one [`Server`](crate::Server), written once.
//!
//! ```
//! use ws_echo::runtimes::Runtime;
//!
//! for runtime in Runtime::COMPILED {
//!     assert_eq!(Runtime::from_name(runtime.name()), Some(*runtime));
//! }
//! ```
#![allow(deprecated)] // Runtime::AsyncStd, which we still support

use crate::timer::Timer;

#[cfg(any(feature = "smol", feature = "async-std"))]
mod async_io_tcp;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
mod net;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "smol", feature = "async-std", feature = "tokio")))
)]
pub use net::TcpStream;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
pub(crate) use net::{Listener, Task};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio::tokio_io;

/// A runtime compiled into this build (by its Cargo feature), for [`Server::bind`](crate::Server::bind)
/// and [`Runtime::connect`].
///
/// ```
/// use ws_echo::runtimes::Runtime;
///
/// // The `--runtime` flag of the examples: a name, checked against what is compiled in.
/// let chosen = Runtime::from_name("smol").or(Runtime::COMPILED.first().copied());
/// # let _ = chosen;
/// assert_eq!(Runtime::from_name("no such runtime"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Runtime {
    /// smol (feature `smol`), the one we recommend: tasks on smol's global executor (or yours,
    /// with [`Server::run_on`](crate::Server::run_on)), async-io's reactor and timers.
    #[cfg(feature = "smol")]
    #[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
    Smol,
    /// async-std (feature `async-std`): deprecated upstream in favour of smol, still supported.
    /// async-std tasks, async-io's reactor and timers.
    #[cfg(feature = "async-std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "async-std")))]
    #[deprecated(note = "async-std is deprecated upstream in favour of smol: use `Runtime::Smol`")]
    AsyncStd,
    /// tokio (feature `tokio`): tokio tasks, its reactor and, when the runtime has them
    /// (`enable_time` or `enable_all`), its timers. Run the server inside a tokio runtime.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    Tokio,
}

impl Runtime {
    /// The runtimes compiled in, the recommended one first.
    pub const COMPILED: &'static [Runtime] = &[
        #[cfg(feature = "smol")]
        Runtime::Smol,
        #[cfg(feature = "async-std")]
        Runtime::AsyncStd,
        #[cfg(feature = "tokio")]
        Runtime::Tokio,
    ];

    /// Its feature's name: `smol`, `async-std` or `tokio`.
    ///
    /// ```
    /// # #[cfg(feature = "smol")]
    /// assert_eq!(ws_echo::runtimes::Runtime::Smol.name(), "smol");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => "smol",
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => "async-std",
            #[cfg(feature = "tokio")]
            Runtime::Tokio => "tokio",
        }
    }

    /// The runtime compiled in under `name` (as [`Runtime::name`] gives it).
    ///
    /// ```
    /// use ws_echo::runtimes::Runtime;
    ///
    /// for runtime in Runtime::COMPILED {
    ///     assert_eq!(Runtime::from_name(runtime.name()), Some(*runtime));
    /// }
    /// ```
    pub fn from_name(name: &str) -> Option<Runtime> {
        Runtime::COMPILED
            .iter()
            .copied()
            .find(|rt| rt.name() == name)
    }

    /// The timers its connections use: async-io's under smol and async-std; under tokio, the
    /// current runtime's when it has them (called from inside it), else async-io's. For a
    /// client on that runtime, say:
    ///
    /// ```
    /// # #[cfg(feature = "smol")] {
    /// use ws_echo::{client::ClientConfig, runtimes::Runtime, Timer};
    ///
    /// let config = ClientConfig::new("ws://127.0.0.1:8080/ws").timer(Runtime::Smol.timer());
    /// assert_eq!(config.timer, Timer::AsyncIo);
    /// # }
    /// ```
    pub fn timer(self) -> Timer {
        match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => Timer::AsyncIo,
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => Timer::AsyncIo,
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::timer(),
        }
    }
}
