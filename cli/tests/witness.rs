//! `minhbach witness init`, `witness run` and `verify fork` end to end,
//! against stand-in nodes on 127.0.0.1 that serve checkpoints and
//! consistency proofs built from real stores: the witness cosigns each
//! checkpoint that extends the last one, hands the cosignature to every
//! node until each takes it, never cosigns what does not verify or a bad
//! proof's checkpoint, stops with exit 4 and a fork proof that `verify
//! fork` checks when a node shows another history (with earlier pairs that
//! name every validator who certified blocks of both), refuses to start
//! from a state it cannot read, starts from a home of the older shape
//! without recent checkpoints, and, killed with SIGKILL at random moments,
//! never cosigns below what it cosigned or two roots at one height.

#[path = "witness/behind.rs"]
mod behind;
#[path = "witness/changes.rs"]
mod changes;
#[path = "witness/fake.rs"]
mod fake;
#[path = "witness/recent.rs"]
mod recent;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fake::{genesis_json, wait_until, Chain, FakeNode, Rng, Running, Served, VALIDATORS, WITNESS};
use genesis::Genesis;
use ledger::crypto::write_key_file;
use ledger::testkit::key;
use ledger::witness::{CheckpointProof, Cosignature, ForkProof};
use recent::{assert_recent_linked, recent_heights};
use serde_json::Value;
use support::minhbach;

/// Bound on every wait for the witness to do something.
const WAIT: Duration = Duration::from_secs(20);

