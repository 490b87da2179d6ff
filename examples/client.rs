//! The timed writer: dials the echo server with an `Origin` header, writes a message every
//! interval and prints each echo with its round-trip time.
//!
//! ```text
//! cargo run --features smol --example client -- --addr 127.0.0.1:8080 --interval 500ms --count 5
//! ```
#![cfg_attr(feature = "async-std", allow(deprecated))]

#[cfg(not(any(feature = "smol", feature = "async-std", feature = "tokio")))]
compile_error!(
    "the client example needs a runtime: run `cargo run --features smol --example client` \
     or `cargo run --features async-std --example client` \
     (or `cargo run --features tokio --example client`)"
);

#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "client/app.rs"]
mod app;
#[cfg(any(feature = "smol", feature = "async-std", feature = "tokio"))]
#[path = "../src/bin/ws-echo/flags.rs"]
mod flags;
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
