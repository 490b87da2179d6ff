//! The client example itself (see `examples/client.rs`), compiled only with a runtime.

use std::process::ExitCode;
use std::time::Duration;

use crate::flags::{duration, duration_or_off, positive_duration};
use argh::FromArgs;
use ws_echo::client::{self, ClientConfig, ClientReport, Event};
use ws_echo::runtimes::Runtime;

/// Write a message to a WebSocket echo server every interval and print the echoes.
#[derive(FromArgs)]
#[argh(
    note = "Ctrl-C closes with 1000 and prints a summary. RUST_LOG=debug shows more.",
    error_code(0, "every echo came back (and --count was reached)"),
    error_code(
        1,
        "some echoes are missing, --count was not reached, the server closed with an \
         error code or refused a message as too big (1009), or no connection could be made \
         (or none was up at the end)"
    ),
    error_code(
        2,
        "bad usage: a flag or its value is wrong (a URL that cannot be dialed, too)"
    )
)]
struct Args {
    /// server address; dials ws://ADDR/ws (default 127.0.0.1:8080)
    #[argh(option)]
    addr: Option<String>,
    /// the full ws:// URL to dial instead of --addr
    #[argh(option)]
    url: Option<String>,
    /// the Origin header to send (default http://localhost/)
    #[argh(option, default = "String::from(\"http://localhost/\")")]
    origin: String,
    /// a subprotocol to offer, repeat for several in order of preference; the one the server
    /// selects is printed with "connected"
    #[argh(option)]
    protocol: Vec<String>,
    /// offer permessage-deflate (RFC 7692); what the server agreed is printed with "connected"
    #[argh(switch)]
    deflate: bool,
    /// the text to send (default "Hello World")
    #[argh(option, default = "String::from(\"Hello World\")")]
    message: String,
    /// send the contents of this file instead of --message: as text when it is UTF-8 (unless
    /// --binary), else as binary
    #[argh(option)]
    message_file: Option<std::path::PathBuf>,
    /// send the message as a binary message
    #[argh(switch)]
    binary: bool,
    /// time between messages, like 2s or 500ms, above 0 (default 2s)
    #[argh(
        option,
        default = "Duration::from_secs(2)",
        from_str_fn(positive_duration)
    )]
    interval: Duration,
    /// stop after this many echoes, closing with 1000
    #[argh(option)]
    count: Option<u64>,
    /// end the run after this long, closing with 1000 (with --count, unfinished is exit 1)
    #[argh(option, from_str_fn(positive_duration))]
    deadline: Option<Duration>,
    /// print the summary as one JSON object, and nothing else on stdout
    #[argh(switch)]
    json: bool,
    /// heartbeat: ping after this much silence from the server, or "off" (default 20s)
    #[argh(
        option,
        default = "Some(Duration::from_secs(20))",
        from_str_fn(duration_or_off)
    )]
    ping_interval: Option<Duration>,
    /// heartbeat: declare the link dead this long after an unanswered ping (default 20s)
    #[argh(option, default = "Duration::from_secs(20)", from_str_fn(duration))]
    pong_timeout: Duration,
    /// connecting plus the upgrade must finish within this (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    handshake_timeout: Duration,
    /// declare the link dead when a write makes no progress for this long (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    write_timeout: Duration,
    /// with --count: once all are sent, how long a missing echo may take (default 10s)
    #[argh(option, default = "Duration::from_secs(10)", from_str_fn(duration))]
    echo_timeout: Duration,
    /// how long to wait for the server's answer to our Close (default 1s)
    #[argh(option, default = "Duration::from_secs(1)", from_str_fn(duration))]
    close_timeout: Duration,
    /// first reconnect delay bound, doubling up to --backoff-max (default 500ms)
    #[argh(option, default = "Duration::from_millis(500)", from_str_fn(duration))]
    backoff_initial: Duration,
    /// largest reconnect delay bound (default 30s)
    #[argh(option, default = "Duration::from_secs(30)", from_str_fn(duration))]
    backoff_max: Duration,
    /// for wss:// URLs: also trust the CA certificates in this PEM file (the system's roots are
    /// always trusted; needs the `tls` feature)
    #[argh(option)]
    ca: Option<std::path::PathBuf>,
    /// for wss:// URLs: accept exactly the certificate in this PEM file as the server's, for a
    /// self-signed one (instead of --ca; needs the `tls` feature)
    #[argh(option)]
    cert_pin: Option<std::path::PathBuf>,
    /// exit when the link dies or the server closes, instead of reconnecting
    #[argh(switch)]
    no_reconnect: bool,
    /// exit at once when the first connection fails, instead of retrying it with the backoff
    /// while its failure may pass (refused, timed out, HTTP 5xx, 408 or 429)
    #[argh(switch)]
    fail_fast: bool,
    /// the runtime to run on: smol (the default and recommended), async-std or tokio, as
    /// compiled in
    #[argh(
        option,
        default = "Runtime::COMPILED[0]",
        from_str_fn(crate::runtime::runtime)
    )]
    runtime: Runtime,
}

