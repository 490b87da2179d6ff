//! A WebSocket echo with no framing library at all, to show about what the runtime alone costs
//! per message and per handshake. It answers the upgrade of any request that carries a
//! `Sec-WebSocket-Key`, echoes every unfragmented text or binary frame (unmasked, as a server
//! sends), answers a Close with the same payload and ends; anything else (an unmasked frame,
//! a fragment) ends the connection. Every complete frame of one read is echoed with one write.
//! Not a server to use: no limits, no UTF-8 check, no ping, no timeouts.

/// Reads go into a buffer of this size (as large as the read-ahead ws-echo uses).
pub const READ: usize = 64 * 1024;

/// The 101 answering `head` (the request up to its blank line), or `None` without a key.
pub fn upgrade(head: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(head).ok()?;
    let key = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim())
    })?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    Some(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .into_bytes(),
    )
}

/// Where the request head ends (after its blank line), once it has.
pub fn head_end(input: &[u8]) -> Option<usize> {
    input
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// What [`echo`] found.
pub enum Next {
    /// Read more; this many bytes of the input were used.
    More(usize),
    /// Write what is queued and end.
    End,
}

/// Echoes every complete frame at the start of `input` into `out`.
pub fn echo(input: &mut [u8], out: &mut Vec<u8>) -> Next {
    let mut at = 0;
    loop {
        let frame = &mut input[at..];
        if frame.len() < 2 {
            return Next::More(at);
        }
        let (first, second) = (frame[0], frame[1]);
        if second & 0x80 == 0 || first & 0x80 == 0 {
            return Next::End; // unmasked or fragmented
        }
        let (len, header) = match second & 0x7f {
            126 if frame.len() >= 4 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 if frame.len() >= 10 => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&frame[2..10]);
                (u64::from_be_bytes(bytes) as usize, 10)
            }
            126 | 127 => return Next::More(at),
            len => (len as usize, 2),
        };
        if frame.len() < header + 4 + len {
            return Next::More(at);
        }
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&frame[header..header + 4]);
        let payload = &mut frame[header + 4..header + 4 + len];
        unmask(payload, mask);
        match first & 0x0f {
            0x1 | 0x2 | 0x8 => {
                out.push(first);
                match len {
                    0..=125 => out.push(len as u8),
                    126..=0xffff => {
                        out.push(126);
                        out.extend_from_slice(&(len as u16).to_be_bytes());
                    }
                    _ => {
                        out.push(127);
                        out.extend_from_slice(&(len as u64).to_be_bytes());
                    }
                }
                out.extend_from_slice(payload);
                if first & 0x0f == 0x8 {
                    return Next::End;
                }
            }
            _ => {} // pings and pongs: none come from the load generator
        }
        at += header + 4 + len;
    }
}

/// XORs `payload` with the repeating `mask`, eight bytes at a time.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i & 3];
    }
}

/// One connection, written once for both runtimes' read and write traits.
macro_rules! connection {
    ($name:ident, $read:path, $write:path) => {
        pub async fn $name<S: $read + $write + Unpin>(mut stream: S) -> std::io::Result<()> {
            let mut input = vec![0u8; crate::minimal::READ];
            let mut filled = 0;
            let head = loop {
                let n = stream.read(&mut input[filled..]).await?;
                if n == 0 {
                    return Ok(());
                }
                filled += n;
                if let Some(end) = crate::minimal::head_end(&input[..filled]) {
                    break end;
                }
            };
            let Some(response) = crate::minimal::upgrade(&input[..head]) else {
                return Ok(());
            };
            stream.write_all(&response).await?;
            input.copy_within(head..filled, 0);
            filled -= head;
            let mut out = Vec::new();
            loop {
                let next = crate::minimal::echo(&mut input[..filled], &mut out);
                if !out.is_empty() {
                    stream.write_all(&out).await?;
                    out.clear();
                }
                match next {
                    crate::minimal::Next::End => return Ok(()),
                    crate::minimal::Next::More(used) => {
                        input.copy_within(used..filled, 0);
                        filled -= used;
                    }
                }
                if filled == input.len() {
                    input.resize(input.len() * 2, 0); // a frame larger than the buffer
                }
                let n = stream.read(&mut input[filled..]).await?;
                if n == 0 {
                    return Ok(());
                }
                filled += n;
            }
        }
    };
}

connection!(
    smol_connection,
    smol::io::AsyncReadExt,
    smol::io::AsyncWriteExt
);
connection!(
    tokio_connection,
    tokio::io::AsyncReadExt,
    tokio::io::AsyncWriteExt
);
