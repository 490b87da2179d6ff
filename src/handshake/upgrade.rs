//! [`Upgrade`]: an upgrade request's checks (RFC 6455, 4.2.1), and what its 101 carries.

use async_tungstenite::tungstenite::handshake::derive_accept_key;

use super::extension::{self, Deflate};
use super::refusal::Refusal;
use crate::config::Config;
use crate::running::Running;

/// An upgrade request that ws-echo accepts, and what its 101 answer carries: for an
/// application whose own HTTP layer (hyper, axum, ...) reads the request and sends the answer.
/// [`Upgrade::check`] decides it as [`serve`](crate::serve) does, the origin policy included;
/// after the 101, [`serve_upgraded`](crate::serve_upgraded) takes it with the upgraded stream.
///
/// ```
/// let headers: &[(&str, &[u8])] = &[
///     ("Upgrade", b"websocket"),
///     ("Connection", b"Upgrade"),
///     ("Sec-WebSocket-Version", b"13"),
///     ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
/// ];
/// let upgrade = ws_echo::Upgrade::check(&ws_echo::Config::default(), "GET", "/ws", true, headers).unwrap();
/// assert_eq!(
///     upgrade.headers(),
///     [
///         ("Upgrade", "websocket"),
///         ("Connection", "Upgrade"),
///         ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
///     ]
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgrade {
    /// `Sec-WebSocket-Accept`; `None` for an extended CONNECT (RFC 8441), whose 200 has none.
    pub(super) accept: Option<String>,
    pub(super) protocol: Option<String>,
    /// permessage-deflate, when agreed, and its `Sec-WebSocket-Extensions` answer.
    pub(super) deflate: Option<(Deflate, String)>,
    /// The request as [`Upgrade::check`] saw it, for the handler's `on_open` after the 101
    /// ([`serve_upgraded`](crate::serve_upgraded)); `None` on ws-echo's own handshake, which
    /// keeps the request itself.
    pub(crate) request: Option<Box<Request>>,
}

/// An upgrade request's target (path and query), headers and peer, kept from
/// [`Upgrade::check`] to [`serve_upgraded`](crate::serve_upgraded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) peer: Option<std::net::SocketAddr>,
}

impl Upgrade {
    /// The headers of the 101 answer: `Upgrade`, `Connection` and `Sec-WebSocket-Accept`, then
    /// `Sec-WebSocket-Protocol` when a subprotocol was selected and `Sec-WebSocket-Extensions`
    /// when permessage-deflate was agreed ([`Config::deflate`](crate::Config::deflate)): the one
    /// list of what the 101 carries.
    /// After [`Upgrade::check_connect`] (HTTP/2), the 200 carries the last two alone.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut headers = Vec::with_capacity(5);
        if let Some(accept) = &self.accept {
            headers.push(("Upgrade", "websocket"));
            headers.push(("Connection", "Upgrade"));
            headers.push(("Sec-WebSocket-Accept", accept.as_str()));
        }
        if let Some(protocol) = &self.protocol {
            headers.push(("Sec-WebSocket-Protocol", protocol));
        }
        if let Some((_, extension)) = &self.deflate {
            headers.push(("Sec-WebSocket-Extensions", extension));
        }
        headers
    }

    /// The answer's status: 101 (Switching Protocols) after [`Upgrade::check`], 200 after
    /// [`Upgrade::check_connect`] (an extended CONNECT over HTTP/2, RFC 8441).
    pub fn status(&self) -> u16 {
        match self.accept {
            Some(_) => 101,
            None => 200,
        }
    }

    /// The `Sec-WebSocket-Extensions` answer, when an extension was agreed.
    pub(crate) fn extensions(&self) -> Option<&str> {
        self.deflate.as_ref().map(|(_, answer)| answer.as_str())
    }

    /// permessage-deflate's parameters, when agreed.
    pub(crate) fn deflate(&self) -> Option<Deflate> {
        self.deflate.as_ref().map(|(agreed, _)| *agreed)
    }

    /// The subprotocol selected ([`Routes::protocols`](crate::Routes::protocols)): the first of the client's offer that
    /// the server speaks. `None`: the client offered none of them, or none at all.
    ///
    /// ```
    /// let config = ws_echo::Config::default().protocol("chat").protocol("echo");
    /// let headers: &[(&str, &[u8])] = &[
    ///     ("Upgrade", b"websocket"),
    ///     ("Connection", b"Upgrade"),
    ///     ("Sec-WebSocket-Version", b"13"),
    ///     ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ///     ("Sec-WebSocket-Protocol", b"mqtt, echo, chat"),
    /// ];
    /// let upgrade = ws_echo::Upgrade::check(&config, "GET", "/ws", true, headers).unwrap();
    /// assert_eq!(upgrade.protocol(), Some("echo"));
    /// assert_eq!(upgrade.headers()[3], ("Sec-WebSocket-Protocol", "echo"));
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Selects `name` as the subprotocol when the client's `Sec-WebSocket-Protocol` offer (in
    /// `headers`) holds it exactly; otherwise the selection stands.
    pub(crate) fn prefer_protocol<'h>(
        &mut self,
        name: String,
        headers: impl Iterator<Item = (&'h str, &'h [u8])>,
    ) {
        let offered = headers
            .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
            .flat_map(|(_, value)| value.split(|&b| b == b','))
            .any(|offer| offer.trim_ascii() == name.as_bytes());
        if offered {
            self.protocol = Some(name);
        }
    }

    /// The client's address, when the application's HTTP layer knows it (axum's
    /// `ConnectInfo`, hyper's accepted stream): the handler's
    /// [`Connection::peer`](crate::Connection::peer) after the upgrade.
    pub fn with_peer(mut self, peer: std::net::SocketAddr) -> Self {
        self.request.get_or_insert_with(Box::default).peer = Some(peer);
        self
    }
}

