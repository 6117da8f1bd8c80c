//! HTTPS on a listener: `gateway::http::serve` with `gateway::tls::Tls` on
//! 127.0.0.1, serving the real API router over a test chain, with
//! certificates from a test CA (`testkit::tls`).
//!
//! A client that trusts the CA gets `/healthz`; one that does not, and
//! plain HTTP, do not. A reload (what SIGHUP calls) serves new connections
//! the new certificate, and keeps the old one when the new files are bad;
//! bad files at start are refused naming the file; a client that never
//! finishes its handshake loses its connection slot. `cli/tests/tls.rs`
//! checks the same through the `minhbach` binary and a real SIGHUP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::http::ConnectionLimits;
use gateway::tls::Tls;
use ledger::tx::EntityKind;
use node::config::TlsSection;
use testkit::tls::{Leaf, TestCa};
use testkit::{GenesisBuilder, NodeFixture, CHAIN_ID};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Bound on each step of a client here.
const STEP: Duration = Duration::from_secs(5);

const LIMITS: ConnectionLimits = ConnectionLimits {
    total: 64,
    per_client: 16,
    requests_per_client: 4,
};

/// A listener serving the API router over TLS, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    _node: NodeFixture,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn serve(tls: Arc<Tls>, limits: ConnectionLimits) -> Server {
    let genesis = GenesisBuilder::new(CHAIN_ID)
        .entity("MOF", EntityKind::Treasury, "Bộ Tài chính", None)
        .build();
    let node = NodeFixture::new("tls-test", genesis);
    let router = gateway::api::api_router(node.shared.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(gateway::http::serve(
        "api",
        listener,
        router,
        limits,
        Some(tls),
        stopped,
    ));
    Server {
        addr,
        stop,
        _node: node,
    }
}

/// A folder with the listener's two files.
struct Files {
    _dir: tempfile::TempDir,
    section: TlsSection,
}

impl Files {
    fn new(leaf: &Leaf) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let section = TlsSection {
            cert: dir.path().join("api.crt"),
            key: dir.path().join("api.key"),
        };
        leaf.write(&section.cert, &section.key);
        Files { _dir: dir, section }
    }

    fn cert(&self) -> &Path {
        &self.section.cert
    }

    fn key(&self) -> &Path {
        &self.section.key
    }
}

/// `GET /healthz` over TLS, trusting only `ca`: the answer's head and the
/// certificate the listener served (DER).
async fn healthz(addr: SocketAddr, ca: &TestCa) -> Result<(String, Vec<u8>), String> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let connect = TlsConnector::from(Arc::new(config)).connect(name, tcp);
    let mut tls = tokio::time::timeout(STEP, connect)
        .await
        .map_err(|_| "no handshake in time".to_owned())?
        .map_err(|e| format!("handshake: {e}"))?;
    let served = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    // A read error after the answer (a close without close_notify) is fine.
    let _ = tokio::time::timeout(STEP, tls.read_to_end(&mut answer)).await;
    Ok((String::from_utf8_lossy(&answer).into_owned(), served))
}

