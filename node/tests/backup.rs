//! `node::backup` on homes in temporary folders: what a restore keeps,
//! what it writes, and that it writes nothing when it refuses.

use std::path::{Path, PathBuf};

use consensus::SafetyRecord;
use ledger::store::Store;
use ledger::testkit::TestChain;
use ledger::{Hash, Height, PublicKey, Signature};
use node::backup::{backup, restore, RestoreError, Signing};
use node::driver::{SignGuard, SAFETY_RECORD_KEY, SIGN_GUARD_KEY};
use node::home::Home;

/// A home whose store holds a chain, and the chain.
struct Node {
    _dir: tempfile::TempDir,
    home: Home,
    chain: TestChain,
}

impl Node {
    fn new(genesis: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        std::fs::create_dir_all(home.root()).unwrap();
        std::fs::write(home.config_path(), "# the node's config\n").unwrap();
        let t = TestChain::new(4);
        let chain = TestChain::from_genesis(
            t.genesis,
            Hash::digest(genesis.as_bytes()),
            ledger::testkit::GENESIS_TIME_MS,
            t.validator_keys,
        );
        let store = Store::open(&home.data_dir()).unwrap();
        store.init(&chain.genesis, chain.genesis_hash).unwrap();
        Node {
            _dir: dir,
            home,
            chain,
        }
    }

    /// Commits `n` empty blocks and writes a safety record at the height
    /// after them, as a validator that went on signing would.
    fn advance(&mut self, n: u64) {
        let store = Store::open(&self.home.data_dir()).unwrap();
        for _ in 0..n {
            let (block, cert, outcome) = self.chain.make_block(Vec::new()).unwrap();
            store
                .commit_block(&block, &cert, &outcome, &self.chain.state)
                .unwrap();
            self.chain.advance(&block, cert, outcome);
        }
        let record = SafetyRecord::<Hash, PublicKey, Signature>::new(consensus::Height(
            self.chain.state.height().0 + 1,
        ));
        store
            .safety_put(SAFETY_RECORD_KEY, &serde_json::to_vec(&record).unwrap())
            .unwrap();
    }

    fn backup(&self, name: &str) -> PathBuf {
        let out = self.home.root().parent().unwrap().join(name);
        backup(&self.home, &out, false).unwrap();
        out
    }
}

