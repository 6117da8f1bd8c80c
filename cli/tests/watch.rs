//! `minhbach query watch` end to end: against a one-validator network of a
//! real node process, it prints only what is committed after it starts and
//! at least `--min-amount`, and exits 0 on SIGINT; against a stand-in node
//! that goes away, it warns once and keeps asking; an unknown entity, an
//! unreachable node and `--output csv` end it with the exit codes of every
//! `query`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger::crypto::read_key_file;
use ledger::{Op, TxBody};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use node::testnet::NetworkPlan;
use serde_json::{json, Value};
use support::{closed_url, minhbach, Stub};
use testkit::ops;
use tools::client::Client;

/// Bound on every wait for the network.
const WAIT: Duration = Duration::from_secs(60);
/// Bound on the wait for a line from `watch` once its event is committed.
const LINE_WAIT: Duration = Duration::from_secs(15);
/// How promptly `watch` must exit after SIGINT.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// A one-validator network with the devnet story's entities, on ports free
/// when it was written, in a temporary folder, committing a block every
/// 200 ms; its node is killed when this is dropped.
struct Net {
    plan: NetworkPlan,
    node: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
    _ports: testkit::ports::Reservation,
}

impl Net {
    fn start() -> Net {
        let dir = tempfile::tempdir().unwrap();
        let (plan, node, log, ports) = support::start_story_node(dir.path(), "minhbach-watch");
        let mut net = Net {
            plan,
            node,
            log,
            _dir: dir,
            _ports: ports,
        };
        let client = net.client();
        net.wait_for("the first block", |_| {
            client
                .get("/v1/status")
                .is_ok_and(|s| s["height"].as_u64() >= Some(1))
        });
        net
    }

    fn url(&self) -> String {
        format!("http://{}", self.plan.nodes[0].api)
    }

    fn client(&self) -> Client {
        Client::new(&self.url(), None).unwrap()
    }

