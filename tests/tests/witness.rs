//! The rewrite of history, end to end, with real processes: a network of
//! four validators and two witnesses that follow it; then the same
//! validators, from the same genesis and with the same keys, sign another
//! history. A witness shown the second history refuses it and proves the
//! fork; `minhbach verify fork` names the four validators; an audit bundle
//! of the second history does not pass `--witnesses 2`, one of the first
//! does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use genesis::EntityTemplate;
use ledger::tx::EntityKind;
use ledger::EntityId;
use serde_json::Value;
use tests::cluster::{wait_for, Cluster};
use tests::ops::appropriate;

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(60);
/// The exit code of a witness that found a fork.
const EXIT_FORK: i32 = 4;

/// Runs the binary to its end; exit code, stdout and stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `minhbach witness run`, killed when dropped.
struct Witness {
    child: Child,
    home: PathBuf,
}

impl Witness {
    fn start(home: &Path, nodes: &[String]) -> Witness {
        let mut args = vec![
            "witness".to_owned(),
            "run".into(),
            "--home".into(),
            home.display().to_string(),
            "--interval-ms".into(),
            "200".into(),
        ];
        for n in nodes {
            args.push("--node".into());
            args.push(n.clone());
        }
        let child = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(home.join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        Witness {
            child,
            home: home.to_owned(),
        }
    }

    /// Waits for the witness to exit; its code.
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the witness did not exit within {timeout:?}; stderr:\n{}",
            self.stderr()
        );
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.home.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The story's entities and a second witness, a newsroom.
fn entities() -> Vec<EntityTemplate> {
    let mut e = genesis::story::entities();
    e.push(EntityTemplate {
        id: EntityId::new("BAO-TT").unwrap(),
        kind: EntityKind::Observer,
        name: "Báo Tuổi Trẻ".into(),
        parent: None,
    });
    e
}

/// Makes a witness home for `id`, with the entity's key from the plan.
fn witness_home(c: &Cluster, dir: &Path, id: &str) -> PathBuf {
    let home = dir.join(id);
    let plan = c
        .plan
        .entity(&EntityId::new(id).unwrap())
        .expect("the witness is in the plan");
    let (code, out, err) = run(&[
        "witness",
        "init",
        "--home",
        home.to_str().unwrap(),
        "--id",
        id,
        "--genesis",
        c.plan.genesis.to_str().unwrap(),
        "--key",
        plan.key_file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    home
}

fn get(url: &str) -> Value {
    let r = reqwest::blocking::get(url).unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().unwrap()
}

/// The lowest height the witnesses' cosignatures held by node `i` cover.
fn cosigned_by_all(c: &Cluster, i: usize, witnesses: &[&str]) -> Option<u64> {
    let v = get(&format!("{}/v1/cosignatures", c.node(i).api_url()));
    let list = v["cosignatures"].as_array()?;
    witnesses
        .iter()
        .map(|w| {
            list.iter()
                .find(|x| x["witness"] == *w)
                .and_then(|x| x["height"].as_u64())
        })
        .collect::<Option<Vec<u64>>>()?
        .into_iter()
        .min()
}

/// Commits an appropriation of `amount` through node 0; its hash.
fn commit(c: &Cluster, amount: u64) -> String {
    let tx = c.sign_next(0, "BTC", appropriate("BYT", "YTE.TX", amount));
    let hash = c.submit(0, &tx).unwrap();
    c.wait_committed(0, &hash, BLOCKS);
    hash
}

/// Fetches the bundle of `hash` from node 0 into `dir`.
fn bundle(c: &Cluster, hash: &str, dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(name);
    let (code, out, err) = run(&[
        "--node",
        &c.node(0).api_url(),
        "proof",
        "tx",
        hash,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    file
}

fn verify_with_witnesses(file: &Path, genesis: &Path, k: &str) -> (Option<i32>, String, String) {
    run(&[
        "--output",
        "json",
        "verify",
        "proof",
        file.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--witnesses",
        k,
    ])
}

#[test]
fn a_rewritten_history_is_refused_by_a_witness_and_proven() {
    let mut c = Cluster::with_entities(BIN, 4, 0, entities());
    let dir = tempfile::tempdir().unwrap();
    let witnesses = ["KTNN", "BAO-TT"];
    let homes: Vec<PathBuf> = witnesses
        .iter()
        .map(|w| witness_home(&c, dir.path(), w))
        .collect();
    let genesis = c.plan.genesis.clone();

    // History A, followed by both witnesses.
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let nodes: Vec<String> = (0..2).map(|i| c.node(i).api_url()).collect();
    let mut running: Vec<Witness> = homes.iter().map(|h| Witness::start(h, &nodes)).collect();
    let paid_a = commit(&c, 1_250_000);
    // Long enough for each witness to keep several checkpoints of A, each
    // certified by the precommits of three or four validators.
    let a_height = c.height(0).unwrap() + 12;
    let covered = wait_for("both witnesses to cosign history A", BLOCKS, || {
        cosigned_by_all(&c, 0, &witnesses).filter(|h| *h >= a_height)
    });
    let bundle_a = bundle(&c, &paid_a, dir.path(), "a.json");
    let (code, out, err) = verify_with_witnesses(&bundle_a, &genesis, "2");
    assert_eq!(code, Some(0), "{out}\n{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary["witnesses"].as_array().map(Vec::len),
        Some(2),
        "{out}"
    );
    for w in &mut running {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    drop(running);

    // History B: the same genesis and validator keys, run again from
    // nothing, with other transactions.
    for i in 0..4 {
        c.stop(i);
        std::fs::remove_dir_all(c.node(i).home.join("data")).unwrap();
    }
    c.start_all();
    c.wait_height(0, 1, BLOCKS);
    let paid_b = commit(&c, 999_000);
    c.wait_height(0, covered + 2, BLOCKS);
    let bundle_b = bundle(&c, &paid_b, dir.path(), "b.json");

    // A witness pointed at B refuses, writes a fork proof and exits 4.
    let mut w = Witness::start(&homes[0], &[c.node(0).api_url()]);
    assert_eq!(w.wait_exit(BLOCKS), Some(EXIT_FORK), "{}", w.stderr());
    let proof = std::fs::read_dir(&homes[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("fork-proof-"))
        })
        .unwrap_or_else(|| panic!("no fork proof written; stderr:\n{}", w.stderr()));
    let (code, out, err) = run(&[
        "--output",
        "json",
        "verify",
        "fork",
        proof.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let fork: Value = serde_json::from_str(&out).unwrap();
    let mut named: Vec<String> = fork["signed_both"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    named.sort();
    // The proof holds pairs at several heights, so every validator that
    // certified a block of each history is named: all four.
    let mut validators: Vec<String> = c.plan.nodes[..4].iter().map(|n| n.name.clone()).collect();
    validators.sort();
    assert_eq!(named, validators, "{out}");
    assert!(fork["heights"].as_array().map_or(0, Vec::len) > 1, "{out}");

    // No witness stands behind history B; A's bundle still passes.
    let (code, out, err) = verify_with_witnesses(&bundle_b, &genesis, "2");
    assert_eq!(code, Some(1), "{out}\n{err}");
    let (code, out, err) = verify_with_witnesses(&bundle_a, &genesis, "2");
    assert_eq!(code, Some(0), "{out}\n{err}");
}
