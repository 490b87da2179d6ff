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

#[test]
fn serve_upgraded_runs_after_the_applications_own_upgrade() {
    let (addr, server) = serve_one(|mut stream| {
        // The "application": reads the request head and answers 101 itself.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let mut lines = head.lines();
        let method = lines.next().unwrap().split(' ').next().unwrap().to_owned();
        let headers: Vec<(&str, &[u8])> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name, value.trim().as_bytes()))
            .collect();
        // ws-echo decides; the application answers as it says.
        let upgrade = Upgrade::check(&Config::default(), &method, true, &headers).unwrap();
        let mut answer = "HTTP/1.1 101 Switching Protocols\r\n".to_owned();
        for (name, value) in upgrade.headers() {
            answer += &format!("{name}: {value}\r\n");
        }
        answer += "\r\n";
        assert_eq!(
            answer,
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\n",
                derive_accept_key(
                    headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-key"))
                        .unwrap()
                        .1
                )
            )
        );
        stream.write_all(answer.as_bytes()).unwrap();
        stream.set_nonblocking(true).unwrap();
        futures_lite::future::block_on(ws_echo::serve_upgraded(
            Spin(stream),
            upgrade,
            &Config::default(),
            Echo,
        ))
    });
    exercise(addr, server);
}
