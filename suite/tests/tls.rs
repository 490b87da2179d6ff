//! wss://: the server with `Config::tls`, the client trusting a private CA, and the failures a
//! user must be told about by name. Certificates are made here (rcgen).
#![cfg(feature = "tls")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use suite::*;
use ws_echo::client::ClientConfig;
use ws_echo::{tls, Config, Error};

/// A CA, and a certificate for `names` signed by it; PEM files in a fresh folder.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(names: &[&str]) -> Pki {
        Pki::with_validity(names, false)
    }

    /// With `expired`, the certificate's validity ended in 2000. Each `Pki` has a folder of
    /// its own (process id and a counter): tests running at once in one process must not
    /// overwrite each other's CA.
    fn with_validity(names: &[&str], expired: bool) -> Pki {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "tls-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ws-echo test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(1999, 1, 1);
            params.not_after = rcgen::date_time_ymd(2000, 1, 1);
        }
        let cert = params.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        // Another key, which does not match the certificate.
        std::fs::write(
            dir.join("other-key.pem"),
            KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        Pki { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn server_config(&self) -> Config {
        let tls = tls::server_config(&self.path("cert.pem"), &self.path("key.pem")).unwrap();
        Config::default().tls(tls)
    }

    fn client(&self, url: String) -> ClientConfig {
        let trust = tls::client_config(Some(&self.path("ca.pem"))).unwrap();
        ClientConfig::new(url)
            .interval(Duration::from_millis(20))
            .count(3)
            .tls(trust)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn echo_over_wss_under_each_runtime() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    for rt in runtimes() {
        let addr = start(rt, pki.server_config());
        for url in [
            format!("wss://localhost:{}/ws", addr.port()),
            format!("wss://{addr}/ws"),
        ] {
            let report = run_client(rt, &pki.client(url.clone()), never(), |_| {}).unwrap();
            assert_eq!(
                (report.sent, report.echoed, report.missing),
                (3, 3, 0),
                "{rt:?} {url}"
            );
        }
    }
}

#[test]
fn a_client_that_does_not_trust_the_ca_is_told_why() {
    let pki = Pki::new(&["localhost"]);
    let rt = runtimes()[0];
    let addr = start(rt, pki.server_config());
    let url = format!("wss://localhost:{}/ws", addr.port());
    // The system's roots only: our private CA is not among them.
    let config = ClientConfig::new(url).count(1);
    match run_client(rt, &config, never(), |_| {}) {
        Err(e @ Error::Tls(_)) => {
            assert_eq!(
                e.to_string(),
                "TLS: invalid peer certificate: UnknownIssuer"
            )
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
}

#[test]
fn an_expired_certificate_is_refused_by_name() {
    let pki = Pki::with_validity(&["localhost"], true);
    let rt = runtimes()[0];
    let addr = start(rt, pki.server_config());
    let config = pki.client(format!("wss://localhost:{}/ws", addr.port()));
    match run_client(rt, &config, never(), |_| {}) {
        Err(Error::Tls(reason)) => assert!(
            reason.starts_with("invalid peer certificate: certificate expired"),
            "{reason}"
        ),
        other => panic!("expected an expired certificate, got {other:?}"),
    }
}

#[test]
fn a_wrong_host_name_is_refused_by_name() {
    let pki = Pki::new(&["example.test"]);
    let rt = runtimes()[0];
    let addr = start(rt, pki.server_config());
    let config = pki.client(format!("wss://localhost:{}/ws", addr.port()));
    match run_client(rt, &config, never(), |_| {}) {
        Err(Error::Tls(reason)) => assert!(
            reason.starts_with(
                "invalid peer certificate: certificate not valid for name \"localhost\""
            ),
            "{reason}"
        ),
        other => panic!("expected a name mismatch, got {other:?}"),
    }
}

#[test]
fn plain_clients_on_the_tls_port_are_dropped_and_others_are_served() {
    let pki = Pki::new(&["localhost"]);
    for rt in runtimes() {
        let timeout = Duration::from_millis(200);
        let addr = start(rt, pki.server_config().handshake_timeout(timeout));
        // A silent client: dropped at the handshake timeout, with no answer.
        let started = Instant::now();
        let mut silent = std::net::TcpStream::connect(addr).unwrap();
        silent.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        // A plain-text upgrade request is not a TLS ClientHello: refused at once.
        let answer = http(addr, &upgrade_request("/ws", ""));
        assert!(!answer.starts_with("HTTP/"), "{answer:?}");
        // Meanwhile a wss:// client is served.
        let config = pki.client(format!("wss://localhost:{}/ws", addr.port()));
        let report = run_client(rt, &config, never(), |_| {}).unwrap();
        assert_eq!(report.echoed, 3);
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut silent, &mut rest).unwrap();
        let took = started.elapsed();
        assert_eq!(rest, b"", "{rt:?}");
        assert!(
            took >= timeout && took < timeout + Duration::from_millis(500),
            "{rt:?}: {took:?}"
        );
    }
}

#[test]
fn unusable_certificate_files_are_one_line_errors() {
    let pki = Pki::new(&["localhost"]);
    let missing = tls::server_config(&pki.path("nope.pem"), &pki.path("key.pem")).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("TLS: cannot read certificates from "),
        "{missing}"
    );
    let mismatch =
        tls::server_config(&pki.path("cert.pem"), &pki.path("other-key.pem")).unwrap_err();
    assert_eq!(
        mismatch.to_string(),
        format!(
            "TLS: the key does not match the certificate in {}",
            pki.path("cert.pem").display()
        )
    );
    let not_a_key = tls::server_config(&pki.path("cert.pem"), &pki.path("cert.pem")).unwrap_err();
    assert!(
        not_a_key
            .to_string()
            .starts_with("TLS: cannot read a private key from "),
        "{not_a_key}"
    );
}

#[test]
fn the_page_is_served_over_tls_too() {
    let pki = Pki::new(&["localhost"]);
    let rt = runtimes()[0];
    let addr = start(rt, pki.server_config().page("<p>secure</p>"));
    let trust = tls::client_config(Some(&pki.path("ca.pem"))).unwrap();
    // A raw TLS connection (rustls' blocking API) asking for the page.
    let mut conn = futures_rustls::rustls::ClientConnection::new(
        Arc::clone(&trust),
        "localhost".try_into().unwrap(),
    )
    .unwrap();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut stream = futures_rustls::rustls::Stream::new(&mut conn, &mut tcp);
    std::io::Write::write_all(&mut stream, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    assert!(answer.ends_with("<p>secure</p>"), "{answer:?}");
}

/// What a single `openssl req -x509 -subj /CN=localhost -addext subjectAltName=DNS:localhost`
/// makes: a self-signed certificate marked as a CA, used as the server's own.
fn self_signed(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (
        dir.join(format!("{name}-self.pem")),
        dir.join(format!("{name}-self.key")),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

#[test]
fn a_self_signed_certificate_is_explained_when_trusted_as_a_ca_and_served_when_pinned() {
    let pki = Pki::new(&["localhost"]); // for its folder
    let (cert, key) = self_signed(&pki.dir, "localhost");
    let rt = runtimes()[0];
    let addr = start(
        rt,
        Config::default().tls(tls::server_config(&cert, &key).unwrap()),
    );
    let url = format!("wss://localhost:{}/ws", addr.port());
    let client = |trust| {
        ClientConfig::new(url.clone())
            .interval(Duration::from_millis(20))
            .count(3)
            .tls(trust)
    };

    // Trusted as a CA, the way most people first try it: rustls refuses it, and says what to do.
    let as_ca = client(tls::client_config(Some(&cert)).unwrap());
    let error = run_client(rt, &as_ca, never(), |_| {}).unwrap_err();
    assert_eq!(
        error.to_string(),
        "TLS: invalid peer certificate: CaUsedAsEndEntity: the server's certificate is a CA \
         certificate (a single `openssl req -x509` makes one); make a CA and a certificate it \
         signs (see the docs of ws_echo::tls), or pin this one certificate (the client \
         example's --cert-pin)"
    );
    // Pinned: served, under every runtime.
    for rt in runtimes() {
        let addr = start(
            rt,
            Config::default().tls(tls::server_config(&cert, &key).unwrap()),
        );
        let url = format!("wss://localhost:{}/ws", addr.port());
        let pinned = ClientConfig::new(url)
            .interval(Duration::from_millis(20))
            .count(3);
        let pinned = pinned.tls(tls::pinned_client_config(&cert).unwrap());
        let report = run_client(rt, &pinned, never(), |_| {}).unwrap();
        assert_eq!(
            (report.sent, report.echoed, report.missing),
            (3, 3, 0),
            "{rt:?}"
        );
    }
    // Pinning another certificate (the CA-signed one of `pki`) is refused by name.
    let other = client(tls::pinned_client_config(&pki.path("cert.pem")).unwrap());
    let error = run_client(rt, &other, never(), |_| {}).unwrap_err();
    assert_eq!(
        error.to_string(),
        "TLS: invalid peer certificate: ApplicationVerificationFailure: the server's \
         certificate is not the pinned one"
    );
}

/// What a connection's future holds for the connection's whole life: with the `tls` feature on,
/// the TLS path's state (some 9.5 KB) is boxed, so that a plain connection does not reserve it
/// too (it did: 12,232 bytes a server task against 2,688 without the feature).
#[test]
fn a_plain_connection_reserves_no_tls_state() {
    let config = Config::default();
    let stream = futures_lite::io::Cursor::new(Vec::<u8>::new());
    let serving = ws_echo::serve(stream, &config, ws_echo::Echo);
    let size = std::mem::size_of_val(&serving);
    assert!(size < 4096, "{size} bytes");
}
