//! Disk faults on one validator of four, with real node processes: its data
//! folder (`HOME/data`, the RocksDB store) is a small tmpfs of its own.
//!
//! - Disk full: a filler file takes all the space while the network
//!   commits. The validator must stop committing with a clear error (log,
//!   `/v1/status`, `/readyz`, metrics), stay up serving reads while the
//!   other three go on, and once the filler is removed, resume by itself,
//!   catch up with the same block hashes, vote again, and leave a store
//!   that `minhbach verify chain` accepts.
//! - Read-only: Linux refuses to remount a file system read-only while a
//!   process has files open on it for writing (RocksDB always has), so the
//!   validator is stopped, its tmpfs remounted read-only and the validator
//!   started again: it must come up serving reads with the same clear
//!   error and not exit; once remounted read-write, it must resume by
//!   itself, with the same expectations.
//!
//! Mounting needs root (CI runs as root); without it the tests fail saying
//! so. The mounts are undone when a test ends, even by a panic, after the
//! node processes are killed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ledger::{Amount, EntityId, LineCode, Op, Year};
use serde_json::Value;
use tests::cluster::{wait_for, Cluster};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
/// A generous bound for anything that takes a few blocks.
const BLOCKS: Duration = Duration::from_secs(90);
/// The validator whose disk fails.
const FAULTY: usize = 3;
/// The size of its data folder's tmpfs: room for the store's files, with
/// the filler taking the rest.
const TMPFS_SIZE: &str = "24m";
/// Blocks the other validators must commit while the faulty one is down.
const BLOCKS_WHILE_DOWN: u64 = 5;

/// A tmpfs mounted on a folder; unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Tmpfs {
    fn mount(path: &Path) -> Tmpfs {
        std::fs::create_dir_all(path).expect("the mount point");
        if let Err(e) = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE}"), "tmpfs"])
            .arg(path))
        {
            panic!(
                "this test puts a validator's store on a tmpfs of its own and needs root \
                 (CI runs as root); mounting failed: {e}"
            );
        }
        Tmpfs {
            path: path.to_owned(),
        }
    }

    /// Remounts read-only (`"ro"`) or read-write (`"rw"`).
    fn remount(&self, mode: &str) -> Result<(), String> {
        run(Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.path))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if run(Command::new("umount").arg(&self.path)).is_err() {
            let _ = run(Command::new("umount").arg("-l").arg(&self.path));
        }
    }
}

/// A 4-validator network whose validator [`FAULTY`] keeps its store on a
/// tmpfs. Dropping it kills the nodes, then unmounts.
struct Net {
    c: Cluster,
    disk: Option<Tmpfs>,
}

impl Net {
    fn start() -> Net {
        let c = Cluster::new(BIN, 4, 0);
        let disk = Tmpfs::mount(&c.node(FAULTY).home.join("data"));
        let mut net = Net {
            c,
            disk: Some(disk),
        };
        net.c.start_all();
        for i in 0..4 {
            net.c.wait_height(i, 3, BLOCKS);
        }
        net
    }

    fn data(&self) -> PathBuf {
        self.c.node(FAULTY).home.join("data")
    }

    fn disk(&self) -> &Tmpfs {
        self.disk.as_ref().expect("mounted")
    }

