//! An application with its own tokio accept loop, handing each connection to ws-echo.
//! `cargo run --features tokio --example embed_tokio -- 127.0.0.1:8080`
use std::sync::Arc;

use ws_echo::{runtimes::tokio_io, Config, Echo, Timer};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("serving ws://{}/ws", listener.local_addr()?);
        // tokio's timers, and tokio's way of yielding after a burst.
        let config = Arc::new(Config::default().timer(Timer::Tokio));
        loop {
            let (stream, peer) = listener.accept().await?;
            let config = Arc::clone(&config);
            tokio::spawn(async move {
                match ws_echo::serve(tokio_io(stream), &config, Echo).await {
                    Ok(served) => println!("{peer}: {served}"),
                    Err(e) => println!("{peer}: no WebSocket connection: {e}"),
                }
            });
        }
    })
}
