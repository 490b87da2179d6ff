//! The echo server: serves `ws://ADDR/ws` and logs each connection and each message.
//!
//! ```text
//! cargo run --features smol --example server -- --addr 127.0.0.1:8080
//! cargo run --features async-std --example server
//! ```
#![cfg_attr(feature = "async-std", allow(deprecated))]

#[cfg(not(any(feature = "smol", feature = "async-std")))]
compile_error!(
    "the server example needs a runtime: run `cargo run --features smol --example server` \
     or `cargo run --features async-std --example server`"
);

use std::process::ExitCode;
use std::time::Duration;

use argh::FromArgs;
use ws_echo::{Config, Handler, Message};

/// Serve a WebSocket echo endpoint.
#[derive(FromArgs)]
struct Args {
    /// address to listen on (default 127.0.0.1:8080; port 0 picks a free one)
    #[argh(option, default = "String::from(\"127.0.0.1:8080\")")]
    addr: String,
    /// the path that is upgraded; others get 404 (default /ws)
    #[argh(option, default = "String::from(\"/ws\")")]
    path: String,
    /// an origin allowed to connect, repeat for several; others get 403 (default: any)
    #[argh(option)]
    allow_origin: Vec<String>,
    /// largest message accepted, in bytes; larger ones get Close 1009 (default 1048576)
    #[argh(option, default = "1 << 20")]
    max_message_size: usize,
    /// heartbeat: ping a client silent this long, or "off" (default 20s)
    #[argh(
        option,
        default = "Some(Duration::from_secs(20))",
        from_str_fn(duration_or_off)
    )]
    ping_interval: Option<Duration>,
    /// heartbeat: drop a client still silent this long after the ping (default 20s)
    #[argh(option, default = "Duration::from_secs(20)", from_str_fn(duration))]
    pong_timeout: Duration,
    /// drop a connection that has not finished the upgrade in this time (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    handshake_timeout: Duration,
    /// drop a connection whose writes make no progress for this long (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    write_timeout: Duration,
    /// close (1001) a connection with no data message for this long, or "off" (default off)
    #[argh(option, default = "None", from_str_fn(duration_or_off))]
    idle_timeout: Option<Duration>,
    /// how long to wait for the peer's answer after we close (default 2s)
    #[argh(option, default = "Duration::from_secs(2)", from_str_fn(duration))]
    close_timeout: Duration,
    /// TCP keepalive idle time before probes, or "off" (default 30s)
    #[argh(
        option,
        default = "Some(Duration::from_secs(30))",
        from_str_fn(duration_or_off)
    )]
    tcp_keepalive: Option<Duration>,
    /// connections served at once; more get HTTP 503 (default 10000)
    #[argh(option, default = "10_000")]
    max_connections: usize,
    /// the runtime to serve on: smol (default, recommended) or async-std
    #[cfg(all(feature = "smol", feature = "async-std"))]
    #[argh(option, default = "Runtime::Smol")]
    runtime: Runtime,
}

#[cfg(all(feature = "smol", feature = "async-std"))]
#[derive(Clone, Copy)]
enum Runtime {
    Smol,
    AsyncStd,
}

#[cfg(all(feature = "smol", feature = "async-std"))]
impl argh::FromArgValue for Runtime {
    fn from_arg_value(value: &str) -> Result<Self, String> {
        match value {
            "smol" => Ok(Runtime::Smol),
            "async-std" => Ok(Runtime::AsyncStd),
            other => Err(format!("unknown runtime {other:?}: use smol or async-std")),
        }
    }
}

fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{value:?}: {e}"))
}

fn duration_or_off(value: &str) -> Result<Option<Duration>, String> {
    match value {
        "off" => Ok(None),
        other => duration(other).map(Some),
    }
}

/// The echo, logging each message as the Go program printed them.
#[derive(Clone, Copy)]
struct LoggedEcho;

impl Handler for LoggedEcho {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        match &message {
            Message::Text(text) => log::info!("received from client: {text}"),
            other => log::info!("received from client: {} bytes of binary", other.len()),
        }
        Some(message)
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let args: Args = argh::from_env();
    // Each connection is a file descriptor: raise the soft limit as far as we may.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => log::info!("file descriptor limit: {limit}"),
        Err(e) => log::warn!("could not raise the file descriptor limit: {e}"),
    }
    let mut config = Config::default()
        .path(args.path.as_str())
        .max_message_size(args.max_message_size)
        .ping_interval(args.ping_interval)
        .pong_timeout(args.pong_timeout)
        .handshake_timeout(args.handshake_timeout)
        .write_timeout(args.write_timeout)
        .idle_timeout(args.idle_timeout)
        .close_timeout(args.close_timeout)
        .tcp_keepalive(args.tcp_keepalive)
        .max_connections(Some(args.max_connections));
    for origin in &args.allow_origin {
        config = config.allow_origin(origin.as_str());
    }

    #[cfg(all(feature = "smol", feature = "async-std"))]
    let result = match args.runtime {
        Runtime::Smol => smol::block_on(on_smol(&args.addr, config)),
        Runtime::AsyncStd => async_std::task::block_on(on_async_std(&args.addr, config)),
    };
    #[cfg(all(feature = "smol", not(feature = "async-std")))]
    let result = smol::block_on(on_smol(&args.addr, config));
    #[cfg(all(feature = "async-std", not(feature = "smol")))]
    let result = async_std::task::block_on(on_async_std(&args.addr, config));

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot serve on {}: {e}", args.addr);
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "smol")]
async fn on_smol(addr: &str, config: Config) -> std::io::Result<()> {
    let path = config.path.clone();
    let server = ws_echo::runtimes::smol::Server::bind(addr, config).await?;
    println!("serving ws://{}{path} (smol)", server.local_addr()?);
    server.run(LoggedEcho).await
}

#[cfg(feature = "async-std")]
async fn on_async_std(addr: &str, config: Config) -> std::io::Result<()> {
    let path = config.path.clone();
    let server = ws_echo::runtimes::async_std::Server::bind(addr, config).await?;
    println!("serving ws://{}{path} (async-std)", server.local_addr()?);
    server.run(LoggedEcho).await
}
