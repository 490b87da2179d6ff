//! ws-echo's own page, for a browser pointed at the server: type messages, see their echoes and
//! round-trip times, the connection's state; it reconnects when the server comes back. No build
//! step, no external assets.

/// The page, talking to the WebSocket endpoint at `path`; `controls`: it also offers the
/// query's controls of a server that reads them (info, a delay, a close after some echoes).
pub(crate) fn render(path: &str, controls: bool) -> String {
    include_str!("page.html")
        .replace("{{WS_PATH}}", path)
        .replace("{{CONTROLS}}", if controls { "true" } else { "false" })
}
