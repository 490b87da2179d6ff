//! A hyper 1.x HTTP server on tokio that answers `GET /health` itself and upgrades `/ws` to
//! ws-echo: `Upgrade::check` decides, hyper sends the answer, `serve_upgraded` serves the
//! upgraded connection.
//!
//! ```text
//! cargo run -p frameworks --example embed_hyper -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/health
//! ```

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use ws_echo::{runtimes::tokio_io, Config, Echo, Timer, Upgrade};

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

/// ws-echo decides the upgrade (101, or its exact refusal); we answer as it says, then hand the
/// upgraded connection to it.
fn upgrade(mut request: Request<Incoming>, config: Arc<Config>) -> Response<Body> {
    let headers: Vec<(&str, &[u8])> = (request.headers().iter())
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let http_1_1 = request.version() == Version::HTTP_11;
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let decided = Upgrade::check(
        &config,
        request.method().as_str(),
        target,
        http_1_1,
        &headers,
    );
    let upgrade = match decided {
        Ok(upgrade) => upgrade,
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut response = Response::new(Body::from(refusal.body()));
            *response.status_mut() = status;
            for (name, value) in refusal.headers() {
                response
                    .headers_mut()
                    .insert(*name, HeaderValue::from_static(value));
            }
            return response;
        }
    };
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    for (name, value) in upgrade.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name, value);
        }
    }
    let upgraded = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgraded.await {
            Ok(upgraded) => {
                let stream = tokio_io(TokioIo::new(upgraded));
                let summary = ws_echo::serve_upgraded(stream, upgrade, &config, Echo).await;
                println!("ws: {summary}");
            }
            Err(e) => println!("upgrade failed: {e}"),
        }
    });
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
}