/// A temporary folder with the genesis file and the witness's key file.
struct Setup {
    dir: tempfile::TempDir,
    genesis: Genesis,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let text = genesis_json().to_string();
        std::fs::write(dir.path().join("genesis.json"), &text).unwrap();
        write_key_file(&dir.path().join("ktnn.key"), &key(WITNESS)).unwrap();
        Setup {
            genesis: Genesis::from_json(&text).unwrap(),
            dir,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `witness init` of a home for KTNN with its registered key.
    fn home(&self) -> PathBuf {
        let home = self.path("home");
        let run = minhbach(&[
            "witness",
            "init",
            "--home",
            home.to_str().unwrap(),
            "--id",
            WITNESS,
            "--genesis",
            self.path("genesis.json").to_str().unwrap(),
            "--key",
            self.path("ktnn.key").to_str().unwrap(),
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
        home
    }
}

/// The cosignatures of the home's log. A last line cut short by a kill is
/// left out: the witness removes it at its next start.
fn logged(home: &Path) -> Vec<Cosignature> {
    let text = std::fs::read_to_string(home.join("cosigned.jsonl")).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| {
            Cosignature::decode(line.trim_end().as_bytes())
                .unwrap_or_else(|e| panic!("a log line that is no cosignature: {e}: {line}"))
        })
        .collect()
}

fn logged_heights(home: &Path) -> Vec<u64> {
    logged(home).iter().map(|c| c.height.0).collect()
}

fn state(home: &Path) -> CheckpointProof {
    CheckpointProof::decode(&std::fs::read(home.join("last-cosigned.json")).unwrap()).unwrap()
}

/// Checks a cosignature: KTNN's, verifying, of `chain`'s root.
fn assert_cosigns(c: &Cosignature, chain: &Chain) {
    assert!(c.verify(), "{c:?}");
    assert_eq!(c.witness.as_str(), WITNESS);
    assert_eq!(c.key, key(WITNESS).public_key());
    assert_eq!(c.chain_id, "minhbach-witness");
    assert_eq!(c.history_root, chain.root(c.height.0), "{c:?}");
}

#[test]
fn the_witness_cosigns_each_checkpoint_that_extends_the_last_and_hands_it_to_every_node() {
    let setup = Setup::new();
    let home = setup.home();
    let chain = Chain::build(&setup.genesis, 12, None);
    let one = FakeNode::start(&Served::new(&chain, 3));
    let two = FakeNode::start(&Served::new(&chain, 3));
    // The second node refuses the first posts: they are made again.
    two.set(|s| s.refuse_posts = 3);
    let mut witness = Running::start(&home, &[one.url(), two.url()], 50, "json");
    let context = || format!("{}\nlog {:?}", witness.stderr(), logged_heights(&home));
    wait_until(
        "both nodes to hold height 3",
        WAIT,
        || one.held() == Some(3) && two.held() == Some(3),
        context,
    );
    assert!(two.served.lock().unwrap().posts >= 4);

    one.set(|s| s.height = 7);
    two.set(|s| s.height = 5);
    wait_until(
        "node one to hold 7",
        WAIT,
        || one.held() == Some(7),
        context,
    );
    // Node two has not reached 7: it takes it once it has.
    assert_eq!(two.held(), Some(3));
    two.set(|s| s.height = 9);
    wait_until(
        "node two to hold 9",
        WAIT,
        || two.held() == Some(9),
        context,
    );
    one.set(|s| s.height = 9);
    wait_until(
        "node one to hold 9",
        WAIT,
        || one.held() == Some(9),
        context,
    );

    assert_eq!(one.asked("GET /v1/consistency?from=3&to=7"), 1);
    assert_eq!(two.asked("GET /v1/consistency?from=7&to=9"), 1);
    for node in [&one, &two] {
        let taken = node.served.lock().unwrap().taken.clone();
        let heights: Vec<u64> = taken.iter().map(|c| c.height.0).collect();
        assert!(heights.windows(2).all(|w| w[0] < w[1]), "{heights:?}");
        taken.iter().for_each(|c| assert_cosigns(c, &chain));
    }
    assert_eq!(logged_heights(&home), [3, 7, 9]);
    logged(&home).iter().for_each(|c| assert_cosigns(c, &chain));
    assert_eq!(state(&home), chain.checkpoint(9));
    // Kept compact, as it is read back with the limit of a checkpoint.
    assert_eq!(
        std::fs::read_to_string(home.join("last-cosigned.json")).unwrap(),
        serde_json::to_string(&chain.checkpoint(9)).unwrap()
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());

    // Started again, it hands out what it cosigned, cosigns nothing lower,
    // and goes on from 9.
    let three = FakeNode::start(&Served::new(&chain, 5));
    let mut witness = Running::start(&home, &[three.url(), one.url()], 50, "table");
    wait_until(
        "the restarted witness to ask node three a few times",
        WAIT,
        || three.asked("GET /v1/checkpoint") >= 5,
        || witness.stderr(),
    );
    assert_eq!(logged_heights(&home), [3, 7, 9]);
    three.set(|s| s.height = 11);
    wait_until(
        "the log to reach 11",
        WAIT,
        || logged_heights(&home) == [3, 7, 9, 11],
        || witness.stderr(),
    );
    // The checkpoints cosigned before 11 are kept across the restart.
    assert_eq!(recent_heights(&home), [3, 7, 9]);
    assert_recent_linked(&home);
    // Node one takes it once it has 11 too.
    assert_eq!(one.held(), Some(9));
    one.set(|s| s.height = 11);
    wait_until(
        "node one to hold 11",
        WAIT,
        || one.held() == Some(11),
        || witness.stderr(),
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
}

#[test]
fn a_checkpoint_that_does_not_verify_or_a_bad_proof_is_reported_and_never_cosigned() {
    let setup = Setup::new();
    let home = setup.home();
    let chain = Chain::build(&setup.genesis, 10, None);
    let node = FakeNode::start(&Served::new(&chain, 4));
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    wait_until(
        "height 4",
        WAIT,
        || node.held() == Some(4),
        || witness.stderr(),
    );

    node.set(|s| {
        s.height = 6;
        s.tamper_latest = true;
    });
    wait_until(
        "the tampered checkpoint to be reported",
        WAIT,
        || witness.stderr().contains("does not verify"),
        || witness.stderr(),
    );
    let asked = node.asked("GET /v1/checkpoint");
    wait_until(
        "more rounds",
        WAIT,
        || node.asked("GET /v1/checkpoint") >= asked + 5,
        || witness.stderr(),
    );
    assert_eq!(logged_heights(&home), [4]);

    node.set(|s| {
        s.tamper_latest = false;
        s.bad_consistency = true;
        s.height = 8;
    });
    wait_until(
        "the bad consistency proof to be reported",
        WAIT,
        || witness.stderr().contains("a bad proof from the node"),
        || witness.stderr(),
    );
    // It checked the node's block at 4 rather than call it a fork.
    assert!(node.asked("GET /v1/checkpoints/4") >= 1);
    assert_eq!(logged_heights(&home), [4]);
    assert_eq!(witness.exited(), None, "{}", witness.stderr());

    node.set(|s| s.bad_consistency = false);
    wait_until(
        "height 8",
        WAIT,
        || node.held() == Some(8),
        || witness.stderr(),
    );
    assert_eq!(logged_heights(&home), [4, 8]);
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
}

fn verify_fork(file: &Path, genesis: &Path, json: bool) -> support::Run {
    let mut args = vec![
        "verify",
        "fork",
        file.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ];
    if json {
        args.extend(["--output", "json"]);
    }
    minhbach(&args)
}

/// The last block the two histories of the fork test share.
const PART: u64 = 6;

/// The validators whose precommits certify block `h` of a history of the
/// fork test: three of the four, each block of history A leaving out
/// validator `h mod 4`, each of history B's own blocks `(h + 2) mod 4`.
fn certifying(other_history: bool, h: u64) -> Vec<usize> {
    let shift = if other_history && h > PART { 2 } else { 0 };
    let out = ((h + shift) % VALIDATORS as u64) as usize;
    (0..VALIDATORS).filter(|i| *i != out).collect()
}

/// The validators who certified a block of each history among `heights`.
fn certified_both(heights: &[u64]) -> Vec<String> {
    let union =
        |other| -> BTreeSet<usize> { heights.iter().flat_map(|h| certifying(other, *h)).collect() };
    union(false)
        .intersection(&union(true))
        .map(|i| format!("validator-{i}"))
        .collect()
}

#[test]
fn a_node_showing_another_history_stops_the_witness_with_a_fork_proof() {
    let setup = Setup::new();
    let home = setup.home();
    let a = Chain::build_signed(&setup.genesis, 12, None, &|h| certifying(false, h));
    let b = Chain::build_signed(&setup.genesis, 12, Some(PART), &|h| certifying(true, h));
    let shared = PART as usize - 1;
    assert_eq!(a.blocks[shared].hash(), b.blocks[shared].hash());
    assert_ne!(a.blocks[shared + 1].hash(), b.blocks[shared + 1].hash());
    // The witness cosigns 5, where the histories agree, then 8, 9 and 10.
    let honest = FakeNode::start(&Served::new(&a, 5));
    let mut witness = Running::start(&home, &[honest.url()], 20, "table");
    for h in [5, 8, 9, 10] {
        honest.set(|s| s.height = h);
        wait_until(
            &format!("height {h}"),
            WAIT,
            || honest.held() == Some(h),
            || witness.stderr(),
        );
    }
    assert_eq!(recent_heights(&home), [5, 8, 9]);
    assert_recent_linked(&home);

    // Another node, ahead on the other history.
    let other = FakeNode::start(&Served::new(&b, 12));
    let mut witness = {
        assert_eq!(witness.terminate(), Some(0));
        Running::start(&home, &[honest.url(), other.url()], 20, "table")
    };
    assert_eq!(witness.wait(WAIT), Some(4), "{}", witness.stderr());
    let stderr = witness.stderr();
    let file = home.join("fork-proof-10.json");
    // The main pair alone would name two; the pairs at 8 and 9 name all
    // four, each of whom certified a block of each history.
    let heights = [8, 9, 10];
    assert_eq!(certified_both(&[10]).len(), 2);
    let expected = certified_both(&heights);
    assert_eq!(expected.len(), VALIDATORS);
    for needle in [
        "FORK at height 10".to_owned(),
        "differ at heights 8, 9 and 10".to_owned(),
        a.blocks[9].hash().to_hex(),
        b.blocks[9].hash().to_hex(),
        file.display().to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle} not in\n{stderr}");
    }
    for name in &expected {
        assert!(stderr.contains(&format!("{name} (")), "{stderr}");
    }
    assert_eq!(
        logged_heights(&home),
        [5, 8, 9, 10],
        "nothing of the other history"
    );
    assert!(other.served.lock().unwrap().taken.is_empty());
    // It asked for the other history's blocks down to 5, where the two
    // agree, and linked them from there up only.
    assert_eq!(other.asked("GET /v1/checkpoints/5"), 1);
    assert_eq!(other.asked("GET /v1/consistency?from=5&"), 0);
    assert_eq!(other.asked("GET /v1/consistency?from=8&to=9"), 1);
    assert_eq!(other.asked("GET /v1/consistency?from=9&to=10"), 1);

    let proof = ForkProof::decode(&std::fs::read(&file).unwrap()).unwrap();
    let pairs: Vec<(u64, u64)> = proof
        .earlier
        .iter()
        .map(|p| (p.cosigned.checkpoint.height.0, p.other.checkpoint.height.0))
        .collect();
    assert_eq!(pairs, [(8, 8), (9, 9)]);
    let genesis = setup.path("genesis.json");
    let run = verify_fork(&file, &genesis, true);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["height"], 10);
    assert_eq!(v["heights"], serde_json::json!(heights));
    assert_eq!(v["cosigned_block"], a.blocks[9].hash().to_hex());
    assert_eq!(v["other_block"], b.blocks[9].hash().to_hex());
    let names: Vec<&str> = v["signed_both"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, expected);
    let run = verify_fork(&file, &genesis, false);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains(&b.blocks[9].hash().to_hex()), "{run:?}");
    assert!(run.stderr.starts_with("valid: at height 10"), "{run:?}");
    assert!(
        run.stderr.contains("4 validators certified blocks of both"),
        "{run:?}"
    );

