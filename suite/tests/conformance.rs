//! RFC 6455 details a peer would notice, checked on the wire.

use suite::*;
use ws_echo::Config;

#[test]
fn the_rfc_sample_key_gets_the_rfc_accept_value_and_no_subprotocol_is_chosen() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        // RFC 6455 1.3: this key, this answer; a client offering subprotocols gets none back,
        // since we negotiate none (4.2.2: the header is then absent).
        let offer = "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n";
        assert_eq!(
            answer_head(addr, &upgrade_request("/ws", offer)).1,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        assert_eq!(
            ws_echo::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}

#[test]
fn codes_1005_1006_and_1015_never_go_on_the_wire() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        // A Close without a code is answered without a code, not with 1005 ("no status").
        let mut raw = Raw::upgrade(addr);
        raw.send(true, CLOSE, b"");
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: CLOSE,
                payload: Vec::new()
            }
        );
        raw.assert_eof();
        // The three reserved codes, sent to us, are a protocol error: we answer 1002.
        for code in [1005u16, 1006, 1015] {
            let mut raw = Raw::upgrade(addr);
            raw.send(true, CLOSE, &close_payload(code, ""));
            assert_eq!(raw.read_close().0, 1002, "{code}");
            raw.assert_eof();
        }
    }
}

#[test]
fn control_frames_inside_a_fragmented_message_are_answered_and_the_message_stays_whole() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade(addr);
        raw.send(false, TEXT, b"one ");
        raw.send(true, PING, b"first");
        raw.send(false, CONTINUATION, b"two ");
        raw.send(true, PONG, b"unsolicited"); // allowed, and not answered
        raw.send(true, PING, b"second");
        raw.send(true, CONTINUATION, b"three");
        let mut frames = vec![raw.read(), raw.read()];
        // A pong may answer only the latest ping (5.5.3); the echo comes whole, in one frame.
        if frames[0].opcode == PONG && frames[0].payload == b"first" {
            frames.push(raw.read());
            frames.remove(0);
        }
        frames.sort_by_key(|f| f.opcode);
        assert_eq!(
            frames,
            vec![
                Frame {
                    fin: true,
                    opcode: TEXT,
                    payload: b"one two three".to_vec()
                },
                Frame {
                    fin: true,
                    opcode: PONG,
                    payload: b"second".to_vec()
                },
            ]
        );
    }
}
