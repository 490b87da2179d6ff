//! The runtime an example runs on: one of those compiled in, chosen with `--runtime`.

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
            Runtime::Smol => smol::block_on(future),
            #[cfg(feature = "async-std")]
            Runtime::AsyncStd => async_std::task::block_on(future),
            #[cfg(feature = "tokio")]
            Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
                .enable_io()
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
