//! permessage-deflate (RFC 7692) on real sockets, under each runtime: what a client offers is
//! agreed, compressed messages are inflated and the echoes compressed, byte for byte; a bomb
//! gets 1009 while it inflates; RSV1 where it does not belong, a corrupt stream and bad UTF-8
//! after inflating get 1002 and 1007; and the server serves on.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use suite::*;
use ws_echo::Config;

const AGREED: &str =
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n";

/// Upgrades with a permessage-deflate offer and asserts the exact 101 that agrees to it.
fn open(addr: SocketAddr) -> TcpStream {
    let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    let (stream, head) = answer_head(addr, &upgrade_request("/ws", offer));
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{AGREED}\r\n"
        )
    );
    stream
}

/// `payload` compressed as RFC 7692 sends it: raw deflate, sync-flushed, the tail removed.
fn deflate(payload: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() + 1024);
    compress
        .compress_vec(payload, &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut decompress = Decompress::new(false);
    let mut out = Vec::with_capacity(4 << 20);
    let input = [payload, &[0, 0, 0xff, 0xff]].concat();
    decompress
        .decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    out
}

/// A masked frame with RSV1 set.
fn compressed_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame(fin, opcode, payload, true);
    bytes[0] |= 0x40;
    bytes
}

/// Reads one frame: its first byte (FIN, RSV and opcode) and its payload.
fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[1] & 0x80, 0, "server frames are never masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).unwrap();
            u16::from_be_bytes(ext) as usize
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).unwrap();
            u64::from_be_bytes(ext) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).unwrap();
    (head[0], payload)
}

/// Reads a Close: its code.
fn read_close_code(stream: &mut TcpStream) -> u16 {
    let (first, payload) = read_frame(stream);
    assert_eq!(first, 0x80 | CLOSE, "expected a Close: {payload:?}");
    u16::from_be_bytes([payload[0], payload[1]])
}

fn server(rt: Rt) -> SocketAddr {
    start(rt, Config::default().deflate(true))
}

#[test]
fn compressed_messages_are_inflated_and_their_echoes_compressed_byte_for_byte() {
    let text = "Hello World, ".repeat(2000);
    for rt in runtimes() {
        let addr = server(rt);
        let mut stream = open(addr);
        stream
            .write_all(&compressed_frame(true, TEXT, &deflate(text.as_bytes())))
            .unwrap();
        let (first, payload) = read_frame(&mut stream);
        assert_eq!(first, 0x80 | 0x40 | TEXT, "{rt:?}: a compressed text");
        assert!(
            payload.len() < text.len() / 10,
            "{rt:?}: {} bytes",
            payload.len()
        );
        assert_eq!(inflate(&payload), text.as_bytes(), "{rt:?}");

        // One compressed message in three frames, a ping between them, and a plain one after.
        let binary: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let compressed = deflate(&binary);
        let third = compressed.len() / 3;
        let mut burst = compressed_frame(false, BINARY, &compressed[..third]);
        burst.extend(frame(
            false,
            CONTINUATION,
            &compressed[third..2 * third],
            true,
        ));
        burst.extend(frame(true, PING, b"between", true));
        burst.extend(frame(true, CONTINUATION, &compressed[2 * third..], true));
        burst.extend(frame(true, TEXT, b"plain", true));
        stream.write_all(&burst).unwrap();
        assert_eq!(read_frame(&mut stream), (0x80 | PONG, b"between".to_vec()));
        let (first, payload) = read_frame(&mut stream);
        assert_eq!(first, 0x80 | 0x40 | BINARY, "{rt:?}");
        assert_eq!(inflate(&payload), binary, "{rt:?}");
        // Five bytes compress to more than five: sent as they are.
        assert_eq!(read_frame(&mut stream), (0x80 | TEXT, b"plain".to_vec()));
        stream
            .write_all(&frame(true, CLOSE, &close_payload(1000, ""), true))
            .unwrap();
        assert_eq!(read_close_code(&mut stream), 1000);
    }
}

