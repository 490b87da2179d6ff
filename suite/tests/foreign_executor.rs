//! The core needs no runtime: here it runs under futures-lite's `block_on` on a plain std
//! socket that wakes its own task, with neither smol's nor async-std's executor anywhere.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::tungstenite::{self, handshake::derive_accept_key, Message};
use ws_echo::{Config, Echo, Ending, Served, Summary, Upgrade};

/// A non-blocking std socket that, instead of registering with a reactor, asks to be polled
/// again at once when it would block: the simplest possible "runtime".
struct Spin(TcpStream);

fn spin<T>(result: io::Result<T>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        other => Poll::Ready(other),
    }
}

impl futures_lite::AsyncRead for Spin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let result = self.0.read(buf);
        spin(result, cx)
    }
}

impl futures_lite::AsyncWrite for Spin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = self.0.write(buf);
        spin(result, cx)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown(Shutdown::Write))
    }
}

/// Accepts one connection and serves it with `serve_with` under futures-lite's block_on.
fn serve_one(
    serve_with: impl FnOnce(TcpStream) -> Summary + Send + 'static,
) -> (std::net::SocketAddr, std::thread::JoinHandle<Summary>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        serve_with(stream)
    });
    (addr, server)
}

/// Text and binary round trips, then Close 1000; checks the summary's exact counts.
fn exercise(addr: std::net::SocketAddr, server: std::thread::JoinHandle<Summary>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/ws"), stream).unwrap();
    ws.send(Message::text("no runtime")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("no runtime"));
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![0u8, 1, 2, 255]));
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
    let summary = server.join().unwrap();
    assert_eq!((summary.messages_in, summary.messages_out), (2, 2));
    assert_eq!((summary.bytes_in, summary.bytes_out), (14, 14));
    assert_eq!(
        summary.ending,
        Ending::PeerClosed {
            code: None,
            reason: String::new()
        }
    );
}

#[test]
fn serve_runs_under_futures_lite_block_on() {
    let (addr, server) = serve_one(|stream| {
        stream.set_nonblocking(true).unwrap();
        let served =
            futures_lite::future::block_on(ws_echo::serve(Spin(stream), &Config::default(), Echo));
        let Ok(Served::WebSocket(summary)) = served else {
            panic!("not a WebSocket connection: {served:?}");
        };
        summary
    });
    exercise(addr, server);
}

/// The "application": reads the request head, has ws-echo decide it (with the target and the
/// peer), checks the 101's headers and answers it itself; the stream, ready for
/// `serve_upgraded`, and the upgrade.
fn application_upgrade(mut stream: TcpStream) -> (Spin, Upgrade) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap().split(' ');
    let (method, target) = (request_line.next().unwrap(), request_line.next().unwrap());
    let headers: Vec<(&str, &[u8])> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name, value.trim().as_bytes()))
        .collect();
    // ws-echo decides; the application answers as it says.
    let upgrade = Upgrade::check(&Config::default(), method, target, true, &headers).unwrap();
    let upgrade = upgrade.with_peer(stream.peer_addr().unwrap());
    let mut answer = "HTTP/1.1 101 Switching Protocols\r\n".to_owned();
    for (name, value) in upgrade.headers() {
        answer += &format!("{name}: {value}\r\n");
    }
    answer += "\r\n";
    let key = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-key"))
        .unwrap()
        .1;
    assert_eq!(
        answer,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(key)
        )
    );
    stream.write_all(answer.as_bytes()).unwrap();
    stream.set_nonblocking(true).unwrap();
    (Spin(stream), upgrade)
}

#[test]
fn serve_upgraded_runs_after_the_applications_own_upgrade() {
    let (addr, server) = serve_one(|stream| {
        let (stream, upgrade) = application_upgrade(stream);
        futures_lite::future::block_on(ws_echo::serve_upgraded(
            stream,
            upgrade,
            &Config::default(),
            Echo,
        ))
    });
    exercise(addr, server);
}

/// After the application's own upgrade the handler sees the request all the same: the test
/// target's `?info` holds the path, the query, the headers and the peer.
#[cfg(feature = "test-target")]
#[test]
fn serve_upgraded_hands_the_request_to_the_handler() {
    let (addr, server) = serve_one(|stream| {
        let (stream, upgrade) = application_upgrade(stream);
        let target = ws_echo::test_target::TestTarget::new(Echo);
        futures_lite::future::block_on(ws_echo::serve_upgraded(
            stream,
            upgrade,
            &Config::default(),
            target,
        ))
    });
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let peer = stream.local_addr().unwrap();
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/ws?info&lb=eu"
    ))
    .unwrap();
    request
        .headers_mut()
        .insert("X-Probe", "embedded".parse().unwrap());
    let (mut ws, _) = tungstenite::client(request, stream).unwrap();
    let info: serde_json::Value = match ws.read().unwrap() {
        Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("not the info: {other:?}"),
    };
    assert_eq!(
        (info["path"].as_str(), info["query"].as_str()),
        (Some("/ws"), Some("info&lb=eu"))
    );
    assert_eq!(info["peer"], peer.to_string());
    assert!(
        info["headers"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["x-probe", "embedded"])),
        "{info}"
    );
    ws.send(Message::text("after info")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("after info"));
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
    server.join().unwrap();
}
