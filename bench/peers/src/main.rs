//! Peer echo servers for bench/compare.py, each a few lines as their own examples write them,
//! each echoing with batched writes where the library allows it (tokio-tungstenite's and
//! async-tungstenite's `forward`, which flushes only when no more input is ready).
//!
//! Usage: ws-echo-bench-peers --kind KIND --addr 127.0.0.1:PORT
//! KIND: tokio-tungstenite (tungstenite's default 128 KiB read buffer), tuned (an 8 KiB read
//! buffer), fastwebsockets, async-tungstenite-smol (its default 128 KiB read buffer;
//! async-tungstenite-smol-8k an 8 KiB one, as ws-echo reads ahead), and on each runtime a server without a
//! framing library: minimal-smol and minimal-tokio (src/minimal.rs).

mod minimal;

use argh::FromArgs;
use futures_util::{future, StreamExt, TryStreamExt};

/// A peer echo server.
#[derive(FromArgs)]
struct Args {
    /// tokio-tungstenite, tuned, fastwebsockets, async-tungstenite-smol (-8k: an 8 KiB read
    /// buffer), minimal-smol or minimal-tokio
    #[argh(option)]
    kind: String,
    /// the address to listen on
    #[argh(option)]
    addr: String,
}

fn main() {
    let args: Args = argh::from_env();
    match args.kind.as_str() {
        "tokio-tungstenite" => tokio_main(tungstenite(args.addr, None)),
        "tuned" => tokio_main(tungstenite(args.addr, Some(8 * 1024))),
        "fastwebsockets" => tokio_main(fast::serve(args.addr)),
        "async-tungstenite-smol" => smol::block_on(smol_tungstenite(args.addr, None)),
        "async-tungstenite-smol-8k" => smol::block_on(smol_tungstenite(args.addr, Some(8 * 1024))),
        "minimal-smol" => smol::block_on(MINIMAL.run(minimal_smol(args.addr))),
        "minimal-tokio" => tokio_main(minimal_tokio(args.addr)),
        other => eprintln!("unknown kind {other}"),
    }
}

fn tokio_main(server: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
        .block_on(server)
}

/// Listens on `addr` with tokio and hands each accepted stream (TCP_NODELAY on) to `serve`.
async fn tokio_listen(addr: String, serve: impl Fn(tokio::net::TcpStream)) {
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    println!("listening");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        serve(stream);
    }
}

/// Listens on `addr` with smol and hands each accepted stream (TCP_NODELAY on) to `serve`.
async fn smol_listen(addr: String, serve: impl Fn(smol::net::TcpStream)) {
    let listener = smol::net::TcpListener::bind(&addr).await.unwrap();
    println!("listening");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        serve(stream);
    }
}

async fn tungstenite(addr: String, read_buffer: Option<usize>) {
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    tokio_listen(addr, |stream| {
        let config = read_buffer.map(|size| WebSocketConfig::default().read_buffer_size(size));
        tokio::spawn(async move {
            let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, config).await else {
                return;
            };
            let (write, read) = ws.split();
            let _ = read
                .try_filter(|m| future::ready(m.is_text() || m.is_binary()))
                .forward(write)
                .await;
        });
    })
    .await
}

async fn smol_tungstenite(addr: String, read_buffer: Option<usize>) {
    use async_tungstenite::tungstenite::protocol::WebSocketConfig;
    smol_listen(addr, |stream| {
        let config = read_buffer.map(|size| WebSocketConfig::default().read_buffer_size(size));
        smol::spawn(async move {
            let Ok(ws) = async_tungstenite::accept_async_with_config(stream, config).await else {
                return;
            };
            let (write, read) = ws.split();
            let _ = read
                .try_filter(|m| future::ready(m.is_text() || m.is_binary()))
                .forward(write)
                .await;
        })
        .detach();
    })
    .await
}

/// minimal-smol's executor, run on the main thread as ws-echo's server example runs its own.
static MINIMAL: smol::Executor<'static> = smol::Executor::new();

async fn minimal_smol(addr: String) {
    smol_listen(addr, |stream| {
        MINIMAL.spawn(minimal::smol_connection(stream)).detach()
    })
    .await
}

async fn minimal_tokio(addr: String) {
    tokio_listen(addr, |stream| {
        drop(tokio::spawn(minimal::tokio_connection(stream)))
    })
    .await
}

mod fast {
    use fastwebsockets::{upgrade, OpCode, WebSocketError};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response};

    async fn client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
        let mut ws = fastwebsockets::FragmentCollector::new(fut.await?);
        loop {
            let frame = ws.read_frame().await?;
            match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn upgrade(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
        let (response, fut) = upgrade::upgrade(&mut req)?;
        tokio::spawn(async move {
            let _ = client(fut).await;
        });
        Ok(response)
    }

    pub async fn serve(addr: String) {
        super::tokio_listen(addr, |stream| {
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let service = hyper::service::service_fn(upgrade);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .with_upgrades()
                    .await;
            });
        })
        .await
    }
}
