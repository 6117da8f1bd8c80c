//! `schedule-upgrade` and the header's protocol version: only the treasury
//! schedules, only a later height and a higher version, and from the
//! height on every block must carry the version, no other.

use ledger::state::Upgrade;
use ledger::testkit::{key, TestChain};
use ledger::tx::EntityKind;
use ledger::validity::{check_block, CheckError, InvalidBlock, Walk};
use ledger::{Block, EntityId, Height, Op, SignedTx};

/// A chain at genesis with the walk a reader of it holds.
fn chain() -> (TestChain, Walk) {
    let chain = TestChain::new(4);
    let walk = Walk::genesis(
        chain.genesis.clone(),
        chain.genesis_hash,
        ledger::testkit::GENESIS_TIME_MS,
    );
    (chain, walk)
}

/// Builds the next block of `txs`, checks it as a reader would, and
/// commits it on both.
fn commit(chain: &mut TestChain, walk: &mut Walk, txs: Vec<SignedTx>) -> Block {
    let (block, cert, outcome) = chain.make_block(txs).expect("every transaction applies");
    let checked = check_block(walk, &block, vec![None; block.txs.len()]).expect("valid");
    assert_eq!(checked.state_root, outcome.state_root);
    walk.advance(&block, outcome.clone());
    chain.advance(&block, cert, outcome);
    block
}

fn schedule(height: u64, version: u32) -> Op {
    Op::ScheduleUpgrade {
        height: Height(height),
        version,
    }
}

/// The code `op` signed by `signer` is refused with at the next block.
fn refusal(chain: &TestChain, signer: &str, op: Op) -> String {
    match chain.make_block(vec![chain.tx(signer, 0, op)]) {
        Err((_, e)) => e.code().to_owned(),
        Ok(_) => panic!("applied"),
    }
}

fn refused_version(walk: &Walk, block: &Block) -> (u32, u32) {
    match check_block(walk, block, vec![None; block.txs.len()]) {
        Err(CheckError::Invalid(InvalidBlock::Version { expected, got })) => (expected, got),
        other => panic!("not refused for its version: {other:?}"),
    }
}

#[test]
fn blocks_carry_the_scheduled_version_from_its_height_and_no_other() {
    let (mut chain, mut walk) = chain();
    let first = commit(&mut chain, &mut walk, Vec::new());
    assert_eq!(first.header.version, 1, "a chain starts at version 1");
    let tx = chain.tx("MOF", 0, schedule(4, 2));
    commit(&mut chain, &mut walk, vec![tx]);
    assert_eq!(
        chain.state.upgrade(),
        Some(&Upgrade {
            height: Height(4),
            version: 2,
            previous: 1
        })
    );
    assert_eq!(chain.state.protocol_version_at(Height(3)), 1);
    assert_eq!(chain.state.protocol_version_at(Height(4)), 2);

    // Block 3 is still version 1; one that says 2 is refused.
    let (early, _, _) = chain.make_block(Vec::new()).unwrap();
    assert_eq!(early.header.version, 1);
    let mut ahead = early.clone();
    ahead.header.version = 2;
    assert_eq!(refused_version(&walk, &ahead), (1, 2));
    commit(&mut chain, &mut walk, Vec::new());

    // From block 4 on, version 2 and nothing else.
    let (at, _, _) = chain.make_block(Vec::new()).unwrap();
    assert_eq!(at.header.version, 2);
    let mut behind = at.clone();
    behind.header.version = 1;
    assert_eq!(refused_version(&walk, &behind), (2, 1));
    commit(&mut chain, &mut walk, Vec::new());
    assert_eq!(commit(&mut chain, &mut walk, Vec::new()).header.version, 2);
}

#[test]
fn only_the_treasury_schedules_and_only_a_later_height_and_a_higher_version() {
    let (mut chain, mut walk) = chain();
    let ministry = chain.tx(
        "MOF",
        0,
        Op::RegisterEntity {
            id: EntityId::new("MOH").unwrap(),
            kind: EntityKind::Ministry,
            name: "Bộ Y tế".into(),
            parent: None,
            keys: vec![key("MOH").public_key()],
            threshold: 1,
        },
    );
    commit(&mut chain, &mut walk, vec![ministry]); // the next block is 2
    assert_eq!(refusal(&chain, "MOH", schedule(10, 2)), "not_authorized");
    assert_eq!(refusal(&chain, "MOF", schedule(2, 2)), "invalid_argument");
    assert_eq!(refusal(&chain, "MOF", schedule(1, 2)), "invalid_argument");
    assert_eq!(refusal(&chain, "MOF", schedule(10, 1)), "invalid_argument");

    // A pending upgrade is replaced; the version in force stays `previous`.
    let tx = chain.tx("MOF", 0, schedule(10, 2));
    commit(&mut chain, &mut walk, vec![tx]);
    let tx = chain.tx("MOF", 0, schedule(5, 3));
    commit(&mut chain, &mut walk, vec![tx]);
    assert_eq!(
        chain.state.upgrade(),
        Some(&Upgrade {
            height: Height(5),
            version: 3,
            previous: 1
        })
    );
    while chain.state.height() < Height(5) {
        commit(&mut chain, &mut walk, Vec::new());
    }
    // Once in force, the next must be above it.
    assert_eq!(refusal(&chain, "MOF", schedule(20, 3)), "invalid_argument");
    let tx = chain.tx("MOF", 0, schedule(20, 4));
    commit(&mut chain, &mut walk, vec![tx]);
    assert_eq!(chain.state.upgrade().map(|u| u.previous), Some(3));
    assert_eq!(chain.state.protocol_version_at(Height(19)), 3);
}
