//! The test target's controls: read from the upgrade request's query ([`Controls::parse`]; a bad
//! value is an HTTP 400 naming it), and the durations and codes they take.

use std::time::Duration;

use crate::{CloseCode, CloseFrame, Refusal, Then};

/// The longest `?delay=` and `?jitter=`: a test target answers within a minute.
const MAX_DELAY: Duration = Duration::from_secs(60);

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
        } = self;
        if let Some(value) = asked {
            return Err(status(&value));
        }
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

/// Whether a server may send this close code (RFC 6455, 7.4): not 1004-1006, 1015, nor the
/// unassigned 1016-2999 or anything past 4999.
fn sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<Option<Controls>, (u16, &'static str)> {
        Controls::parse(Some(query)).map_err(|r| (r.status(), r.reason()))
    }

    #[test]
    fn no_query_or_only_unknown_keys_is_no_controls() {
        assert_eq!(Controls::parse(None), Ok(None));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("token=abc&x"), Ok(None));
    }

    #[test]
    fn subprotocol_and_header_are_checked_as_http_has_them() {
        let controls = parse("subprotocol=chat.v2&header=X-Test:%20yes")
            .unwrap()
            .unwrap();
        assert_eq!(controls.subprotocol.as_deref(), Some("chat.v2"));
        assert_eq!(
            controls.header,
            Some(("X-Test".to_owned(), "yes".to_owned()))
        );
        let want = "bad header: want Name:value, a name the upgrade does not set";
        for bad in [
            "header=Upgrade:h2c",
            "header=Sec-WebSocket-Accept:x",
            "header=A%20B:c",
            "header=X:a%0D%0Ab",
        ] {
            assert_eq!(parse(bad).map(|_| ()), Err((400, want)), "{bad}");
        }
        let want = "bad subprotocol: want a name such as chat.v2";
        assert_eq!(parse("subprotocol=").map(|_| ()), Err((400, want)));
        assert_eq!(parse("subprotocol=a,b").map(|_| ()), Err((400, want)));
    }

    #[test]
    fn a_repeated_key_counts_with_its_last_value_whichever_the_key() {
        assert_eq!(
            parse("status=503&status=404"),
            Err((404, "refused as ?status= asked"))
        );
        let controls = parse("delay=soon&delay=200ms&after=1&after=2&close=4000")
            .unwrap()
            .unwrap();
        assert_eq!(
            (controls.delay, controls.after),
            (Duration::from_millis(200), 2)
        );
        assert!(!parse("info&info=0&delay=1s").unwrap().unwrap().info);
        assert_eq!(
            parse("delay=1s&delay=soon").map(|_| ()),
            Err((400, "bad delay: want a duration such as 200ms, at most 1m"))
        );
    }

    #[test]
    fn each_control_is_read_as_written() {
        let controls = parse("info&delay=200ms&jitter=50ms&fragment=1024&lb=1")
            .unwrap()
            .unwrap();
        assert!(controls.info);
        assert_eq!(controls.delay, Duration::from_millis(200));
        assert_eq!(controls.jitter, Duration::from_millis(50));
        assert_eq!(controls.fragment, Some(1024));
        assert_eq!(controls.end, None);
        let close = parse("close=4000&after=3&reason=bye%20now")
            .unwrap()
            .unwrap();
        assert_eq!(
            close.end,
            Some(Then::Close(CloseFrame {
                code: CloseCode::from(4000),
                reason: "bye now".into()
            }))
        );
        assert_eq!(close.after, 3);
        let abort = parse("abort&after=2").unwrap().unwrap();
        assert_eq!((abort.end, abort.after), (Some(Then::Abort), 2));
        assert_eq!(parse("abort").unwrap().unwrap().after, 0);
    }

    /// Whatever the query, an answer: controls, none, or a refusal with an error status and a
    /// reason naming a control; never a panic.
    #[test]
    fn any_query_gets_an_answer() {
        const PIECES: &[&str] = &[
            "info",
            "delay",
            "jitter",
            "close",
            "reason",
            "abort",
            "after",
            "status",
            "fragment",
            "=",
            "&",
            "%",
            "%2",
            "%20",
            "%ff",
            "0",
            "1",
            "4000",
            "65536",
            "99999999999999999999",
            "ms",
            "s",
            "1m",
            "-",
            "+",
            ".",
            "é",
            "?",
            "#",
            "",
            "true",
            "x",
        ];
        let mut rng = fastrand::Rng::with_seed(6455);
        for _ in 0..20_000 {
            let query: String = (0..rng.usize(0..12))
                .map(|_| PIECES[rng.usize(..PIECES.len())])
                .collect();
            match Controls::parse(Some(&query)) {
                Ok(_) => {}
                Err(refusal) => {
                    assert!((400..=599).contains(&refusal.status()), "{query}");
                    let named = refusal.reason().starts_with("bad ")
                        || refusal.reason() == "refused as ?status= asked";
                    assert!(named, "{query}: {}", refusal.reason());
                }
            }
        }
    }

    #[test]
    fn status_refuses_with_that_status() {
        assert_eq!(parse("status=503"), Err((503, "refused as ?status= asked")));
        assert_eq!(parse("status=418"), Err((418, "refused as ?status= asked")));
    }

    #[test]
    fn a_bad_value_is_a_400_naming_the_control() {
        for (query, word) in [
            ("delay=soon", "bad delay"),
            ("delay=2m", "bad delay"),
            ("jitter=-1", "bad jitter"),
            ("close=1005", "bad close"),
            ("close=999", "bad close"),
            ("close=5000", "bad close"),
            ("close=4000&abort", "bad close and abort"),
            ("after=3", "bad after"),
            ("close=4000&after=x", "bad after"),
            ("reason=x", "bad reason"),
            ("abort&reason=x", "bad reason"),
            ("status=200", "bad status"),
            ("status=x", "bad status"),
            ("fragment=0", "bad fragment"),
            ("info=yes", "bad info"),
            ("abort=maybe", "bad abort"),
        ] {
            let (status, reason) = parse(query).unwrap_err();
            assert_eq!(status, 400, "{query}");
            assert!(reason.starts_with(word), "{query}: {reason}");
        }
        let long = format!("close=4000&reason={}", "x".repeat(124));
        assert_eq!(parse(&long), Err((400, "bad reason: at most 123 bytes")));
    }
}
