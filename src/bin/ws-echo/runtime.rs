//! Running on one of the runtimes compiled in: the `--runtime` flag's value, and `block_on`.
//! The tests use it too.

use ws_echo::runtimes::Runtime;

/// The executor the examples' smol tasks run on: [`block_on`] runs it on the calling thread,
/// and [`block_on_threads`] on more.
#[cfg(feature = "smol")]
pub static SMOL: smol::Executor<'static> = smol::Executor::new();

/// How many cores this process may run on (its CPU affinity: `taskset -c 0` gives 1).
#[allow(dead_code)] // the server's
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Like [`block_on`], with `threads` executor threads (the server example gives one per core):
/// under smol, [`SMOL`] on this thread and `threads - 1` more, each also waiting on the
/// reactor, until `future` is done; under tokio, a multi-thread runtime with `threads`
/// workers (one: a current-thread runtime). async-std keeps its own pool, one thread per core
/// (`ASYNC_STD_THREAD_COUNT` to change it). Spawn connections with [`run_server`], which puts
/// them on those threads.
#[allow(dead_code)] // the server's and the tests'
pub fn block_on_threads<T>(
    runtime: Runtime,
    threads: usize,
    future: impl std::future::Future<Output = T>,
) -> std::io::Result<T> {
    // async-std alone has no use for it: its pool is its own.
    let _ = threads;
    match runtime {
        #[cfg(feature = "smol")]
        Runtime::Smol => {
            // The helpers stop once `future` is done and `stop` is dropped.
            let (stop, stopped) = smol::channel::bounded::<()>(1);
            let helpers = (1..threads.max(1))
                .map(|_| {
                    let stopped = stopped.clone();
                    std::thread::Builder::new()
                        .name("smol".into())
                        .spawn(move || smol::block_on(SMOL.run(stopped.recv())))
                })
                .collect::<std::io::Result<Vec<_>>>()?;
            let output = smol::block_on(SMOL.run(future));
            drop(stop);
            for helper in helpers {
                let _ = helper.join();
            }
            Ok(output)
        }
        #[cfg(feature = "tokio")]
        Runtime::Tokio if threads > 1 => Ok(tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
            .block_on(future)),
        other => block_on(other, future),
    }
}

/// Runs `server` with `handler` on the threads of [`block_on_threads`]: under smol, each
/// connection's task on [`SMOL`]; otherwise on the runtime's own.
#[allow(dead_code)] // the server's and the tests'
pub async fn run_server<H>(
    runtime: Runtime,
    server: ws_echo::Server,
    handler: H,
) -> std::io::Result<ws_echo::ShutdownReport>
where
    H: ws_echo::Handler + Clone + Send + 'static,
{
    #[cfg(feature = "smol")]
    if runtime == Runtime::Smol {
        return server.run_on(&SMOL, handler).await;
    }
    let _ = runtime; // the server was bound on it
    server.run(handler).await
}

/// The runtime named `value` (`--runtime`), if it is compiled in.
#[allow(dead_code)] // the examples'
pub fn runtime(value: &str) -> Result<Runtime, String> {
    if let Some(runtime) = Runtime::from_name(value) {
        return Ok(runtime);
    }
    let names: Vec<&str> = Runtime::COMPILED.iter().map(|rt| rt.name()).collect();
    Err(match value {
        "smol" | "async-std" | "tokio" => format!(
            "{value} is not compiled in (this build has {}): add --features {value}",
            names.join(", ")
        ),
        _ => format!("unknown runtime {value:?}: use {}", names.join(" or ")),
    })
}

/// Runs `future` to completion on `runtime`, on this thread (under tokio, a current-thread
/// runtime with I/O and timers).
pub fn block_on<T>(
    runtime: Runtime,
    future: impl std::future::Future<Output = T>,
) -> std::io::Result<T> {
    match runtime {
        #[cfg(feature = "smol")]
        Runtime::Smol => Ok(smol::block_on(SMOL.run(future))),
        #[cfg(feature = "async-std")]
        Runtime::AsyncStd => Ok(async_std::task::block_on(future)),
        #[cfg(feature = "tokio")]
        Runtime::Tokio => Ok(tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(future)),
        other => Err(std::io::Error::other(format!(
            "no block_on for {} here",
            other.name()
        ))),
    }
}
