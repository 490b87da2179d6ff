//! Running on one of the runtimes compiled in: the `--runtime` flag's value, and `block_on`.
//! The tests use it too.

use ws_echo::runtimes::Runtime;

/// The executor the examples' smol tasks run on: [`block_on`] runs it on the calling thread,
/// and [`run_smol_on_every_core`] on more.
#[cfg(feature = "smol")]
pub static SMOL: smol::Executor<'static> = smol::Executor::new();

/// Runs [`SMOL`] on one more thread per core we may run on, beside the one that will call
/// [`block_on`]; each also waits on the reactor. Pinned to one core: none.
#[cfg(feature = "smol")]
#[allow(dead_code)] // the server's; the client serves nothing
pub fn run_smol_on_every_core() -> std::io::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for _ in 1..cores {
        std::thread::Builder::new()
            .name("smol".into())
            .spawn(|| smol::block_on(SMOL.run(std::future::pending::<()>())))?;
    }
    Ok(())
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
