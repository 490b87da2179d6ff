//! An application with its own smol accept loop, handing each connection to ws-echo.
//! `cargo run --features smol --example embed_smol -- 127.0.0.1:8080`
use std::sync::Arc;

use ws_echo::{Config, Echo};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind(addr).await?;
        println!("serving ws://{}/ws", listener.local_addr()?);
        let config = Arc::new(Config::default().path("/ws"));
        loop {
            let (stream, peer) = listener.accept().await?;
            let config = Arc::clone(&config);
            smol::spawn(async move {
                match ws_echo::serve(stream, &config, Echo).await {
                    Ok(served) => println!("{peer}: {served}"),
                    Err(e) => println!("{peer}: no WebSocket connection: {e}"),
                }
            })
            .detach();
        }
    })
}
