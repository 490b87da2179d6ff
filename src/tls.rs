//! TLS (feature `tls`): wss:// for the server and the client, with rustls through
//! futures-rustls, on any futures-io stream and any executor.
//!
//! The server: put [`server_config`] in [`Config::tls`](crate::Config) and every connection
//! served with that config does the TLS handshake first (within the handshake timeout).
//! Embedders that terminate TLS themselves keep passing their own TLS stream to
//! [`serve`](crate::serve):
//!
//! ```no_run
//! # async fn example(tcp: async_io::Async<std::net::TcpStream>) -> Result<(), ws_echo::Error> {
//! use std::path::Path;
//! use ws_echo::tls::{server_config, TlsAcceptor};
//!
//! let acceptor = TlsAcceptor::from(server_config(Path::new("cert.pem"), Path::new("key.pem"))?);
//! let stream = acceptor.accept(tcp).await?; // the application's own TLS layer
//! let summary = ws_echo::serve(stream, &ws_echo::Config::default(), ws_echo::Echo).await?;
//! # Ok(()) }
//! ```
//!
//! # Trying it with a local certificate
//!
//! ```sh
//! openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=my test CA"
//! openssl req -newkey rsa:2048 -nodes -keyout key.pem -out server.csr -subj "/CN=localhost"
//! printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext.cnf
//! openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 30 -extfile ext.cnf
//! cargo run --features smol,tls --example server -- --tls-cert cert.pem --tls-key key.pem
//! cargo run --features smol,tls --example client -- --url wss://localhost:8080/ws --ca ca.pem
//! ```
//!
//! A single `openssl req -x509` makes a CA certificate, which rustls refuses as a server's
//! (`CaUsedAsEndEntity`): make a CA and a certificate it signs as above, or have the client pin
//! that one certificate ([`pinned_client_config`], the client example's `--cert-pin`).
//!
//! An untrusted, expired or misnamed certificate is one line naming the reason (`TLS: invalid
//! peer certificate: UnknownIssuer`); a missing file or a key that does not match the
//! certificate makes the server example print one line and exit 2. The TLS handshake counts in
//! the handshake timeout; a plain-text client on the TLS port is dropped without disturbing
//! anyone. The page at `/` works over https (then wss://).
//!
//! The client trusts the system's roots (rustls-native-certs: the same store as the machine's
//! other programs, so a corporate or private root installed there works too), plus any CA
//! given to [`client_config`]. Nothing here turns certificate verification off.

use std::path::Path;
use std::sync::Arc;

pub use futures_rustls::rustls::{ClientConfig, ServerConfig};
pub use futures_rustls::{TlsAcceptor, TlsConnector};

use futures_rustls::pki_types::pem::PemObject;
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use futures_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use futures_rustls::rustls::{self, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;

/// A server config from a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or
/// SEC1). Fails with [`Error::Tls`] naming the file and the reason when a file is missing or
/// unreadable, holds no certificate or key, or the key does not match the certificate.
///
/// ```
/// use std::path::Path;
///
/// let missing = ws_echo::tls::server_config(Path::new("no/cert.pem"), Path::new("no/key.pem"));
/// let error = missing.unwrap_err().to_string();
/// assert!(error.starts_with("TLS: cannot read certificates from no/cert.pem: "), "{error}");
/// // With real files: `Config::default().tls(server_config(cert, key)?)` serves wss://.
/// ```
pub fn server_config(cert_chain: &Path, key: &Path) -> Result<Arc<ServerConfig>, Error> {
    let certs = read_certs(cert_chain)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::Tls(format!(
            "cannot read a private key from {}: {e}",
            key.display()
        ))
    })?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => Error::Tls(format!(
                "the key does not match the certificate in {}",
                cert_chain.display()
            )),
            other => Error::Tls(format!("unusable certificate or key: {other}")),
        })?;
    Ok(Arc::new(config))
}

/// A client config trusting the system's roots, and the CA certificates in `extra_ca` (PEM)
/// when given. Fails with [`Error::Tls`] when `extra_ca` cannot be read or no root at all
/// could be loaded.
///
/// ```no_run
/// use std::path::Path;
///
/// // Trust a private CA as well, for a server with a certificate made by `openssl`.
/// let trust = ws_echo::tls::client_config(Some(Path::new("ca.pem")))?;
/// let config = ws_echo::client::ClientConfig::new("wss://localhost:8080/ws").tls(trust);
/// # Ok::<(), ws_echo::Error>(())
/// ```
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        log::debug!("skipping part of the system's trust store: {error}");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = extra_ca {
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| {
                Error::Tls(format!(
                    "unusable CA certificate in {}: {e}",
                    path.display()
                ))
            })?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Tls(
            "no trusted root certificates found (system store empty; pass a CA file)".into(),
        ));
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client config that accepts as the server's certificate exactly the first certificate in
/// `cert` (PEM), compared byte for byte, whoever signed it and whatever names it holds: for a
/// server with a self-signed certificate. The TLS handshake's signatures are still checked
/// against that certificate's key, so only the holder of its private key gets through. Fails
/// with [`Error::Tls`] when `cert` cannot be read.
///
/// ```no_run
/// use std::path::Path;
///
/// // The server's own certificate, made with a single `openssl req -x509`.
/// let pinned = ws_echo::tls::pinned_client_config(Path::new("cert.pem"))?;
/// let config = ws_echo::client::ClientConfig::new("wss://localhost:8080/ws").tls(pinned);
/// # Ok::<(), ws_echo::Error>(())
/// ```
pub fn pinned_client_config(cert: &Path) -> Result<Arc<ClientConfig>, Error> {
    let pinned = read_certs(cert)?.into_iter().next();
    let pinned =
        pinned.ok_or_else(|| Error::Tls(format!("no certificate in {}", cert.display())))?;
    let provider = provider();
    let verifier = Pinned {
        cert: pinned,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts exactly one certificate: [`pinned_client_config`].
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS handshake's failure as the client says it: rustls's reason, and what to do about the
/// ones a new user meets first.
pub(crate) fn explain(error: &std::io::Error) -> Error {
    // webpki's reasons come wrapped: `Other(OtherError(CaUsedAsEndEntity))`.
    let reason = error
        .to_string()
        .replace("Other(OtherError(CaUsedAsEndEntity))", "CaUsedAsEndEntity");
    let advice = if reason.contains("CaUsedAsEndEntity") {
        ": the server's certificate is a CA certificate (a single `openssl req -x509` makes \
         one); make a CA and a certificate it signs (see the docs of ws_echo::tls), or pin \
         this one certificate (the client example's --cert-pin)"
    } else if reason.contains("ApplicationVerificationFailure") {
        ": the server's certificate is not the pinned one"
    } else {
        ""
    };
    Error::Tls(format!("{reason}{advice}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::Tls(format!(
            "cannot read certificates from {}: {e}",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if certs.is_empty() {
        return Err(unreadable(&"no certificate in the file"));
    }
    Ok(certs)
}
