//! The controls as [`Controls::parse`] reads them.

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
        "push",
        "every",
        "text",
        "ping",
        "nopong",
        "10ms",
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
fn push_ping_and_nopong_are_read_with_their_defaults() {
    let push = parse("push=5").unwrap().unwrap().push;
    let want = Pushing {
        times: 5,
        every: Duration::from_secs(1),
        text: DEFAULT_TEXT.to_owned(),
    };
    assert_eq!(push, Some(want));
    let controls = parse("push=2&every=10ms&text=h%C3%A9&ping=500ms&nopong")
        .unwrap()
        .unwrap();
    let want = Pushing {
        times: 2,
        every: Duration::from_millis(10),
        text: "hé".to_owned(),
    };
    assert_eq!(controls.push, Some(want));
    assert_eq!(controls.ping, Some(Duration::from_millis(500)));
    assert!(controls.nopong);
    let long = format!("push=1&text={}", "x".repeat(1025));
    assert_eq!(parse(&long), Err((400, "bad text: at most 1024 bytes")));
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
        ("push=0", "bad push"),
        ("push=x", "bad push"),
        ("push=2&every=5ms", "bad every"),
        ("push=2&every=2m", "bad every"),
        ("every=1s", "bad every"),
        ("text=hi", "bad text"),
        ("ping=9ms", "bad ping"),
        ("ping=soon", "bad ping"),
        ("nopong=yes", "bad nopong"),
    ] {
        let (status, reason) = parse(query).unwrap_err();
        assert_eq!(status, 400, "{query}");
        assert!(reason.starts_with(word), "{query}: {reason}");
    }
    let long = format!("close=4000&reason={}", "x".repeat(124));
    assert_eq!(parse(&long), Err((400, "bad reason: at most 123 bytes")));
}
