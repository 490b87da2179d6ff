//! The test target's controls: read from the upgrade request's query ([`Controls::parse`]; a bad
//! value is an HTTP 400 naming it), and the durations and codes they take.

use std::time::Duration;

use crate::{CloseCode, CloseFrame, Refusal, Then};

/// The longest `?delay=` and `?jitter=`: a test target answers within a minute.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// The shortest `?every=` and `?ping=`: a test target is not a flood.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The longest `?text=`.
const MAX_TEXT: usize = 1024;

/// `?push=N` without `?every=`: one a second.
const DEFAULT_EVERY: Duration = Duration::from_secs(1);

/// `?push=N` without `?text=`.
pub(crate) const DEFAULT_TEXT: &str = "push";

/// What `?push=` asks the server to send on its own.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pushing {
    pub(crate) times: u64,
    pub(crate) every: Duration,
    pub(crate) text: String,
}

/// The controls one request asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Controls {
    /// `?info`: the first message is the request as the server saw it.
    pub(crate) info: bool,
    /// `?delay=`: every echo goes back this much later...
    pub(crate) delay: Duration,
    /// `?jitter=`: ...plus up to this much more, at random, each.
    pub(crate) jitter: Duration,
    /// `?close=` or `?abort`...
    pub(crate) end: Option<Then>,
    /// ...after this many echoes (`?after=`, 0 when not given: at once).
    pub(crate) after: u64,
    /// `?fragment=`: every echo in frames of at most this many bytes.
    pub(crate) fragment: Option<usize>,
    /// `?subprotocol=`: selected, if the client offered it.
    pub(crate) subprotocol: Option<String>,
    /// `?header=Name:value`: added to the 101.
    pub(crate) header: Option<(String, String)>,
    /// `?push=N&every=1s&text=...`: messages sent on the server's own.
    pub(crate) push: Option<Pushing>,
    /// `?ping=500ms`: the server pings at that interval, whatever its heartbeat.
    pub(crate) ping: Option<Duration>,
    /// `?nopong`: the client's pings go unanswered.
    pub(crate) nopong: bool,
}

/// The 400 for a bad control value; its reason names the control.
fn bad(reason: &'static str) -> Refusal {
    Refusal::bad_request(reason)
}

impl Controls {
    /// Reads the controls from a request's query. `Ok(None)`: none were given (unknown keys are
    /// ignored: a proxy may add its own). `Err`: the answer instead of the upgrade, a 400 that
    /// names the bad control or the status `?status=` asked for. A key given more than once
    /// counts with its last value, for every key (as most HTTP frameworks read a query): an
    /// earlier value is not read at all.
    pub(crate) fn parse(query: Option<&str>) -> Result<Option<Controls>, Refusal> {
        let Some(query) = query else {
            return Ok(None);
        };
        let mut last: Vec<(String, String)> = Vec::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match last.iter_mut().find(|(seen, _)| *seen == key) {
                Some(slot) => slot.1 = value.into_owned(),
                None => last.push((key.into_owned(), value.into_owned())),
            }
        }
        let mut reading = Reading::default();
        let mut any = false;
        for (key, value) in &last {
            any |= reading.take(key, value)?;
        }
        let controls = reading.finish()?;
        if any {
            super::count(&controls.names());
        }
        Ok(any.then_some(controls))
    }

    /// The controls given, as the metrics name them.
    fn names(&self) -> Vec<&'static str> {
        let given = [
            ("info", self.info),
            ("delay", !self.delay.is_zero()),
            ("jitter", !self.jitter.is_zero()),
            ("close", matches!(self.end, Some(Then::Close(_)))),
            ("abort", matches!(self.end, Some(Then::Abort))),
            ("fragment", self.fragment.is_some()),
            ("subprotocol", self.subprotocol.is_some()),
            ("header", self.header.is_some()),
            ("push", self.push.is_some()),
            ("ping", self.ping.is_some()),
            ("nopong", self.nopong),
        ];
        given
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| name)
            .collect()
    }
}

/// The controls read so far, and the pieces of the end (`close`, `reason`, `abort`, `after`)
/// that only make sense together.
#[derive(Default)]
struct Reading {
    controls: Controls,
    close: Option<u16>,
    reason: Option<String>,
    abort: bool,
    after: Option<u64>,
    /// `?status=`, answered once every key is read.
    status: Option<String>,
    /// `?push=`, `?every=` and `?text=`, which go together.
    push: Option<u64>,
    every: Option<Duration>,
    text: Option<String>,
}

