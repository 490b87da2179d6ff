//! Serving a connection whose upgrade an application's own HTTP layer (hyper, axum, ...)
//! answered: [`Upgrade::check`] decides the request as [`serve`](crate::serve) would, and
//! [`serve_upgraded`] runs the loop on the upgraded stream.

use std::time::Instant;

use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use futures_lite::{AsyncRead, AsyncWrite};

use crate::config::Config;
use crate::connection::{on_open, Identity};
use crate::echo_loop::{self, Prelude};
use crate::handler::{Handler, Then};
use crate::handshake::{check_connect, check_upgrade, has_token, Refusal, Upgrade};
use crate::open::Connection;
use crate::running::Running;
use crate::summary::Summary;

impl Upgrade {
    /// Decides an upgrade request from its method, its target (the path and query as sent:
    /// `/ws?info`), whether it is HTTP/1.1, and its headers (name and value, in any case,
    /// repeated names allowed), against `config`'s origin policy. The path is the
    /// application's to route; the target and headers are kept for the handler's
    /// [`on_open`](Handler::on_open) after the upgrade. A refusal says what to answer.
    pub fn check(
        config: &Config,
        method: &str,
        target: &str,
        http_1_1: bool,
        headers: &[(&str, &[u8])],
    ) -> Result<Upgrade, Refusal> {
        let all = headers.iter().copied();
        let upgrade = has_token(all.clone(), "upgrade", "websocket");
        // Past its signal, a plain `Config`'s shutdown refuses new upgrades.
        let running = Running::of(config);
        let checked = check_upgrade(config, &running, Some(method), http_1_1, upgrade, all);
        kept(checked, target, headers)
    }

    /// Decides an extended CONNECT (RFC 8441: a WebSocket over HTTP/2, which Chromium uses
    /// when the server offers it) from its `:protocol` pseudo-header (hyper's
    /// `hyper::ext::Protocol`), its target and its headers, as [`Upgrade::check`] decides an
    /// HTTP/1.1 upgrade: the answer is a 200 ([`Upgrade::status`]) with
    /// [`Upgrade::headers`], then [`serve_upgraded`] on the stream. The method (CONNECT) is
    /// the caller's to have checked.
    ///
    /// ```
    /// let headers: &[(&str, &[u8])] = &[("sec-websocket-version", b"13")];
    /// let config = ws_echo::Config::default();
    /// let upgrade = ws_echo::Upgrade::check_connect(&config, "websocket", "/ws", headers).unwrap();
    /// assert_eq!((upgrade.status(), upgrade.headers()), (200, vec![]));
    /// let refused = ws_echo::Upgrade::check_connect(&config, "chat", "/ws", headers).unwrap_err();
    /// assert_eq!(refused.status(), 400);
    /// ```
    pub fn check_connect(
        config: &Config,
        protocol: &str,
        target: &str,
        headers: &[(&str, &[u8])],
    ) -> Result<Upgrade, Refusal> {
        let running = Running::of(config);
        let checked = check_connect(config, &running, protocol, headers.iter().copied());
        kept(checked, target, headers)
    }
}

/// The request kept in an accepted upgrade, for the handler; a refusal counted.
fn kept(
    checked: Result<Upgrade, Refusal>,
    target: &str,
    headers: &[(&str, &[u8])],
) -> Result<Upgrade, Refusal> {
    match checked {
        Ok(mut upgrade) => {
            let request = upgrade.request.get_or_insert_with(Box::default);
            request.target = target.to_owned();
            request.headers = (headers.iter())
                .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
                .collect();
            Ok(upgrade)
        }
        Err(refusal) => {
            crate::metrics::refused(refusal.status());
            Err(refusal)
        }
    }
}

/// Runs the echo loop on a stream whose HTTP upgrade the application's own HTTP layer (hyper,
/// axum, ...) answered: it decided the request with [`Upgrade::check`] (which applies
/// [`Config`]'s origin policy, as [`serve`](crate::serve) does), sent the 101 with
/// [`Upgrade::headers`], and hands over the upgraded stream with that `Upgrade`. Limits,
/// timeouts, permessage-deflate (when agreed) and everything after the upgrade are as under
/// [`serve`](crate::serve); the path is the application's to route. The handler's
/// [`on_open`](Handler::on_open) is called with a [`Connection`] that knows the request's
/// target and headers as [`Upgrade::check`] was given them, the peer when
/// [`Upgrade::with_peer`] named it, the selected subprotocol, the extensions and a
/// process-wide id: the test target and a routing handler work as under a
/// [`Server`](crate::Server). [`Open::Refuse`](crate::Open) becomes a Close 1008 with the
/// refusal's reason, the 101 having gone.
///
/// Not cancel-safe, like [`serve`](crate::serve).
///
/// ```
/// use futures_lite::{AsyncRead, AsyncWrite};
/// use ws_echo::{Config, Echo, Refusal, Upgrade};
///
/// /// The application's handler for an upgrade request it parsed itself.
/// fn on_request(config: &Config, method: &str, target: &str, headers: &[(&str, &[u8])]) -> Result<Upgrade, Refusal> {
///     // Answer `Err` with its status, headers and body; `Ok` with 101 and its headers.
///     Upgrade::check(config, method, target, true, headers)
/// }
///
/// /// Then, on the upgraded connection.
/// async fn on_upgraded(stream: impl AsyncRead + AsyncWrite + Unpin, upgrade: Upgrade, config: &Config) {
///     let summary = ws_echo::serve_upgraded(stream, upgrade, config, Echo).await;
///     log::info!("{summary}");
/// }
/// ```
pub async fn serve_upgraded<S, H>(
    stream: S,
    upgrade: Upgrade,
    config: &Config,
    mut handler: H,
) -> Summary
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let request = upgrade.request.as_deref().cloned().unwrap_or_default();
    let identity = Identity::counted(request.peer, None);
    let headers: Vec<(&str, &[u8])> = (request.headers.iter())
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    // An extended CONNECT (RFC 8441) is answered with 200, an HTTP/1.1 upgrade with 101.
    let method = if upgrade.status() == 200 {
        "CONNECT"
    } else {
        "GET"
    };
    let connection = Connection {
        id: identity.id,
        peer: request.peer,
        protocol: upgrade.protocol(),
        extensions: upgrade.extensions(),
        ..Connection::new(method, &request.target, &headers)
    };
    let mut prelude = Prelude::of(on_open(&mut handler, &connection)).unwrap_or_else(|refusal| {
        // The 101 has gone: the refusal becomes a Close (1011 for a handler that failed).
        let code = match refusal.status() {
            500 => CloseCode::Error,
            _ => CloseCode::Policy,
        };
        let reason = refusal.reason().into();
        Prelude {
            then: Then::Close(CloseFrame { code, reason }),
            ..Prelude::default()
        }
    });
    // The application's 101 carried `Upgrade::headers`, the extension's answer among them.
    prelude.deflate = upgrade.deflate();
    let running = Running::of(config);
    let started = Instant::now();
    echo_loop::run(
        stream,
        Vec::new(),
        config,
        &running,
        handler,
        started,
        prelude,
    )
    .await
}
