//! Arbitrary bytes as the client side of a connection, fed to the core. The first byte picks
//! whether a valid upgrade request comes first (so that the frame layer is reached at once) or
//! the bytes are the whole request, and whether that request offers permessage-deflate to a
//! server that accepts it (so that the inflating layer reads the frames). Nothing may panic or
//! hang; every run must end.
#![no_main]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use ws_echo::{Config, Echo};

const UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: f\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

const UPGRADE_DEFLATE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: f\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

/// All of the peer's bytes are there at once, then EOF; what we write is discarded.
struct Peer {
    input: io::Cursor<Vec<u8>>,
}

impl futures_lite::AsyncRead for Peer {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(io::Read::read(&mut self.input, buf))
    }
}

impl futures_lite::AsyncWrite for Peer {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut input = Vec::with_capacity(UPGRADE.len() + rest.len());
    let deflate = mode & 2 == 2;
    if mode & 1 == 1 {
        match deflate {
            true => input.extend_from_slice(UPGRADE_DEFLATE),
            false => input.extend_from_slice(UPGRADE),
        }
    }
    input.extend_from_slice(rest);
    let config = Config::default()
        .max_message_size(64 * 1024)
        .max_request_head(2048)
        .close_timeout(Duration::from_millis(50))
        .handshake_timeout(Duration::from_secs(5))
        .deflate(deflate);
    let peer = Peer { input: io::Cursor::new(input) };
    let _ = futures_lite::future::block_on(ws_echo::serve(peer, &config, Echo));
});
