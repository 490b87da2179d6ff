//! [`Refusal`]: an HTTP error status and its one-line reason, instead of the 101.

/// A refused upgrade: the HTTP status, the headers and the one-line body to answer with. From
/// [`Upgrade::check`](super::Upgrade::check) (and inside [`serve`](crate::serve), which sends it itself).
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
/// let refusal = ws_echo::Upgrade::check(&config, "GET", "/ws", true, headers).unwrap_err();
/// assert_eq!((refusal.status(), refusal.reason()), (403, "origin not allowed"));
/// assert_eq!(refusal.body(), "origin not allowed\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    reason: &'static str,
}

impl Refusal {
    /// Any status with this reason (the server's own refusals).
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

    /// The HTTP status: 400, 403, 404, 426, 429, 431 or 503 of ours, or what a handler's
    /// refusal gave.
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
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.reason)
    }
}

/// The reason phrase of `status`, for the status line.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
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