pub fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Args = crate::flags::parse();
    if args.url.is_some() && args.addr.is_some() {
        return failed(&args, 2, "--url and --addr both name the server: give one");
    }
    let url = args.url.clone().unwrap_or_else(|| {
        format!(
            "ws://{}/ws",
            args.addr.as_deref().unwrap_or("127.0.0.1:8080")
        )
    });
    let payload = match &args.message_file {
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => return failed(&args, 1, &format!("cannot read {}: {e}", path.display())),
        },
        None => args.message.clone().into_bytes(),
    };
    let mut config = ClientConfig::new(url)
        .origin(args.origin.as_str())
        .deflate(args.deflate);
    config.protocols = args.protocol.clone();
    let mut config = config
        .interval(args.interval)
        .echo_timeout(args.echo_timeout)
        .ping_interval(args.ping_interval)
        .pong_timeout(args.pong_timeout)
        .handshake_timeout(args.handshake_timeout)
        .write_timeout(args.write_timeout)
        .close_timeout(args.close_timeout)
        .backoff(args.backoff_initial, args.backoff_max)
        .reconnect(!args.no_reconnect)
        .fail_fast(args.fail_fast);
    if let Some(count) = args.count {
        config = config.count(count);
    }
    if args.ca.is_some() && args.cert_pin.is_some() {
        return failed(
            &args,
            2,
            "--ca and --cert-pin are two ways to trust the server: give one",
        );
    }
    #[cfg(feature = "tls")]
    {
        let trust = match (&args.ca, &args.cert_pin) {
            (Some(ca), _) => Some(ws_echo::tls::client_config(Some(ca))),
            (_, Some(pin)) => Some(ws_echo::tls::pinned_client_config(pin)),
            _ => None,
        };
        match trust {
            Some(Ok(tls)) => config = config.tls(tls),
            Some(Err(e)) => return failed(&args, 1, &e.to_string()),
            None => {}
        }
    }
    #[cfg(not(feature = "tls"))]
    if args.ca.is_some() || args.cert_pin.is_some() {
        let needs = "--ca and --cert-pin need the `tls` feature: add --features tls";
        return failed(&args, 1, needs);
    }
    config = match String::from_utf8(payload) {
        Ok(text) if !args.binary => config.message(text),
        Ok(text) => config.binary_message(text.into_bytes()),
        Err(e) => config.binary_message(e.into_bytes()),
    };

    // Ctrl-C ends the run with Close 1000 and a summary.
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    if let Some(deadline) = args.deadline {
        let stop_tx = stop_tx.clone();
        std::thread::spawn(move || {
            std::thread::sleep(deadline);
            let _ = stop_tx.try_send(());
        });
    }
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    }) {
        eprintln!("warning: Ctrl-C will not print a summary: {e}");
    }
    let stop = async move {
        let _ = stop_rx.recv().await;
    };

    log::debug!("running on {}", args.runtime.name());
    let rt = args.runtime;
    let mut rtts = Vec::new();
    let on_event = |event: &Event| {
        if let Event::Echo { rtt, .. } = event {
            rtts.push(*rtt);
        }
        if !args.json {
            print(event);
        }
    };
    let result = crate::runtime::block_on(rt, async {
        let config = config.clone().timer(rt.timer());
        client::run(&config, |addr| rt.connect(addr), stop, on_event).await
    });
    let result = match result {
        Ok(result) => result,
        Err(e) => return failed(&args, 1, &format!("cannot start the runtime: {e}")),
    };
    match result {
        Ok(report) => finish(&report, &mut rtts, &args, None),
        // A URL that cannot be dialed is bad usage.
        Err(e @ ws_echo::Error::InvalidUrl { .. }) => failed(&args, 2, &e.to_string()),
        Err(e) => failed(&args, 1, &format!("{}: {e}", config.url)),
    }
}

