//! What the server example says: its log lines (human or JSON), its first lines, and the
//! signals it drains on.

use ws_echo::Shutdown;

/// How log lines look (`--log-format`).
#[derive(Clone, Copy)]
pub enum LogFormat {
    Human,
    Json,
}

pub fn log_format(value: &str) -> Result<LogFormat, String> {
    match value {
        "human" => Ok(LogFormat::Human),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("unknown log format {value:?}: use human or json")),
    }
}

/// One log record as one JSON object: `time`, `level`, `target`, `message`, then the record's
/// key-value fields (numbers as numbers), for log shippers.
fn json_line(
    buf: &mut env_logger::fmt::Formatter,
    record: &log::Record<'_>,
) -> std::io::Result<()> {
    use std::io::Write;
    struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);
    impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            let mut json = Json(serde_json::Value::Null);
            value.visit(&mut json)?;
            self.0.insert(key.to_string(), json.0);
            Ok(())
        }
    }
    /// A field's value as JSON: numbers and booleans as such, nothing (`None`) as null.
    struct Json(serde_json::Value);
    impl<'v> log::kv::VisitValue<'v> for Json {
        fn visit_any(&mut self, value: log::kv::Value<'_>) -> Result<(), log::kv::Error> {
            self.0 = value.to_string().into();
            Ok(())
        }
        fn visit_null(&mut self) -> Result<(), log::kv::Error> {
            self.0 = serde_json::Value::Null;
            Ok(())
        }
        fn visit_u64(&mut self, value: u64) -> Result<(), log::kv::Error> {
            self.0 = value.into();
            Ok(())
        }
        fn visit_i64(&mut self, value: i64) -> Result<(), log::kv::Error> {
            self.0 = value.into();
            Ok(())
        }
        fn visit_bool(&mut self, value: bool) -> Result<(), log::kv::Error> {
            self.0 = value.into();
            Ok(())
        }
        fn visit_str(&mut self, value: &str) -> Result<(), log::kv::Error> {
            self.0 = value.into();
            Ok(())
        }
    }
    let mut line = serde_json::Map::new();
    line.insert("time".into(), buf.timestamp_millis().to_string().into());
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("message".into(), record.args().to_string().into());
    // A field that cannot be read is left out; the line still goes out.
    let _ = record.key_values().visit(&mut Fields(&mut line));
    writeln!(buf, "{}", serde_json::Value::Object(line))
}

/// Starts the logger: RUST_LOG's filter (info by default) in the chosen format.
pub fn init(format: LogFormat) {
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    match format {
        LogFormat::Human => logger.format_timestamp_millis(),
        LogFormat::Json => logger.format(json_line),
    };
    logger.init();
}

/// Where the server can be reached, as it says when it starts.
pub struct Startup {
    /// The WebSocket endpoint, `ws://` or `wss://`.
    pub url: String,
    /// The page for browsers.
    pub page: String,
    pub health: Option<String>,
    pub metrics: Option<String>,
    pub runtime: &'static str,
    pub threads: usize,
    pub test_target: bool,
}

/// Says where the server is: lines on standard output for a person, or one log record (with
/// the same facts as fields) under `--log-format json`, so that every line a log shipper
/// reads is JSON.
pub fn announce(format: LogFormat, startup: &Startup) {
    let threads = match startup.threads {
        1 => "1 thread".to_owned(),
        n => format!("{n} threads"),
    };
    let Startup { url, page, .. } = startup;
    if let LogFormat::Json = format {
        let (health, metrics) = (startup.health.as_deref(), startup.metrics.as_deref());
        log::info!(
            event = "serving", url = url.as_str(), page = page.as_str(), health = health,
            metrics = metrics, runtime = startup.runtime, threads = startup.threads,
            test_target = startup.test_target;
            "serving {url} ({}, {threads})", startup.runtime
        );
        return;
    }
    crate::flags::say!("serving {url} ({}, {threads})", startup.runtime);
    crate::flags::say!("a page to try it: {page}");
    if startup.test_target {
        crate::app::print_controls(url);
    }
    if let Some(health) = &startup.health {
        crate::flags::say!("health: {health}");
    }
    if let Some(metrics) = &startup.metrics {
        crate::flags::say!("metrics: {metrics}");
    }
}

/// SIGINT (Ctrl-C) or SIGTERM triggers `shutdown`, logged with the signal's name; a second
/// one before the drain ends exits at once with 128 + its number (130 for SIGINT, 143 for
/// SIGTERM).
pub fn drain_on_signals(shutdown: Shutdown) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            log::warn!("SIGINT and SIGTERM will not drain: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        let mut received = signals.forever();
        let name = |signal| signal_hook::low_level::signal_name(signal).unwrap_or("a signal");
        if let Some(signal) = received.next() {
            let name = name(signal);
            log::info!(
                event = "signal", signal = name;
                "received {name}: draining connections (a second signal exits at once)"
            );
            shutdown.trigger();
        }
        if let Some(signal) = received.next() {
            let (name, code) = (name(signal), 128 + signal);
            log::warn!(
                event = "signal", signal = name, exit_code = code;
                "received {name} while draining: exiting at once ({code})"
            );
            std::process::exit(code);
        }
    });
}
