//! Backups and restores of a validator in a running network of four
//! processes (README "Backups"): validator 3 is backed up while it runs,
//! the network moves on, and it is restored from that older backup, once
//! into its own home (whose newer safety record must be kept) and once
//! into an empty one (where it must not sign until it has caught up). It
//! signs again afterwards, no evidence ever appears against it, and every
//! node keeps one chain.
//!
//! Every wait has a deadline; the processes are killed when the test ends,
//! even by a panic.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tests::cluster::{wait_for, Cluster};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
const BLOCKS: Duration = Duration::from_secs(60);
const VALIDATORS: usize = 4;
const RESTORED: usize = 3;

/// Runs `minhbach ARGS --output json`; returns its JSON, or panics with
/// its stderr.
fn minhbach(args: &[&str]) -> (Value, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run minhbach");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "minhbach {args:?} failed: {stderr}");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("minhbach {args:?} printed no JSON ({e}): {stderr}"));
    (json, stderr)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The lowest height all running validators have committed.
fn common_height(c: &Cluster) -> u64 {
    (0..VALIDATORS)
        .map(|i| c.height(i).unwrap_or(0))
        .min()
        .unwrap()
}

/// Waits until a block above `above`, committed by the others, carries
/// validator `i`'s precommit: it signs again.
fn wait_signs(c: &Cluster, i: usize, above: u64) -> u64 {
    let key = c.validator_key(i).public_key().to_hex();
    wait_for(
        &format!("a block above {above} precommitted by validator {i}"),
        BLOCKS,
        || {
            let top = c.height(0)?;
            (above + 1..=top).find(|h| {
                c.client(0)
                    .get(&format!("/v1/blocks/{h}"))
                    .ok()
                    .and_then(|b| b["commit"]["precommits"].as_array().cloned())
                    .is_some_and(|ps| ps.iter().any(|p| p["validator"] == key.as_str()))
            })
        },
    )
}

fn assert_no_evidence(c: &Cluster) {
    for i in 0..VALIDATORS {
        let list = c.client(i).get("/v1/evidence").expect("evidence answers");
        let list = list["evidence"].as_array().expect("an evidence list");
        assert!(list.is_empty(), "node {i} holds evidence: {list:?}");
    }
}

#[test]
fn a_validator_restored_from_an_older_backup_never_signs_a_conflicting_vote() {
    let mut c = Cluster::new(BIN, VALIDATORS, 0);
    c.start_all();
    for i in 0..VALIDATORS {
        c.wait_height(i, 3, BLOCKS);
    }
    let home = c.node(RESTORED).home.clone();
    let backup = c.dir().join("v3.backup");

    // Online, with the keys (so that an empty home can be restored).
    let (made, stderr) = minhbach(&[
        "backup",
        "--home",
        path(&home),
        "--out",
        path(&backup),
        "--with-keys",
    ]);
    assert!(stderr.contains("holds this node's keys"), "{stderr}");
    let backed_up = made["height"].as_u64().expect("a height");
    assert!(backed_up >= 3, "{made}");
    let files: Vec<&str> = made["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in ["config.toml", "genesis.json", "node_key", "validator_key"] {
        assert!(files.contains(&f), "{f} missing from {files:?}");
    }
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup is readable by its owner only");

    // 1. The network moves on; the validator goes back to the older backup
    //    in its own home, whose newer safety record must be kept.
    c.wait_height(0, backed_up + 8, BLOCKS);
    c.kill(RESTORED);
    let (restored, stderr) = minhbach(&["restore", path(&backup), "--home", path(&home)]);
    let signing = restored["signing"].as_str().unwrap();
    assert!(
        signing.contains("kept this home's safety record"),
        "{signing}"
    );
    assert!(stderr.contains("data.replaced-"), "{stderr}");
    assert_eq!(restored["height"].as_u64(), Some(backed_up));
    c.start(RESTORED);
    let top = c.height(0).unwrap();
    c.wait_height(RESTORED, top, BLOCKS);
    let signed = wait_signs(&c, RESTORED, top);

    // 2. Lost entirely: the older backup goes into an empty home. The node
    //    signs nothing until it has caught up, then signs again.
    c.wait_height(0, signed + 3, BLOCKS);
    c.kill(RESTORED);
    std::fs::remove_dir_all(&home).unwrap();
    let (restored, _) = minhbach(&["restore", path(&backup), "--home", path(&home)]);
    let signing = restored["signing"].as_str().unwrap();
    assert!(signing.contains("signs nothing until"), "{signing}");
    for key in ["node_key", "validator_key"] {
        let mode = std::fs::metadata(home.join(key))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    let network = c.height(0).unwrap();
    c.start(RESTORED);
    c.wait_height(RESTORED, network, BLOCKS);
    let resumed = wait_signs(&c, RESTORED, network);
    assert!(
        resumed >= network + 3,
        "validator {RESTORED} signed block {resumed}, but the network was at {network} \
         when it came back: it must sit out two heights after catching up"
    );
    let log = c.log_tail(RESTORED);
    assert!(
        log.contains("caught up with the network after a restore"),
        "{log}"
    );

    // Nothing it signed conflicts with what it signed before: no evidence
    // anywhere, and one chain.
    c.wait_height(0, resumed + 3, BLOCKS);
    assert_no_evidence(&c);
    let h = common_height(&c);
    for height in 1..=h {
        let hashes: Vec<Option<String>> =
            (0..VALIDATORS).map(|i| c.block_hash(i, height)).collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1] && w[0].is_some()),
            "height {height}: {hashes:?}"
        );
    }
}
