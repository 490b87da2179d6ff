//! The server side of the HTTP upgrade as a pure function over the bytes read so far:
//! [`decide`] says whether the head is complete and what it gets (101, the page, or a refusal
//! with its status and reason), and the `*_response` functions give the exact bytes to send.
//! No I/O here: [`serve`](crate::serve) reads, writes and lingers. An application whose HTTP
//! layer parsed the request itself gets the same decision from [`Upgrade::check`].

use async_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::Config;

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
    /// Answer 200 with the configured page.
    Page(&'c str),
    /// Answer the health check: 200 ok, or 503 draining.
    Health { draining: bool },
    /// Answer 200 with the metrics, rendered.
    Metrics(String),
    /// Answer with an HTTP error.
    Refuse(Refusal),
}

/// A refused upgrade: the HTTP status, the headers and the one-line body to answer with. From
/// [`Upgrade::check`] (and inside [`serve`](crate::serve), which sends it itself).
///
/// ```
/// let config = ws_echo::Config::default().allow_origin("https://example.com");
/// let headers: &[(&str, &[u8])] = &[
///     ("Upgrade", b"websocket"),
///     ("Connection", b"Upgrade"),
///     ("Sec-WebSocket-Version", b"13"),
///     ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
///     ("Origin", b"https://elsewhere.example"),
/// ];
/// let refusal = ws_echo::Upgrade::check(&config, "GET", true, headers).unwrap_err();
/// assert_eq!((refusal.status(), refusal.reason()), (403, "origin not allowed"));
/// assert_eq!(refusal.body(), "origin not allowed\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    reason: &'static str,
}

impl Refusal {
    pub(crate) const fn of(status: u16, reason: &'static str) -> Refusal {
        Refusal { status, reason }
    }

    /// A refusal of one's own, for [`Open::Refuse`](crate::Open): an error status (400 to
    /// 599) and its one-line reason; `None` for any other status.
    ///
    /// ```
    /// let refusal = ws_echo::Refusal::new(401, "log in first").unwrap();
    /// assert_eq!(refusal.body(), "log in first\n");
    /// assert_eq!(ws_echo::Refusal::new(200, "fine"), None);
    /// ```
    pub fn new(status: u16, reason: &'static str) -> Option<Refusal> {
        (400..=599)
            .contains(&status)
            .then_some(Refusal::of(status, reason))
    }

    /// A 400 Bad Request with this reason.
    ///
    /// ```
    /// assert_eq!(ws_echo::Refusal::bad_request("bad token").status(), 400);
    /// ```
    pub fn bad_request(reason: &'static str) -> Refusal {
        Refusal::of(400, reason)
    }

    /// The HTTP status: 400, 403, 404, 426, 429, 431 or 503 of ours, or what a handler or the
    /// test target's `?status=` gave.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Why, in a few words.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The headers the answer carries besides its length: the content type, the version we
    /// speak with 426 (`Upgrade`, `Sec-WebSocket-Version: 13`), `Retry-After` with 503.
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        const TEXT: (&str, &str) = ("Content-Type", "text/plain; charset=utf-8");
        match self.status {
            426 => &[
                TEXT,
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Version", "13"),
            ],
            429 | 503 => &[TEXT, ("Retry-After", "1")],
            _ => &[TEXT],
        }
    }

    /// The body: the reason and a newline.
    pub fn body(&self) -> String {
        format!("{}\n", self.reason)
    }

    /// The whole HTTP response, as [`serve`](crate::serve) sends it.
    pub(crate) fn response(&self) -> String {
        let mut response = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        let body = self.body();
        let mut headers = self.headers().iter();
        if let Some((name, value)) = headers.next() {
            response += &format!("{name}: {value}\r\n");
        }
        response += &format!("Content-Length: {}\r\nConnection: close\r\n", body.len());
        for (name, value) in headers {
            response += &format!("{name}: {value}\r\n");
        }
        response + "\r\n" + &body
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.reason)
    }
}

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
/// let upgrade = ws_echo::Upgrade::check(&ws_echo::Config::default(), "GET", true, headers).unwrap();
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
    accept: String,
    protocol: Option<String>,
}

