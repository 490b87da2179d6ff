//! ws-echo mounted in an axum application with one `route_service` line (feature `hyper`):
//! the echo, the handler's view of the request (path, query, headers, the client's address
//! through axum's ConnectInfo), every refusal exactly as ws-echo's own listener gives it, and
//! the same echo over HTTP/2 (RFC 8441's extended CONNECT) with hyper's client.
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

#[test]
fn an_extended_connect_over_http2_gets_the_same_echo() {
    use futures_lite::StreamExt;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let addr = start_app(allowing());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection);
        let connect = |origin: &'static str| {
            let mut request = http::Request::builder()
                .method(http::Method::CONNECT)
                .uri(format!("http://{addr}/ws?info"))
                .header("sec-websocket-version", "13")
                .header("origin", origin)
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            let protocol = hyper::ext::Protocol::from_static("websocket");
            request.extensions_mut().insert(protocol);
            request
        };
        // The origin policy holds over HTTP/2 too.
        let refused = sender
            .send_request(connect("http://elsewhere.example"))
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
        let response = sender
            .send_request(connect("http://allowed.example"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        let stream =
            ws_echo::runtimes::tokio_io(TokioIo::new(hyper::upgrade::on(response).await.unwrap()));
        let role = tungstenite::protocol::Role::Client;
        let mut ws = async_tungstenite::WebSocketStream::from_raw_socket(stream, role, None).await;
        let Some(Ok(Message::Text(info))) = ws.next().await else {
            panic!("the first message is not ?info's text");
        };
        let info: serde_json::Value = serde_json::from_str(info.as_str()).unwrap();
        assert_eq!(
            (info["method"].as_str(), info["path"].as_str()),
            (Some("GET"), Some("/ws"))
        );
        for message in [Message::text("over h2"), Message::binary(vec![7u8; 70_000])] {
            ws.send(message.clone()).await.unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), message);
        }
        ws.close(Some(bye())).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                    break;
                }
                Some(Ok(_)) => continue,
                other => panic!("no Close came back: {other:?}"),
            }
        }
    });
}
