//! Letting a connection go without losing what we sent last. Closing a socket with unread input
//! makes the kernel send a reset, which can destroy our last words (a Close, an HTTP error)
//! before the peer reads them; so we shut down our sending side and discard input until the
//! peer closes too, for a bounded time. Used after an HTTP answer that ends the connection and
//! by the echo loop's close.

use std::time::Duration;

use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::timer::Timer;

/// Writes `last` (an HTTP answer after which the connection ends) and flushes it, then
/// lingers for up to `timeout`.
pub(crate) async fn answer_and_linger<S>(
    stream: &mut S,
    last: &[u8],
    timer: Timer,
    timeout: Duration,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(last).await?;
    stream.flush().await?;
    linger(stream, timer, timeout).await;
    Ok(())
}

/// Shuts down our sending side, then discards input until the peer closes or `timeout` passes.
pub(crate) async fn linger<S>(stream: &mut S, timer: Timer, timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    future::or(drain(stream), timer.after(timeout)).await;
}

/// Shuts down our sending side, then discards input until the peer's EOF (or an error).
pub(crate) async fn drain<S>(stream: &mut S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Err(e) = stream.close().await {
        log::debug!("shutting down the write side failed: {e}");
    }
    // On the heap: an array here would sit in every connection's future for its whole life.
    let mut discard = vec![0u8; 4096];
    while let Ok(1..) = stream.read(&mut discard).await {}
}