    fn status(&self, i: usize) -> Option<Value> {
        self.c.client(i).get("/v1/status").ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.c.node(FAULTY).home.join("node.log")).unwrap_or_default()
    }

    /// Waits until the faulty validator reports its store unwritable; its
    /// status.
    fn wait_unwritable(&self) -> Value {
        wait_for(
            "the validator to report its store unwritable",
            BLOCKS,
            || self.status(FAULTY).filter(|s| s["store_writable"] == false),
        )
    }

    /// The expectations while the store cannot be written: the fault is
    /// reported with `os_error` in the status, the log (with the folder's
    /// path), the metrics and `/readyz`; the process stays up serving reads
    /// and commits nothing while the others commit [`BLOCKS_WHILE_DOWN`]
    /// blocks.
    fn check_down(&mut self, status: &Value, os_error: &str) {
        let error = status["store_error"].as_str().unwrap_or_default();
        assert!(error.contains(os_error), "store_error: {status:#}");
        let data = self.data().display().to_string();
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains("ERROR") && l.contains("cannot be written"))
            .unwrap_or_else(|| panic!("no error line in the log:\n{}", self.c.log_tail(FAULTY)));
        assert!(
            line.contains(&data) && line.contains(os_error),
            "the error line names neither {data} nor {os_error:?}: {line}"
        );
        println!("{line}");
        assert_eq!(self.c.metric(FAULTY, "minhbach_store_writable"), 0.0);
        assert!(self.c.metric(FAULTY, "minhbach_store_write_failures_total") >= 1.0);
        let ready = self.c.client(FAULTY).get("/readyz");
        assert!(ready.is_err(), "ready with an unwritable store: {ready:?}");

        let stuck = status["height"].as_u64().expect("height");
        let others = self.c.height(0).expect("validator 0 answers");
        for i in 0..3 {
            self.c
                .wait_height(i, others.max(stuck) + BLOCKS_WHILE_DOWN, BLOCKS);
        }
        assert!(
            self.c.is_running(FAULTY),
            "the validator exited:\n{}",
            self.c.log_tail(FAULTY)
        );
        let now = self.status(FAULTY).expect("it still answers");
        assert_eq!(
            now["height"].as_u64(),
            Some(stuck),
            "it committed while down"
        );
        assert_eq!(now["store_writable"], false);
        // Reads are served from the store it has.
        assert_eq!(
            self.c.block_hash(FAULTY, stuck),
            self.c.block_hash(0, stuck)
        );
    }

    /// Waits until the faulty validator writes again and catches up with
    /// the others; then checks the chains agree, that it votes again, and
    /// that its store verifies offline. Returns (ms until writable, ms
    /// until caught up), from `cleared`.
    fn check_resumed(&mut self, cleared: Instant, committed_meanwhile: &str) -> (u128, u128) {
        wait_for("the validator to write its store again", BLOCKS, || {
            self.status(FAULTY).filter(|s| s["store_writable"] == true)
        });
        let writable_ms = cleared.elapsed().as_millis();
        let target = self.c.height(0).expect("validator 0 answers");
        self.c.wait_height(FAULTY, target, BLOCKS);
        let caught_up_ms = cleared.elapsed().as_millis();
        let log = self.log();
        let resumed = log
            .lines()
            .find(|l| l.contains("can be written again; resuming"))
            .expect("a log line saying it resumed");
        println!("{resumed}");
        assert_eq!(self.c.metric(FAULTY, "minhbach_store_writable"), 1.0);
        self.c.wait_committed(FAULTY, committed_meanwhile, BLOCKS);
        assert_same_chain(&self.c, target);

        // It votes again: its own precommit is in a later certificate.
        let me = self.c.validator_key(FAULTY).public_key().to_hex();
        let mut h = target + 1;
        wait_for("the validator to precommit again", BLOCKS, || {
            let block = self.c.client(FAULTY).get(&format!("/v1/blocks/{h}")).ok()?;
            h += 1;
            block["commit"]["precommits"]
                .as_array()?
                .iter()
                .any(|p| p["validator"] == me.as_str())
                .then_some(())
        });
        wait_for("the validator to be ready again", BLOCKS, || {
            self.c.client(FAULTY).get("/readyz").ok()
        });

        assert!(self.c.stop(FAULTY), "it stops cleanly on SIGTERM");
        let out = Command::new(BIN)
            .args(["verify", "chain", "--home"])
            .arg(&self.c.node(FAULTY).home)
            .output()
            .expect("run verify chain");
        assert!(
            out.status.success(),
            "verify chain: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (writable_ms, caught_up_ms)
    }

    /// Submits a transaction to validator 0 and waits until it commits
    /// there; its hash.
    fn commit_one(&self, amount: u64) -> String {
        let op = Op::Appropriate {
            year: Year(2026),
            line: LineCode::new("YTE.DTPT").unwrap(),
            to: EntityId::new("BYT").unwrap(),
            amount: Amount(amount),
            legal_ref: "Nghị quyết 01/2026/QH15".into(),
        };
        let tx = self.c.sign_next(0, "BTC", op);
        let hash = self.c.submit(0, &tx).expect("accepted");
        self.c.wait_committed(0, &hash, BLOCKS);
        hash
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Nothing may hold the mount when it goes.
        for i in 0..4 {
            self.c.kill(i);
        }
        self.disk.take();
    }
}

/// Every node has the same block hash at every height up to `top`.
fn assert_same_chain(c: &Cluster, top: u64) {
    for h in 1..=top {
        let first = c.block_hash(0, h).expect("block");
        for i in 1..4 {
            assert_eq!(
                c.block_hash(i, h).as_deref(),
                Some(first.as_str()),
                "node {i} differs from node 0 at height {h}"
            );
        }
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("the filler file");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    // The last partial page too.
    while let Ok(1) = f.write(&[0u8]) {}
}

#[test]
fn a_full_disk_stops_commits_with_a_clear_error_and_they_resume_once_space_returns() {
    let mut net = Net::start();
    let filler = net.data().join("filler");
    let full_at = Instant::now();
    fill(&filler);
    let status = net.wait_unwritable();
    let detect_ms = full_at.elapsed().as_millis();
    net.check_down(&status, "No space left on device");
    let hash = net.commit_one(1_000_000);

    std::fs::remove_file(&filler).expect("remove the filler");
    let (writable_ms, caught_up_ms) = net.check_resumed(Instant::now(), &hash);
    println!(
        "disk full: detected in {detect_ms} ms; after the filler was removed, writable in \
         {writable_ms} ms, caught up in {caught_up_ms} ms"
    );
}

#[test]
fn a_read_only_disk_stops_commits_with_a_clear_error_and_they_resume_once_writable() {
    let mut net = Net::start();
    assert!(net.c.stop(FAULTY), "it stops cleanly on SIGTERM");
    net.disk().remount("ro").expect("remount read-only");
    let started = Instant::now();
    net.c.start(FAULTY);
    let status = net.wait_unwritable();
    let detect_ms = started.elapsed().as_millis();
    net.check_down(&status, "Read-only file system");
    let hash = net.commit_one(2_000_000);

    net.disk().remount("rw").expect("remount read-write");
    let (writable_ms, caught_up_ms) = net.check_resumed(Instant::now(), &hash);
    println!(
        "read-only disk: reported {detect_ms} ms after start; after remounting read-write, \
         writable in {writable_ms} ms, caught up in {caught_up_ms} ms"
    );
}
