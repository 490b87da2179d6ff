//! The server example itself (see `examples/server.rs`), compiled only with a runtime.

use std::process::ExitCode;
use std::time::Duration;

use crate::flags::{duration, duration_or_off};
use crate::logging::{log_format, LogFormat};
use argh::FromArgs;
use ws_echo::runtimes::Runtime;
use ws_echo::{Config, Handler, Message, Server, Shutdown, StatsHandle};

/// Serve a WebSocket echo endpoint at ws://ADDR/PATH, and a page to try it at http://ADDR/.
#[derive(FromArgs)]
#[argh(
    note = "RUST_LOG sets what is logged (default info: one line per connection event; debug adds \
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
    /// a subprotocol to speak, repeat for several: of a client's offer, the first listed here
    /// is selected; an offer of none of them is served without one
    #[argh(option)]
    protocol: Vec<String>,
    /// largest message accepted, in bytes; larger ones get Close 1009 (default 1048576)
    #[argh(option, default = "1 << 20")]
    max_message_size: usize,
    /// largest single frame accepted, in bytes, if below --max-message-size; larger ones get
    /// Close 1009 (default: as large as a message)
    #[argh(option)]
    max_frame_size: Option<usize>,
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
    /// connections served at once from one client IP address; more get HTTP 429 (default: no
    /// limit; behind a proxy, every client has its address)
    #[argh(option)]
    max_connections_per_ip: Option<usize>,
    /// serve wss://: the PEM certificate chain (with --tls-key; needs the `tls` feature)
    #[argh(option)]
    tls_cert: Option<std::path::PathBuf>,
    /// serve wss://: the PEM private key of --tls-cert
    #[argh(option)]
    tls_key: Option<std::path::PathBuf>,
    /// share the address with other instances started with --reuse-port (SO_REUSEPORT): the
    /// kernel spreads new connections among them, and one can restart while the others serve
    #[argh(switch)]
    reuse_port: bool,
    /// do not serve GET /metrics (the Prometheus text format)
    #[argh(switch)]
    no_metrics: bool,
    /// serve /metrics and /health on this address instead of the WebSocket address
    #[argh(option)]
    metrics_addr: Option<String>,
    /// do not answer GET /health (200 ok while serving, 503 draining from Ctrl-C or SIGTERM)
    #[argh(switch)]
    no_health: bool,
    /// after Ctrl-C or SIGTERM, serve on this long while /health answers 503, so that a load
    /// balancer stops sending clients first (default 0s)
    #[argh(option, default = "Duration::ZERO", from_str_fn(duration))]
    drain_delay: Duration,
    /// how long connections get to answer our Close 1001 at shutdown (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    drain_timeout: Duration,
    /// how log lines look: "human" (the default) or "json", one object a line with the time,
    /// level, target, message and the event's fields (connection id, peer, ...)
    #[argh(option, default = "LogFormat::Human", from_str_fn(log_format))]
    log_format: LogFormat,
    /// the runtime to serve on: smol (the default and recommended), async-std or tokio, as
    /// compiled in
    #[argh(
        option,
        default = "Runtime::COMPILED[0]",
        from_str_fn(crate::runtime::runtime)
    )]
    runtime: Runtime,
    /// be a test target: the upgrade request's query may ask for ?info, ?delay=200ms,
    /// ?jitter=50ms, ?close=4000&after=3, ?abort&after=3, ?status=503, ?fragment=1024,
    /// ?subprotocol=chat, ?header=X-Test:yes, ?push=5&every=1s&text=tick, ?ping=500ms, ?nopong
    #[argh(switch)]
    test_target: bool,
    /// decline permessage-deflate (RFC 7692), which is otherwise accepted: each message
    /// compressed on its own, both ways
    #[argh(switch)]
    no_deflate: bool,
    /// this instance's name in the test target's ?info (default: "pid" and the process id)
    #[argh(option)]
    instance: Option<String>,
    /// executor threads: connections spread over them (default: one per core this process
    /// may run on; async-std keeps its own, one per core)
    #[argh(option, default = "crate::runtime::cores()")]
    threads: usize,
}

/// The echo, logging each message as the Go program printed them.
#[derive(Clone, Copy)]
struct LoggedEcho;

impl Handler for LoggedEcho {
    fn on_message(&mut self, message: Message) -> Option<Message> {
        if log::log_enabled!(log::Level::Debug) {
            match &message {
                Message::Text(text) => log::debug!("received from client: {}", preview(text)),
                other => log::debug!("received from client: {} bytes of binary", other.len()),
            }
        }
        Some(message)
    }
}

