//! Property tests: random sequences of text and binary messages of random sizes, split into
//! random fragments, with pings interleaved, all written at once; every echo must come back
//! exactly, in order, and the pongs must answer the pings.

use std::net::SocketAddr;
use std::sync::OnceLock;

use proptest::prelude::*;
use suite::*;
use ws_echo::Config;

#[derive(Clone, Debug)]
enum Op {
    /// A data message, cut into fragments at these (sorted, deduplicated) offsets.
    Message {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<usize>,
    },
    Ping(Vec<u8>),
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..200),
        2 => proptest::collection::vec(any::<u8>(), 200..5_000),
        1 => proptest::collection::vec(any::<u8>(), 60_000..70_000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), payload(), proptest::collection::vec(any::<prop::sample::Index>(), 0..6))
            .prop_map(|(text, payload, cuts)| {
                // Text must be valid UTF-8: use the bytes as ASCII-range characters, with some
                // multi-byte ones, so that fragment cuts fall inside characters too.
                let payload = if text {
                    payload.iter().map(|b| if b % 7 == 0 { "é".to_owned() } else { ((b % 94 + 32) as char).to_string() }).collect::<String>().into_bytes()
                } else {
                    payload
                };
                let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(payload.len() + 1)).collect();
                cuts.sort_unstable();
                cuts.dedup();
                Op::Message { text, payload, cuts }
            }),
        1 => proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
    ]
}

/// Encodes `op` as the masked frames a client sends.
fn encode(op: &Op, out: &mut Vec<u8>) {
    match op {
        Op::Ping(payload) => out.extend(frame(true, PING, payload, true)),
        Op::Message {
            text,
            payload,
            cuts,
        } => {
            let mut bounds = vec![0];
            bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < payload.len()));
            bounds.push(payload.len());
            let parts = bounds.len() - 1;
            for (i, pair) in bounds.windows(2).enumerate() {
                let opcode = match (i, text) {
                    (0, true) => TEXT,
                    (0, false) => BINARY,
                    _ => CONTINUATION,
                };
                out.extend(frame(
                    i == parts - 1,
                    opcode,
                    &payload[pair[0]..pair[1]],
                    true,
                ));
            }
        }
    }
}

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| start(runtimes()[0], Config::default()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_fragmented_traffic_is_echoed_exactly(ops in proptest::collection::vec(op(), 1..24)) {
        let mut raw = Raw::upgrade(server());
        let mut bytes = Vec::new();
        for op in &ops {
            encode(op, &mut bytes);
        }
        let writer = {
            let mut stream = raw.stream.try_clone().unwrap();
            std::thread::spawn(move || std::io::Write::write_all(&mut stream, &bytes))
        };
        let expected: Vec<(u8, &[u8])> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Message { text, payload, .. } => Some((if *text { TEXT } else { BINARY }, payload.as_slice())),
                Op::Ping(_) => None,
            })
            .collect();
        let pings: Vec<&[u8]> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Ping(p) => Some(p.as_slice()),
                _ => None,
            })
            .collect();
        // Echoes come back in order, one frame each; pongs may be merged (RFC 6455 5.5.3 lets
        // a pong answer only the latest of several pings), but they answer pings in order and
        // the last ping is always answered.
        let (mut echoes, mut answered) = (0, 0);
        while echoes < expected.len() || (!pings.is_empty() && answered < pings.len()) {
            let got = raw.read();
            prop_assert!(got.fin);
            if got.opcode == PONG {
                let at = pings[answered..].iter().position(|p| *p == got.payload.as_slice());
                prop_assert!(at.is_some(), "a pong answering no pending ping");
                answered += at.unwrap_or(0) + 1;
            } else {
                prop_assert!(echoes < expected.len(), "an echo too many");
                prop_assert_eq!(got.opcode, expected[echoes].0);
                prop_assert_eq!(got.payload.as_slice(), expected[echoes].1);
                echoes += 1;
            }
        }
        writer.join().unwrap().unwrap();
        raw.send(true, CLOSE, &close_payload(1000, ""));
        prop_assert_eq!(raw.read_close().0, 1000);
    }
}
