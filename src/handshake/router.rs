//! Where a request goes, from its method, path and whether it asks for an upgrade: the page, the
//! health check, the metrics, or the WebSocket endpoint; anything else is a 404, as [`Routes`]
//! say.

use crate::config::Routes;
use crate::metrics::MetricsEndpoint;

/// Where a request goes.
#[derive(Debug, PartialEq)]
pub(crate) enum Route<'c> {
    /// The page, for a plain `GET /`.
    Page(&'c str),
    /// The health check, for a plain `GET` of its path.
    Health,
    /// The liveness check, for a plain `GET` of its path.
    Live,
    /// The metrics, for a plain `GET` of their path.
    Metrics(&'c MetricsEndpoint),
    /// The WebSocket endpoint: the upgrade is checked next.
    WebSocket,
    /// Nothing here.
    NotFound,
}

/// Where a request with this method and path goes; `upgrade`: its `Upgrade` header lists
/// `websocket`.
pub(crate) fn route<'c>(
    routes: &'c Routes,
    method: Option<&str>,
    path: &str,
    upgrade: bool,
) -> Route<'c> {
    let plain_get = !upgrade && method == Some("GET");
    if let (Some(page), "/", true) = (&routes.page, path, plain_get) {
        return Route::Page(page);
    }
    if plain_get && routes.health.as_deref() == Some(path) {
        return Route::Health;
    }
    if plain_get && routes.live.as_deref() == Some(path) {
        return Route::Live;
    }
    if let Some(endpoint) = routes
        .metrics
        .as_ref()
        .filter(|m| plain_get && m.path == path)
    {
        return Route::Metrics(endpoint);
    }
    match routes.websocket && routes.serves_path(path) {
        true => Route::WebSocket,
        false => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_plain_get_finds_its_route_and_an_upgrade_the_endpoint() {
        let config = crate::Config::default()
            .page("<p>hi</p>")
            .health("/health")
            .live("/live")
            .metrics("/metrics", String::new);
        let config = &config.routes;
        let get = Some("GET");
        assert_eq!(route(config, get, "/", false), Route::Page("<p>hi</p>"));
        assert_eq!(route(config, get, "/health", false), Route::Health);
        assert_eq!(route(config, get, "/live", false), Route::Live);
        assert!(matches!(
            route(config, get, "/metrics", false),
            Route::Metrics(_)
        ));
        assert_eq!(route(config, get, "/ws", true), Route::WebSocket);
        // Not a plain GET: the endpoint's checks answer (a 426), or a 404 elsewhere.
        assert_eq!(route(config, get, "/ws", false), Route::WebSocket);
        assert_eq!(
            route(config, Some("POST"), "/health", false),
            Route::NotFound
        );
        assert_eq!(route(config, get, "/", true), Route::NotFound);
        let closed = crate::Config::default().without_websocket();
        assert_eq!(route(&closed.routes, get, "/ws", true), Route::NotFound);
    }
}
