//! The echo server: serves `ws://ADDR/ws` and logs each connection and each message; a
//! browser pointed at `http://ADDR/` gets a page to talk to it with. The same program as the
//! `ws-echo` command (`cargo install --path .`): its code is in `src/bin/ws-echo/`, compiled
//! here with whichever runtimes the build has.
//!
//! ```text
//! cargo run --features smol --example server -- --addr 127.0.0.1:8080
//! cargo run --features async-std --example server
//! cargo run --features tokio --example server
//! ```
//!
//! With `--features smol,tls` and `--tls-cert cert.pem --tls-key key.pem` it serves wss://.
//!
//! Ctrl-C or SIGTERM drains: every connection gets Close 1001 after its echoes, with up to
//! `--drain-timeout` to answer; a second signal exits at once (130 after
//! SIGINT, 143 after SIGTERM).
#![cfg_attr(feature = "async-std", allow(deprecated))]

#[cfg(not(any(feature = "smol", feature = "async-std", feature = "tokio")))]
compile_error!(
    "the server example needs a runtime: run `cargo run --features smol --example server` \
     or `cargo run --features async-std --example server` \
     (or `cargo run --features tokio --example server`)"
);

#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/app.rs"]
mod app;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/args.rs"]
mod args;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/environment.rs"]
mod environment;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/flags.rs"]
mod flags;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/logging.rs"]
mod logging;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/metrics.rs"]
mod metrics;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/runtime.rs"]
mod runtime;

#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
fn main() -> std::process::ExitCode {
    app::main()
}

/// Without a runtime there is only the error above.
#[cfg(not(any(feature = "smol", feature = "async-std", feature = "tokio")))]
fn main() {}
