//! The echo loop over an in-memory stream: no sockets, no runtime, so that a change in what a
//! message costs shows without the noise of the network stack. Each case runs ws-echo's
//! `serve_upgraded` and, as the peer of the same run, plain async-tungstenite echoing the way
//! its own example does (`forward`, which flushes only when no more input is ready), over the
//! same bytes: a client's masked frames, then its Close. Before measuring, each case checks that
//! both wrote exactly the echoes and the Close reply.
//!
//! `cargo bench --manifest-path bench/criterion/Cargo.toml` (criterion prints both timings per case; compare them, not the
//! absolute figures, which drift on a shared machine). A quick look: `-- --quick`.

use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::WebSocketStream;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_lite::future::{self, block_on};
use futures_lite::{AsyncRead, AsyncWrite};
use futures_util::{StreamExt, TryStreamExt};

#[path = "../../../suite/src/frames.rs"]
mod frames;
use frames::{close_payload, frame, BINARY, CLOSE};

/// The peer's side of the connection, in memory: its bytes are all there from the start and
/// are handed out at most `chunk` at a time (as a socket would); what we write is counted.
struct Wire {
    input: Arc<Vec<u8>>,
    at: usize,
    chunk: usize,
    written: usize,
}

impl Wire {
    fn new(input: &Arc<Vec<u8>>) -> Self {
        Wire {
            input: Arc::clone(input),
            at: 0,
            chunk: 64 * 1024,
            written: 0,
        }
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.chunk).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written += buf.len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// `count` binary messages of `size` bytes, then a Close 1000.
fn conversation(count: usize, size: usize) -> (Arc<Vec<u8>>, usize) {
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let close = close_payload(1000, "");
    let mut input = Vec::new();
    for _ in 0..count {
        input.extend(frame(true, BINARY, &payload, true));
    }
    input.extend(frame(true, CLOSE, &close, true));
    // The echoes and the Close reply: the same frames, unmasked.
    let replies = count * frame(true, BINARY, &payload, false).len()
        + frame(true, CLOSE, &close, false).len();
    (Arc::new(input), replies)
}

/// ws-echo's loop; returns the bytes it wrote.
fn ws_echo(config: &ws_echo::Config, input: &Arc<Vec<u8>>) -> usize {
    let mut wire = Wire::new(input);
    let headers: &[(&str, &[u8])] = &[
        ("Upgrade", b"websocket"),
        ("Connection", b"Upgrade"),
        ("Sec-WebSocket-Version", b"13"),
        ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let upgrade =
        ws_echo::Upgrade::check(config, "GET", "/ws", true, headers).expect("a valid upgrade");
    block_on(ws_echo::serve_upgraded(
        &mut wire,
        upgrade,
        config,
        ws_echo::Echo,
    ));
    wire.written
}

/// Plain async-tungstenite, default configuration, echoing with `forward`.
fn plain(input: &Arc<Vec<u8>>) -> usize {
    let mut wire = Wire::new(input);
    block_on(async {
        let ws = WebSocketStream::from_raw_socket(&mut wire, Role::Server, None).await;
        let (write, read) = ws.split();
        let echoes = read.try_filter(|m| future::ready(m.is_text() || m.is_binary()));
        // Ends with the peer's Close (tungstenite has answered it); the error says so.
        let _ = echoes.forward(write).await;
    });
    wire.written
}

fn echo(c: &mut Criterion) {
    let config = ws_echo::Config::default().max_message_size(2 << 20);
    let mut group = c.benchmark_group("echo");
    for (count, size) in [(1000, 20), (1000, 1024), (200, 16 * 1024), (4, 1 << 20)] {
        let (input, replies) = conversation(count, size);
        assert_eq!(
            ws_echo(&config, &input),
            replies,
            "ws-echo, {count} x {size} B"
        );
        assert_eq!(
            plain(&input),
            replies,
            "async-tungstenite, {count} x {size} B"
        );
        group.throughput(Throughput::Bytes((count * size) as u64));
        let case = format!("{count}x{size}B");
        group.bench_with_input(BenchmarkId::new("ws-echo", &case), &input, |b, input| {
            b.iter(|| black_box(ws_echo(&config, input)))
        });
        group.bench_with_input(
            BenchmarkId::new("async-tungstenite", &case),
            &input,
            |b, input| b.iter(|| black_box(plain(input))),
        );
    }
    group.finish();
}

criterion_group!(benches, echo);
criterion_main!(benches);
