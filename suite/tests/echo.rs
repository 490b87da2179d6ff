//! Echo semantics over real loopback sockets, under each compiled-in runtime.

use async_tungstenite::tungstenite::Message;
use suite::*;
use ws_echo::Config;

#[test]
fn text_and_binary_come_back_byte_exact_with_their_type() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut ws = connect(addr);
        let text = "Hello World, héllo wörld ✓ 🦀";
        assert_eq!(
            round_trip(&mut ws, Message::text(text)),
            Message::text(text)
        );
        let binary: Vec<u8> = (0..=255u8).collect();
        assert_eq!(
            round_trip(&mut ws, Message::binary(binary.clone())),
            Message::binary(binary)
        );
        assert_eq!(round_trip(&mut ws, Message::text("")), Message::text(""));
        assert_eq!(
            round_trip(&mut ws, Message::binary(Vec::new())),
            Message::binary(Vec::new())
        );
    }
}

#[test]
fn a_one_mebibyte_message_comes_back_whole() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut ws = connect(addr);
        let big: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(
            round_trip(&mut ws, Message::binary(big.clone())),
            Message::binary(big)
        );
        let text = "ü".repeat(1 << 19); // 1 MiB of two-byte characters
        assert_eq!(text.len(), 1 << 20);
        assert_eq!(
            round_trip(&mut ws, Message::text(text.clone())),
            Message::text(text)
        );
    }
}

#[test]
fn a_fragmented_message_is_echoed_as_one_frame() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade(addr);
        let parts = ["Hel", "lo", " ", "Wor", "ld", "", "!"];
        raw.send(false, TEXT, parts[0].as_bytes());
        for part in &parts[1..parts.len() - 1] {
            raw.send(false, CONTINUATION, part.as_bytes());
        }
        raw.send(true, CONTINUATION, parts[parts.len() - 1].as_bytes());
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: TEXT,
                payload: b"Hello World!".to_vec()
            }
        );
        // Binary in 100 fragments, with a ping between two of them.
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
        for (i, chunk) in data.chunks(10).enumerate() {
            let opcode = if i == 0 { BINARY } else { CONTINUATION };
            raw.send(i == 99, opcode, chunk);
            if i == 50 {
                raw.send(true, PING, b"mid");
            }
        }
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: PONG,
                payload: b"mid".to_vec()
            }
        );
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: BINARY,
                payload: data
            }
        );
    }
}

#[test]
fn ping_is_answered_by_pong_with_the_same_payload() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade(addr);
        raw.send(true, PING, b"are you there?");
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: PONG,
                payload: b"are you there?".to_vec()
            }
        );
        raw.send(true, PING, b"");
        assert_eq!(
            raw.read(),
            Frame {
                fin: true,
                opcode: PONG,
                payload: Vec::new()
            }
        );
    }
}

#[test]
fn close_is_answered_with_the_same_code_then_the_connection_ends() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        for (code, reason) in [(1000, "bye"), (4000, "app-defined")] {
            let mut raw = Raw::upgrade(addr);
            raw.send(true, TEXT, b"last words");
            raw.send(true, CLOSE, &close_payload(code, reason));
            assert_eq!(
                raw.read(),
                Frame {
                    fin: true,
                    opcode: TEXT,
                    payload: b"last words".to_vec()
                }
            );
            assert_eq!(raw.read_close(), (code, reason.to_owned()));
            raw.assert_eof();
        }
        // A Close without a code is answered with a Close without a code.
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
    }
}

#[test]
fn pipelined_messages_are_all_echoed_in_order() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let mut raw = Raw::upgrade(addr);
        // Everything in one write: the server must echo all of it, in order.
        let mut burst = Vec::new();
        for i in 0..500 {
            burst.extend(frame(true, TEXT, format!("message {i}").as_bytes(), true));
        }
        raw.send_raw(&burst);
        for i in 0..500 {
            assert_eq!(raw.read().payload, format!("message {i}").into_bytes());
        }
    }
}

#[test]
fn a_hundred_concurrent_clients_each_get_a_hundred_echoes() {
    for rt in runtimes() {
        let addr = start(rt, Config::default());
        let clients: Vec<_> = (0..100)
            .map(|c| {
                std::thread::spawn(move || {
                    let mut ws = connect(addr);
                    let mut verified = 0;
                    for m in 0..100 {
                        let text = format!("client {c} message {m}");
                        assert_eq!(
                            round_trip(&mut ws, Message::text(text.clone())),
                            Message::text(text)
                        );
                        verified += 1;
                    }
                    ws.close(None).unwrap();
                    verified
                })
            })
            .collect();
        let verified: u32 = clients.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(verified, 100 * 100, "{rt:?}");
    }
}