    // Started again, it finds the same fork at once.
    let mut again = Running::start(&home, &[other.url()], 20, "table");
    assert_eq!(again.wait(WAIT), Some(4), "{}", again.stderr());

    // A tampered proof is refused, saying why.
    let tampered = setup.path("tampered.json");
    let mut same = proof.clone();
    same.other = proof.cosigned.clone();
    std::fs::write(&tampered, same.to_json()).unwrap();
    let run = verify_fork(&tampered, &genesis, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .starts_with("invalid: both checkpoints are block"),
        "{run:?}"
    );
    let mut swapped = proof.clone();
    let first = &mut swapped.earlier[0];
    std::mem::swap(&mut first.cosigned_link, &mut first.other_link);
    std::fs::write(&tampered, swapped.to_json()).unwrap();
    let run = verify_fork(&tampered, &genesis, false);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.starts_with(
            "invalid: on the cosigned side, the consistency proof of the checkpoint at \
             height 8 does not link it to the side's checkpoint at height 9"
        ),
        "{run:?}"
    );
    let mut json: Value = serde_json::from_str(&proof.to_json()).unwrap();
    json["other"]["certificate"]["precommits"]
        .as_array_mut()
        .unwrap()
        .truncate(2);
    std::fs::write(&tampered, json.to_string()).unwrap();
    let run = verify_fork(&tampered, &genesis, true);
    assert_eq!(run.code, Some(1), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(run.stderr.starts_with("invalid: "), "{run:?}");
    std::fs::write(&tampered, "{}").unwrap();
    assert_eq!(verify_fork(&tampered, &genesis, false).code, Some(1));
    // Not a file, or no genesis: usage.
    assert_eq!(
        verify_fork(&setup.path("absent"), &genesis, false).code,
        Some(2)
    );
    assert_eq!(
        verify_fork(&file, &setup.path("absent"), false).code,
        Some(2)
    );
}

