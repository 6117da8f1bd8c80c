//! `minhbach devnet` end to end: the first run writes the network and
//! devnet.json, starts the nodes as separate processes, commits blocks and
//! the demo feed's transactions, and runs the State Audit Office's witness,
//! whose cosignatures the nodes hold and the explorer's block pages show;
//! SIGTERM stops every node and the witness; a second run resumes the same
//! chain with the same witness home; `kill -9` of the devnet takes its
//! nodes and its witness with it; `kill -9` of one validator leaves the
//! others committing, and the devnet starts it again.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use node::testnet::{NetworkPlan, Role};
use tools::client::Client;

/// Bound on every wait of this test.
const WAIT_MS_MAX: u64 = 90_000;

/// A running `minhbach devnet`, killed with its nodes if the test ends
/// (or fails) while it runs.
struct Devnet {
    child: Option<Child>,
    log: PathBuf,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let running = self.child.is_some();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if running || std::thread::panicking() {
            for pid in node_pids(&self.log) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

fn start(dir: &Path, log: &Path, extra: &[&str]) -> Devnet {
    let child = Command::new(env!("CARGO_BIN_EXE_minhbach"))
        .arg("devnet")
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(log).unwrap())
        .spawn()
        .expect("start minhbach devnet");
    Devnet {
        child: Some(child),
        log: log.to_owned(),
    }
}

fn wait_for<T>(what: &str, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS_MAX);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; devnet said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn said(log: &Path, text: &str) -> bool {
    std::fs::read_to_string(log).is_ok_and(|s| s.contains(text))
}

/// The pids the devnet reported for its nodes and its witness.
fn node_pids(log: &Path) -> Vec<i32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("devnet: started ") || l.starts_with("devnet: restarted "))
        .map(|l| {
            let pid = l.rsplit("pid ").next().unwrap().trim_end_matches(')');
            pid.parse().unwrap()
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks the process exists; a reaped child no longer does.
    kill(Pid::from_raw(pid), None).is_ok()
}

/// SIGTERM, then the devnet must exit 0 and leave no node running.
fn stop(mut devnet: Devnet, log: &Path) {
    let pids = node_pids(log);
    let mut child = devnet.child.take().expect("running");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = wait_for("the devnet to exit", log, || child.try_wait().unwrap());
    assert!(
        status.success(),
        "{status}: {}",
        std::fs::read_to_string(log).unwrap()
    );
    for pid in pids {
        assert!(!alive(pid), "node process {pid} is still running");
    }
}

fn height(client: &Client) -> Option<u64> {
    client.get("/v1/status").ok()?["height"].as_u64()
}

/// The highest height KTNN has cosigned, as the node holds it.
fn ktnn_cosigned(client: &Client) -> Option<u64> {
    let list = client.get("/v1/cosignatures").ok()?;
    list["cosignatures"]
        .as_array()?
        .iter()
        .filter(|c| c["witness"] == "KTNN")
        .filter_map(|c| c["height"].as_u64())
        .max()
}

/// The witnesses section of the explorer's page of block `h`, in English.
fn block_page_witnesses(explorer: &Client, h: u64) -> Option<String> {
    let page = explorer
        .get_bytes(&format!("/blocks/{h}?lang=en"), 1 << 20)
        .ok()?;
    let page = String::from_utf8(page).ok()?;
    let at = page.find("Outside witnesses")?;
    Some(page[at..].to_owned())
}

#[test]
fn devnet_runs_the_story_stops_cleanly_and_resumes_the_same_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let log = tmp.path().join("first.log");
    // Reserved for the whole test: the resumed devnet listens on them again.
    let ports = testkit::ports::reserve();
    let base = ports.base.to_string();
    let devnet = start(
        &dir,
        &log,
        &["--validators", "2", "--rate", "20", "--base-port", &base],
    );
    wait_for("the devnet to be ready", &log, || {
        said(&log, "devnet: ready").then_some(())
    });

    let plan = NetworkPlan::load(&dir.join("devnet.json")).unwrap();
    assert_eq!(plan.chain_id, "minhbach-devnet");
    assert_eq!(plan.validators().count(), 2);
    let full = plan
        .explorer_node()
        .expect("the full node serves the explorer");
    assert_eq!(full.role, Role::FullNode);
    assert!(
        said(&log, &full.explorer_url().unwrap()),
        "the explorer URL is printed"
    );
    assert!(plan.entities.iter().any(|e| e.name == "Bộ Tài chính"));
    for n in &plan.nodes {
        assert!(dir.join("logs").join(format!("{}.log", n.name)).exists());
    }

    // The feed's transactions commit: appropriations, allocations, and then
    // contracts that Bạch Mai awards out of its allocation.
    let client = Client::new(&full.api_url(), None).unwrap();
    wait_for("Bạch Mai's first committed contract", &log, || {
        let e = client.get("/v1/entities/BYT-BVBM").ok()?;
        let committed = e["budgets"].as_array()?.iter().any(|b| {
            b["committed"]
                .as_str()
                .and_then(|c| c.parse::<u64>().ok())
                .is_some_and(|c| c > 0)
        });
        committed.then_some(())
    });
    wait_for("a mistake refused as expected", &log, || {
        said(&log, "refused, as it must be").then_some(())
    });

    // The State Audit Office's witness follows two nodes, its home in the
    // devnet's folder, and stands behind block 1 on the node and its page.
    let home = dir.join("witness-KTNN");
    assert!(home.join("witness.json").exists());
    assert!(said(&log, "made the home of KTNN's witness"));
    assert!(dir.join("logs").join("witness-KTNN.log").exists());
    assert!(
        said(&log, "devnet: started witness-KTNN (outside witness, pid "),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(said(
        &log,
        &format!(
            "  witness      KTNN (Kiểm toán Nhà nước), cosigning the checkpoints of {} and \
             validator-0; home {}",
            full.name,
            home.display()
        )
    ));
    wait_for("a cosignature of KTNN at height 1 or above", &log, || {
        (ktnn_cosigned(&client)? >= 1).then_some(())
    });
    let explorer = Client::new(&full.explorer_url().unwrap(), None).unwrap();
    let witnesses = wait_for("block 1's page to name the witness", &log, || {
        block_page_witnesses(&explorer, 1).filter(|w| w.contains("Kiểm toán Nhà nước"))
    });
    assert!(witnesses.contains("cosigned up to block"), "{witnesses}");
    let cosigned_first = std::fs::read_to_string(home.join("cosigned.jsonl")).unwrap();
    let first_height = height(&client).unwrap();
    assert!(first_height > 0);
    stop(devnet, &log);
    assert!(
        !said(&log, "unexpected:"),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );

    // Again: the same chain, from where it stopped.
    let log2 = tmp.path().join("second.log");
    let devnet = start(&dir, &log2, &["--no-demo"]);
    wait_for("the resumed devnet to be ready", &log2, || {
        said(&log2, "devnet: ready").then_some(())
    });
    assert!(said(&log2, "resuming chain minhbach-devnet at height"));
    let resumed = height(&client).unwrap();
    assert!(resumed >= first_height, "{resumed} < {first_height}");
    // The same witness home, with what it cosigned before.
    assert!(!said(&log2, "made the home of KTNN's witness"));
    assert!(said(&log2, "devnet: started witness-KTNN"));
    let cosigned = std::fs::read_to_string(home.join("cosigned.jsonl")).unwrap();
    assert!(cosigned.starts_with(&cosigned_first));

    // kill -9 leaves the devnet no chance to stop its nodes: the kernel
    // tells each of them that its supervisor is gone.
    let pids = node_pids(&log2);
    assert_eq!(
        pids.len(),
        plan.nodes.len() + 1,
        "the nodes and the witness"
    );
    let mut devnet = devnet;
    let mut child = devnet.child.take().expect("running");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for(
        "the nodes and the witness to stop with their devnet",
        &log2,
        || pids.iter().all(|&pid| !alive(pid)).then_some(()),
    );
}

/// The pid the devnet last reported for `name`.
fn pid_of(log: &Path, name: &str) -> Option<i32> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .rfind(|l| {
            (l.starts_with("devnet: started ") || l.starts_with("devnet: restarted "))
                && l.contains(&format!(" {name} ("))
        })
        .map(|l| {
            l.rsplit("pid ")
                .next()
                .unwrap()
                .trim_end_matches(')')
                .parse()
                .unwrap()
        })
}

