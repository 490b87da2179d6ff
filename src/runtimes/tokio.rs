//! What tokio owns: its streams bridged to the futures-io traits by tokio-util's `compat`, and
//! whether the current runtime has timers.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use crate::timer::Timer;

/// A tokio TCP stream seen through the futures-io traits (`close` shuts down writing).
pub(super) type Stream = Compat<TcpStream>;

pub(super) fn compat(stream: TcpStream) -> Stream {
    stream.compat()
}

/// A tokio stream (a `tokio::net::TcpStream` from the application's own accept loop, hyper's
/// upgraded connection in hyper-util's `TokioIo`, ...) seen through the futures-io traits that
/// [`serve`](crate::serve) and [`serve_upgraded`](crate::serve_upgraded) take, by tokio-util's
/// `compat`; `close` shuts down writing. Feature `tokio`.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let (stream, _peer) = listener.accept().await?;
/// let config = ws_echo::Config::default().timer(ws_echo::Timer::Tokio);
/// let served = ws_echo::serve(ws_echo::runtimes::tokio_io(stream), &config, ws_echo::Echo).await;
/// # Ok(()) }
/// ```
pub fn tokio_io<T>(io: T) -> impl futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    io.compat()
}

pub(super) async fn connect(address: &str) -> io::Result<Stream> {
    Ok(TcpStream::connect(address).await?.compat())
}

/// tokio's timers if the current runtime has them, else async-io's. tokio only answers the
/// question with a panic (which prints its message: timers are disabled), caught here.
pub(super) fn timer() -> Timer {
    let probe = std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO)));
    if probe.is_ok() {
        return Timer::Tokio;
    }
    log::warn!(
        "no tokio runtime with timers (enable_time) here: using async-io's, on a thread of \
         their own"
    );
    Timer::AsyncIo
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Instant;

    use super::*;
    use crate::runtimes::Runtime;
    use crate::{Config, Server};

    type Build = fn() -> io::Result<tokio::runtime::Runtime>;

    /// Serves one connection that never sends its request on a runtime built by `build`, and
    /// returns the timer tokio's runtime chose there and how long the server took to drop that
    /// connection.
    fn silent_peer_on(
        build: fn() -> io::Result<tokio::runtime::Runtime>,
    ) -> io::Result<(Timer, Duration)> {
        let runtime = build()?;
        runtime.block_on(async {
            let config = Config::default().handshake_timeout(Duration::from_millis(50));
            let server = Server::bind(Runtime::Tokio, "127.0.0.1:0", config)?;
            let (timer, addr) = (Runtime::Tokio.timer(), server.local_addr()?);
            let shutdown = server.shutdown_handle();
            let running = tokio::spawn(server.run(crate::Echo));
            let peer = tokio::task::spawn_blocking(move || -> io::Result<Duration> {
                let started = Instant::now();
                let mut stream = std::net::TcpStream::connect(addr)?;
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                // The server gives up on the handshake and closes: EOF, nothing sent.
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest)?;
                assert_eq!(rest, b"");
                Ok(started.elapsed())
            });
            let waited = peer.await.map_err(io::Error::other)??;
            shutdown.trigger();
            let report = running.await.map_err(io::Error::other)??;
            assert_eq!(report.served, 1);
            Ok((timer, waited))
        })
    }

    /// With tokio's timers the server uses them; without them (tokio says "timers are
    /// disabled" in a caught, printed panic) async-io's stand in. Either way the deadline holds.
    #[test]
    fn the_server_runs_on_tokios_timers_when_the_runtime_has_them() -> io::Result<()> {
        let cases: [(Build, Timer); 2] = [
            (
                || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                },
                Timer::Tokio,
            ),
            (
                || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_io()
                        .build()
                },
                Timer::AsyncIo,
            ),
        ];
        for (build, expected) in cases {
            let (timer, waited) = silent_peer_on(build)?;
            assert_eq!(timer, expected);
            assert!(
                waited >= Duration::from_millis(50),
                "dropped after {waited:?}"
            );
        }
        Ok(())
    }
}
