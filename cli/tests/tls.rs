//! HTTPS end to end through the `minhbach` binary: a one-validator network
//! whose API serves `[api.tls]` (files named relative to the home), read by
//! `minhbach query status --ca-file`; SIGHUP to the node process switches to
//! new files and keeps the old certificate when the new one has expired; a
//! missing or expired certificate stops `node start`, naming the file.

mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use node::config::{Config, TlsSection};
use node::testnet::NetworkPlan;
use support::{minhbach, minhbach_env, Run};
use testkit::tls::TestCa;

/// Bound on every wait of this test.
const WAIT: Duration = Duration::from_secs(60);

/// A one-validator network in a temporary folder: its home and API address.
struct Net {
    dir: tempfile::TempDir,
    home: PathBuf,
    api: std::net::SocketAddr,
    /// The network's ports, held from generation to the end of the test
    /// so that no other test takes them meanwhile.
    _ports: testkit::ports::Reservation,
}

impl Net {
    fn new() -> Net {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let ports = testkit::ports::reserve();
        let base = ports.base.to_string();
        let run = minhbach(&[
            "testnet",
            "--validators",
            "1",
            "--base-port",
            &base,
            "--out",
            s(&out),
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let plan = NetworkPlan::load(&out.join("testnet.json")).unwrap();
        let node = &plan.nodes[0];
        Net {
            home: node.home.clone(),
            api: node.api,
            dir,
            _ports: ports,
        }
    }

    /// Sets the TLS sections of the node's config.
    fn configure(&self, api: Option<TlsSection>, explorer: Option<TlsSection>) {
        let path = self.home.join("config.toml");
        let mut config = Config::load(&path).unwrap();
        config.api.tls = api;
        config.explorer.tls = explorer;
        config.save(&path).unwrap();
    }

    fn https(&self) -> String {
        format!("https://{}", self.api)
    }

    /// A file in the test's folder, outside the home.
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `tls/api.crt` and `tls/api.key` in the home, named relative to it.
fn relative_files(home: &Path) -> TlsSection {
    std::fs::create_dir_all(home.join("tls")).unwrap();
    TlsSection {
        cert: "tls/api.crt".into(),
        key: "tls/api.key".into(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A running `minhbach node start`, killed if the test ends while it runs.
struct Node {
    child: Child,
    log: PathBuf,
}

impl Node {
    fn start(home: &Path, log: PathBuf) -> Node {
        let child = Command::new(env!("CARGO_BIN_EXE_minhbach"))
            .args(["node", "start", "--home", s(home)])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start the node");
        Node { child, log }
    }

    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Waits until `f` holds, failing with the node's log after [`WAIT`].
    fn wait_for(&mut self, what: &str, mut f: impl FnMut(&Node) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !f(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the node exited ({status}) waiting for {what}:\n{}",
                    self.said()
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the node said:\n{}",
                self.said()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status(url: &str, ca: Option<&Path>) -> Run {
    match ca {
        Some(ca) => minhbach(&["--node", url, "--ca-file", s(ca), "query", "status"]),
        None => minhbach(&["--node", url, "query", "status"]),
    }
}

#[test]
fn a_node_serves_https_and_reloads_its_certificate_on_sighup() {
    let net = Net::new();
    let first_ca = TestCa::new("first CA");
    let second_ca = TestCa::new("second CA");
    let (first_pem, second_pem) = (net.file("first-ca.pem"), net.file("second-ca.pem"));
    std::fs::write(&first_pem, first_ca.pem()).unwrap();
    std::fs::write(&second_pem, second_ca.pem()).unwrap();
    let files = relative_files(&net.home);
    let (cert, key) = (net.home.join(&files.cert), net.home.join(&files.key));
    first_ca.leaf().write(&cert, &key);
    net.configure(Some(files), None);

    let mut node = Node::start(&net.home, net.file("node.log"));
    let url = net.https();
    node.wait_for("the API over HTTPS", |_| {
        status(&url, Some(&first_pem)).code == Some(0)
    });
    let run = status(&url, Some(&first_pem));
    assert!(run.stdout.contains("minhbach-testnet"), "{run:?}");
    let run = minhbach_env(
        &["--node", &url, "query", "status"],
        &[("MINHBACH_CA_FILE", s(&first_pem))],
    );
    assert_eq!(run.code, Some(0), "{run:?}");

    // Not trusted: a TLS error, exit 1 (not 3, unreachable), saying what to do.
    let run = status(&url, None);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("TLS with the node at"), "{run:?}");
    assert!(run.stderr.contains("--ca-file"), "{run:?}");
    let run = status(&url, Some(&second_pem));
    assert_eq!(run.code, Some(1), "{run:?}");
    // A --ca-file that is not there is a usage error.
    let run = status(&url, Some(&net.file("nowhere.pem")));
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--ca-file"), "{run:?}");

    // New files, then SIGHUP: new connections get the second certificate.
    second_ca.leaf().write(&cert, &key);
    node.signal(Signal::SIGHUP);
    node.wait_for("the second certificate", |_| {
        status(&url, Some(&second_pem)).code == Some(0)
    });
    assert_eq!(status(&url, Some(&first_pem)).code, Some(1));

    // An expired certificate: the node says so, naming the file, and keeps
    // serving the second one.
    first_ca.expired_leaf().write(&cert, &key);
    node.signal(Signal::SIGHUP);
    let warning = format!("{}: the certificate expired", cert.display());
    node.wait_for("the warning", |n| n.said().contains(&warning));
    let run = status(&url, Some(&second_pem));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        node.child.try_wait().unwrap().is_none(),
        "SIGHUP stops nothing"
    );

    node.signal(Signal::SIGTERM);
    let deadline = Instant::now() + WAIT;
    let stopped = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the node did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(stopped.success(), "{stopped}: {}", node.said());
}

#[test]
fn a_missing_or_expired_certificate_stops_node_start_naming_the_file() {
    let net = Net::new();
    let ca = TestCa::new("CA");
    let files = relative_files(&net.home);
    let (cert, key) = (net.home.join(&files.cert), net.home.join(&files.key));
    ca.leaf().write(&cert, &key);
    let start = || minhbach(&["node", "start", "--home", s(&net.home)]);

    let missing = TlsSection {
        cert: "tls/missing.crt".into(),
        key: files.key.clone(),
    };
    net.configure(Some(missing), None);
    let run = start();
    assert_ne!(run.code, Some(0), "{run:?}");
    let named = format!(
        "{}: cannot read",
        net.home.join("tls/missing.crt").display()
    );
    assert!(run.stderr.contains(&named), "{run:?}");

    // The explorer's certificate is checked too.
    let old = net.file("old.crt");
    ca.expired_leaf().write(&old, &net.file("old.key"));
    let expired = TlsSection {
        cert: old.clone(),
        key: net.file("old.key"),
    };
    net.configure(None, Some(expired));
    let run = start();
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("cannot serve the explorer over TLS"),
        "{run:?}"
    );
    let named = format!("{}: the certificate expired", old.display());
    assert!(run.stderr.contains(&named), "{run:?}");
}