#[test]
fn killed_at_random_moments_it_never_cosigns_lower_or_two_roots_at_one_height() {
    const RUNS: u64 = 20;
    const HONEST_RUNS: u64 = 14;
    const BLOCKS: u64 = 600;
    let setup = Setup::new();
    let home = setup.home();
    let a = Chain::build(&setup.genesis, BLOCKS, None);
    let b = Chain::build(&setup.genesis, BLOCKS, Some(20));
    let mut rng = Rng(0x5eed_0f7e_57ed);
    let moving = |chain: &Arc<Chain>, rng: &mut Rng| {
        let served = Served::new(chain, 1);
        served.lock().unwrap().random = Some(Rng(rng.next()));
        served
    };
    // Two nodes of one history, each moving on at its own pace, then one of
    // the other history.
    let first = moving(&a, &mut rng);
    let mut second = moving(&a, &mut rng);
    let mut forks = 0;
    for run in 0..RUNS {
        if run == HONEST_RUNS {
            let at = first.lock().unwrap().height;
            second = moving(&b, &mut rng);
            second.lock().unwrap().height = at;
        }
        let nodes = [FakeNode::start(&first), FakeNode::start(&second)];
        let mut witness = Running::start(&home, &[nodes[0].url(), nodes[1].url()], 10, "json");
        if run == RUNS - 1 {
            // The last run is not killed: it finds the fork.
            assert_eq!(witness.wait(WAIT), Some(4), "{}", witness.stderr());
        } else {
            std::thread::sleep(Duration::from_millis(rng.range(0, 400)));
            witness.kill9();
        }
        if witness.exited() == Some(Some(4)) {
            forks += 1;
        }
        assert!(
            matches!(witness.exited(), Some(None) | Some(Some(4))),
            "run {run}: {:?}\n{}",
            witness.exited(),
            witness.stderr()
        );
    }
    let log = logged(&home);
    let mut roots = std::collections::BTreeMap::new();
    for pair in log.windows(2) {
        assert!(
            pair[0].height <= pair[1].height,
            "{} after {}",
            pair[1].height,
            pair[0].height
        );
    }
    // Each cosignature extends the one before: its chain has the same
    // root at the earlier height.
    let chain_of = |c: &Cosignature| {
        if c.history_root == a.root(c.height.0) {
            &a
        } else {
            &b
        }
    };
    for pair in log.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        assert_eq!(
            chain_of(new).root(old.height.0),
            old.history_root,
            "height {} does not extend height {}",
            new.height,
            old.height
        );
    }
    for c in &log {
        assert!(c.verify());
        let h = c.height.0;
        assert!(
            c.history_root == a.root(h) || c.history_root == b.root(h),
            "height {h}: a root of neither chain"
        );
        let first = *roots.entry(h).or_insert(c.history_root);
        assert_eq!(first, c.history_root, "two roots at height {h}");
    }
    eprintln!(
        "{} cosignatures of {} heights in {RUNS} runs, {forks} of them ending on a fork",
        log.len(),
        roots.len()
    );
    assert!(roots.len() >= 10, "only {} heights cosigned", roots.len());
    assert!(forks >= 1);
    // The state is never behind the log, and the checkpoints kept before
    // it link to it.
    assert_recent_linked(&home);
    let last = state(&home).checkpoint;
    assert_eq!(Some(&last.height), log.last().map(|c| &c.height));
    // A fork found at the last cosigned height, or at the height of a node
    // behind it.
    let proofs: Vec<PathBuf> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fork-proof-")
        })
        .collect();
    assert!(!proofs.is_empty());
    for file in proofs {
        let fork = ForkProof::decode(&std::fs::read(&file).unwrap())
            .unwrap()
            .verify(&setup.genesis.trust_anchor())
            .unwrap();
        assert!(fork.height <= last.height, "{}", file.display());
    }
}

