//! ws-echo as a tower [`Service`] of HTTP requests, for hyper and axum (feature `hyper`): one
//! line mounts the echo in an application's router,
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use ws_echo::{service::EchoService, Config};
//!
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "the application's own page" }))
//!     .route_service("/ws", EchoService::new(Config::default()));
//! # }
//! ```
//!
//! and every request to it gets what ws-echo's own listener would answer: the 101 (or, for an
//! extended CONNECT over HTTP/2, RFC 8441, the 200), or its exact
//! refusal (403 for an origin not allowed, 426 for a request that is no upgrade, 400 for a
//! malformed one, 503 once shutting down), and then the echo loop with every limit, timeout and
//! the heartbeat of the [`Config`], on a tokio task. The handler's
//! [`on_open`](crate::Handler::on_open) sees the request's target (path and query) and
//! headers, and the client's address when the request carries it: axum's
//! `into_make_service_with_connect_info::<SocketAddr>()` does (its `ConnectInfo`), or a
//! `SocketAddr` in the request's extensions.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tower_service::Service;

use crate::handler::{Echo, Handler};
use crate::handshake::{Refusal, Upgrade};
use crate::{Config, Timer};

/// The echo endpoint as a [`Service`]: clone it freely (the config and handler are shared,
/// each connection gets a clone of the handler).
pub struct EchoService<H = Echo> {
    shared: Arc<(Config, H)>,
}

impl<H> std::fmt::Debug for EchoService<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoService")
            .field("config", &self.shared.0)
            .finish_non_exhaustive()
    }
}

impl<H> Clone for EchoService<H> {
    fn clone(&self) -> Self {
        EchoService {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl EchoService<Echo> {
    /// The plain echo, with `config` (its path is the router's business: the service answers
    /// wherever it is mounted). Connections run on tokio, with tokio's timers.
    pub fn new(config: Config) -> Self {
        EchoService::with_handler(config, Echo)
    }
}

impl<H> EchoService<H>
where
    H: Handler + Clone + Send + Sync + 'static,
{
    /// With a handler of one's own (a clone of it serves each connection).
    pub fn with_handler(config: Config, handler: H) -> Self {
        EchoService {
            shared: Arc::new((config.timer(Timer::Tokio), handler)),
        }
    }

    /// The answer to one request: the 101 (the connection served once hyper hands it over),
    /// or the refusal.
    fn answer<B>(&self, request: &mut Request<B>) -> Response<Full<Bytes>> {
        let (config, _) = &*self.shared;
        let headers: Vec<(&str, &[u8])> = (request.headers().iter())
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        let target = (request.uri().path_and_query()).map_or("/", |target| target.as_str());
        let checked = match request.extensions().get::<hyper::ext::Protocol>() {
            // An extended CONNECT (RFC 8441): HTTP/2's way, which has no Upgrade header.
            Some(protocol) if request.method() == Method::CONNECT => {
                Upgrade::check_connect(config, protocol.as_str(), target, &headers)
            }
            _ => {
                let http_1_1 = request.version() == Version::HTTP_11;
                let method = request.method().as_str();
                Upgrade::check(config, method, target, http_1_1, &headers)
            }
        };
        let upgrade = match checked {
            Ok(upgrade) => upgrade,
            Err(refusal) => return refused(&refusal),
        };
        let upgrade = match peer(request) {
            Some(peer) => upgrade.with_peer(peer),
            None => upgrade,
        };
        let mut response = Response::new(Full::default());
        *response.status_mut() = StatusCode::from_u16(upgrade.status()).unwrap_or(StatusCode::OK);
        add_headers(&mut response, upgrade.headers().into_iter());
        let upgraded = hyper::upgrade::on(request);
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            // None: the client went away before the upgrade completed.
            if let Ok(upgraded) = upgraded.await {
                let (config, handler) = &*shared;
                let stream = crate::runtimes::tokio_io(TokioIo::new(upgraded));
                let summary = crate::serve_upgraded(stream, upgrade, config, handler.clone()).await;
                log::debug!("{summary}");
            }
        });
        response
    }
}

impl<B, H> Service<Request<B>> for EchoService<H>
where
    H: Handler + Clone + Send + Sync + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        std::future::ready(Ok(self.answer(&mut request)))
    }
}

/// The client's address, where the request carries it.
fn peer<B>(request: &Request<B>) -> Option<SocketAddr> {
    let extensions = request.extensions();
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(peer)) = extensions.get() {
        return Some(*peer);
    }
    extensions.get::<SocketAddr>().copied()
}

/// A refusal as an HTTP response: its status, headers and one-line body.
fn refused(refusal: &Refusal) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(refusal.body())));
    *response.status_mut() =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    add_headers(&mut response, refusal.headers().iter().copied());
    response
}

fn add_headers<'a>(
    response: &mut Response<Full<Bytes>>,
    headers: impl Iterator<Item = (&'static str, &'a str)>,
) {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().append(name, value);
        }
    }
}
