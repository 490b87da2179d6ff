//! Flag values shared by the examples: durations as humans write them.

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
