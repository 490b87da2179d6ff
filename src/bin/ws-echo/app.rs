//! The server: the `ws-echo` command, and the seed's `cargo run --example server` (the same
//! code, compiled there with whichever runtimes the build has).

use std::process::ExitCode;
use std::time::Duration;

use crate::args::Args;
use ws_echo::{Config, Handler, Message, Server, Shutdown, StatsHandle};

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
    let args: Args = crate::environment::parse();
    crate::logging::init(args.log_format);
    let (config, admin) = match configure(&args) {
        Ok(configured) => configured,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Each connection is a file descriptor: raise the soft limit as far as we may.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => log::debug!("file descriptor limit: {limit}"),
        Err(e) => log::warn!("could not raise the file descriptor limit: {e}"),
    }
    serve(&args, config, admin)
}

/// The server's config (and, with `--metrics-addr`, the probes' own) from the flags, or the
/// one-line reason they make none; the shutdown wired to SIGINT and SIGTERM.
fn configure(args: &Args) -> Result<(Config, Option<Config>), String> {
    if (args.test_target || args.instance.is_some()) && !cfg!(feature = "test-target") {
        let needs = "--test-target and --instance need the test-target feature (on by default)";
        return Err(needs.into());
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
    config.check().map_err(|e| e.to_string())?;
    config = with_tls(config, args.tls_cert.as_deref(), args.tls_key.as_deref())?;
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
    let split = endpoints(config, args)?;
    crate::logging::drain_on_signals(shutdown);
    Ok(split)
}

/// Binds the server (and the probes' own address), runs it until it has drained, and gives the
/// exit code.
fn serve(args: &Args, config: Config, admin: Option<Config>) -> ExitCode {
    let path = config.routes.path.clone();
    let server = match bind(args, args.addr.as_str(), config, args.reuse_port) {
        Ok(server) => server
            .max_connections(Some(args.max_connections))
            .max_connections_per_ip(args.max_connections_per_ip),
        Err(code) => return code,
    };
    let admin = match (admin, args.metrics_addr.as_deref()) {
        (Some(config), Some(addr)) => match bind(args, addr, config, false) {
            Ok(admin) => Some(admin),
            Err(code) => return code,
        },
        _ => None,
    };
    if let Some(startup) = startup(args, &server, admin.as_ref(), &path) {
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
    let bound = listen_addresses(addr).and_then(|addrs| {
        if reuse_port {
            Server::bind_reuse_port(args.runtime, addrs.as_slice(), config)
        } else {
            Server::bind(args.runtime, addrs.as_slice(), config)
        }
    });
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

/// Where `addr` listens: `:8080` (Go's form) on every interface, IPv6 and IPv4 on one socket
/// where the system has IPv6, IPv4 alone where it has not; `host:port` as it resolves.
fn listen_addresses(addr: &str) -> std::io::Result<Vec<std::net::SocketAddr>> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
    match addr.strip_prefix(':').map(str::parse::<u16>) {
        Some(Ok(port)) => Ok(vec![
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        ]),
        Some(Err(e)) => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)),
        None => addr.to_socket_addrs().map(Iterator::collect),
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
        // Readiness (503 from the signal on) and liveness (200 through the drain).
        extra = extra.health("/health").live("/live");
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
    config.routes.live = extra.routes.live;
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
    crate::flags::say!("test target: add controls to the URL's query, e.g. {url}?delay=200ms&info");
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
        crate::flags::say!("  ?{control:<20} {what}");
    }
}
