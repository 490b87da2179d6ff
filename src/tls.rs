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
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer};
use futures_rustls::rustls::{self, RootCertStore};

use crate::Error;

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
