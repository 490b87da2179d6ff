//! ws-echo mounted in an axum application with one `route_service` line (feature `hyper`):
//! the echo, the handler's view of the request (path, query, headers, the client's address
//! through axum's ConnectInfo), every refusal exactly as ws-echo's own listener gives it, and
//! the same echo, limits, drain and heartbeat over HTTP/2 (RFC 8441's extended CONNECT) with
//! hyper's client.
#![cfg(feature = "hyper")]

use std::net::SocketAddr;

use async_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};
use suite::{answer_head, http, runtimes, start, upgrade_request};
use ws_echo::{service::EchoService, test_target::TestTarget, Config, Echo};

/// An axum application: a route of its own, and ws-echo (the test target around the echo) at
/// `/ws`, served with the clients' addresses.
fn start_app(config: Config) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new()
                .route("/", axum::routing::get(|| async { "own page" }))
                .route_service(
                    "/ws",
                    EchoService::with_handler(config, TestTarget::new(Echo)),
                );
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// A Close 1000, which the server's Close answers with the same code.
fn bye() -> tungstenite::protocol::CloseFrame {
    tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    }
}

fn allowing() -> Config {
    Config::default().allow_origin("http://allowed.example")
}

#[test]
fn the_mounted_echo_sees_the_request_and_echoes() {
    let addr = start_app(allowing());
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let local = stream.local_addr().unwrap();
    let mut request = format!("ws://{addr}/ws?info&x=1")
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Origin", "http://allowed.example".parse().unwrap());
    headers.insert("X-Test", "yes".parse().unwrap());
    let (mut ws, response) = tungstenite::client(request, stream).unwrap();
    assert_eq!(response.status(), 101);
    let Message::Text(info) = ws.read().unwrap() else {
        panic!("the first message is not ?info's text");
    };
    let info: serde_json::Value = serde_json::from_str(info.as_str()).unwrap();
    assert_eq!(info["path"], "/ws");
    assert_eq!(info["query"], "info&x=1");
    assert_eq!(info["peer"], local.to_string());
    let headers = info["headers"].as_array().unwrap();
    assert!(
        headers.contains(&serde_json::json!(["x-test", "yes"])),
        "{headers:?}"
    );
    ws.send(Message::text("hello")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hello"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![0u8, 1, 2, 255]));
    ws.close(Some(bye())).unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                break;
            }
            Ok(_) => continue,
            Err(e) => panic!("no Close came back: {e}"),
        }
    }
    // The application's own route is its own.
    let page = http(
        addr,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(
        page.starts_with("HTTP/1.1 200 OK\r\n") && page.ends_with("own page"),
        "{page}"
    );
}

#[test]
fn each_refusal_is_ws_echos_own() {
    let mounted = start_app(allowing());
    let own = start(runtimes()[0], allowing());
    let origin = "Origin: http://allowed.example\r\n";
    let cases = [
        (
            "an origin not allowed",
            "403",
            upgrade_request("/ws", "Origin: http://elsewhere.example\r\n"),
        ),
        ("no origin at all", "403", upgrade_request("/ws", "")),
        (
            "a plain GET",
            "426",
            format!("GET /ws HTTP/1.1\r\nHost: t\r\n{origin}Connection: close\r\n\r\n"),
        ),
        (
            "version 8",
            "426",
            upgrade_request("/ws", origin).replace("Version: 13", "Version: 8"),
        ),
        (
            "no key",
            "400",
            upgrade_request("/ws", origin)
                .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
        ),
    ];
    for (what, status, request) in cases {
        let (_, mounted_head) = answer_head(mounted, &request);
        let (_, own_head) = answer_head(own, &request);
        let mounted_status = mounted_head.lines().next().unwrap_or("").to_owned();
        let own_status = own_head.lines().next().unwrap_or("").to_owned();
        assert!(
            mounted_status.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {mounted_head}"
        );
        assert_eq!(mounted_status, own_status, "{what}");
        for header in ["sec-websocket-version", "retry-after"] {
            let has = |head: &str| {
                head.to_ascii_lowercase()
                    .contains(&format!("\r\n{header}:"))
            };
            assert_eq!(has(&mounted_head), has(&own_head), "{what}: {header}");
        }
    }
}

/// Runs `future` on a tokio runtime of its own (the client side).
fn on_tokio(future: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(future);
}

type H2 = hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>;
type H2Ws = async_tungstenite::WebSocketStream<
    tokio_util::compat::Compat<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>,
>;

/// An HTTP/2 connection (prior knowledge) to `addr`.
async fn h2(addr: SocketAddr) -> H2 {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

/// A WebSocket on a stream of `h2` (RFC 8441's extended CONNECT from `origin`), or the
/// status it was refused with.
async fn h2_websocket(h2: &mut H2, addr: SocketAddr, origin: &str) -> Result<H2Ws, u16> {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{addr}/ws?info"))
        .header("sec-websocket-version", "13")
        .header("origin", origin)
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let protocol = hyper::ext::Protocol::from_static("websocket");
    request.extensions_mut().insert(protocol);
    let response = h2.send_request(request).await.unwrap();
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    assert_eq!(response.version(), http::Version::HTTP_2);
    let upgraded = hyper::upgrade::on(response).await.unwrap();
    let stream =
        tokio_util::compat::TokioAsyncReadCompatExt::compat(hyper_util::rt::TokioIo::new(upgraded));
    let role = tungstenite::protocol::Role::Client;
    Ok(async_tungstenite::WebSocketStream::from_raw_socket(stream, role, None).await)
}

/// A WebSocket on a stream of `h2` from the allowed origin.
async fn allowed_websocket(h2: &mut H2, addr: SocketAddr) -> H2Ws {
    h2_websocket(h2, addr, "http://allowed.example")
        .await
        .unwrap()
}

/// The next message that is not ?info's, ping or pong.
async fn next_message(ws: &mut H2Ws) -> Message {
    use futures_lite::StreamExt;
    loop {
        match ws.next().await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return message,
            other => panic!("the stream ended: {other:?}"),
        }
    }
}