/// A text as it is, or its first 80 characters and how long it is.
fn preview(text: &str) -> String {
    match text.chars().count() {
        n if n > 80 => format!(
            "{}... ({n} characters)",
            text.chars().take(80).collect::<String>()
        ),
        _ => text.to_owned(),
    }
}

pub fn main() -> ExitCode {
    let args: Args = crate::flags::parse();
    crate::logging::init(args.log_format);
    if (args.test_target || args.instance.is_some()) && !cfg!(feature = "test-target") {
        eprintln!(
            "error: --test-target and --instance need the test-target feature (on by default)"
        );
        return ExitCode::from(2);
    }
    if args.max_connections == 0 || args.max_connections_per_ip == Some(0) {
        eprintln!("error: a connection limit of 0 would refuse every connection");
        return ExitCode::from(2);
    }
    // Each connection is a file descriptor: raise the soft limit as far as we may.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => log::debug!("file descriptor limit: {limit}"),
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
        .deflate(!args.no_deflate);
    if let Some(bytes) = args.max_frame_size {
        config = config.max_frame_size(bytes);
    }
    for protocol in &args.protocol {
        config = config.protocol(protocol.as_str());
    }
    for origin in &args.allow_origin {
        config = config.allow_origin(origin.as_str());
    }
    if let Err(e) = config.check() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    config = match with_tls(config, args.tls_cert.as_deref(), args.tls_key.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // A page for browsers at `/`: type messages, see their echoes and round-trip times (and,
    // on a test target, its controls).
    config = config.bundled_page();
    #[cfg(feature = "test-target")]
    if args.test_target {
        config = config.page(ws_echo::test_target::page(&args.path));
    }
    let shutdown = Shutdown::new();
    let config = config
        .drain_timeout(args.drain_timeout)
        .shutdown(shutdown.clone());
    // /health and /metrics: on the WebSocket address, or on one of their own.
    let (config, admin) = match endpoints(config, &args) {
        Ok(split) => split,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::logging::drain_on_signals(shutdown);

    let path = config.routes.path.clone();
    let server = match bind(&args, args.addr.as_str(), config, args.reuse_port) {
        Ok(server) => server
            .max_connections(Some(args.max_connections))
            .max_connections_per_ip(args.max_connections_per_ip),
        Err(code) => return code,
    };
    let admin = match (admin, args.metrics_addr.as_deref()) {
        (Some(config), Some(addr)) => match bind(&args, addr, config, false) {
            Ok(admin) => Some(admin),
            Err(code) => return code,
        },
        _ => None,
    };
    if let Some(startup) = startup(&args, &server, admin.as_ref(), &path) {
        crate::logging::announce(args.log_format, &startup);
    }
    let stats = server.stats();
    log_stats_every_minute(stats.clone());
    let result = crate::runtime::block_on_threads(args.runtime, args.threads, async {
        let admin = async {
            match admin {
                Some(admin) => admin.run(LoggedEcho).await.map(Some),
                None => Ok(None),
            }
        };
        let serving = async {
            #[cfg(feature = "test-target")]
            if args.test_target {
                let mut target = ws_echo::test_target::TestTarget::new(LoggedEcho);
                if let Some(name) = &args.instance {
                    target = target.instance(name.as_str());
                }
                return crate::runtime::run_server(args.runtime, server, target).await;
            }
            crate::runtime::run_server(args.runtime, server, LoggedEcho).await
        };
        both(futures_lite::future::zip(serving, admin).await)
    });
    match result.and_then(|served| served) {
        Ok(_report) => {
            // The server has logged its report; add the counters.
            log::info!("at shutdown: {}", stats.snapshot());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot serve on {}: {e}", args.addr);
            ExitCode::FAILURE
        }
    }
}

/// The first error of the two servers, or the main one's report.
fn both<T, U>(results: (std::io::Result<T>, std::io::Result<U>)) -> std::io::Result<T> {
    let (main, admin) = results;
    admin?;
    main
}

/// Where the server is, or `None` (and a warning) if its listener's address is unknown.
fn startup(
    args: &Args,
    server: &Server,
    admin: Option<&Server>,
    path: &str,
) -> Option<crate::logging::Startup> {
    let unknown = |e| log::warn!("the listener's address is unknown: {e}");
    let local = server.local_addr().map_err(unknown).ok()?;
    let admin_local = match admin {
        Some(admin) => admin.local_addr().map_err(unknown).ok()?,
        None => local,
    };
    let tls = args.tls_cert.is_some();
    let (ws, http) = if tls {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    // The admin address is plain HTTP.
    let admin_http = if admin.is_some() { "http" } else { http };
    let admin_url =
        |on: bool, path: &str| on.then(|| format!("{admin_http}://{admin_local}{path}"));
    Some(crate::logging::Startup {
        url: format!("{ws}://{local}{path}"),
        page: format!("{http}://{local}/"),
        health: admin_url(!args.no_health, "/health"),
        metrics: admin_url(!args.no_metrics, "/metrics"),
        runtime: args.runtime.name(),
        threads: args.threads.max(1),
        test_target: args.test_target,
    })
}

/// Binds a server with the flags' settings, or prints why not and gives the exit code.
fn bind(args: &Args, addr: &str, config: Config, reuse_port: bool) -> Result<Server, ExitCode> {
    let bound = if reuse_port {
        Server::bind_reuse_port(args.runtime, addr, config)
    } else {
        Server::bind(args.runtime, addr, config)
    };
    match bound {
        Ok(server) => Ok(server
            .tcp_keepalive(args.tcp_keepalive)
            .drain_delay(args.drain_delay)),
        Err(e) => {
            eprintln!("error: cannot serve on {addr}: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Adds `/health` and `/metrics` as the flags say: to `config`, or, with `--metrics-addr`, to
/// a config of their own (no WebSocket endpoint) for that address.
fn endpoints(config: Config, args: &Args) -> Result<(Config, Option<Config>), String> {
    if args.metrics_addr.is_some() && args.no_health && args.no_metrics {
        return Err("--metrics-addr serves /health and /metrics: not with both turned off".into());
    }
    let mut extra = Config::default()
        .without_websocket()
        .shutdown(config.shutdown.clone().unwrap_or_default());
    if !args.no_health {
        extra = extra.health("/health");
    }
    if !args.no_metrics {
        let handle = crate::metrics::install()?;
        extra = extra.metrics("/metrics", move || {
            handle.run_upkeep();
            handle.render()
        });
    }
    if args.metrics_addr.is_some() {
        return Ok((config, Some(extra)));
    }
    let mut config = config;
    config.routes.health = extra.routes.health;
    config.routes.metrics = extra.routes.metrics;
    Ok((config, None))
}

/// Adds TLS to `config` when a certificate and key are given; a one-line error otherwise.
fn with_tls(
    config: Config,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<Config, String> {
    match (cert, key) {
        (None, None) => Ok(config),
        #[cfg(feature = "tls")]
        (Some(cert), Some(key)) => ws_echo::tls::server_config(cert, key)
            .map(|tls| config.tls(tls))
            .map_err(|e| e.to_string()),
        #[cfg(not(feature = "tls"))]
        (Some(_), Some(_)) => Err("--tls-cert needs the `tls` feature: add --features tls".into()),
        _ => Err("--tls-cert and --tls-key go together".into()),
    }
}

/// Logs the counters at debug level every minute, on a thread of its own.
fn log_stats_every_minute(stats: StatsHandle) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(60));
        log::debug!("so far: {}", stats.snapshot());
    });
}

/// What the test target takes, as the first lines say it (`--test-target`).
pub fn print_controls(url: &str) {
    println!("test target: add controls to the URL's query, e.g. {url}?delay=200ms&info");
    for (control, what) in [
        (
            "info",
            "the first message is the request as the server saw it (JSON)",
        ),
        ("delay=200ms", "every echo goes back that much later"),
        ("jitter=50ms", "and up to that much more, at random"),
        (
            "close=4000&after=3",
            "after 3 echoes, Close 4000 (&reason=... for a reason)",
        ),
        (
            "abort&after=3",
            "after 3 echoes, the TCP connection drops without a Close",
        ),
        (
            "status=503",
            "the upgrade is refused with that HTTP status (400-599)",
        ),
        (
            "fragment=1024",
            "every echo in frames of at most 1024 bytes",
        ),
        ("subprotocol=chat", "select that subprotocol, if offered"),
        ("header=X-Test:yes", "add that header to the 101"),
        (
            "push=5&every=1s",
            "the server sends \"push\" 5 times, once a second (&text=...)",
        ),
        ("ping=500ms", "the server pings at that interval"),
        ("nopong", "the client's pings go unanswered"),
    ] {
        println!("  ?{control:<20} {what}");
    }
}
