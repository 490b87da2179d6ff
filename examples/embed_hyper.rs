//! A hyper 1.x HTTP server on tokio that answers `GET /health` itself and upgrades `/ws` to
//! ws-echo through `serve_upgraded`, after answering the upgrade itself.
//!
//! ```text
//! cargo run --features tokio --example embed_hyper -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/health
//! ```

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::compat::TokioAsyncReadCompatExt;
use ws_echo::{Config, Echo, Timer};

fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot serve on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn app(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "serving http://{0}/health and ws://{0}/ws",
        listener.local_addr()?
    );
    // tokio's timers and yield for the connections, as the runtime the application runs on.
    let config = Arc::new(Config::default().timer(Timer::Tokio));
    loop {
        let (stream, peer) = listener.accept().await?;
        let config = Arc::clone(&config);
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| route(request, Arc::clone(&config)));
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(e) = connection.await {
                println!("{peer}: HTTP error: {e}");
            }
        });
    }
}

type Body = Full<Bytes>;

async fn route(
    request: Request<Incoming>,
    config: Arc<Config>,
) -> Result<Response<Body>, Infallible> {
    Ok(match request.uri().path() {
        "/health" => Response::new(Body::from("ok\n")),
        "/ws" => upgrade(request, config),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// Answers the upgrade ourselves, then hands the upgraded connection to ws-echo.
fn upgrade(request: Request<Incoming>, config: Arc<Config>) -> Response<Body> {
    let headers = request.headers();
    let is_upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_13 = headers
        .get("sec-websocket-version")
        .is_some_and(|v| v == "13");
    let (Some(key), true, true) = (headers.get(SEC_WEBSOCKET_KEY), is_upgrade, version_13) else {
        let mut refusal = text(StatusCode::UPGRADE_REQUIRED, "WebSocket upgrade required\n");
        refusal
            .headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("13"));
        refusal
            .headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return refusal;
    };
    let accept = ws_echo::accept_key(key.as_bytes());
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                let stream = TokioIo::new(upgraded).compat();
                let summary = ws_echo::serve_upgraded(stream, &config, Echo).await;
                println!("ws: {summary}");
            }
            Err(e) => println!("upgrade failed: {e}"),
        }
    });
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
}