/// The `Sec-WebSocket-Accept` value that answers a request's `Sec-WebSocket-Key` (RFC 6455,
/// 4.2.2), for applications that answer the upgrade themselves and then call
/// [`serve_upgraded`](crate::serve_upgraded).
///
/// ```
/// assert_eq!(ws_echo::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    derive_accept_key(key)
}

/// Checks an upgrade request, its path aside; `upgrade`: whether its `Upgrade` header lists
/// `websocket` (the caller has looked already).
pub(crate) fn check_upgrade<'h>(
    config: &Config,
    running: &Running,
    method: Option<&str>,
    http_1_1: bool,
    upgrade: bool,
    headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
) -> Result<Upgrade, Refusal> {
    if method != Some("GET") {
        return Err(Refusal::of(400, "the upgrade request must use GET"));
    }
    if !http_1_1 {
        return Err(Refusal::of(400, "the upgrade request must use HTTP/1.1"));
    }
    if !upgrade || !has_token(headers.clone(), "connection", "upgrade") {
        return Err(Refusal::of(426, "this endpoint only speaks WebSocket"));
    }
    if header(headers.clone(), "sec-websocket-version") != Some(b"13".as_slice()) {
        return Err(Refusal::of(
            426,
            "unsupported Sec-WebSocket-Version, use 13",
        ));
    }
    let key = header(headers.clone(), "sec-websocket-key")
        .filter(|key| is_valid_key(key))
        .ok_or(Refusal::of(400, "missing or malformed Sec-WebSocket-Key"))?;
    accepting(config, running, Some(derive_accept_key(key)), headers)
}

/// Checks an extended CONNECT (RFC 8441, 4 and 5: WebSockets over HTTP/2) whose `:protocol`
/// pseudo-header is `protocol`, its path aside: what RFC 6455 asks of an upgrade but for what
/// HTTP/2 replaces (the method, `Upgrade`, `Connection`, the key and its accept).
pub(crate) fn check_connect<'h>(
    config: &Config,
    running: &Running,
    protocol: &str,
    headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
) -> Result<Upgrade, Refusal> {
    if !protocol.eq_ignore_ascii_case("websocket") {
        return Err(Refusal::of(
            400,
            "the CONNECT's :protocol must be websocket",
        ));
    }
    if header(headers.clone(), "sec-websocket-version") != Some(b"13".as_slice()) {
        return Err(Refusal::of(
            400,
            "unsupported Sec-WebSocket-Version, use 13",
        ));
    }
    accepting(config, running, None, headers)
}

/// The checks an upgrade and an extended CONNECT share: the origin, the server's state; then
/// what the answer carries.
fn accepting<'h>(
    config: &Config,
    running: &Running,
    accept: Option<String>,
    headers: impl Iterator<Item = (&'h str, &'h [u8])> + Clone,
) -> Result<Upgrade, Refusal> {
    if !config
        .routes
        .origin_allowed(header(headers.clone(), "origin"))
    {
        return Err(Refusal::of(403, "origin not allowed"));
    }
    if running.is_shutting_down() {
        return Err(Refusal::of(503, "shutting down, retry later"));
    }
    let deflate = (config.deflate)
        .then(|| extension::negotiate(headers.clone()))
        .flatten()
        .map(|agreed| (agreed, agreed.response()));
    Ok(Upgrade {
        accept,
        protocol: select_protocol(config, headers.clone()),
        deflate,
        request: None,
    })
}

/// The value of the first header named `name` (ASCII case-insensitive), trimmed.
fn header<'h>(
    mut headers: impl Iterator<Item = (&'h str, &'h [u8])>,
    name: &str,
) -> Option<&'h [u8]> {
    headers
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim_ascii())
}

/// Whether any header named `name` lists `token` in its comma-separated value.
pub(crate) fn has_token<'h>(
    headers: impl Iterator<Item = (&'h str, &'h [u8])>,
    name: &str,
    token: &str,
) -> bool {
    headers
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, value)| value.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The first protocol of the client's `Sec-WebSocket-Protocol` offer (every such header, in
/// order) that `config` speaks, compared exactly (RFC 6455, 4.2.2).
pub(super) fn select_protocol<'h>(
    config: &Config,
    headers: impl Iterator<Item = (&'h str, &'h [u8])>,
) -> Option<String> {
    if config.routes.protocols.is_empty() {
        return None;
    }
    headers
        .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
        .flat_map(|(_, value)| value.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .find_map(|offered| {
            (config.routes.protocols.iter())
                .find(|p| p.as_bytes() == offered)
                .cloned()
        })
}

/// A key is the base64 encoding of 16 bytes: 22 base64 digits and `==` (RFC 6455, 4.1).
pub(super) fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}