fn close_code(message: Message) -> Option<u16> {
    match message {
        Message::Close(frame) => frame.map(|f| u16::from(f.code)),
        other => panic!("not a Close: {other:?}"),
    }
}

#[test]
fn over_http2_the_limits_and_the_drain_hold_on_each_stream() {
    let shutdown = ws_echo::Shutdown::new();
    let config = allowing().max_message_size(1000).shutdown(shutdown.clone());
    let addr = start_app(config);
    on_tokio(async move {
        // Two WebSockets on one HTTP/2 connection.
        let mut connection = h2(addr).await;
        let mut big = allowed_websocket(&mut connection, addr).await;
        let mut other = allowed_websocket(&mut connection, addr).await;
        let _info = (next_message(&mut big).await, next_message(&mut other).await);
        big.send(Message::binary(vec![1u8; 2000])).await.unwrap();
        assert_eq!(close_code(next_message(&mut big).await), Some(1009));
        // The other stream goes on, until the drain closes it with 1001.
        other.send(Message::text("still here")).await.unwrap();
        assert_eq!(next_message(&mut other).await, Message::text("still here"));
        shutdown.trigger();
        assert_eq!(close_code(next_message(&mut other).await), Some(1001));
        // Past the signal, a new one is refused.
        let refused = h2_websocket(&mut connection, addr, "http://allowed.example").await;
        assert_eq!(refused.err(), Some(503));
    });
}

#[test]
fn an_extended_connect_over_http2_gets_the_same_echo() {
    let addr = start_app(allowing());
    on_tokio(async move {
        let mut connection = h2(addr).await;
        // The origin policy holds over HTTP/2 too.
        let refused = h2_websocket(&mut connection, addr, "http://elsewhere.example").await;
        assert_eq!(refused.err(), Some(403));
        let mut ws = allowed_websocket(&mut connection, addr).await;
        let Message::Text(info) = next_message(&mut ws).await else {
            panic!("the first message is not ?info's text");
        };
        let info: serde_json::Value = serde_json::from_str(info.as_str()).unwrap();
        assert_eq!(
            (info["method"].as_str(), info["path"].as_str()),
            (Some("CONNECT"), Some("/ws"))
        );
        for message in [Message::text("over h2"), Message::binary(vec![7u8; 70_000])] {
            ws.send(message.clone()).await.unwrap();
            assert_eq!(next_message(&mut ws).await, message);
        }
        ws.close(Some(bye())).await.unwrap();
        assert_eq!(close_code(next_message(&mut ws).await), Some(1000));
    });
}

/// What a WebSocket over HTTP/2 gives within `wait`: the pings counted, then how it ended
/// (`None`: still open; `Some(None)`: the stream ended with no Close frame).
async fn pings_within(ws: &mut H2Ws, wait: std::time::Duration) -> (u32, Option<Option<Message>>) {
    use futures_lite::StreamExt;
    let deadline = tokio::time::Instant::now() + wait;
    let mut pings = 0;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return (pings, None),
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(Message::Close(frame)))) => {
                return (pings, Some(Some(Message::Close(frame))))
            }
            Ok(Some(Ok(other))) => panic!("unexpected {other:?}"),
            Ok(None | Some(Err(_))) => return (pings, Some(None)),
        }
    }
}

#[test]
fn over_http2_the_heartbeat_pings_each_stream_and_drops_the_silent_one() {
    let ms = std::time::Duration::from_millis(1);
    let config = allowing()
        .ping_interval(Some(100 * ms))
        .pong_timeout(100 * ms);
    let addr = start_app(config);
    on_tokio(async move {
        let mut connection = h2(addr).await;
        let mut alive = allowed_websocket(&mut connection, addr).await;
        let mut silent = allowed_websocket(&mut connection, addr).await;
        // Reading answers each Ping with a Pong (tungstenite does): pinged after each 100 ms
        // of silence, and kept.
        let _info = next_message(&mut alive).await;
        let (pings, ended) = pings_within(&mut alive, 1000 * ms).await;
        assert!((4..=10).contains(&pings), "{pings} pings in 1 s");
        assert_eq!(ended, None);
        // The other stream, never read meanwhile, answered nothing: its ?info and its one Ping
        // are there, then the stream ends, with no Close (a dead peer is dropped).
        let info = next_message(&mut silent).await;
        assert!(matches!(info, Message::Text(_)), "{info:?}");
        assert_eq!(pings_within(&mut silent, 5000 * ms).await, (1, Some(None)));
        // The connection and the pinged stream go on.
        alive.send(Message::text("still here")).await.unwrap();
        assert_eq!(next_message(&mut alive).await, Message::text("still here"));
        let another = h2_websocket(&mut connection, addr, "http://allowed.example").await;
        assert!(another.is_ok());
    });
}