impl Reading {
    /// Takes one `key=value` pair: whether it was a control, or the refusal it calls for.
    fn take(&mut self, key: &str, value: &str) -> Result<bool, Refusal> {
        let controls = &mut self.controls;
        match key {
            "info" => controls.info = flag(value).ok_or(bad("bad info: give it alone"))?,
            "delay" => {
                controls.delay = duration(value)
                    .ok_or(bad("bad delay: want a duration such as 200ms, at most 1m"))?;
            }
            "jitter" => {
                controls.jitter = duration(value)
                    .ok_or(bad("bad jitter: want a duration such as 50ms, at most 1m"))?;
            }
            "close" => {
                let code = value.parse::<u16>().ok().filter(|&c| sendable(c));
                let want = "bad close: want a code we may send: 1000-1003, 1007-1014, 3000-4999";
                self.close = Some(code.ok_or(bad(want))?);
            }
            "reason" if value.len() > 123 => return Err(bad("bad reason: at most 123 bytes")),
            "reason" => self.reason = Some(value.to_owned()),
            "abort" => self.abort = flag(value).ok_or(bad("bad abort: give it alone"))?,
            "after" => {
                let count = value.parse::<u64>();
                self.after =
                    Some(count.map_err(|_| bad("bad after: want a count of echoes, such as 3"))?);
            }
            "status" => self.status = Some(value.to_owned()),
            "fragment" => {
                let size = value.parse::<usize>().ok().filter(|&n| n > 0);
                let want = "bad fragment: want a frame size in bytes, 1 or more";
                controls.fragment = Some(size.ok_or(bad(want))?);
            }
            "subprotocol" => {
                let token = crate::handshake::response::is_token(value);
                let want = "bad subprotocol: want a name such as chat.v2";
                controls.subprotocol = Some(token.then(|| value.to_owned()).ok_or(bad(want))?);
            }
            "header" => {
                let pair = value.split_once(':').map(|(n, v)| (n.trim(), v.trim()));
                let fine =
                    pair.filter(|(n, v)| crate::handshake::response::header_fault(n, v).is_none());
                let want = "bad header: want Name:value, a name the upgrade does not set";
                let (name, value) = fine.ok_or(bad(want))?;
                controls.header = Some((name.to_owned(), value.to_owned()));
            }
            _ => return self.take_own(key, value),
        }
        Ok(true)
    }

    /// Takes a pair that asks the server to act on its own (`push`, `every`, `text`, `ping`,
    /// `nopong`), as [`Reading::take`].
    fn take_own(&mut self, key: &str, value: &str) -> Result<bool, Refusal> {
        let controls = &mut self.controls;
        match key {
            "push" => {
                let count = value.parse::<u64>().ok().filter(|&n| n > 0);
                self.push =
                    Some(count.ok_or(bad("bad push: want a count of messages, such as 5"))?);
            }
            "every" => {
                let want = "bad every: want an interval such as 1s, from 10ms to 1m";
                self.every = Some(interval(value).ok_or(bad(want))?);
            }
            "text" if value.len() > MAX_TEXT => return Err(bad("bad text: at most 1024 bytes")),
            "text" => self.text = Some(value.to_owned()),
            "ping" => {
                let want = "bad ping: want an interval such as 500ms, from 10ms to 1m";
                controls.ping = Some(interval(value).ok_or(bad(want))?);
            }
            "nopong" => controls.nopong = flag(value).ok_or(bad("bad nopong: give it alone"))?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The controls, with their end put together.
    fn finish(self) -> Result<Controls, Refusal> {
        let Reading {
            mut controls,
            close,
            reason,
            abort,
            after,
            status: asked,
            push,
            every,
            text,
        } = self;
        if let Some(value) = asked {
            return Err(status(&value));
        }
        controls.push = match push {
            Some(times) => Some(Pushing {
                times,
                every: every.unwrap_or(DEFAULT_EVERY),
                text: text.unwrap_or_else(|| DEFAULT_TEXT.to_owned()),
            }),
            None if every.is_some() => return Err(bad("bad every: it goes with push")),
            None if text.is_some() => return Err(bad("bad text: it goes with push")),
            None => None,
        };
        controls.end = match (close, abort) {
            (Some(_), true) => return Err(bad("bad close and abort: give one of them")),
            (Some(code), false) => Some(Then::Close(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.unwrap_or_default().into(),
            })),
            (None, _) if reason.is_some() => return Err(bad("bad reason: it goes with close")),
            (None, true) => Some(Then::Abort),
            (None, false) if after.is_some() => {
                return Err(bad("bad after: it counts echoes before close or abort"))
            }
            (None, false) => None,
        };
        controls.after = after.unwrap_or(0);
        Ok(controls)
    }
}

/// The answer `?status=` asks for, or a 400 for a status that is not an error.
fn status(value: &str) -> Refusal {
    let status = value.parse::<u16>().ok();
    match status.and_then(|s| Refusal::new(s, "refused as ?status= asked")) {
        Some(refusal) => {
            super::count(&["status"]);
            refusal
        }
        None => bad("bad status: want an HTTP error status, 400-599"),
    }
}

/// A control given alone (`?info`), or as `1` / `true`; `0` / `false` turn it off.
pub(super) fn flag(value: &str) -> Option<bool> {
    match value {
        "" | "1" | "true" => Some(true),
        "0" | "false" => Some(false),
        _ => None,
    }
}

/// A duration as humans write it, at most [`MAX_DELAY`].
fn duration(value: &str) -> Option<Duration> {
    humantime::parse_duration(value)
        .ok()
        .filter(|d| *d <= MAX_DELAY)
}

/// An interval as humans write it, from [`MIN_INTERVAL`] to [`MAX_DELAY`].
fn interval(value: &str) -> Option<Duration> {
    duration(value).filter(|d| *d >= MIN_INTERVAL)
}

/// Whether a server may send this close code (RFC 6455, 7.4): not 1004-1006, 1015, nor the
/// unassigned 1016-2999 or anything past 4999.
fn sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests;