#[test]
fn init_makes_a_home_once_and_says_whether_the_genesis_registers_the_witness() {
    let setup = Setup::new();
    let genesis = setup.path("genesis.json");
    let home = setup.path("new");
    let args = |home: &Path, id: &str, key: Option<&Path>| {
        let mut v = vec![
            "--output".to_owned(),
            "json".to_owned(),
            "witness".to_owned(),
            "init".to_owned(),
            "--home".to_owned(),
            home.display().to_string(),
            "--id".to_owned(),
            id.to_owned(),
            "--genesis".to_owned(),
            genesis.display().to_string(),
        ];
        if let Some(k) = key {
            v.extend(["--key".to_owned(), k.display().to_string()]);
        }
        v
    };
    let run_with = |v: Vec<String>| minhbach(&v.iter().map(String::as_str).collect::<Vec<_>>());

    // A new key, for an id the genesis does not know: a warning, not a failure.
    let run = run_with(args(&home, "SAO-HN", None));
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let key = ledger::crypto::read_key_file(&home.join("witness.key")).unwrap();
    assert_eq!(v["public_key"], key.public_key().to_hex());
    assert_eq!(v["registered_in_genesis"], false);
    assert!(
        run.stderr
            .contains("warning: genesis.json has no entity SAO-HN"),
        "{run:?}"
    );
    assert!(run.stderr.contains("--kind observer"), "{run:?}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(home.join("witness.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read(home.join("genesis.json")).unwrap(),
        std::fs::read(&genesis).unwrap()
    );
    let config: Value =
        serde_json::from_slice(&std::fs::read(home.join("witness.json")).unwrap()).unwrap();
    assert_eq!(config["id"], "SAO-HN");

    // Never made twice: the key stays.
    let before = std::fs::read(home.join("witness.key")).unwrap();
    let run = run_with(args(&home, "SAO-HN", None));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("already exists"), "{run:?}");
    assert_eq!(std::fs::read(home.join("witness.key")).unwrap(), before);

    // The registered id and key: no warning.
    let run = run_with(args(
        &setup.path("ktnn"),
        WITNESS,
        Some(&setup.path("ktnn.key")),
    ));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!run.stderr.contains("warning"), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["registered_in_genesis"], true);
    assert_eq!(v["public_key"], key_hex(WITNESS));

    // A key file others can read is refused.
    let exposed = setup.path("exposed.key");
    write_key_file(&exposed, &ledger::testkit::key("x")).unwrap();
    std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = run_with(args(&setup.path("exposed"), WITNESS, Some(&exposed)));
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(!setup.path("exposed").join("witness.json").exists());
}

