//! The command's flags, and the same flags from the environment (`WS_ECHO_MAX_CONNECTIONS=5`
//! for `--max-connections 5`; see `environment.rs`).

use std::time::Duration;

use crate::flags::{duration, duration_or_off, positive_count};
use crate::logging::{log_format, LogFormat};
use argh::FromArgs;
use ws_echo::runtimes::Runtime;

/// Serve a WebSocket echo endpoint at ws://ADDR/PATH, and a page to try it at http://ADDR/.
#[derive(FromArgs)]
#[argh(
    note = "Every flag can also come from the environment: --max-connections 500 as \
            WS_ECHO_MAX_CONNECTIONS=500, a switch as WS_ECHO_REUSE_PORT=1 (or 0), a repeated flag \
            as WS_ECHO_ALLOW_ORIGIN=https://a.example,https://b.example; a flag on the command \
            line wins over its variable. PORT=8080 alone listens on :8080, as platforms set it. \
            RUST_LOG sets what is logged (default info: one line per connection event; debug adds \
            each message). Ctrl-C (SIGINT) or SIGTERM drains: every connection gets Close 1001 \
            after its echoes; a second signal exits at once, with 130 after SIGINT and 143 after \
            SIGTERM.",
    error_code(1, "could not serve: the address is taken, or the listener failed"),
    error_code(
        2,
        "bad usage: a flag or its value is wrong, or a TLS file is unusable"
    ),
    error_code(130, "a second SIGINT (Ctrl-C) during the drain: exited at once"),
    error_code(143, "a second SIGTERM during the drain: exited at once")
)]
pub struct Args {
    /// address to listen on: host:port, or :port for every interface, IPv6 and IPv4 (default
    /// 127.0.0.1:8080; port 0 picks a free one)
    #[argh(option, default = "String::from(\"127.0.0.1:8080\")")]
    pub addr: String,
    /// the path that is upgraded; others get 404 (default /ws)
    #[argh(option, default = "String::from(\"/ws\")")]
    pub path: String,
    /// an origin allowed to connect, repeat for several; others get 403 (default: any)
    #[argh(option)]
    pub allow_origin: Vec<String>,
    /// a subprotocol to speak, repeat for several: of a client's offer, the first listed here
    /// is selected; an offer of none of them is served without one
    #[argh(option)]
    pub protocol: Vec<String>,
    /// largest message accepted, in bytes; larger ones get Close 1009 (default 1048576)
    #[argh(option, default = "1 << 20")]
    pub max_message_size: usize,
    /// largest single frame accepted, in bytes, if below --max-message-size; larger ones get
    /// Close 1009 (default: as large as a message)
    #[argh(option)]
    pub max_frame_size: Option<usize>,
    /// heartbeat: ping a client silent this long, or "off" (default 20s)
    #[argh(
        option,
        default = "Some(Duration::from_secs(20))",
        from_str_fn(duration_or_off)
    )]
    pub ping_interval: Option<Duration>,
    /// heartbeat: drop a client still silent this long after the ping (default 20s)
    #[argh(option, default = "Duration::from_secs(20)", from_str_fn(duration))]
    pub pong_timeout: Duration,
    /// drop a connection that has not finished the upgrade in this time (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    pub handshake_timeout: Duration,
    /// drop a connection whose writes make no progress for this long (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    pub write_timeout: Duration,
    /// close (1001) a connection with no data message for this long, or "off" (default off)
    #[argh(option, default = "None", from_str_fn(duration_or_off))]
    pub idle_timeout: Option<Duration>,
    /// how long to wait for the peer's answer after we close (default 2s)
    #[argh(option, default = "Duration::from_secs(2)", from_str_fn(duration))]
    pub close_timeout: Duration,
    /// TCP keepalive idle time before probes, or "off" (default 30s)
    #[argh(
        option,
        default = "Some(Duration::from_secs(30))",
        from_str_fn(duration_or_off)
    )]
    pub tcp_keepalive: Option<Duration>,
    /// connections served at once; more get HTTP 503 (default 10000)
    #[argh(option, default = "10_000", from_str_fn(positive_count))]
    pub max_connections: usize,
    /// connections served at once from one client IP address; more get HTTP 429 (default: no
    /// limit; behind a proxy, every client has its address)
    #[argh(option, from_str_fn(positive_count))]
    pub max_connections_per_ip: Option<usize>,
    /// serve wss://: the PEM certificate chain (with --tls-key; needs the `tls` feature)
    #[argh(option)]
    pub tls_cert: Option<std::path::PathBuf>,
    /// serve wss://: the PEM private key of --tls-cert
    #[argh(option)]
    pub tls_key: Option<std::path::PathBuf>,
    /// share the address with other instances started with --reuse-port (SO_REUSEPORT): the
    /// kernel spreads new connections among them, and one can restart while the others serve
    #[argh(switch)]
    pub reuse_port: bool,
    /// do not serve GET /metrics (the Prometheus text format)
    #[argh(switch)]
    pub no_metrics: bool,
    /// serve /metrics and /health on this address instead of the WebSocket address
    #[argh(option)]
    pub metrics_addr: Option<String>,
    /// do not answer GET /health (readiness: 200 ok while serving, 503 draining from Ctrl-C or
    /// SIGTERM) nor GET /live (liveness: 200 ok through the drain too)
    #[argh(switch)]
    pub no_health: bool,
    /// after Ctrl-C or SIGTERM, serve on this long while /health answers 503, so that a load
    /// balancer stops sending clients first (default 0s)
    #[argh(option, default = "Duration::ZERO", from_str_fn(duration))]
    pub drain_delay: Duration,
    /// how long connections get to answer our Close 1001 at shutdown (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    pub drain_timeout: Duration,
    /// how log lines look: "human" (the default) or "json", one object a line with the time,
    /// level, target, message and the event's fields (connection id, peer, ...)
    #[argh(option, default = "LogFormat::Human", from_str_fn(log_format))]
    pub log_format: LogFormat,
    /// the runtime to serve on: smol (the default and recommended), async-std or tokio, as
    /// compiled in
    #[argh(
        option,
        default = "Runtime::COMPILED[0]",
        from_str_fn(crate::runtime::runtime)
    )]
    pub runtime: Runtime,
    /// be a test target: the upgrade request's query may ask for ?info, ?delay=200ms,
    /// ?jitter=50ms, ?close=4000&after=3, ?abort&after=3, ?status=503, ?fragment=1024,
    /// ?subprotocol=chat, ?header=X-Test:yes, ?push=5&every=1s&text=tick, ?ping=500ms, ?nopong
    #[argh(switch)]
    pub test_target: bool,
    /// decline permessage-deflate (RFC 7692), which is otherwise accepted: each message
    /// compressed on its own, both ways
    #[argh(switch)]
    pub no_deflate: bool,
    /// this instance's name in the test target's ?info (default: "pid" and the process id)
    #[argh(option)]
    pub instance: Option<String>,
    /// executor threads: connections spread over them (default: one per core this process
    /// may run on; async-std keeps its own, one per core)
    #[argh(option, default = "crate::runtime::cores()")]
    pub threads: usize,
}