#[test]
fn a_validator_killed_under_the_demo_is_started_again_while_the_others_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let log = tmp.path().join("devnet.log");
    let devnet = start(
        &dir,
        &log,
        &["--validators", "4", "--rate", "20", "--no-witness"],
    );
    wait_for("the devnet to be ready", &log, || {
        said(&log, "devnet: ready").then_some(())
    });
    assert!(said(&log, "  witness      none (--no-witness)"));
    assert!(!said(&log, "witness-KTNN"));
    assert!(!dir.join("witness-KTNN").exists());
    let plan = NetworkPlan::load(&dir.join("devnet.json")).unwrap();
    let full = Client::new(&plan.explorer_node().unwrap().api_url(), None).unwrap();
    let victim = plan.nodes.iter().find(|n| n.name == "validator-1").unwrap();
    let pid = pid_of(&log, "validator-1").expect("validator-1's pid");
    wait_for("a few blocks", &log, || (height(&full)? >= 3).then_some(()));

    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    let at_kill = height(&full).unwrap();
    // The other three are a quorum: the chain goes on without it.
    wait_for("blocks without validator-1", &log, || {
        (height(&full)? >= at_kill + 3).then_some(())
    });
    assert!(
        said(&log, "validator-1 exited"),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    // It is started again within 10 s of its death, and catches up.
    let deadline = killed + Duration::from_secs(10);
    loop {
        if pid_of(&log, "validator-1").is_some_and(|p| p != pid) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "validator-1 not started again within 10 s:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let back = Client::new(&victim.api_url(), None).unwrap();
    wait_for("validator-1 to catch up", &log, || {
        let target = height(&full)?;
        (height(&back)? >= target).then_some(())
    });
    assert!(!said(&log, "Stopping the other nodes"));
    stop(devnet, &log);
}

#[test]
fn the_devnet_knows_the_exit_code_of_a_witness_that_found_a_fork() {
    assert_eq!(tools::devnet::witness::EXIT_FORK, cli::witness::EXIT_FORK);
}
