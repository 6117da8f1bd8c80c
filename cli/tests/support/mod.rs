//! Test helpers: a stand-in for a node's HTTP API on 127.0.0.1 that answers
//! canned JSON and records what it was asked, and a way to run the
//! `minhbach` binary with a deadline.

#![allow(dead_code)] // Each test file uses a different part.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger::crypto::{write_key_file, SigningKey};

pub mod net;

/// Longest a stub serves, so that a test that forgets it cannot hang.
const STUB_LIFETIME: Duration = Duration::from_secs(30);
/// Longest a run of the binary may take.
const RUN_DEADLINE: Duration = Duration::from_secs(20);
/// Largest request the stub reads.
const REQUEST_BYTES_MAX: usize = 1 << 20;

/// One HTTP request as the stub saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query string, e.g. `/v1/validators?height=5`.
    pub target: String,
    pub body: Vec<u8>,
}

/// A fake node: answers each request with `handler(request) -> (status, body)`.
pub struct Stub {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Stub {
    pub fn start<F>(mut handler: F) -> Stub
    where
        F: FnMut(&Request) -> (u16, String) + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = requests.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + STUB_LIFETIME;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Some(request) = read_request(&stream) {
                                let (status, body) = handler(&request);
                                requests.lock().unwrap().push(request);
                                write_response(stream, status, &body);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => panic!("stub accept: {e}"),
                    }
                }
            })
        };
        Stub {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// What the stub has been asked so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The targets of the requests, as `"GET /v1/status"`.
    pub fn targets(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A panic in the handler (a failed assertion) surfaces here.
            if t.join().is_err() && !std::thread::panicking() {
                panic!("the stub's thread panicked");
            }
        }
    }
}

fn read_request(mut stream: &TcpStream) -> Option<Request> {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > REQUEST_BYTES_MAX {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse().unwrap());
    assert!(length <= REQUEST_BYTES_MAX);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        target,
        body,
    })
}

fn write_response(mut stream: TcpStream, status: u16, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} Stub\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

/// A URL where nothing listens: a port that was just bound and released.
pub fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `minhbach args...` with no proxy, `MINHBACH_NODE` or
/// `MINHBACH_CHAIN_ID` from the environment, killing it if it outlives
/// [`RUN_DEADLINE`].
pub fn minhbach(args: &[&str]) -> Run {
    minhbach_env(args, &[])
}

/// [`minhbach`] with extra environment variables.
pub fn minhbach_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minhbach"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "MINHBACH_NODE",
        "MINHBACH_CHAIN_ID",
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("run minhbach");
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("minhbach {args:?} ran past {RUN_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // The outputs are small, so the pipes never filled while we waited.
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Writes a key file (mode 0600) for a fixed seed; returns its path.
pub fn key_file(dir: &Path, name: &str, seed: u8) -> (PathBuf, SigningKey) {
    let path = dir.join(name);
    write_key_file(&path, &SigningKey::from_seed([seed; 32])).unwrap();
    (path, SigningKey::from_seed([seed; 32]))
}

/// Tells `node start` to stop when this test process dies.
pub const SUPERVISOR_ENV: &str = "MINHBACH_SUPERVISOR_PID";

/// A started story node: its plan, process, log and reserved ports.
pub type StoryNode = (
    node::testnet::NetworkPlan,
    std::process::Child,
    PathBuf,
    testkit::ports::Reservation,
);

/// Writes a one-validator network of the devnet story's entities, with fast
/// consensus, under `dir/net`, and starts its node (stderr to
/// `dir/node.log`, stopped if this process dies); the plan, the node, its
/// log and its ports, which the caller holds while the node runs. The
/// caller kills the node.
pub fn start_story_node(dir: &Path, chain_id: &str) -> StoryNode {
    start_governed_story_node(dir, chain_id, &node::testnet::Governance::default())
}

/// [`start_story_node`], with `governance` deciding the entities' key sets,
/// the rotation delay and the control rules in force from genesis.
pub fn start_governed_story_node(
    dir: &Path,
    chain_id: &str,
    governance: &node::testnet::Governance,
) -> StoryNode {
    use node::testnet::{self, Explorers, Ports, TestnetSpec};
    // Reserved, not merely free now: no other test takes them before the
    // node binds them.
    let ports = testkit::ports::reserve();
    let spec = TestnetSpec {
        chain_id: chain_id.into(),
        genesis_time_ms: testkit::GENESIS_TIME_MS,
        currency: genesis::Currency::default(),
        validators: 1,
        full_nodes: 0,
        entities: genesis::story::entities(),
        ports: Ports::Base(ports.base),
        explorers: Explorers::FullNodes,
    };
    let plan = testnet::generate_governed(&spec, governance, &dir.join("net"), |_, c| {
        testkit::fast_consensus(c)
    })
    .expect("write the network");
    assert!(plan.nodes[0].api.ip().is_loopback());
    let log = dir.join("node.log");
    let node = Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .args(["node", "start", "--home"])
        .arg(&plan.nodes[0].home)
        .env("NO_COLOR", "1")
        .env(SUPERVISOR_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the node");
    (plan, node, log, ports)
}
