//! An axum application with routes of its own that hands `/ws` to ws-echo: ws-echo decides the
//! upgrade (101, or its exact refusal, origin policy included), axum sends that answer, and
//! ws-echo serves the upgraded connection with every limit and timeout of its `Config`.
//! `cargo run -p frameworks --example embed_axum -- 127.0.0.1:8080 [ALLOWED_ORIGIN...]`
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Version};
use axum::response::Response;
use axum::{routing::any, routing::get, Router};
use hyper_util::rt::TokioIo;
use ws_echo::{runtimes::tokio_io, Config, Echo, Timer, Upgrade};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or("127.0.0.1:8080".into());
    let config = args.fold(Config::default(), |config, origin| {
        config.allow_origin(origin)
    });
    let app = Router::new()
        .route("/", get(|| async { "the application's own page\n" }))
        .route("/ws", any(echo))
        .with_state(Arc::new(config.timer(Timer::Tokio)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!(
            "serving http://{0}/ and ws://{0}/ws",
            listener.local_addr()?
        );
        axum::serve(listener, app).await
    })
}

/// ws-echo decides and serves; axum answers.
async fn echo(State(config): State<Arc<Config>>, mut request: Request) -> Response {
    let headers: Vec<(&str, &[u8])> = (request.headers().iter())
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let http_1_1 = request.version() == Version::HTTP_11;
    let method = request.method().as_str();
    let target = request.uri().to_string(); // the path and query, as sent
    let (status, answer) = match Upgrade::check(&config, method, &target, http_1_1, &headers) {
        Ok(upgrade) => {
            let upgraded = hyper::upgrade::on(&mut request);
            let headers: Vec<_> = (upgrade.headers().into_iter())
                .map(|(n, v)| (n, v.to_owned()))
                .collect();
            tokio::spawn(async move {
                if let Ok(upgraded) = upgraded.await {
                    let stream = tokio_io(TokioIo::new(upgraded));
                    let summary = ws_echo::serve_upgraded(stream, upgrade, &config, Echo).await;
                    println!("ws: {summary}");
                }
            });
            (101, (headers, String::new()))
        }
        Err(refusal) => {
            let headers = refusal.headers().iter().map(|(n, v)| (*n, v.to_string()));
            (refusal.status(), (headers.collect(), refusal.body()))
        }
    };
    let (headers, body) = answer;
    let mut response = Response::new(body.into());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
