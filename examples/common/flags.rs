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

/// The command line's flags: `--help` prints and exits 0; bad usage prints one line (and the
/// usage) and exits 2.
pub fn parse<T: argh::TopLevelCommand>() -> T {
    let args: Vec<String> = std::env::args().collect();
    let command = args.first().map_or("example", String::as_str);
    let command = std::path::Path::new(command)
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or(command);
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    match T::from_args(&[command], &rest) {
        Ok(parsed) => parsed,
        Err(argh::EarlyExit { output, status }) => {
            match status {
                Ok(()) => println!("{output}"),
                Err(()) => eprintln!("{}", output.trim_end()),
            }
            std::process::exit(if status.is_ok() { 0 } else { 2 });
        }
    }
}