impl Upgrade {
    /// Decides an upgrade request from its method, whether it is HTTP/1.1, and its headers
    /// (name and value, in any case, repeated names allowed), against `config`'s origin
    /// policy. The path is the application's to route. A refusal says what to answer.
    pub fn check(
        config: &Config,
        method: &str,
        http_1_1: bool,
        headers: &[(&str, &[u8])],
    ) -> Result<Upgrade, Refusal> {
        let headers = headers.iter().copied();
        let upgrade = has_token(headers.clone(), "upgrade", "websocket");
        let checked = check_upgrade(config, Some(method), http_1_1, upgrade, headers);
        if let Err(refusal) = &checked {
            crate::metrics::refused(refusal.status());
        }
        checked
    }

    /// The headers of the 101 answer: `Upgrade`, `Connection` and `Sec-WebSocket-Accept`, and
    /// `Sec-WebSocket-Protocol` when a subprotocol was selected.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut headers = vec![
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", self.accept.as_str()),
        ];
        if let Some(protocol) = &self.protocol {
            headers.push(("Sec-WebSocket-Protocol", protocol));
        }
        headers
    }

    /// The subprotocol selected ([`Config::protocols`]): the first of the client's offer that
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
    /// let upgrade = ws_echo::Upgrade::check(&config, "GET", true, headers).unwrap();
    /// assert_eq!(upgrade.protocol(), Some("echo"));
    /// assert_eq!(upgrade.headers()[3], ("Sec-WebSocket-Protocol", "echo"));
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }
}

/// An upgrade request as it came, for [`Handler::on_open`](crate::Handler::on_open) and the
/// test target's controls.
#[derive(Debug, PartialEq)]
pub(crate) struct Request<'h> {
    pub(crate) method: &'h str,
    pub(crate) target: &'h str,
    pub(crate) headers: Vec<(&'h str, &'h [u8])>,
}

/// Decides what the request head in `head` (everything read so far) gets.
pub(crate) fn decide<'h, 'c>(head: &'h [u8], config: &'c Config) -> Decision<'h, 'c> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let too_large = Decision::Refuse(Refusal::of(431, "request head too large"));
    match request.parse(head) {
        Ok(httparse::Status::Complete(len)) if len <= config.max_request_head => {
            match check(&request, config) {
                Ok(Answer::Upgrade(upgrade, request)) => Decision::Upgrade {
                    upgrade,
                    request,
                    head_len: len,
                },
                Ok(Answer::Page(page)) => Decision::Page(page),
                Ok(Answer::Health) => Decision::Health {
                    draining: config.is_draining(),
                },
                Ok(Answer::Metrics(endpoint)) => Decision::Metrics(endpoint.render()),
                Err(refusal) => Decision::Refuse(refusal),
            }
        }
        Ok(httparse::Status::Partial) if head.len() <= config.max_request_head => {
            Decision::NeedMore
        }
        Ok(_) | Err(httparse::Error::TooManyHeaders) => too_large,
        Err(_) => Decision::Refuse(Refusal::of(400, "malformed HTTP request")),
    }
}

/// The 101 response: [`Upgrade::headers`], written out in one go.
pub(crate) fn upgrade_response(upgrade: &Upgrade) -> String {
    let protocol = match &upgrade.protocol {
        Some(protocol) => format!("Sec-WebSocket-Protocol: {protocol}\r\n"),
        None => String::new(),
    };
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{protocol}\r\n",
        upgrade.accept
    )
}

/// The 200 response carrying `page`, head and body.
pub(crate) fn page_response(page: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n{page}",
        page.len()
    )
}

/// The health check's answer: `200 ok` while serving, `503 draining` (with `Retry-After`) once
/// the shutdown signal has fired.
pub(crate) fn health_response(draining: bool) -> String {
    if draining {
        return DRAINING.response();
    }
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\
     Cache-Control: no-cache\r\nConnection: close\r\n\r\nok\n"
        .to_owned()
}

/// The 200 response carrying the rendered metrics.
pub(crate) fn metrics_response(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n{body}",
        crate::metrics::CONTENT_TYPE,
        body.len()
    )
}

/// The health check's answer while draining.
const DRAINING: Refusal = Refusal::of(503, "draining");

/// The answer to an upgrade once the shutdown signal has fired.
const SHUTTING_DOWN: Refusal = Refusal::of(503, "shutting down, retry later");

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