/// Waits up to [`STEP`] for the server to close `stream`; how long it took.
async fn closed_within(stream: &mut TcpStream) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(STEP, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trusts_the_ca_gets_healthz_and_others_do_not() {
    let ca = TestCa::new("Minh Bạch test CA");
    let leaf = ca.leaf();
    let files = Files::new(&leaf);
    let server = serve(Arc::new(Tls::load(&files.section).unwrap()), LIMITS).await;

    let (answer, served) = healthz(server.addr, &ca).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok\n"), "{answer}");
    assert_eq!(served, leaf.der);

    let stranger = TestCa::new("another CA");
    let e = healthz(server.addr, &stranger).await.unwrap_err();
    assert!(e.contains("handshake") && e.contains("certificate"), "{e}");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(STEP, plain.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The listener still serves.
    assert!(healthz(server.addr, &ca).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_serves_new_files_to_new_connections_and_keeps_the_old_on_bad_ones() {
    let first_ca = TestCa::new("first CA");
    let first = first_ca.leaf();
    let files = Files::new(&first);
    let tls = Arc::new(Tls::load(&files.section).unwrap());
    let server = serve(tls.clone(), LIMITS).await;
    assert_eq!(healthz(server.addr, &first_ca).await.unwrap().1, first.der);

    let second_ca = TestCa::new("second CA");
    let second = second_ca.leaf();
    second.write(files.cert(), files.key());
    tls.reload().unwrap();
    let (answer, served) = healthz(server.addr, &second_ca).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(served, second.der);
    assert!(healthz(server.addr, &first_ca).await.is_err());

    // Bad new files: an error naming the file, and the second certificate
    // is still served.
    let cert = files.cert().display().to_string();
    let key = files.key().display().to_string();
    second_ca.expired_leaf().write(files.cert(), files.key());
    let e = tls.reload().unwrap_err().to_string();
    assert!(e.starts_with(&cert) && e.contains("expired"), "{e}");
    std::fs::write(files.cert(), "not a certificate").unwrap();
    let e = tls.reload().unwrap_err().to_string();
    assert!(e.starts_with(&cert), "{e}");
    // The key of another certificate.
    std::fs::write(files.cert(), &second.cert_pem).unwrap();
    std::fs::write(files.key(), &first.key_pem).unwrap();
    let e = tls.reload().unwrap_err().to_string();
    assert!(e.starts_with(&key) && e.contains(&cert), "{e}");
    std::fs::remove_file(files.key()).unwrap();
    let e = tls.reload().unwrap_err().to_string();
    assert!(e.starts_with(&key) && e.contains("cannot read"), "{e}");
    assert_eq!(
        healthz(server.addr, &second_ca).await.unwrap().1,
        second.der
    );
}

#[test]
fn bad_files_are_refused_at_start_naming_the_file() {
    let ca = TestCa::new("CA");
    let good = ca.leaf();
    let files = Files::new(&good);
    let dir = files.cert().parent().unwrap().to_owned();
    let load = |cert: PathBuf, key: PathBuf| match Tls::load(&TlsSection { cert, key }) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    };

    let e = load(dir.join("missing.crt"), files.key().into());
    assert_eq!(e.path, dir.join("missing.crt"));
    assert!(e.reason.starts_with("cannot read"), "{e}");

    std::fs::write(dir.join("empty.crt"), "").unwrap();
    let e = load(dir.join("empty.crt"), files.key().into());
    assert!(e.reason.contains("no PEM certificate"), "{e}");

    let expired = ca.expired_leaf();
    expired.write(&dir.join("old.crt"), &dir.join("old.key"));
    let e = load(dir.join("old.crt"), dir.join("old.key"));
    assert_eq!(e.path, dir.join("old.crt"));
    assert!(
        e.reason
            .contains("expired at 2020-12-31T00:00:00Z (notAfter)"),
        "{e}"
    );

    // A certificate with another's key.
    let e = load(files.cert().into(), dir.join("old.key"));
    assert_eq!(e.path, dir.join("old.key"));
    assert!(e.reason.contains("not the key of the certificate"), "{e}");

    // A certificate where the key should be.
    let e = load(files.cert().into(), files.cert().into());
    assert_eq!(e.path, files.cert());
    assert!(e.reason.contains("no unencrypted PEM private key"), "{e}");

    assert!(Tls::load(&files.section).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_handshake_loses_its_slot() {
    let ca = TestCa::new("CA");
    let files = Files::new(&ca.leaf());
    let timeout = Duration::from_millis(500);
    let tls = Tls::load(&files.section)
        .unwrap()
        .with_handshake_timeout(timeout);
    let one = ConnectionLimits {
        per_client: 1,
        ..LIMITS
    };
    let server = serve(Arc::new(tls), one).await;

    // Connects and sends nothing: it holds this address's one slot...
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let e = healthz(server.addr, &ca).await.unwrap_err();
    assert!(e.contains("handshake"), "{e}");
    // ...until the handshake timeout closes it.
    let took = closed_within(&mut silent)
        .await
        .expect("the silent connection is closed");
    assert!(took < STEP, "{took:?}");
    let (answer, _) = healthz(server.addr, &ca).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
