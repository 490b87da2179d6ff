//! permessage-deflate's negotiation (RFC 7692, 5 and 7.1), as a server: of the client's
//! `Sec-WebSocket-Extensions` offers, the first this server can accept is agreed; an offer with
//! an unknown, repeated or malformed parameter is declined (the next one is tried), and none
//! acceptable means no extension.
//!
//! What this server agrees to, always: `server_no_context_takeover` (it compresses each message
//! on its own, holding a compressor only while it compresses) and `client_no_context_takeover`
//! (each message the client sends can be inflated on its own, so that no inflater is held
//! between messages): a server may ask both of any client (7.1.1.1, 7.1.1.2). The client's
//! window needs no answer: an inflater with a 32 KiB window reads any smaller one.

/// The parameters agreed for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Deflate {
    /// The window the server compresses with: 15, or the client's `server_max_window_bits`.
    pub(crate) server_window_bits: u8,
    /// The client asked for that window (so the answer names it).
    server_window_asked: bool,
}

impl Deflate {
    /// The `Sec-WebSocket-Extensions` value of the 101.
    pub(crate) fn response(&self) -> String {
        let mut value =
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover".to_owned();
        if self.server_window_asked {
            value += &format!("; server_max_window_bits={}", self.server_window_bits);
        }
        value
    }
}

/// The first acceptable permessage-deflate offer among `headers` (every
/// `Sec-WebSocket-Extensions` value, in order), or `None`.
pub(crate) fn negotiate<'h>(headers: impl Iterator<Item = (&'h str, &'h [u8])>) -> Option<Deflate> {
    headers
        .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-extensions"))
        .filter_map(|(_, value)| std::str::from_utf8(value).ok())
        .flat_map(|value| value.split(','))
        .find_map(accept)
}

/// One offer, `permessage-deflate; param[=value]; ...`: what it agrees to, or `None` to
/// decline it.
fn accept(offer: &str) -> Option<Deflate> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("permessage-deflate") {
        return None;
    }
    let mut seen: [bool; 4] = [false; 4];
    let mut agreed = Deflate {
        server_window_bits: 15,
        server_window_asked: false,
    };
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(unquote(value.trim())?)),
            None => (part, None),
        };
        let index = [
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
        ]
        .iter()
        .position(|known| name.eq_ignore_ascii_case(known))?;
        if std::mem::replace(&mut seen[index], true) {
            return None; // a parameter given twice
        }
        match (index, value) {
            (0 | 1, None) => {}
            (2, Some(value)) => {
                // 8 cannot be honoured: raw deflate's smallest window is 9 bits.
                agreed.server_window_bits = window_bits(value).filter(|&bits| bits >= 9)?;
                agreed.server_window_asked = true;
            }
            (3, None) => {}
            (3, Some(value)) => {
                window_bits(value)?;
            }
            _ => return None,
        }
    }
    Some(agreed)
}

/// A window size, 8 to 15, written as digits.
fn window_bits(value: &str) -> Option<u8> {
    let digits =
        value.len() <= 2 && !value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| value.parse().ok())
        .flatten()
        .filter(|bits| (8..=15).contains(bits))
}

/// A parameter's value: a token, or a quoted string (RFC 7692, 7.1: then a token inside).
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"'),
        None => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(values: &[&str]) -> Option<String> {
        let headers = values
            .iter()
            .map(|v| ("Sec-WebSocket-Extensions", v.as_bytes()));
        negotiate(headers).map(|deflate| deflate.response())
    }

    const BOTH: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

    #[test]
    fn what_browsers_and_libraries_offer_is_accepted() {
        // Chromium, Firefox; Python websockets; Node ws.
        for offer in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits=15",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ] {
            assert_eq!(agreed(&[offer]).as_deref(), Some(BOTH), "{offer}");
        }
    }

    #[test]
    fn a_server_window_asked_for_is_honoured_and_named() {
        let answer = agreed(&["permessage-deflate; server_max_window_bits=10"]);
        assert_eq!(answer, Some(format!("{BOTH}; server_max_window_bits=10")));
        let quoted = agreed(&["permessage-deflate; server_max_window_bits=\"12\""]);
        assert_eq!(quoted, Some(format!("{BOTH}; server_max_window_bits=12")));
    }

    #[test]
    fn a_bad_offer_is_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; client_max_window_bits=1x",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; zzz",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(agreed(&[bad]), None, "{bad}");
            let next = format!("{bad}, permessage-deflate; server_max_window_bits=9");
            assert_eq!(
                agreed(&[&next]),
                Some(format!("{BOTH}; server_max_window_bits=9")),
                "{bad}"
            );
        }
        // Offers spread over several headers are read in order.
        let answer = agreed(&["foo", "permessage-deflate; zzz", "permessage-deflate"]);
        assert_eq!(answer.as_deref(), Some(BOTH));
        assert_eq!(agreed(&[]), None);
    }
}
