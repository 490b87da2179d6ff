//! [`Config::check`]: whether the settings can work, checked once when a server or
//! [`serve`](crate::serve) starts.

use super::Config;
use crate::error::Error;

impl Config {
    /// Whether the settings can work: the path starts with `/` (and holds no query or space),
    /// and the size limits are above 0. [`Server::bind`](crate::Server::bind) and
    /// [`serve`](crate::serve) check it; an application may check its config once, up front.
    ///
    /// ```
    /// assert!(ws_echo::Config::default().check().is_ok());
    /// let wrong = ws_echo::Config::default().path("ws");
    /// assert_eq!(
    ///     wrong.check().unwrap_err().to_string(),
    ///     "invalid setting: the path \"ws\" must start with /"
    /// );
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        let invalid = |what: String| Err(Error::InvalidConfig(what));
        let metrics = self.routes.metrics.as_ref().map(|m| &m.path);
        for path in std::iter::once(&self.routes.path)
            .chain(&self.routes.health)
            .chain(&self.routes.live)
            .chain(metrics)
        {
            if !path.starts_with('/') {
                return invalid(format!("the path {path:?} must start with /"));
            }
            if path.contains(['?', '#', ' ']) {
                return invalid(format!("the path {path:?} must be a path alone"));
            }
        }
        let others = [
            Some(&self.routes.path),
            self.routes.health.as_ref(),
            metrics,
        ];
        if let Some(live) = (self.routes.live.as_ref()).filter(|live| others.contains(&Some(live)))
        {
            return invalid(format!("the liveness path {live:?} is taken"));
        }
        if self.routes.health.as_ref() == Some(&self.routes.path) {
            return invalid(format!(
                "the health path {:?} is the WebSocket path",
                self.routes.path
            ));
        }
        if metrics == Some(&self.routes.path)
            || (metrics.is_some() && metrics == self.routes.health.as_ref())
        {
            return invalid(format!(
                "the metrics path {:?} is taken",
                metrics.map_or("", |p| p.as_str())
            ));
        }
        let token = |p: &String| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        };
        if let Some(bad) = self.routes.protocols.iter().find(|p| !token(p)) {
            return invalid(format!("the protocol {bad:?} is not an HTTP token"));
        }
        let sizes = [
            ("max_message_size", self.limits.max_message_size),
            ("max_frame_size", self.limits.max_frame_size.unwrap_or(1)),
            ("max_request_head", self.limits.max_request_head),
            ("read_buffer_size", self.limits.read_buffer_size),
            ("write_buffer_size", self.limits.write_buffer_size),
            ("max_waiting_answers", self.limits.max_waiting_answers),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, size)| *size == 0) {
            return invalid(format!("{name} must be above 0"));
        }
        Ok(())
    }
}