/// Ends the run on an error (exit `code`): the error on stderr, and under `--json` the same
/// JSON object as every other end, with the error in it.
fn failed(args: &Args, code: u8, error: &str) -> ExitCode {
    eprintln!("error: {error}");
    if args.json {
        finish(&ClientReport::default(), &mut [], args, Some(error));
    }
    ExitCode::from(code)
}

/// Prints a line; when nobody reads our output any more (`client | head -1`), exits quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

fn print(event: &Event) {
    match event {
        Event::Connected {
            address,
            protocol,
            extensions,
        } => say!(
            "connected to {address}{}{}",
            with(protocol),
            extensions
                .as_ref()
                .map_or_else(String::new, |e| format!(", extensions {e}"))
        ),
        Event::Echo { seq, rtt, text } => {
            say!(
                "received: {text} (#{seq}, rtt {:.3} ms)",
                rtt.as_secs_f64() * 1e3
            )
        }
        Event::ServerInfo { json } => match server_view(json) {
            Some(view) => say!("the server saw: {view}"),
            None => say!("the server saw: {json}"),
        },
        Event::Unexpected { text } => say!("unexpected message: {}", shown(text)),
        Event::ServerClosed {
            code: Some(code),
            reason,
        } => {
            say!("server closed: {code} {reason}")
        }
        Event::ServerClosed { code: None, .. } => say!("server closed without a code"),
        Event::LinkDown { reason } => say!("link down: {reason}"),
        Event::Reconnected {
            address,
            after,
            resending,
            protocol,
        } => say!(
            "reconnected to {address}{} after {:.3}s, resending {resending}",
            with(protocol),
            after.as_secs_f64()
        ),
        Event::ReconnectFailed {
            address,
            error,
            attempt,
            next_in,
        } => say!(
            "reconnecting to {address} failed: {error} (attempt {attempt}, next in {:.1}s)",
            next_in.as_secs_f64()
        ),
        Event::ConnectFailed {
            address,
            error,
            attempt,
            next_in,
        } => say!(
            "connecting to {address} failed: {error} (attempt {attempt}, next in {:.1}s)",
            next_in.as_secs_f64()
        ),
        Event::InfoIgnored => {
            say!("the server ignored ?info (not a test target?): its first message is matched as an echo")
        }
        _ => {}
    }
}

/// `, protocol NAME` when the server selected one.
fn with(protocol: &Option<String>) -> String {
    protocol
        .as_ref()
        .map_or_else(String::new, |p| format!(", protocol {p}"))
}

/// A long text as its length, a short one as it is.
fn shown(text: &str) -> String {
    match text.chars().count() {
        n if n > 200 => format!("{n} characters of text"),
        _ => text.to_owned(),
    }
}

