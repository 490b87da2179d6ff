//! The HTTP upgrade: every refusal gets its exact status, and the server keeps serving.

use async_tungstenite::tungstenite::Message;
use suite::*;
use ws_echo::Config;

/// Asserts the status line and that the reason body is a single line.
fn assert_status(answer: &str, status_line: &str) {
    assert!(
        answer.starts_with(&format!("{status_line}\r\n")),
        "got {answer:?}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(
        body.ends_with('\n') && body.lines().count() == 1,
        "body {body:?}"
    );
}

#[test]
fn wrong_path_gets_404_and_the_next_client_is_served() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let answer = http(addr, &upgrade_request("/nope", ""));
        assert_eq!(
            answer,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 35\r\nConnection: close\r\n\r\nno WebSocket endpoint at this path\n"
        );
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("next")),
            Message::text("next")
        );
    }
}

#[test]
fn a_query_string_does_not_change_the_path() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade_with(addr, &upgrade_request("/ws?token=1", ""));
        raw.send(true, TEXT, b"query");
        assert_eq!(raw.read().payload, b"query");
    }
}

#[test]
fn origin_policy_refuses_with_403_and_accepts_listed_origins() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().allow_origin("https://good.example"));
        let evil = upgrade_request("/ws", "Origin: https://evil.example\r\n");
        assert_status(&http(addr, &evil), "HTTP/1.1 403 Forbidden");
        let no_origin = upgrade_request("/ws", "");
        assert_status(&http(addr, &no_origin), "HTTP/1.1 403 Forbidden");
        let good = upgrade_request("/ws", "Origin: https://good.example\r\n");
        let mut raw = Raw::upgrade_with(addr, &good);
        raw.send(true, TEXT, b"welcome");
        assert_eq!(raw.read().payload, b"welcome");
    }
}

#[test]
fn a_plain_http_request_gets_426_naming_version_13() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let answer = http(addr, "GET /ws HTTP/1.1\r\nHost: test\r\n\r\n");
        assert_status(&answer, "HTTP/1.1 426 Upgrade Required");
        assert!(
            answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{answer:?}"
        );
        assert!(answer.contains("\r\nUpgrade: websocket\r\n"), "{answer:?}");
    }
}

#[test]
fn a_wrong_version_gets_426_naming_version_13() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let request = upgrade_request("/ws", "").replace("Version: 13", "Version: 8");
        let answer = http(addr, &request);
        assert_status(&answer, "HTTP/1.1 426 Upgrade Required");
        assert!(
            answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{answer:?}"
        );
    }
}

#[test]
fn a_missing_key_or_wrong_method_gets_400() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let request = upgrade_request("/ws", "")
            .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
        assert_status(&http(addr, &request), "HTTP/1.1 400 Bad Request");
        let request = upgrade_request("/ws", "").replacen("GET", "POST", 1);
        assert_status(&http(addr, &request), "HTTP/1.1 400 Bad Request");
        assert_status(
            &http(addr, "\x16\x03\x01 not http at all\r\n\r\n"),
            "HTTP/1.1 400 Bad Request",
        );
    }
}

#[test]
fn an_oversized_request_head_gets_431() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().max_request_head(1024));
        let padding = format!("X-Padding: {}\r\n", "a".repeat(2000));
        assert_status(
            &http(addr, &upgrade_request("/ws", &padding)),
            "HTTP/1.1 431 Request Header Fields Too Large",
        );
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("still here")),
            Message::text("still here")
        );
    }
}

#[test]
fn a_missing_version_gets_426_naming_version_13() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let request = upgrade_request("/ws", "").replace("Sec-WebSocket-Version: 13\r\n", "");
        let answer = http(addr, &request);
        assert_status(&answer, "HTTP/1.1 426 Upgrade Required");
        assert!(
            answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{answer:?}"
        );
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("next")),
            Message::text("next")
        );
    }
}

#[test]
fn a_plain_get_of_the_root_gets_the_page_only_when_one_is_configured() {
    for rt in runtimes() {
        let addr = start(rt, Config::default().page("<p>hi</p>"));
        assert_eq!(
            http(addr, "GET / HTTP/1.1\r\nHost: test\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n\
             Cache-Control: no-cache\r\nConnection: close\r\n\r\n<p>hi</p>"
        );
        // The endpoint itself is unchanged.
        let mut ws = connect(addr);
        assert_eq!(
            round_trip(&mut ws, Message::text("still")),
            Message::text("still")
        );
        let without = start(rt, Config::default());
        let answer = http(without, "GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        assert_status(&answer, "HTTP/1.1 404 Not Found");
    }
}

#[test]
fn a_subprotocol_the_server_speaks_is_selected_from_the_offer_and_named_in_the_101() {
    const ACCEPTED: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    for rt in runtimes() {
        let addr = start(rt, Config::default().protocol("chat").protocol("echo"));
        // The client's order decides: its first offer that the server speaks.
        let offer = "Sec-WebSocket-Protocol: mqtt, echo\r\nSec-WebSocket-Protocol: chat\r\n";
        let (stream, head) = answer_head(addr, &upgrade_request("/ws", offer));
        assert_eq!(
            head,
            format!("{ACCEPTED}Sec-WebSocket-Protocol: echo\r\n\r\n"),
            "{rt:?}"
        );
        let mut raw = Raw { stream };
        raw.send(true, TEXT, b"over echo");
        assert_eq!(raw.read().payload, b"over echo");
        // None of them: served all the same, without the header (RFC 6455, 4.2.2).
        let (stream, head) = answer_head(
            addr,
            &upgrade_request("/ws", "Sec-WebSocket-Protocol: mqtt\r\n"),
        );
        assert_eq!(head, format!("{ACCEPTED}\r\n"), "{rt:?}");
        let mut raw = Raw { stream };
        raw.send(true, TEXT, b"no protocol");
        assert_eq!(raw.read().payload, b"no protocol");
    }
    assert_eq!(
        Config::default()
            .protocol("two words")
            .check()
            .unwrap_err()
            .to_string(),
        "invalid setting: the protocol \"two words\" is not an HTTP token"
    );
}
