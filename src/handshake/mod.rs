//! The server side of the HTTP upgrade, protocol only: [`decide`] parses the request head read
//! so far and says what it gets (read more, the 101, the page, the health check, the metrics, or
//! a refusal with its status and reason), a pure function of the bytes, the settings and the
//! server's state handed in; [`response`] writes every answer. Where a request goes is the
//! [`router`]'s; the upgrade's own checks are [`Upgrade`]'s. No I/O and no metrics here:
//! [`serve`](crate::serve) reads, writes, counts and lingers.

pub(crate) mod extension;
mod refusal;
pub(crate) mod response;
mod router;
mod upgrade;

pub use self::refusal::Refusal;
pub use self::upgrade::{accept_key, Upgrade};

use self::router::Route;
pub(crate) use self::upgrade::{check_connect, check_upgrade, has_token};
use crate::config::Config;
use crate::metrics::MetricsEndpoint;
use crate::running::Running;

/// How many headers a request may carry before we answer 431.
const MAX_HEADERS: usize = 32;

/// What the request head read so far calls for.
#[derive(Debug, PartialEq)]
pub(crate) enum Decision<'h, 'c> {
    /// The head is not complete yet: read more.
    NeedMore,
    /// Answer 101 (unless the handler refuses `request`); the head is `head_len` bytes long,
    /// and what follows it is the start of the peer's first frames.
    Upgrade {
        upgrade: Upgrade,
        request: Request<'h>,
        head_len: usize,
    },
    /// Answer, and let the connection go.
    Answer(Answer<'c>),
}

/// An answer that ends the connection.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer<'c> {
    /// 200 with the configured page.
    Page(&'c str),
    /// The health check: 200 ok, or 503 draining.
    Health { draining: bool },
    /// 200 with the metrics, rendered by the caller.
    Metrics(&'c MetricsEndpoint),
    /// An HTTP error.
    Refuse(Refusal),
}

impl From<Refusal> for Decision<'_, '_> {
    fn from(refusal: Refusal) -> Self {
        Decision::Answer(Answer::Refuse(refusal))
    }
}

/// An upgrade request as it came, for [`Handler::on_open`](crate::Handler::on_open).
#[derive(Debug, PartialEq)]
pub(crate) struct Request<'h> {
    pub(crate) method: &'h str,
    pub(crate) target: &'h str,
    pub(crate) headers: Vec<(&'h str, &'h [u8])>,
}

/// Decides what the request head in `head` (everything read so far) gets, with `config`'s
/// routes and limits and the server's state in `running`.
pub(crate) fn decide<'h, 'c>(
    head: &'h [u8],
    config: &'c Config,
    running: &Running,
) -> Decision<'h, 'c> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let too_large = Refusal::of(431, "request head too large").into();
    match request.parse(head) {
        Ok(httparse::Status::Complete(len)) if len <= config.limits.max_request_head => {
            match check(&request, config, running) {
                Ok(Decision::Upgrade {
                    upgrade, request, ..
                }) => Decision::Upgrade {
                    upgrade,
                    request,
                    head_len: len,
                },
                Ok(decision) => decision,
                Err(refusal) => refusal.into(),
            }
        }
        Ok(httparse::Status::Partial) if head.len() <= config.limits.max_request_head => {
            Decision::NeedMore
        }
        Ok(_) | Err(httparse::Error::TooManyHeaders) => too_large,
        Err(_) => Refusal::of(400, "malformed HTTP request").into(),
    }
}

/// Checks a complete request head: its route, then the upgrade itself.
fn check<'h, 'c>(
    request: &httparse::Request<'_, 'h>,
    config: &'c Config,
    running: &Running,
) -> Result<Decision<'h, 'c>, Refusal> {
    let target = request.path.unwrap_or("");
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    let headers = request.headers.iter().map(|h| (h.name, h.value));
    let upgrade = has_token(headers.clone(), "upgrade", "websocket");
    match router::route(&config.routes, request.method, path, upgrade) {
        Route::Page(page) => return Ok(Decision::Answer(Answer::Page(page))),
        Route::Health => {
            let draining = running.is_draining();
            return Ok(Decision::Answer(Answer::Health { draining }));
        }
        Route::Live => return Ok(Decision::Answer(Answer::Health { draining: false })),
        Route::Metrics(endpoint) => return Ok(Decision::Answer(Answer::Metrics(endpoint))),
        Route::NotFound => return Err(Refusal::of(404, "no WebSocket endpoint at this path")),
        Route::WebSocket => {}
    }
    let http_1_1 = request.version == Some(1);
    let method = request.method;
    let upgrade = check_upgrade(config, running, method, http_1_1, upgrade, headers.clone())?;
    let request = Request {
        method: method.unwrap_or("GET"),
        target,
        headers: headers.collect(),
    };
    Ok(Decision::Upgrade {
        upgrade,
        request,
        head_len: 0,
    })
}

#[cfg(test)]
mod tests;
