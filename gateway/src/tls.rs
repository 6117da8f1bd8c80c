//! HTTPS for a listener: the certificate chain and private key that
//! `[api.tls]` or `[explorer.tls]` name, read when the listener starts and
//! again on SIGHUP.
//!
//! At start, a file that cannot be read, is not PEM, holds a key that is not
//! the certificate's, or a certificate past its notAfter stops the node,
//! naming the file. On a reload the same faults keep the certificate in use
//! and are only reported (the caller logs them): a renewal gone wrong never
//! takes HTTPS down. Connections use the certificate current when their
//! handshake starts.
//!
//! rustls with the ring provider (no OpenSSL), TLS 1.2 and 1.3, ALPN
//! `http/1.1`; no client certificates. Only the first certificate's expiry
//! is checked: a chain may carry an expired cross-signature that clients
//! ignore.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use node::config::TlsSection;
use tokio_rustls::rustls;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use x509_cert::der::Decode as _;

/// The longest a client may take to complete the TLS handshake, counted
/// from when its connection is accepted; the request's head then has its
/// own timeout (`http::HEADER_READ_TIMEOUT`).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate or key cannot be served, naming the file at fault.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct TlsError {
    /// The certificate or key file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

fn fault(path: &Path, reason: impl fmt::Display) -> TlsError {
    TlsError {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// A listener's TLS: its files, the certificate in use, and the acceptor
/// that serves it.
pub struct Tls {
    files: TlsSection,
    provider: Arc<CryptoProvider>,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl Tls {
    /// Reads and checks `files` (paths as given: the node makes relative
    /// ones relative to its home first).
    pub fn load(files: &TlsSection) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = certified_key(files, &provider, SystemTime::now())?;
        let current = Arc::new(Current(RwLock::new(key)));
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| fault(&files.cert, e))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            files: files.clone(),
            provider,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }

    /// Reads the files again: new handshakes use the new certificate. On an
    /// error the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = certified_key(&self.files, &self.provider, SystemTime::now())?;
        *self.current.0.write().expect("certificate lock") = key;
        Ok(())
    }

    /// The same, with another handshake timeout than [`HANDSHAKE_TIMEOUT`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Tls {
        self.handshake_timeout = timeout;
        self
    }

    /// The files this reads.
    pub fn files(&self) -> &TlsSection {
        &self.files
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    pub(crate) fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }
}

/// The certificate handed to each new handshake.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().expect("certificate lock").clone())
    }
}

/// Reads the chain and the key, and checks that they can be served at `now`.
fn certified_key(
    files: &TlsSection,
    provider: &CryptoProvider,
    now: SystemTime,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let (cert_path, key_path) = (&files.cert, &files.key);
    let pem =
        std::fs::read(cert_path).map_err(|e| fault(cert_path, format!("cannot read: {e}")))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fault(cert_path, format!("not a PEM certificate chain: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(fault(
            cert_path,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
        ));
    };
    check_validity(leaf, now).map_err(|reason| fault(cert_path, reason))?;

    let pem = std::fs::read(key_path).map_err(|e| fault(key_path, format!("cannot read: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        fault(
            key_path,
            format!("holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        )
    })?;
    let key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| fault(key_path, format!("cannot use the private key: {e}")))?;
    let certified = CertifiedKey::new(chain, key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(e) => {
            return Err(fault(
                key_path,
                format!(
                    "is not the key of the certificate in {}: {e}",
                    cert_path.display()
                ),
            ))
        }
    }
    Ok(Arc::new(certified))
}

/// Refuses a certificate past its notAfter at `now`.
fn check_validity(leaf: &CertificateDer<'_>, now: SystemTime) -> Result<(), String> {
    let cert = x509_cert::Certificate::from_der(leaf)
        .map_err(|e| format!("the first certificate is not X.509: {e}"))?;
    let not_after = cert
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration();
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    if not_after < now {
        return Err(format!(
            "the certificate expired at {} (notAfter)",
            humantime::format_rfc3339_seconds(UNIX_EPOCH + not_after)
        ));
    }
    Ok(())
}
