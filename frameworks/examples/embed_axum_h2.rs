//! The axum application of `embed_axum`, served over TLS with HTTP/2 as browsers reach it: ALPN
//! offers `h2` then `http/1.1`, and hyper's HTTP/2 server announces extended CONNECT (RFC 8441,
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`), so a browser that loaded the page over HTTP/2 opens
//! `wss://` on a stream of that same connection, and ws-echo's `EchoService` answers it with a
//! 200 and the echo. `/` is the test target's page; `?info` shows `"method": "CONNECT"` for a
//! WebSocket that came over HTTP/2, `"GET"` for one that came as an HTTP/1.1 upgrade.
//!
//! ```text
//! cargo run -p frameworks --example embed_axum_h2 -- 127.0.0.1:8443 cert.pem key.pem
//! ```
//! (`ws_echo::tls` says how to make a test certificate with openssl.)
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use axum::{extract::ConnectInfo, response::Html, routing::get, Router};
use futures_rustls::TlsAcceptor;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};
use tower_service::Service;
use ws_echo::{service::EchoService, test_target::TestTarget, Config, Echo};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, cert, key] = args.as_slice() else {
        eprintln!("usage: embed_axum_h2 ADDR CERT.pem KEY.pem");
        return ExitCode::from(2);
    };
    let tls = match ws_echo::tls::server_config(Path::new(cert), Path::new(key)) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut tls = (*tls).clone();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|runtime| runtime.block_on(serve(addr, TlsAcceptor::from(Arc::new(tls)))));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot serve on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str, acceptor: TlsAcceptor) -> std::io::Result<()> {
    // permessage-deflate on, as the ws-echo command has it: every browser offers it.
    let config = Config::default().deflate(true);
    let echo = EchoService::with_handler(config, TestTarget::new(Echo));
    let page = ws_echo::test_target::page("/ws");
    let app = Router::new()
        .route("/", get(|| async move { Html(page) }))
        .route_service("/ws", echo);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("serving https://{local}/ and wss://{local}/ws (HTTP/2 and HTTP/1.1)");
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http2().enable_connect_protocol();
    let http = Arc::new(http);
    loop {
        let (tcp, peer) = listener.accept().await?;
        let (acceptor, app, http) = (acceptor.clone(), app.clone(), Arc::clone(&http));
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp.compat()).await {
                Ok(tls) => tls,
                Err(e) => return println!("{peer}: TLS: {e}"),
            };
            let service = hyper::service::service_fn(move |mut request| {
                // The client's address, as axum::serve's ConnectInfo gives it.
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().call(request)
            });
            let io = TokioIo::new(tls.compat());
            if let Err(e) = http.serve_connection_with_upgrades(io, service).await {
                println!("{peer}: HTTP: {e}");
            }
        });
    }
}
