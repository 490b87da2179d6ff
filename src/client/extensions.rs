//! What the server's `Sec-WebSocket-Extensions` answer agreed to of the client's
//! permessage-deflate offer ([`ClientConfig::deflate`]).

use super::config::ClientConfig;
use crate::error::Error;

/// What the server agreed of permessage-deflate.
#[derive(Clone, Copy)]
pub(super) struct AgreedDeflate {
    /// The window we compress with: 15, or the server's `client_max_window_bits`.
    pub(super) window_bits: u8,
    /// The server keeps its context between messages (it did not agree to
    /// `server_no_context_takeover`).
    pub(super) takeover: bool,
}

/// What the server's `Sec-WebSocket-Extensions` answer agreed; an error for an extension we
/// did not offer, or parameters we cannot honour (RFC 7692, 5: the client fails the connection).
pub(super) fn agreed_deflate(
    config: &ClientConfig,
    answer: Option<&str>,
) -> Result<Option<AgreedDeflate>, Error> {
    let Some(answer) = answer else {
        return Ok(None);
    };
    let refuse = |why: &'static str| Error::BadExtension {
        answer: answer.to_owned(),
        why,
    };
    let mut parts = answer.split(';').map(str::trim);
    if !config.deflate || parts.next() != Some("permessage-deflate") || answer.contains(',') {
        return Err(refuse("not what was offered"));
    }
    let mut agreed = AgreedDeflate {
        window_bits: 15,
        takeover: true,
    };
    for part in parts {
        match part
            .split_once('=')
            .map(|(n, v)| (n.trim(), v.trim().trim_matches('"')))
        {
            None if part == "server_no_context_takeover" => agreed.takeover = false,
            None if part == "client_no_context_takeover" => {}
            Some(("server_max_window_bits", _)) => {}
            Some(("client_max_window_bits", bits)) => {
                let bits = bits.parse::<u8>().ok().filter(|b| (9..=15).contains(b));
                agreed.window_bits = bits.ok_or_else(|| refuse("a window we cannot use"))?;
            }
            _ => return Err(refuse("a parameter we do not know")),
        }
    }
    Ok(Some(agreed))
}
