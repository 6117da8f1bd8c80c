//! `minhbach bench` end to end: the real binary starts a cluster of four
//! validator processes, commits a short load, stops them, and its last line
//! of stdout is a JSON report whose checks all pass.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// Longest a bench run may take before the test stops it.
const RUN_DEADLINE: Duration = Duration::from_secs(150);
/// After SIGTERM, how long the bench has to stop its nodes and exit.
const STOP_GRACE: Duration = Duration::from_secs(20);

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `minhbach bench args...`, stopping it with SIGTERM (which makes it
/// stop its nodes) and then SIGKILL if it outlives the deadline.
fn bench(dir: &Path, args: &[&str]) -> Ran {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .arg("bench")
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .expect("start minhbach bench");
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            let grace = Instant::now() + STOP_GRACE;
            while child.try_wait().unwrap().is_none() && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "minhbach bench ran over {} s; stderr:\n{}",
                RUN_DEADLINE.as_secs(),
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ran {
        status,
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
    }
}

fn last_json(ran: &Ran) -> Value {
    let line = ran.stdout.lines().last().expect("some output");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {ran:?}"))
}

#[test]
fn a_short_run_commits_every_accepted_transaction_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = bench(
        tmp.path(),
        &["--validators", "4", "--duration", "3s", "--rate", "200"],
    );
    assert!(ran.status.success(), "{ran:?}");
    let r = last_json(&ran);
    let n = |field: &str| {
        r[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {r}"))
    };
    assert_eq!(n("validators"), 4);
    assert_eq!(n("lost"), 0, "{ran:?}");
    assert_eq!(n("duplicated"), 0, "{ran:?}");
    assert!(r["chain_agrees"].as_bool().unwrap(), "{ran:?}");
    assert!(n("accepted") > 0, "{ran:?}");
    assert_eq!(n("committed"), n("accepted"), "{ran:?}");
    assert_eq!(r["drain"], "complete");
    let latency = &r["latency_ms"];
    let p: Vec<f64> = ["p50", "p95", "p99", "max"]
        .iter()
        .map(|k| {
            latency[k]
                .as_f64()
                .unwrap_or_else(|| panic!("{k} in {latency}"))
        })
        .collect();
    assert!(p[0] > 0.0, "{latency}");
    assert!(p.windows(2).all(|w| w[0] <= w[1]), "{latency}");
    assert!(r["committed_tx_per_s"].as_f64().unwrap() > 0.0);
    assert!(r["blocks_per_s"].as_f64().unwrap() > 0.0);
    assert!(r["ceiling"]["ceiling_tx_per_s"].as_f64().unwrap() > 0.0);
    let nodes = r["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node["name"], format!("validator-{i}"));
        assert!(node["peak_rss_bytes"].as_u64().unwrap() > 0, "{node}");
        assert!(node["cpu_percent"].as_f64().is_some(), "{node}");
    }
    assert_eq!(r["bench"]["name"], "bench");
    assert!(r["bench"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    // The summary is for people; the last line is the whole report.
    assert!(ran.stdout.contains("committed tx/s"), "{ran:?}");
}

#[test]
fn readers_read_a_full_node_that_is_reported_beside_the_validators() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = bench(
        tmp.path(),
        &[
            "--validators",
            "1",
            "--readers",
            "2",
            "--duration",
            "3s",
            "--rate",
            "100",
        ],
    );
    assert!(ran.status.success(), "{ran:?}");
    let r = last_json(&ran);
    let names: Vec<&str> = r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["validator-0", "full-0"], "{r}");
    assert_eq!(r["bench"]["name"], "bench");
    assert!(r["bench"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    let all = r["readers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["page"] == "all")
        .expect("a line for all pages");
    assert!(all["requests"].as_u64().unwrap() > 0, "{all}");
    assert_eq!(all["failed"], 0, "{all}");
}

#[test]
fn a_bad_mix_is_a_usage_error_that_says_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = bench(tmp.path(), &["--mix", "pay=80,refund=20"]);
    assert_eq!(ran.status.code(), Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("\"refund\" is not an operation"),
        "{ran:?}"
    );
    let ran = bench(tmp.path(), &["--rate", "fast"]);
    assert_eq!(ran.status.code(), Some(2), "{ran:?}");
}

#[test]
fn calibration_measures_without_starting_a_node() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = bench(tmp.path(), &["--calibrate", "--validators", "7"]);
    assert!(ran.status.success(), "{ran:?}");
    let r = last_json(&ran);
    assert_eq!(r["validators"], 7);
    let c = &r["ceiling"];
    for field in [
        "verify_single_per_s",
        "verify_batch_64_per_s",
        "verify_batch_1024_per_s",
        "ceiling_tx_per_s",
    ] {
        assert!(c[field].as_f64().unwrap() > 0.0, "{field} in {c}");
    }
    assert!(c["cores"].as_u64().unwrap() >= 1);
    assert!(!ran.stderr.contains("started"), "{ran:?}");
}