    /// Waits until `f` holds, failing with the node's log after [`WAIT`].
    fn wait_for(&mut self, what: &str, mut f: impl FnMut(&mut Net) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !f(self) {
            if let Some(status) = self.node.try_wait().unwrap() {
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
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Signs `op` as `signer` with its key file, submits it and waits until
    /// it is committed; its hash and height.
    fn commit(&mut self, signer: &str, op: Op) -> (String, u64) {
        let entity = self
            .plan
            .entities
            .iter()
            .find(|e| e.id.as_str() == signer)
            .unwrap_or_else(|| panic!("no entity {signer} in the network"));
        let key = read_key_file(&entity.key_file).unwrap();
        let client = self.client();
        let tx = TxBody {
            chain_id: self.plan.chain_id.clone(),
            signer: entity.id.clone(),
            nonce: client.next_nonce(&entity.id).unwrap(),
            op,
        }
        .sign(&key);
        let hash = client.submit(&tx).unwrap();
        let answer = client.wait_for_tx(&hash, WAIT).unwrap();
        assert_eq!(answer["status"], "committed", "{answer}\n{}", self.said());
        (hash, answer["height"].as_u64().unwrap())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.node.kill();
        let _ = self.node.wait();
    }
}

/// A running `minhbach query watch`: its stdout lines as they come, its
/// stderr so far; killed when dropped.
struct Watch {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Watch {
    fn start(url: &str, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_minhbach"))
            .args(["--node", url, "query", "watch"])
            .args(args)
            .env_remove("MINHBACH_NODE")
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start minhbach query watch");
        let (send, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Watch {
            child,
            lines,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr holds `needle`.
    fn wait_stderr(&mut self, needle: &str, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !self.stderr().contains(needle) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "watch exited ({status}) before saying {needle:?}:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "watch did not say {needle:?} within {wait:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The next line on stdout, within `wait`.
    fn next_line(&self, wait: Duration) -> Result<String, RecvTimeoutError> {
        self.lines.recv_timeout(wait)
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the exit.
    fn interrupt(&mut self) -> ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).unwrap();
        let deadline = Instant::now() + EXIT_WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "watch still runs {EXIT_WAIT:?} after SIGINT:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_prints_new_payments_over_the_floor_and_exits_0_on_sigint() {
    let mut net = Net::start();
    let (year, line) = (2026, "YTE.DTPT");
    net.commit("BTC", ops::appropriate(year, line, "BYT", 5_000_000_000));
    net.commit("BYT", ops::allocate(year, line, "BYT-BVBM", 3_000_000_000));
    let award = ops::award("C-1", year, line, "V-0001", 1_200_000_000, "Máy thở");
    net.commit("BYT-BVBM", award);

    let mut watch = Watch::start(
        &net.url(),
        &[
            "--entity",
            "BYT-BVBM",
            "--min-amount",
            "100.000.000",
            "--interval-ms",
            "200",
        ],
    );
    watch.wait_stderr("watching BYT-BVBM (Bệnh viện Bạch Mai) from height", WAIT);

    // Below the floor first: once the one above is printed, the one below
    // has been read (the watch goes in chain order) and left out.
    let (_, small_height) = net.commit("BYT-BVBM", ops::pay("C-1", 1_000_000, "HĐ-01"));
    let (hash, height) = net.commit("BYT-BVBM", ops::pay("C-1", 400_000_000, "HĐ-07/2026"));
    assert!(small_height < height);
    let printed = watch
        .next_line(LINE_WAIT)
        .unwrap_or_else(|e| panic!("no line ({e}); watch said:\n{}", watch.stderr()));
    let fields: Vec<&str> = printed.split("  ").filter(|f| !f.is_empty()).collect();
    assert_eq!(fields.len(), 8, "{printed:?}");
    let time = fields[0];
    assert!(
        time.starts_with("20") && time.ends_with('Z') && time.contains('T'),
        "{printed:?}"
    );
    assert!(humantime::parse_rfc3339(time).is_ok(), "{printed:?}");
    assert_eq!(fields[1].trim(), format!("#{height}"), "{printed:?}");
    assert_eq!(fields[2].trim(), "payment", "{printed:?}");
    assert_eq!(fields[3].trim(), "400,000,000 ₫", "{printed:?}");
    assert_eq!(fields[4], "C-1", "{printed:?}");
    assert_eq!(fields[5], "V-0001", "{printed:?}");
    assert_eq!(fields[6], &hash[..12], "{printed:?}");
    assert_eq!(fields[7], "HĐ-07/2026", "{printed:?}");

    // Nothing else comes: not the payment below the floor, not the award
    // committed before the watch started.
    assert_eq!(
        watch.next_line(Duration::from_millis(800)),
        Err(RecvTimeoutError::Timeout),
        "{}",
        watch.stderr()
    );
    // An amendment upwards: its line, then the red flag it raises.
    let amend = ledger::Op::AmendContract {
        contract: ops::cid("C-1"),
        amount: ledger::Amount(1_500_000_000),
        reason: "Bổ sung".into(),
        document_hash: None,
    };
    let (amend_hash, amend_height) = net.commit("BYT-BVBM", amend);
    let amended = watch.next_line(LINE_WAIT).unwrap();
    assert!(amended.contains("amendment"), "{amended:?}");
    let flag = watch
        .next_line(LINE_WAIT)
        .unwrap_or_else(|e| panic!("no flag ({e}); watch said:\n{}", watch.stderr()));
    let fields: Vec<&str> = flag
        .split("  ")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    let id = format!("amended-upward:{amend_hash}");
    assert_eq!(
        fields,
        [
            format!("#{amend_height}").as_str(),
            "flag",
            id.as_str(),
            format!("/flags/{id}").as_str()
        ],
        "{flag:?}"
    );
    let status = watch.interrupt();
    assert_eq!(status.code(), Some(0), "{status}:\n{}", watch.stderr());
    let said = watch.stderr();
    assert!(!said.contains("error") && !said.contains("panic"), "{said}");
    let rest: Vec<String> = watch.lines.try_iter().collect();
    assert!(rest.is_empty(), "{rest:?}");

    // From a height, as JSON lines: the award, both payments, in order.
    let mut replay = Watch::start(
        &net.url(),
        &[
            "--entity",
            "V-0001",
            "--from-height",
            "1",
            "--output",
            "json",
        ],
    );
    let kinds: Vec<Value> = (0..3)
        .map(|_| {
            let l = replay.next_line(LINE_WAIT).unwrap();
            serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .collect();
    let summary: Vec<(&str, &str, &str)> = kinds
        .iter()
        .map(|v| {
            (
                v["kind"].as_str().unwrap(),
                v["amount"].as_str().unwrap(),
                v["counterparty"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("award", "1200000000", "BYT-BVBM"),
            ("payment", "1000000", "BYT-BVBM"),
            ("payment", "400000000", "BYT-BVBM"),
        ]
    );
    assert_eq!(kinds[2]["hash"], json!(hash));
    assert_eq!(replay.interrupt().code(), Some(0), "{}", replay.stderr());

    // An entity the chain does not have: not_found, exit 1.
    let run = minhbach(&["--node", &net.url(), "query", "watch", "--entity", "V-9999"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("not_found"), "{run:?}");
    assert!(run.stderr.contains("V-9999"), "{run:?}");
}

#[test]
fn a_node_that_goes_away_is_reported_once_and_asked_again() {
    let entity = json!({
        "id": "BYT-BVBM", "kind": "department", "name": "Bệnh viện \u{1b}[31mBạch Mai",
        "parent": "BYT", "public_key": "11".repeat(32), "status": "active", "next_nonce": 1,
        "budgets": [],
    });
    let stub = Stub::start(move |r| match r.target.as_str() {
        "/v1/entities/BYT-BVBM" => (200, entity.to_string()),
        "/v1/status" => (200, json!({"height": 7}).to_string()),
        "/v1/entities/BYT-BVBM/txs?cursor=7.4294967295" => {
            (200, json!({"txs": [], "next": null}).to_string())
        }
        "/v1/flags?entity=BYT-BVBM" => (200, json!({"height": 7, "flags": []}).to_string()),
        _ => (
            404,
            json!({"error": {"code": "not_found", "message": r.target}}).to_string(),
        ),
    });
    let url = stub.url.clone();
    let mut watch = Watch::start(&url, &["--entity", "BYT-BVBM", "--interval-ms", "100"]);
    watch.wait_stderr("watching BYT-BVBM (Bệnh viện Bạch Mai) from height 8", WAIT);
    let deadline = Instant::now() + WAIT;
    while !stub
        .targets()
        .iter()
        .any(|t| t.contains("cursor=7.4294967295"))
    {
        assert!(Instant::now() < deadline, "{:?}", stub.targets());
        std::thread::sleep(Duration::from_millis(20));
    }

    drop(stub);
    watch.wait_stderr("warning: node unreachable at", LINE_WAIT);
    // Backing off (0.2, 0.4, 0.8 s...), still running, still one warning.
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        watch.child.try_wait().unwrap().is_none(),
        "{}",
        watch.stderr()
    );
    assert_eq!(
        watch.stderr().matches("warning:").count(),
        1,
        "{}",
        watch.stderr()
    );
    assert!(!watch.stderr().contains('\u{1b}'), "{:?}", watch.stderr());
    let status = watch.interrupt();
    assert_eq!(status.code(), Some(0), "{status}:\n{}", watch.stderr());
}

#[test]
fn bad_starts_exit_as_every_query_does() {
    // Nothing listens: exit 3.
    let run = minhbach(&[
        "--node",
        &closed_url(),
        "query",
        "watch",
        "--entity",
        "BYT-BVBM",
    ]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains("unreachable"), "{run:?}");
    // CSV is not a stream: a usage error before anything is sent.
    let run = minhbach(&[
        "--node",
        &closed_url(),
        "query",
        "watch",
        "--entity",
        "BYT-BVBM",
        "--output",
        "csv",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    // A bad id or amount is clap's usage error.
    let run = minhbach(&["query", "watch", "--entity", "not an id"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = minhbach(&["query", "watch", "--entity", "V-1", "--min-amount", "1.5"]);
    assert_eq!(run.code, Some(2), "{run:?}");
}
