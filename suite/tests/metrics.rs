//! What ws-echo records through the metrics facade, read back from a real recorder (the
//! Prometheus exporter's rendering), and the metrics endpoint that serves it.
#![cfg(feature = "test-target")]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use suite::*;
use ws_echo::Config;

/// The process's recorder: installed once, for every test of this file.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
}

/// Every sample of the rendering, by its name and labels as written.
fn samples() -> BTreeMap<String, f64> {
    recorder()
        .render()
        .lines()
        .filter(|line| line.starts_with("ws_echo_"))
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// How each sample moved from `before` to now (those that did not move left out).
fn moved(before: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    samples()
        .into_iter()
        .map(|(name, now)| {
            let was = before.get(&name).copied().unwrap_or(0.0);
            (name, now - was)
        })
        .filter(|(name, delta)| {
            *delta != 0.0 && !name.ends_with("_sum") && !name.contains("{quantile")
        })
        .collect()
}

/// One test: the recorder is the whole process's, and tests run side by side would count each
/// other's connections.
#[test]
fn each_connection_refusal_and_close_is_counted_exactly() {
    recorder();
    for rt in runtimes() {
        let config = Config::default().health("/health");
        let handler = ws_echo::test_target::TestTarget::new(ws_echo::Echo);
        let server = start_server(rt, config, handler);
        // A server describes the metrics and sets its build info as it starts.
        eventually("the build info", build_info_is_set);
        let before = samples();
        let mut raw = Raw::upgrade(server.addr);
        eventually("the open gauge at 1", || {
            samples().get("ws_echo_connections_open") == Some(&1.0)
        });
        for text in ["one", "two!", "three"] {
            raw.send(true, TEXT, text.as_bytes());
            assert_eq!(raw.read().payload, text.as_bytes());
        }
        // Counted as the echoes are flushed, while the connection is open.
        eventually("the live traffic", || {
            samples().get("ws_echo_bytes_total{direction=\"sent\"}")
                == Some(
                    &(before
                        .get("ws_echo_bytes_total{direction=\"sent\"}")
                        .unwrap_or(&0.0)
                        + 12.0),
                )
        });
        raw.send(true, CLOSE, &close_payload(1000, ""));
        assert_eq!(raw.read_close().0, 1000);
        raw.assert_eof();
        assert!(
            http(server.addr, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n").starts_with("HTTP/1.1 404")
        );
        assert!(http(server.addr, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            .starts_with("HTTP/1.1 200"));
        // A connection that just goes away: ended without a close.
        drop(Raw::upgrade(server.addr));
        // The test target: a late echo, then an abort; a refusal as asked.
        let mut late = Raw::upgrade_with(
            server.addr,
            &upgrade_request("/ws?delay=1ms&abort&after=1", ""),
        );
        late.send(true, TEXT, b"x");
        assert_eq!(late.read().payload, b"x");
        late.assert_eof();
        assert!(
            http(server.addr, &upgrade_request("/ws?status=503", "")).starts_with("HTTP/1.1 503")
        );
        eventually("the three connections ended", || {
            server.stats.snapshot().connections == 3 && server.stats.snapshot().open == 0
        });

        let expected: BTreeMap<String, f64> = [
            ("ws_echo_connections_total", 3.0),
            ("ws_echo_messages_total{direction=\"received\"}", 4.0),
            ("ws_echo_messages_total{direction=\"sent\"}", 4.0),
            ("ws_echo_bytes_total{direction=\"received\"}", 13.0),
            ("ws_echo_bytes_total{direction=\"sent\"}", 13.0),
            ("ws_echo_closes_total{code=\"1000\"}", 1.0),
            ("ws_echo_ended_without_close_total", 2.0),
            ("ws_echo_refused_total{status=\"404\"}", 1.0),
            ("ws_echo_refused_total{status=\"503\"}", 1.0),
            ("ws_echo_test_target_total{control=\"delay\"}", 1.0),
            ("ws_echo_test_target_total{control=\"abort\"}", 1.0),
            ("ws_echo_test_target_total{control=\"status\"}", 1.0),
            ("ws_echo_health_checks_total{status=\"200\"}", 1.0),
            ("ws_echo_handshake_duration_seconds_count", 3.0),
            ("ws_echo_connection_duration_seconds_count", 3.0),
        ]
        .into_iter()
        .map(|(name, n)| (name.to_owned(), n))
        .collect();
        assert_eq!(moved(&before), expected, "{rt:?}");
        assert_eq!(
            samples().get("ws_echo_connections_open"),
            Some(&0.0),
            "{rt:?}"
        );
        the_metrics_endpoint_answers_with_the_rendering_in_the_text_format(rt);
    }
}

/// `ws_echo_build_info{version="..."} 1`, with ws-echo's version.
fn build_info_is_set() -> bool {
    let build_info = format!("ws_echo_build_info{{version=\"{}\"}}", ws_echo_version());
    samples().get(&build_info) == Some(&1.0)
}

/// ws-echo's version, as its Cargo.toml says.
fn ws_echo_version() -> String {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with("version = "))
        .unwrap();
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_owned()
}

/// Within the test above: the recorder is the process's, and what this does is counted too.
fn the_metrics_endpoint_answers_with_the_rendering_in_the_text_format(rt: Rt) {
    let config = Config::default().metrics("/metrics", || recorder().render());
    let server = start_server(rt, config, ws_echo::Echo);
    let answer = http(server.addr, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
             Content-Length: {}\r\nCache-Control: no-cache\r\nConnection: close",
            body.len()
        )
    );
    assert!(body.contains("# TYPE ws_echo_build_info gauge\n"), "{body}");
    // Not counted as a connection, a page or a refusal.
    eventually("the scrape's connection ended", || {
        server.stats.snapshot().open == 0
    });
    let stats = server.stats.snapshot();
    assert_eq!((stats.connections, stats.refused, stats.pages), (0, 0, 0));
    // Without a WebSocket endpoint, an upgrade is a path like any other.
    let only_metrics = Config::default()
        .without_websocket()
        .metrics("/metrics", || recorder().render());
    let admin = start_server(rt, only_metrics, ws_echo::Echo);
    assert!(http(admin.addr, &upgrade_request("/ws", "")).starts_with("HTTP/1.1 404 Not Found\r\n"));
    assert!(http(admin.addr, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .starts_with("HTTP/1.1 200 OK\r\n"));
}
