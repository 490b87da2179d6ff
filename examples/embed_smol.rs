//! An application with its own smol accept loop and other work of its own (a periodic tick),
//! which hands each accepted socket to ws-echo.
//!
//! ```text
//! cargo run --features smol --example embed_smol -- 127.0.0.1:8080
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use smol::net::TcpListener;
use smol::Timer;
use ws_echo::{Config, Echo};

fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    match smol::block_on(app(&addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot serve on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn app(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("serving ws://{}/ws", listener.local_addr()?);

    // The application's own work goes on beside the WebSocket connections.
    smol::spawn(async {
        for tick in 1.. {
            Timer::after(Duration::from_millis(500)).await;
            println!("app: tick {tick}");
        }
    })
    .detach();

    let config = Arc::new(Config::default());
    loop {
        let (stream, peer) = listener.accept().await?;
        let config = Arc::clone(&config);
        smol::spawn(async move {
            match ws_echo::serve(stream, &config, Echo).await {
                Ok(summary) => println!("{peer}: {summary}"),
                Err(e) => println!("{peer}: no WebSocket connection: {e}"),
            }
        })
        .detach();
    }
}
