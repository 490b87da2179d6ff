//! The client's wire without the `tls` feature: the dialed stream as it is, and no wss://
//! (see `tls.rs` for the wire with it; `mod.rs` picks one of the two).

use async_tungstenite::tungstenite::handshake::client::Request;

use super::ClientConfig;
use crate::error::Error;

/// wss:// needs the `tls` feature: its URLs are refused.
pub(super) const WSS_PORT: Result<u16, &str> = Err("wss:// needs the `tls` feature");

/// What wss:// would need; there is none without the `tls` feature.
pub(super) enum Secure {}

/// Always `None`: the URL was refused first if it was wss://.
pub(super) fn secure(_: &ClientConfig, _: &Request) -> Result<Option<Secure>, Error> {
    Ok(None)
}

/// The dialed stream.
pub(super) type Wire<S> = S;

pub(super) async fn wrap<S>(stream: S, secure: Option<&Secure>) -> Result<Wire<S>, Error> {
    match secure {
        None => Ok(stream),
        Some(never) => match *never {},
    }
}
