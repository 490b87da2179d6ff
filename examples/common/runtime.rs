//! The runtime an example runs on: one of those compiled in, chosen with `--runtime`.

/// The executor the examples' smol tasks run on: [`Runtime::block_on`] runs it on the calling
/// thread, and [`run_smol_on_every_core`] on more.
#[cfg(feature = "smol")]
pub static SMOL: smol::Executor<'static> = smol::Executor::new();

/// Runs [`SMOL`] on one more thread per core we may run on, beside the one that will call
/// [`Runtime::block_on`]; each also waits on the reactor. Pinned to one core: none.
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

/// A runtime compiled into this build.
#[derive(Clone, Copy, Debug)]
pub enum Runtime {
    #[cfg(feature = "smol")]
    Smol,
    #[cfg(feature = "async-std")]
    AsyncStd,
    #[cfg(feature = "tokio")]
    Tokio,
}

/// The runtimes compiled in, the recommended one first.
const COMPILED: &[(&str, Runtime)] = &[
    #[cfg(feature = "smol")]
    ("smol", Runtime::Smol),
    #[cfg(feature = "async-std")]
    ("async-std", Runtime::AsyncStd),
    #[cfg(feature = "tokio")]
    ("tokio", Runtime::Tokio),
];

impl Runtime {
    /// smol when compiled in (recommended), else async-std, else tokio.
    pub fn preferred() -> Runtime {
        COMPILED[0].1
    }

    /// Its name, as `--runtime` takes it.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => "smol",
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => "async-std",
            #[cfg(feature = "tokio")]
            Runtime::Tokio => "tokio",
        }
    }

    /// Runs `future` to completion on this runtime, on this thread.
    pub fn block_on<T>(self, future: impl std::future::Future<Output = T>) -> std::io::Result<T> {
        Ok(match self {
            #[cfg(feature = "smol")]
            Runtime::Smol => smol::block_on(SMOL.run(future)),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => async_std::task::block_on(future),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(future),
        })
    }
}

impl argh::FromArgValue for Runtime {
    fn from_arg_value(value: &str) -> Result<Self, String> {
        if let Some((_, runtime)) = COMPILED.iter().find(|(name, _)| *name == value) {
            return Ok(*runtime);
        }
        let names: Vec<&str> = COMPILED.iter().map(|(name, _)| *name).collect();
        Err(match value {
            "smol" | "async-std" | "tokio" => format!(
                "{value} is not compiled in (this build has {}): add --features {value}",
                names.join(", ")
            ),
            _ => format!("unknown runtime {value:?}: use {}", names.join(" or ")),
        })
    }
}
