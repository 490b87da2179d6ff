//! The `ws-echo` command: the echo server, serving `ws://ADDR/ws` and a page to try it at
//! `http://ADDR/`, with health, metrics, the test target and a drain on SIGTERM.
//!
//! ```text
//! cargo install --path .        # or: cargo install --git URL
//! ws-echo --addr :8080          # every interface, IPv6 and IPv4
//! PORT=8080 ws-echo             # as platforms set it; WS_ECHO_<FLAG> for any flag
//! ```
//!
//! The seed's `cargo run --features smol --example server` is the same program
//! (`examples/server.rs` compiles these files).

#![cfg_attr(feature = "async-std", allow(deprecated))]

mod app;
mod args;
mod environment;
mod flags;
mod logging;
mod metrics;
mod runtime;

fn main() -> std::process::ExitCode {
    app::main()
}
