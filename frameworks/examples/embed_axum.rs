//! An axum application with routes of its own that mounts ws-echo at `/ws` in one line: ws-echo
//! answers each request there as its own listener would (101, or its exact refusal, origin
//! policy included) and serves the upgraded connection with every limit and timeout of its
//! `Config`. The handler here is the test target around the echo, so `?info` shows what it
//! sees: the path, the query, the headers and, through axum's ConnectInfo, the client.
//! `cargo run -p frameworks --example embed_axum -- 127.0.0.1:8080 [ALLOWED_ORIGIN...]`
use std::net::SocketAddr;

use axum::{routing::get, Router};
use ws_echo::{service::EchoService, test_target::TestTarget, Config, Echo};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or("127.0.0.1:8080".into());
    let config = args.fold(Config::default(), |config, origin| {
        config.allow_origin(origin)
    });
    let echo = EchoService::with_handler(config, TestTarget::new(Echo));
    let app = Router::new()
        .route("/", get(|| async { "the application's own page\n" }))
        .route_service("/ws", echo);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!(
            "serving http://{0}/ and ws://{0}/ws",
            listener.local_addr()?
        );
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).await
    })
}