/// Prints the summary (human lines, or one JSON object, with `error` when the run failed);
/// exits 0 only when every echo came back, `--count` (if given) was reached, the server never
/// closed with an error code nor refused a message, and the link was up at the end.
fn finish(
    report: &ClientReport,
    rtts: &mut [Duration],
    args: &Args,
    error: Option<&str>,
) -> ExitCode {
    let reached = args.count.is_none_or(|n| report.echoed >= n);
    let closed_ok = match &report.server_close {
        Some((code, _)) => matches!(code, Some(1000 | 1001)),
        None => true,
    };
    let ok = error.is_none()
        && report.missing == 0
        && report.refused == 0
        && reached
        && closed_ok
        && report.abnormal_closes == 0
        && !report.down_at_end;
    rtts.sort_unstable();
    // Milliseconds, to the microsecond.
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    // Nearest rank: the smallest round trip that `q` of them do not exceed.
    let rank = |q: f64| {
        let at = ((q * rtts.len() as f64).ceil() as usize).clamp(1, rtts.len().max(1)) - 1;
        rtts.get(at).map(|d| ms(*d))
    };
    let (p50, p90, p99, max) = (
        rank(0.5),
        rank(0.9),
        rank(0.99),
        rtts.last().map(|d| ms(*d)),
    );
    if args.json {
        let summary = serde_json::json!({
            "sent": report.sent,
            "echoed": report.echoed,
            "missing": report.missing,
            "refused": report.refused,
            "resent": report.resent,
            "reconnects": report.reconnects,
            "unexpected": report.unexpected,
            "abnormal_closes": report.abnormal_closes,
            "aborts": report.aborts,
            "rtt_ms": { "p50": p50, "p90": p90, "p99": p99, "max": max },
            "connect_ms": ms(report.connect_time),
            "handshake_ms": ms(report.handshake_time),
            "server_close": report.server_close.as_ref().map(|(code, reason)| {
                serde_json::json!({ "code": code, "reason": reason })
            }),
            "count_reached": args.count.map(|_| reached),
            "down_at_end": report.down_at_end,
            "error": error,
            "ok": ok,
        });
        say!("{summary}");
    } else {
        let refused = match report.refused {
            0 => String::new(),
            n => format!(", refused {n} (too big for the server: 1009)"),
        };
        say!(
            "sent {}, echoed {}, missing {}{refused}, resent {}, reconnects {}",
            report.sent,
            report.echoed,
            report.missing,
            report.resent,
            report.reconnects
        );
        let rtt = match (p50, p90, p99, max) {
            (Some(p50), Some(p90), Some(p99), Some(max)) => {
                format!("rtt p50 {p50:.3} ms, p90 {p90:.3} ms, p99 {p99:.3} ms, max {max:.3} ms")
            }
            _ => "no round trips".to_owned(),
        };
        say!(
            "{rtt}; connect {:.3} ms, handshake {:.3} ms",
            ms(report.connect_time),
            ms(report.handshake_time)
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A test target's `?info` JSON as lines to read: the request line and addresses, then each
/// header as the server received it. `None` when it is not that JSON.
fn server_view(json: &str) -> Option<String> {
    let info: serde_json::Value = serde_json::from_str(json).ok()?;
    let text = |key: &str| info.get(key).and_then(|v| v.as_str()).unwrap_or("?");
    let target = match info.get("query").and_then(|q| q.as_str()) {
        Some(query) => format!("{}?{query}", text("path")),
        None => text("path").to_owned(),
    };
    let mut view = format!(
        "{} {target} from {} to {} (connection {} of {}, subprotocol {})",
        text("method"),
        text("peer"),
        text("local"),
        info.get("id")?,
        text("instance"),
        info.get("protocol")
            .and_then(|p| p.as_str())
            .unwrap_or("none"),
    );
    for header in info.get("headers")?.as_array()? {
        let [name, value] = header.as_array()?.as_slice() else {
            return None;
        };
        view += &format!("\n  {}: {}", name.as_str()?, value.as_str()?);
    }
    Some(view)
}
