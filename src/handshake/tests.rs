//! The handshake's decision and answers, byte for byte.

use super::upgrade::{is_valid_key, select_protocol};
use super::*;
use async_tungstenite::tungstenite::handshake::derive_accept_key;

fn decide<'h, 'c>(head: &'h [u8], config: &'c Config) -> Decision<'h, 'c> {
    super::decide(head, config, &Running::of(config))
}

#[test]
fn rfc_sample_key_gets_the_rfc_accept_value() {
    // RFC 6455, section 1.3.
    assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
    assert_eq!(
        derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn keys_of_the_wrong_shape_are_refused() {
    assert!(!is_valid_key(b""));
    assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ="));
    assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j*Q=="));
    assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQAA"));
}

#[test]
fn connection_header_tokens_are_matched_case_insensitively() {
    let headers = [("Connection", b"keep-alive, Upgrade".as_slice())];
    assert!(has_token(headers.iter().copied(), "connection", "upgrade"));
    assert!(!has_token(headers.iter().copied(), "connection", "close"));
}

const REQUEST: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

#[test]
fn a_head_read_in_pieces_needs_more_until_its_blank_line() {
    let config = Config::default();
    for end in [0, 1, 20, REQUEST.len() - 1] {
        assert_eq!(
            decide(&REQUEST.as_bytes()[..end], &config),
            Decision::NeedMore
        );
    }
    let Decision::Upgrade {
        upgrade,
        request,
        head_len,
    } = decide(REQUEST.as_bytes(), &config)
    else {
        panic!("not an upgrade");
    };
    assert_eq!(
        upgrade,
        Upgrade {
            accept: Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned()),
            protocol: None,
            deflate: None,
            request: None,
        }
    );
    assert_eq!(head_len, REQUEST.len());
    assert_eq!((request.method, request.target), ("GET", "/ws"));
    assert_eq!(request.headers.len(), 5);
    assert_eq!(request.headers[0], ("Host", b"x".as_slice()));
}

#[test]
fn bytes_after_the_head_are_not_part_of_it() {
    let mut bytes = REQUEST.as_bytes().to_vec();
    bytes.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
    let Decision::Upgrade { head_len, .. } = decide(&bytes, &Config::default()) else {
        panic!("not an upgrade");
    };
    assert_eq!(&bytes[head_len..], [0x81, 0x80, 1, 2, 3, 4]);
}

#[test]
fn the_101_answer_is_exact() {
    let mut upgrade = Upgrade {
        accept: Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned()),
        protocol: None,
        deflate: None,
        request: None,
    };
    assert_eq!(
        response::upgrade_with(&upgrade, &[]),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    upgrade.protocol = Some("chat".to_owned());
    assert_eq!(
        response::upgrade_with(&upgrade, &[]),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

#[test]
fn the_first_protocol_of_the_offer_that_the_server_speaks_is_selected() {
    let config = Config::default().protocol("b").protocol("a");
    let selected = |offer: &[&str]| {
        let headers = offer
            .iter()
            .map(|v| ("Sec-WebSocket-Protocol", v.as_bytes()));
        select_protocol(&config, headers)
    };
    assert_eq!(selected(&["a, b"]), Some("a".to_owned()));
    assert_eq!(selected(&["x", " b ,a"]), Some("b".to_owned()));
    assert_eq!(selected(&["x, A, B"]), None);
    assert_eq!(selected(&[]), None);
    assert_eq!(
        select_protocol(
            &Config::default(),
            [("Sec-WebSocket-Protocol", b"a".as_slice())].into_iter()
        ),
        None
    );
}

#[test]
fn each_bad_request_gets_its_status_and_reason() {
    let config = Config::default().allow_origin("https://ok.example");
    let with_origin = REQUEST.replace("\r\n\r\n", "\r\nOrigin: https://ok.example\r\n\r\n");
    let cases = [
        (
            with_origin.replace("/ws", "/other"),
            404,
            "no WebSocket endpoint at this path",
        ),
        (
            with_origin.replace("GET", "POST"),
            400,
            "the upgrade request must use GET",
        ),
        (
            with_origin.replace("HTTP/1.1", "HTTP/1.0"),
            400,
            "the upgrade request must use HTTP/1.1",
        ),
        (
            with_origin.replace("Upgrade: websocket", "Upgrade: h2c"),
            426,
            "this endpoint only speaks WebSocket",
        ),
        (
            with_origin.replace("Version: 13", "Version: 8"),
            426,
            "unsupported Sec-WebSocket-Version, use 13",
        ),
        (
            with_origin.replace("dGhlIHNhbXBsZSBub25jZQ==", "short"),
            400,
            "missing or malformed Sec-WebSocket-Key",
        ),
        (REQUEST.to_owned(), 403, "origin not allowed"),
        (
            "GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_owned(),
            400,
            "malformed HTTP request",
        ),
    ];
    for (request, status, reason) in cases {
        assert_eq!(
            decide(request.as_bytes(), &config),
            Decision::Answer(Answer::Refuse(Refusal::of(status, reason))),
            "{request:?}"
        );
    }
    assert!(matches!(
        decide(with_origin.as_bytes(), &config),
        Decision::Upgrade { .. }
    ));
}

#[test]
fn a_head_over_the_limit_gets_431_complete_or_not() {
    let config = Config::default().max_request_head(64);
    let too_large = Decision::Answer(Answer::Refuse(Refusal::of(431, "request head too large")));
    assert_eq!(decide(REQUEST.as_bytes(), &config), too_large);
    assert_eq!(decide(&REQUEST.as_bytes()[..65], &config), too_large);
    let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
    let request = REQUEST.replace("Host: x\r\n", &many);
    assert_eq!(decide(request.as_bytes(), &Config::default()), too_large);
}

#[test]
fn a_plain_get_of_the_root_gets_the_page_when_there_is_one() {
    let plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(
        decide(plain.as_bytes(), &Config::default()),
        Decision::Answer(Answer::Refuse(Refusal::of(
            404,
            "no WebSocket endpoint at this path"
        )))
    );
    let config = Config::default().page("<p>hi</p>");
    assert_eq!(
        decide(plain.as_bytes(), &config),
        Decision::Answer(Answer::Page("<p>hi</p>"))
    );
    assert_eq!(
        response::page("<p>hi</p>"),
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n<p>hi</p>"
    );
}

#[test]
fn refusals_carry_the_headers_their_status_calls_for() {
    assert_eq!(
        response::refusal(&Refusal::of(426, "this endpoint only speaks WebSocket")),
        "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 36\r\nConnection: close\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\n\r\nthis endpoint only speaks WebSocket\n"
    );
    assert_eq!(
        response::refusal(&Refusal::of(503, "too many connections, retry later")),
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 34\r\nConnection: close\r\nRetry-After: 1\r\n\r\n\
         too many connections, retry later\n"
    );
}
