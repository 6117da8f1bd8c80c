//! Backups: every entry comes back in an empty store, the copy is the
//! store at one moment even while blocks keep being committed, and any
//! damage to the file is refused, naming what is wrong.

use ledger::store::{check_backup, BackupError, Store, StoreError, BACKUP_MAGIC};
use ledger::Height;

use crate::helpers::Fixture;

const RECORD: &[u8] = b"{\"a safety record\":1}";

fn backup_of(store: &Store, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    store.write_backup(files, &mut out).unwrap();
    out
}

fn restored(bytes: &[u8]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.read_backup(bytes).unwrap();
    (dir, store)
}

#[test]
fn a_backup_restores_every_block_the_state_and_the_safety_record() {
    let f = Fixture::with_blocks(6);
    f.store().safety_put(b"record", RECORD).unwrap();
    let bytes = backup_of(f.store(), &[("config.toml", b"[node]\n")]);
    assert_eq!(&bytes[..8], BACKUP_MAGIC);
    let checked = check_backup(bytes.as_slice()).unwrap();
    assert_eq!(checked.file("config.toml"), Some(&b"[node]\n"[..]));
    assert_eq!(checked.file("genesis.json"), None);

    let (_dir, store) = restored(&bytes);
    for (block, cert) in &f.blocks {
        let h = block.header.height;
        assert_eq!(store.block(h).unwrap().as_ref(), Some(block), "block {h}");
        assert_eq!(store.cert(h).unwrap().as_ref(), Some(cert), "cert {h}");
    }
    let meta = store.meta().unwrap().unwrap();
    assert_eq!(meta.height, Height(6));
    assert_eq!(meta.state_root, f.block(6).header.state_root);
    assert_eq!(
        store.safety_get(b"record").unwrap().as_deref(),
        Some(RECORD)
    );
    // The restored store is a whole chain: it verifies from genesis and
    // loads the state the test's own chain reached.
    let report = ledger::verify::verify_store(
        &store,
        &f.chain.genesis,
        f.chain.genesis_hash,
        ledger::testkit::GENESIS_TIME_MS,
        |_| {},
    )
    .unwrap();
    assert_eq!(report.height, Height(6));
    let state = store.init(&f.chain.genesis, f.chain.genesis_hash).unwrap();
    assert_eq!(state, f.chain.state);
}

#[test]
fn a_backup_from_a_secondary_is_the_store_at_one_moment() {
    let mut f = Fixture::with_blocks(3);
    let scratch = tempfile::tempdir().unwrap();
    let secondary = Store::open_secondary(f.dir.path(), scratch.path()).unwrap();
    // The node keeps committing; the secondary still reads height 3.
    f.commit_blocks(2);
    let bytes = backup_of(&secondary, &[]);
    assert!(
        secondary.safety_put(b"record", RECORD).is_err(),
        "read only"
    );
    let (_dir, store) = restored(&bytes);
    assert_eq!(store.meta().unwrap().unwrap().height, Height(3));
    assert_eq!(store.block(Height(4)).unwrap(), None);
    assert_eq!(store.block(Height(3)).unwrap().as_ref(), Some(f.block(3)));
}

#[test]
fn a_backup_is_restored_only_into_an_empty_store() {
    let f = Fixture::with_blocks(1);
    let bytes = backup_of(f.store(), &[]);
    let err = f.store().read_backup(bytes.as_slice()).unwrap_err();
    assert!(
        matches!(err, StoreError::Backup(BackupError::NotEmpty(_))),
        "{err}"
    );
}

#[test]
fn every_damage_to_a_backup_is_refused() {
    let f = Fixture::with_blocks(2);
    let bytes = backup_of(f.store(), &[("genesis.json", b"{}")]);
    let refused = |b: &[u8]| check_backup(b).expect_err("damaged backups are refused");

    // Any changed byte: the whole head and tail, and a sample between.
    let n = bytes.len();
    let offsets: Vec<usize> = (0..64)
        .chain(n - 64..n)
        .chain((0..200).map(|i| i * 7919 % n))
        .collect();
    for (i, at) in offsets.into_iter().enumerate() {
        let mut bad = bytes.clone();
        bad[at] ^= 1 << (i % 8);
        refused(&bad);
    }
    // Cut short anywhere, or followed by anything.
    for len in [0, 7, 12, 13, n / 2, n - 33, n - 1] {
        refused(&bytes[..len]);
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let err = refused(&longer);
    assert!(err.to_string().contains("follow its end"), "{err}");

    // Not a backup at all, or a version this one does not read.
    let err = refused(b"{\"format\":\"minhbach-state-proof\"}");
    assert!(matches!(err, BackupError::NotABackup(_)), "{err}");
    let mut v2 = bytes.clone();
    v2[11] = 2;
    let err = refused(&v2);
    assert!(err.to_string().contains("backup version 2"), "{err}");

    // A length over its bound is refused before anything that large is read.
    let mut huge = bytes[..12].to_vec();
    huge.extend([1, 12]);
    huge.extend(b"genesis.json");
    huge.extend(u32::MAX.to_be_bytes());
    let err = refused(&huge);
    assert!(err.to_string().contains("over"), "{err}");

    // A column the store does not have.
    let mut odd = bytes[..12].to_vec();
    odd.extend([2, 5]);
    odd.extend(b"bogus");
    let err = refused(&odd);
    assert!(err.to_string().contains("unknown column"), "{err}");
}