/// What a valid request gets.
enum Answer<'h, 'a> {
    /// 101.
    Upgrade(Upgrade, Request<'h>),
    /// 200 with the configured page.
    Page(&'a str),
    /// The health check.
    Health,
    /// The metrics endpoint.
    Metrics(&'a crate::metrics::MetricsEndpoint),
}

/// Checks a complete request head: the page, the path, then the upgrade itself.
fn check<'h, 'c>(
    request: &httparse::Request<'_, 'h>,
    config: &'c Config,
) -> Result<Answer<'h, 'c>, Refusal> {
    let target = request.path.unwrap_or("");
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    let headers = request.headers.iter().map(|h| (h.name, h.value));
    let upgrade = has_token(headers.clone(), "upgrade", "websocket");
    if let (Some(page), "/", false, Some("GET")) = (&config.page, path, upgrade, request.method) {
        return Ok(Answer::Page(page));
    }
    if !upgrade && request.method == Some("GET") {
        if config.health.as_deref() == Some(path) {
            return Ok(Answer::Health);
        }
        if let Some(endpoint) = config.metrics.as_ref().filter(|m| m.path == path) {
            return Ok(Answer::Metrics(endpoint));
        }
    }
    if !config.serves_path(path) || !config.websocket {
        return Err(Refusal::of(404, "no WebSocket endpoint at this path"));
    }
    let http_1_1 = request.version == Some(1);
    let upgrade = check_upgrade(config, request.method, http_1_1, upgrade, headers.clone())?;
    let request = Request {
        method: request.method.unwrap_or("GET"),
        target,
        headers: headers.collect(),
    };
    Ok(Answer::Upgrade(upgrade, request))
}

/// Checks an upgrade request, its path aside; `upgrade`: whether its `Upgrade` header lists
/// `websocket` (the caller has looked already).
fn check_upgrade<'h>(
    config: &Config,
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
    if !config.origin_allowed(header(headers.clone(), "origin")) {
        return Err(Refusal::of(403, "origin not allowed"));
    }
    if config.is_shutting_down() {
        return Err(SHUTTING_DOWN);
    }
    Ok(Upgrade {
        accept: derive_accept_key(key),
        protocol: select_protocol(config, headers.clone()),
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
fn has_token<'h>(
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
fn select_protocol<'h>(
    config: &Config,
    headers: impl Iterator<Item = (&'h str, &'h [u8])>,
) -> Option<String> {
    if config.protocols.is_empty() {
        return None;
    }
    headers
        .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
        .flat_map(|(_, value)| value.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .find_map(|offered| {
            (config.protocols.iter())
                .find(|p| p.as_bytes() == offered)
                .cloned()
        })
}

/// A key is the base64 encoding of 16 bytes: 22 base64 digits and `==` (RFC 6455, 4.1).
fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_sample_key_gets_the_rfc_accept_value() {
        // RFC 6455, section 1.3.
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused() {
        assert!(!is_valid_key(b""));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j*Q=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQAA"));
    }

    #[test]
    fn connection_header_tokens_are_matched_case_insensitively() {
        let headers = [("Connection", b"keep-alive, Upgrade".as_slice())];
        assert!(has_token(headers.iter().copied(), "connection", "upgrade"));
        assert!(!has_token(headers.iter().copied(), "connection", "close"));
    }

    const REQUEST: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    #[test]
    fn a_head_read_in_pieces_needs_more_until_its_blank_line() {
        let config = Config::default();
        for end in [0, 1, 20, REQUEST.len() - 1] {
            assert_eq!(
                decide(&REQUEST.as_bytes()[..end], &config),
                Decision::NeedMore
            );
        }
        let Decision::Upgrade {
            upgrade,
            request,
            head_len,
        } = decide(REQUEST.as_bytes(), &config)
        else {
            panic!("not an upgrade");
        };
        assert_eq!(
            upgrade,
            Upgrade {
                accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned(),
                protocol: None,
            }
        );
        assert_eq!(head_len, REQUEST.len());
        assert_eq!((request.method, request.target), ("GET", "/ws"));
        assert_eq!(request.headers.len(), 5);
        assert_eq!(request.headers[0], ("Host", b"x".as_slice()));
    }

    #[test]
    fn bytes_after_the_head_are_not_part_of_it() {
        let mut bytes = REQUEST.as_bytes().to_vec();
        bytes.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
        let Decision::Upgrade { head_len, .. } = decide(&bytes, &Config::default()) else {
            panic!("not an upgrade");
        };
        assert_eq!(&bytes[head_len..], [0x81, 0x80, 1, 2, 3, 4]);
    }

    #[test]
    fn the_101_answer_is_exact() {
        let mut upgrade = Upgrade {
            accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned(),
            protocol: None,
        };
        assert_eq!(
            upgrade_response(&upgrade),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        upgrade.protocol = Some("chat".to_owned());
        assert_eq!(
            upgrade_response(&upgrade),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        );
    }

    #[test]
    fn the_first_protocol_of_the_offer_that_the_server_speaks_is_selected() {
        let config = Config::default().protocol("b").protocol("a");
        let selected = |offer: &[&str]| {
            let headers = offer
                .iter()
                .map(|v| ("Sec-WebSocket-Protocol", v.as_bytes()));
            select_protocol(&config, headers)
        };
        assert_eq!(selected(&["a, b"]), Some("a".to_owned()));
        assert_eq!(selected(&["x", " b ,a"]), Some("b".to_owned()));
        assert_eq!(selected(&["x, A, B"]), None);
        assert_eq!(selected(&[]), None);
        assert_eq!(
            select_protocol(
                &Config::default(),
                [("Sec-WebSocket-Protocol", b"a".as_slice())].into_iter()
            ),
            None
        );
    }

    #[test]
    fn each_bad_request_gets_its_status_and_reason() {
        let config = Config::default().allow_origin("https://ok.example");
        let with_origin = REQUEST.replace("\r\n\r\n", "\r\nOrigin: https://ok.example\r\n\r\n");
        let cases = [
            (
                with_origin.replace("/ws", "/other"),
                404,
                "no WebSocket endpoint at this path",
            ),
            (
                with_origin.replace("GET", "POST"),
                400,
                "the upgrade request must use GET",
            ),
            (
                with_origin.replace("HTTP/1.1", "HTTP/1.0"),
                400,
                "the upgrade request must use HTTP/1.1",
            ),
            (
                with_origin.replace("Upgrade: websocket", "Upgrade: h2c"),
                426,
                "this endpoint only speaks WebSocket",
            ),
            (
                with_origin.replace("Version: 13", "Version: 8"),
                426,
                "unsupported Sec-WebSocket-Version, use 13",
            ),
            (
                with_origin.replace("dGhlIHNhbXBsZSBub25jZQ==", "short"),
                400,
                "missing or malformed Sec-WebSocket-Key",
            ),
            (REQUEST.to_owned(), 403, "origin not allowed"),
            (
                "GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_owned(),
                400,
                "malformed HTTP request",
            ),
        ];
        for (request, status, reason) in cases {
            assert_eq!(
                decide(request.as_bytes(), &config),
                Decision::Refuse(Refusal::of(status, reason)),
                "{request:?}"
            );
        }
        assert!(matches!(
            decide(with_origin.as_bytes(), &config),
            Decision::Upgrade { .. }
        ));
    }

    #[test]
    fn a_head_over_the_limit_gets_431_complete_or_not() {
        let config = Config::default().max_request_head(64);
        let too_large = Decision::Refuse(Refusal::of(431, "request head too large"));
        assert_eq!(decide(REQUEST.as_bytes(), &config), too_large);
        assert_eq!(decide(&REQUEST.as_bytes()[..65], &config), too_large);
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        let request = REQUEST.replace("Host: x\r\n", &many);
        assert_eq!(decide(request.as_bytes(), &Config::default()), too_large);
    }

    #[test]
    fn a_plain_get_of_the_root_gets_the_page_when_there_is_one() {
        let plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            decide(plain.as_bytes(), &Config::default()),
            Decision::Refuse(Refusal::of(404, "no WebSocket endpoint at this path"))
        );
        let config = Config::default().page("<p>hi</p>");
        assert_eq!(
            decide(plain.as_bytes(), &config),
            Decision::Page("<p>hi</p>")
        );
        assert_eq!(
            page_response("<p>hi</p>"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n\
             Cache-Control: no-cache\r\nConnection: close\r\n\r\n<p>hi</p>"
        );
    }

    #[test]
    fn refusals_carry_the_headers_their_status_calls_for() {
        assert_eq!(
            Refusal::of(426, "this endpoint only speaks WebSocket").response(),
            "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 36\r\nConnection: close\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\n\r\nthis endpoint only speaks WebSocket\n"
        );
        assert_eq!(
            Refusal::of(503, "too many connections, retry later").response(),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 34\r\nConnection: close\r\nRetry-After: 1\r\n\r\n\
             too many connections, retry later\n"
        );
    }
}