#[test]
fn a_bomb_gets_1009_as_it_inflates_and_the_server_serves_on() {
    // 64 MiB of zeros compress to some 64 KiB; the limit is 1 MiB.
    let bomb = deflate(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 128 << 10, "{} bytes", bomb.len());
    for rt in runtimes() {
        let addr = server(rt);
        let mut stream = open(addr);
        stream
            .write_all(&compressed_frame(true, BINARY, &bomb))
            .unwrap();
        assert_eq!(read_close_code(&mut stream), 1009, "{rt:?}");
        let mut next = open(addr);
        let text = "still here ".repeat(20);
        next.write_all(&compressed_frame(true, TEXT, &deflate(text.as_bytes())))
            .unwrap();
        let (first, payload) = read_frame(&mut next);
        assert_eq!(first, 0x80 | 0x40 | TEXT, "{rt:?}");
        assert_eq!(inflate(&payload), text.as_bytes(), "{rt:?}");
    }
}

#[test]
fn rsv1_where_it_does_not_belong_and_a_corrupt_stream_get_1002_and_bad_utf8_1007() {
    let half = deflate(b"the first half");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "RSV1 on a continuation",
            [
                compressed_frame(false, TEXT, &half),
                compressed_frame(true, CONTINUATION, &half),
            ]
            .concat(),
            1002,
        ),
        ("RSV1 on a ping", compressed_frame(true, PING, b"x"), 1002),
        (
            "a corrupt stream",
            compressed_frame(true, BINARY, &[0xff; 40]),
            1002,
        ),
        (
            "invalid UTF-8 once inflated",
            compressed_frame(true, TEXT, &deflate(&[0xc3, 0x28, 0x61])),
            1007,
        ),
    ];
    for rt in runtimes() {
        let addr = server(rt);
        for (name, bytes, code) in &cases {
            let mut stream = open(addr);
            stream.write_all(bytes).unwrap();
            assert_eq!(read_close_code(&mut stream), *code, "{rt:?}: {name}");
        }
        // Without the extension agreed, RSV1 is a protocol error as it always was.
        let mut raw = Raw::upgrade(start(rt, Config::default()));
        raw.send_raw(&compressed_frame(true, TEXT, &deflate(b"hi")));
        assert_eq!(raw.read_close().0, 1002, "{rt:?}");
    }
}

#[test]
#[cfg(feature = "test-target")]
fn the_test_targets_info_names_the_agreed_extension_and_comes_compressed() {
    use ws_echo::test_target::TestTarget;
    let agreed = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    for rt in runtimes() {
        let config = Config::default().deflate(true);
        let addr = start_with(rt, config, TestTarget::new(ws_echo::Echo));
        let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
        let (mut stream, head) = answer_head(addr, &upgrade_request("/ws?info", offer));
        assert!(head.contains(AGREED), "{rt:?}: {head}");
        let (first, payload) = read_frame(&mut stream);
        assert_eq!(
            first,
            0x80 | 0x40 | TEXT,
            "{rt:?}: the info message, compressed"
        );
        let info = String::from_utf8(inflate(&payload)).unwrap();
        assert!(
            info.contains(&format!("\"extensions\":\"{agreed}\"")),
            "{rt:?}: {info}"
        );
    }
}

#[test]
fn our_client_offers_it_and_every_echo_comes_back_exact() {
    use ws_echo::client::{ClientConfig, Event};
    let text = "compress me ".repeat(500);
    for rt in runtimes() {
        let addr = server(rt);
        let config = ClientConfig::new(format!("ws://{addr}/ws"))
            .message(text.as_str())
            .interval(std::time::Duration::from_millis(10))
            .count(5)
            .deflate(true);
        let mut extensions = None;
        let report = run_client(rt, &config, never(), |event| {
            if let Event::Connected {
                extensions: agreed, ..
            } = event
            {
                extensions = agreed.clone();
            }
        })
        .unwrap();
        assert_eq!(
            (report.sent, report.echoed, report.missing),
            (5, 5, 0),
            "{rt:?}"
        );
        assert_eq!(
            extensions.as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            "{rt:?}"
        );
    }
}
