//! The health endpoint (`Config::health`) and the drain delay (`Server::drain_delay`): what a
//! load balancer's check gets while a server serves, during the delay and during the drain.

use std::time::{Duration, Instant};

use futures_lite::io::Cursor;
use suite::*;
use ws_echo::{Config, Echo, Error, Served, Shutdown, ShutdownReport};

const OK: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\
                  Cache-Control: no-cache\r\nConnection: close\r\n\r\nok\n";
const DRAINING: &str =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
                        Content-Length: 9\r\nConnection: close\r\nRetry-After: 1\r\n\r\ndraining\n";
const SHUTTING_DOWN: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; \
                             charset=utf-8\r\nContent-Length: 27\r\nConnection: close\r\n\
                             Retry-After: 1\r\n\r\nshutting down, retry later\n";
const CHECK: &str = "GET /health HTTP/1.1\r\nHost: test\r\n\r\n";

fn echo_one(raw: &mut Raw, text: &str) {
    raw.send(true, TEXT, text.as_bytes());
    assert_eq!(raw.read().payload, text.as_bytes());
}

#[test]
fn the_health_check_answers_503_from_the_signal_while_connections_are_served_through_the_delay() {
    const DELAY: Duration = Duration::from_millis(300);
    for rt in runtimes() {
        let config = Config::default()
            .health("/health")
            .drain_timeout(Duration::from_secs(5));
        let server = ws_echo::Server::bind(rt, "127.0.0.1:0", config)
            .unwrap()
            .drain_delay(DELAY);
        let server = start_bound(rt, server, Echo);
        let addr = server.addr;
        assert_eq!(http(addr, CHECK), OK, "{rt:?}: serving");
        let mut first = Raw::upgrade(addr);
        echo_one(&mut first, "before");

        let signalled = Instant::now();
        server.shutdown.trigger();
        // The delay: the check says 503, everything else is served as before.
        assert_eq!(http(addr, CHECK), DRAINING, "{rt:?}: in the delay");
        echo_one(&mut first, "in the delay");
        let mut second = Raw::upgrade(addr);
        echo_one(&mut second, "new in the delay");

        // Then every connection gets its Close, not before the delay is over.
        assert_eq!(first.read_close(), (1001, "going away".to_owned()));
        assert!(
            signalled.elapsed() >= DELAY,
            "{rt:?}: closed before the delay"
        );
        assert_eq!(second.read_close(), (1001, "going away".to_owned()));
        // The drain: `first` has not answered yet, and the listener still answers.
        assert_eq!(http(addr, CHECK), DRAINING, "{rt:?}: in the drain");
        assert_eq!(
            http(addr, &upgrade_request("/ws", "")),
            SHUTTING_DOWN,
            "{rt:?}: an upgrade in the drain"
        );
        for raw in [&mut first, &mut second] {
            raw.send(true, CLOSE, &close_payload(1001, ""));
            raw.assert_eof();
        }

        // Open at the shutdown: the two WebSocket connections; the checks and the late
        // upgrade are counted as served, not as closed.
        let report = server.report.recv_timeout(IO_TIMEOUT).unwrap();
        let mut expected = ShutdownReport::default();
        (expected.served, expected.closed_cleanly, expected.dropped) = (6, 2, 0);
        assert_eq!(report, expected, "{rt:?}");
        let stats = server.stats.snapshot();
        assert_eq!(
            (
                stats.health_checks,
                stats.refused,
                stats.connections,
                stats.open
            ),
            (3, 1, 2, 0),
            "{rt:?}"
        );
        assert_eq!(stats.closes.get(&1001), Some(&2), "{rt:?}");
        assert_eq!(
            stats.to_string(),
            "2 connections (0 open, 1 refused, 0 pages, 3 health checks); in 3 messages / 34 B, \
             out 3 messages / 34 B; closes 1001: 2; 0 without a close",
            "{rt:?}"
        );
    }
}

/// `serve` on a stream that holds `request`: what it returned and what it answered.
fn serve_request(config: &Config, request: &str) -> (Result<Served, Error>, String) {
    let mut stream = Cursor::new(request.as_bytes().to_vec());
    let served = futures_lite::future::block_on(ws_echo::serve(&mut stream, config, Echo));
    let written = stream.into_inner().split_off(request.len());
    (served, String::from_utf8(written).unwrap())
}

#[test]
fn an_embedder_serving_itself_gets_the_same_answers_from_the_shutdown_signal() {
    let shutdown = Shutdown::new();
    let config = Config::default()
        .health("/health")
        .shutdown(shutdown.clone());
    let (served, answer) = serve_request(&config, CHECK);
    assert_eq!(served.unwrap(), Served::Health { draining: false });
    assert_eq!(answer, OK);
    // Not a health check: an upgrade to the health path, a POST, a HEAD.
    for request in [
        upgrade_request("/health", ""),
        "POST /health HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n".to_owned(),
        "HEAD /health HTTP/1.1\r\nHost: test\r\n\r\n".to_owned(),
    ] {
        let (served, _) = serve_request(&config, &request);
        assert!(
            matches!(served, Err(Error::Refused { status: 404, .. })),
            "{request:?}: {served:?}"
        );
    }

    shutdown.trigger();
    let (served, answer) = serve_request(&config, CHECK);
    assert_eq!(served.unwrap(), Served::Health { draining: true });
    assert_eq!(answer, DRAINING);
    assert_eq!(
        Served::Health { draining: true }.to_string(),
        "answered the health check: 503 draining"
    );
    let (served, answer) = serve_request(&config, &upgrade_request("/ws", ""));
    assert_eq!(answer, SHUTTING_DOWN);
    assert!(matches!(
        served,
        Err(Error::Refused {
            status: 503,
            reason: "shutting down, retry later"
        })
    ));
}

#[test]
fn a_health_path_that_cannot_work_is_refused_up_front() {
    for (config, message) in [
        (
            Config::default().health("/ws"),
            "invalid setting: the health path \"/ws\" is the WebSocket path",
        ),
        (
            Config::default().health("health"),
            "invalid setting: the path \"health\" must start with /",
        ),
    ] {
        assert_eq!(config.check().unwrap_err().to_string(), message);
    }
}
