//! Flags shared by the examples: parsing them (exit 2 on bad usage), durations as humans write
//! them.

use std::time::Duration;

/// `2s`, `500ms`, `1m`...
pub fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{value:?}: {e}"))
}

/// A duration, or `off` for none.
pub fn duration_or_off(value: &str) -> Result<Option<Duration>, String> {
    match value {
        "off" => Ok(None),
        other => duration(other).map(Some),
    }
}

/// A positive duration (`0s` is refused).
#[allow(dead_code)] // the client's
pub fn positive_duration(value: &str) -> Result<Duration, String> {
    match duration(value)? {
        Duration::ZERO => Err(format!("{value:?}: must be above 0")),
        positive => Ok(positive),
    }
}

/// A count of at least 1 (`0` would refuse everything it counts).
#[allow(dead_code)] // the server's
pub fn positive_count(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err(format!("{value:?}: must be at least 1")),
        Ok(count) => Ok(count),
        Err(e) => Err(format!("{value:?}: {e}")),
    }
}

/// The command line's flags: `--help` prints and exits 0; bad usage prints one line (and the
/// usage) and exits 2.
#[allow(dead_code)] // the client's
pub fn parse<T: argh::TopLevelCommand>() -> T {
    let mut argv = std::env::args();
    let command = command_name(argv.next().map(Into::into));
    let rest: Vec<String> = argv.collect();
    parse_from(&command, &rest, "")
}

/// The program's name as it was run, without its directory.
pub fn command_name(argv0: Option<std::ffi::OsString>) -> String {
    let path = argv0.map(std::path::PathBuf::from).unwrap_or_default();
    let name = path.file_name().and_then(|name| name.to_str());
    name.unwrap_or("ws-echo").to_owned()
}

/// `println!` that lets a closed standard output go (`ws-echo --help | head -1`, a server whose
/// output nobody reads): a line nobody will read is no reason to stop, nor to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
#[allow(unused_imports)] // the client prints its own way
pub(crate) use say;

/// `args` parsed as `command`'s flags; `--help` prints `more_help` after the flags.
pub fn parse_from<T: argh::TopLevelCommand>(command: &str, args: &[String], more_help: &str) -> T {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match T::from_args(&[command], &args) {
        Ok(parsed) => parsed,
        Err(argh::EarlyExit { output, status }) => {
            match status {
                Ok(()) => say!("{output}{more_help}"),
                Err(()) => eprintln!("{}", output.trim_end()),
            }
            std::process::exit(if status.is_ok() { 0 } else { 2 });
        }
    }
}