fn guard(data: &Path) -> Option<SignGuard> {
    let store = Store::open(data).unwrap();
    let bytes = store.safety_get(SIGN_GUARD_KEY).unwrap()?;
    Some(SignGuard::decode(&bytes).unwrap())
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn restoring_an_older_backup_keeps_the_homes_newer_record_and_its_store() {
    let mut n = Node::new("genesis A");
    n.advance(3);
    let file = n.backup("old.mbbackup");
    n.advance(2); // record at height 6 now, chain at 5
    let report = restore(&file, &n.home).unwrap();
    assert_eq!(report.backup.height, Height(3));
    assert_eq!(
        report.signing,
        Signing::KeptHomeRecord {
            record_height: Height(6),
            from: Height(7),
        }
    );
    let aside = report.replaced.expect("the old store is kept");
    assert!(aside.starts_with(n.home.root()), "{}", aside.display());
    // The store that was there is intact beside the restored one.
    let old = Store::open(&aside).unwrap();
    assert_eq!(old.meta().unwrap().unwrap().height, Height(5));
    drop(old);
    let restored = Store::open(&n.home.data_dir()).unwrap();
    assert_eq!(restored.meta().unwrap().unwrap().height, Height(3));
    drop(restored);
    assert_eq!(
        guard(&n.home.data_dir()),
        Some(SignGuard {
            floor: 7,
            awaiting_network: false
        })
    );
}

#[test]
fn restoring_into_an_empty_home_waits_for_the_network_and_keeps_the_homes_files() {
    let mut n = Node::new("genesis A");
    n.advance(2);
    let file = n.backup("b.mbbackup");
    let empty = Home::new(n.home.root().parent().unwrap().join("new-home"));
    std::fs::create_dir_all(empty.root()).unwrap();
    std::fs::write(empty.config_path(), "# this machine's own config\n").unwrap();
    let report = restore(&file, &empty).unwrap();
    assert_eq!(
        report.signing,
        Signing::AwaitingNetwork {
            record_height: Height(3)
        }
    );
    assert!(report.replaced.is_none());
    assert_eq!(report.kept, vec!["config.toml".to_owned()]);
    assert_eq!(
        std::fs::read_to_string(empty.config_path()).unwrap(),
        "# this machine's own config\n"
    );
    let g = guard(&empty.data_dir()).expect("a guard");
    assert!(g.awaiting_network);
    assert_eq!(g.signs_from(), u64::MAX);
    assert_eq!(entries(empty.root()), vec!["config.toml", "data"]);
}

#[test]
fn a_damaged_backup_writes_nothing() {
    let mut n = Node::new("genesis A");
    n.advance(2);
    let file = n.backup("b.mbbackup");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();

    let fresh = Home::new(n.home.root().parent().unwrap().join("fresh"));
    let err = restore(&file, &fresh).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(
        !fresh.root().exists(),
        "nothing is written for a bad backup"
    );

    // Into a home with a store: it stays as it was, with nothing beside it.
    let before = entries(n.home.root());
    restore(&file, &n.home).unwrap_err();
    assert_eq!(entries(n.home.root()), before);
    let store = Store::open(&n.home.data_dir()).unwrap();
    assert_eq!(store.meta().unwrap().unwrap().height, Height(2));
}

#[test]
fn restore_refuses_a_running_node_and_another_chain() {
    let mut n = Node::new("genesis A");
    n.advance(1);
    let file = n.backup("b.mbbackup");
    let before = entries(n.home.root());
    {
        let _running = Store::open(&n.home.data_dir()).unwrap();
        let err = restore(&file, &n.home).unwrap_err();
        assert!(matches!(err, RestoreError::Refused(_)), "{err}");
        assert!(err.to_string().contains("stop the node"), "{err}");
    }
    assert_eq!(entries(n.home.root()), before);

    let mut other = Node::new("genesis B");
    other.advance(1);
    let before = entries(other.home.root());
    let err = restore(&file, &other.home).unwrap_err();
    assert!(
        err.to_string()
            .contains("restore a backup of this home's chain"),
        "{err}"
    );
    assert_eq!(entries(other.home.root()), before);
}

#[test]
fn a_backup_whose_genesis_is_not_its_stores_is_refused_leaving_no_folder() {
    let mut n = Node::new("genesis A");
    n.advance(1);
    // A genesis file of another chain beside the store, as a hand-made or
    // mixed-up backup would carry.
    let genesis = genesis::story::test_genesis().to_json();
    let file = n.home.root().parent().unwrap().join("mixed.mbbackup");
    let store = Store::open(&n.home.data_dir()).unwrap();
    let out = std::fs::File::create(&file).unwrap();
    store
        .write_backup(&[("genesis.json", genesis.as_bytes())], out)
        .unwrap();
    drop(store);
    let fresh = Home::new(n.home.root().parent().unwrap().join("fresh"));
    let err = restore(&file, &fresh).unwrap_err();
    assert!(err.to_string().contains("genesis.json has hash"), "{err}");
    assert!(!fresh.root().exists(), "a refused restore leaves no folder");
}

#[test]
fn a_home_whose_genesis_is_not_its_stores_is_not_backed_up() {
    let mut n = Node::new("genesis A");
    n.advance(1);
    std::fs::write(
        n.home.genesis_path(),
        genesis::story::test_genesis().to_json(),
    )
    .unwrap();
    let out = n.home.root().parent().unwrap().join("b.mbbackup");
    let err = backup(&n.home, &out, false).unwrap_err();
    assert!(err.to_string().contains("genesis.json has hash"), "{err}");
    let parent = out.parent().unwrap();
    assert_eq!(entries(parent), vec!["home"], "no backup, whole or partial");
}

#[test]
fn a_backup_never_overwrites_a_file() {
    let mut n = Node::new("genesis A");
    n.advance(1);
    let file = n.backup("b.mbbackup");
    let err = backup(&n.home, &file, false).unwrap_err();
    assert!(err.to_string().contains("never overwrites"), "{err}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}