fn key_hex(label: &str) -> String {
    key(label).public_key().to_hex()
}

#[test]
fn a_state_it_cannot_read_or_a_second_run_stops_it_at_the_start() {
    let setup = Setup::new();
    let home = setup.home();
    let chain = Chain::build(&setup.genesis, 5, None);
    let node = FakeNode::start(&Served::new(&chain, 5));
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    wait_until(
        "height 5",
        WAIT,
        || node.held() == Some(5),
        || witness.stderr(),
    );

    // A second run of the same home is refused while the first runs.
    let mut second = Running::start(&home, &[node.url()], 20, "table");
    assert_eq!(second.wait(WAIT), Some(1));
    assert!(
        second.stderr().contains("held by another"),
        "{}",
        second.stderr()
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());

    // A last log line cut short, as by a crash while writing it, is
    // removed at the next start.
    let log = home.join("cosigned.jsonl");
    let whole = std::fs::read(&log).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(br#"{"witness":"KT"#);
    std::fs::write(&log, &torn).unwrap();
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    wait_until(
        "the torn line to be removed",
        WAIT,
        || std::fs::read(&log).unwrap() == whole,
        || witness.stderr(),
    );
    assert!(
        witness.stderr().contains("cut short"),
        "{}",
        witness.stderr()
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
    assert_eq!(logged_heights(&home), [5]);

    let state = home.join("last-cosigned.json");
    let good = std::fs::read(&state).unwrap();
    std::fs::write(&state, &good[..good.len() / 2]).unwrap();
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    assert_eq!(witness.wait(WAIT), Some(1));
    let stderr = witness.stderr();
    assert!(stderr.contains("last-cosigned.json"), "{stderr}");
    assert!(stderr.contains("Restore the file"), "{stderr}");
    assert_eq!(std::fs::read(&state).unwrap(), &good[..good.len() / 2]);

    // Without the state, while the log says it cosigned: refused too.
    std::fs::remove_file(&state).unwrap();
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    assert_eq!(witness.wait(WAIT), Some(1));
    assert!(
        witness.stderr().contains("is missing"),
        "{}",
        witness.stderr()
    );
    assert!(!state.exists());
    assert_eq!(logged_heights(&home), [5]);
}
