//! `minhbach migrate`: a store of the format before this one (no state
//! keys by hash) is refused at open with the command that fixes it, and
//! the migration brings it to this format with nothing else changed: the
//! snapshots it serves then are the ones a store of this format serves.

use ledger::store::{Migration, StoreError, STORE_FORMAT};
use ledger::{Hash, Height};

use crate::helpers::Fixture;

#[test]
fn a_store_of_the_format_before_is_migrated_and_then_serves_the_same_snapshots() {
    let mut f = Fixture::with_blocks(9);
    let chunks = |f: &Fixture| -> Vec<_> {
        [Height(3), Height(9)]
            .into_iter()
            .flat_map(|h| (0..4).map(move |p| (h, p)))
            .map(|(h, p)| f.store().snapshot_chunk(h, 2, p, 1 << 24).unwrap())
            .collect()
    };
    let before = chunks(&f);
    assert!(before.iter().all(Option::is_some));

    f.store().downgrade_to_format_3().unwrap();
    f.reopen();
    let refused = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::NeedsMigration { found: 3, .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("minhbach migrate"),
        "{refused}"
    );
    // Without the keys, the state of a past height cannot be read back.
    assert!(f.store().snapshot_chunk(Height(3), 0, 0, 1 << 24).is_err());

    let other = f.store().migrate(
        &f.chain.genesis,
        Hash::digest(b"another genesis"),
        |_, _| {},
    );
    assert!(
        matches!(other, Err(StoreError::OtherChain { .. })),
        "{other:?}"
    );
    assert_eq!(f.store().format().unwrap(), 3, "a refusal writes nothing");

    let mut seen = Vec::new();
    let done = f
        .store()
        .migrate(&f.chain.genesis, f.chain.genesis_hash, |h, top| {
            seen.push((h, top))
        })
        .unwrap();
    assert_eq!((done.from, done.to, done.blocks), (3, STORE_FORMAT, 9));
    // Every key the test's state holds, at least, was written again.
    assert!(
        done.keys >= f.chain.state.entries().count() as u64,
        "{done:?}"
    );
    assert_eq!(seen.last(), Some(&(Height(9), Height(9))));
    assert_eq!(f.store().format().unwrap(), STORE_FORMAT);
    assert_eq!(chunks(&f), before);
    f.reopen();
    let state = f
        .store()
        .init(&f.chain.genesis, f.chain.genesis_hash)
        .unwrap();
    assert_eq!(state, f.chain.state);
    f.verify().unwrap();

    // Once is enough: a second run finds nothing to do.
    let again = f
        .store()
        .migrate(&f.chain.genesis, f.chain.genesis_hash, |_, _| {})
        .unwrap();
    assert_eq!(
        again,
        Migration {
            from: STORE_FORMAT,
            to: STORE_FORMAT,
            blocks: 0,
            keys: 0
        }
    );
}
