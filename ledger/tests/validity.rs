//! The one rule of block validity (`ledger::validity`), on blocks no honest
//! proposer makes: more transactions than a block may hold, a block too
//! large to be read back once stored (both refused before anything is
//! executed or any signature checked), a header that does not match its
//! contents, and one that names another history than the chain's.

use ledger::block::last_commit_hash;
use ledger::codec::{self, BLOCK_BYTES_MAX};
use ledger::testkit::key;
use ledger::testkit::TestChain;
use ledger::tx::EntityKind;
use ledger::validity::{check_block, ChainView, CheckError, InvalidBlock, Walk, BLOCK_TXS_MAX};
use ledger::{merkle, Block, EntityId, Hash, Height, Op, SignedTx};

/// A chain at height 1, and the walk a reader of it holds.
fn chain() -> (TestChain, Walk) {
    let mut chain = TestChain::new(4);
    let mut walk = Walk::genesis(
        chain.genesis.clone(),
        chain.genesis_hash,
        ledger::testkit::GENESIS_TIME_MS,
    );
    let (block, cert, outcome) = chain.make_block(Vec::new()).expect("an empty block");
    walk.advance(&block, outcome.clone());
    chain.advance(&block, cert, outcome);
    (chain, walk)
}

fn refused(walk: &Walk, block: &Block) -> InvalidBlock {
    match check_block(walk, block, vec![None; block.txs.len()]) {
        Err(CheckError::Invalid(e)) => e,
        other => panic!("block {} was not refused: {other:?}", block.header.height),
    }
}

#[test]
fn an_honest_block_passes() {
    let (chain, walk) = chain();
    let (block, _, outcome) = chain.make_block(Vec::new()).expect("a block");
    let got = check_block(&walk, &block, Vec::new()).expect("valid");
    assert_eq!(got.state_root, outcome.state_root);
}

#[test]
fn a_block_with_more_transactions_than_allowed_is_refused() {
    let (chain, walk) = chain();
    let (mut block, _, _) = chain.make_block(Vec::new()).expect("a block");
    let tx = chain.tx(
        "MOF",
        0,
        Op::SetStatus {
            entity: ledger::EntityId::new("MOF").expect("an id"),
            status: ledger::tx::Status::Active,
        },
    );
    // Consistent with its header, so that only the count is wrong.
    block.txs = vec![tx; BLOCK_TXS_MAX + 1];
    block.header.tx_count = block.txs.len() as u32;
    block.header.txs_root = merkle::root_from_leaf_hashes(&block.tx_leaf_hashes());
    assert!(block.check_contents().is_ok());
    assert_eq!(
        refused(&walk, &block),
        InvalidBlock::TooManyTxs {
            count: BLOCK_TXS_MAX + 1
        }
    );
}

#[test]
fn a_block_too_large_to_read_back_is_refused() {
    let (chain, walk) = chain();
    let (mut block, _, _) = chain.make_block(Vec::new()).expect("a block");
    // The last commit padded with copies of its votes until the encoding is
    // over the limit a stored block is read back with.
    let mut cert = block
        .last_commit
        .clone()
        .expect("block 2 carries a last commit");
    let vote = cert.precommits[0].clone();
    let per_vote = codec::encode(&vote).len();
    cert.precommits
        .extend(std::iter::repeat_n(vote, BLOCK_BYTES_MAX / per_vote + 1));
    block.last_commit = Some(cert);
    block.header.last_commit_hash = last_commit_hash(block.last_commit.as_ref());
    assert!(block.check_contents().is_ok());
    let bytes = block.encode().len();
    assert!(bytes > BLOCK_BYTES_MAX);
    assert!(
        Block::decode(&block.encode()).is_err(),
        "it could not be read back"
    );
    assert_eq!(refused(&walk, &block), InvalidBlock::TooLarge { bytes });
}

fn register(chain: &TestChain, pending: u64) -> SignedTx {
    let id = format!("V-{pending:04}");
    chain.tx(
        "MOF",
        pending,
        Op::RegisterEntity {
            id: EntityId::new(&id).expect("an id"),
            kind: EntityKind::Vendor,
            name: format!("Vendor {pending}"),
            parent: None,
            keys: vec![key(&id).public_key()],
            threshold: 1,
        },
    )
}

#[test]
fn a_block_passes_only_if_its_header_is_what_its_contents_give() {
    let (chain, walk) = chain();
    let txs: Vec<SignedTx> = (0..3).map(|i| register(&chain, i)).collect();
    let (block, _, built) = chain.make_block(txs).expect("a block");
    let checked = check_block(&walk, &block, vec![None; 3]).expect("valid");
    assert_eq!(checked.state_root, built.state_root);

    let mut b = block.clone();
    b.header.state_root = Hash::digest(b"another root");
    assert_eq!(
        refused(&walk, &b),
        InvalidBlock::StateRoot {
            computed: built.state_root,
            header: b.header.state_root
        }
    );
    let mut b = block.clone();
    b.header.validators_hash = Hash::digest(b"another set");
    assert_eq!(refused(&walk, &b), InvalidBlock::ValidatorsHash);
    let mut b = block.clone();
    b.header.height = Height(5);
    assert!(matches!(refused(&walk, &b), InvalidBlock::Height { .. }));
    let mut b = block.clone();
    b.header.prev_hash = Hash::digest(b"x");
    assert!(matches!(refused(&walk, &b), InvalidBlock::PrevHash { .. }));
    // A transaction that cannot execute is named, in a block whose header
    // commits to its order.
    let mut b = block.clone();
    b.txs.swap(0, 2);
    b.header.txs_root = merkle::root_from_leaf_hashes(&b.tx_leaf_hashes());
    assert!(matches!(
        refused(&walk, &b),
        InvalidBlock::Rejected { index: 0, .. }
    ));
}

#[test]
fn a_block_must_name_the_root_of_every_block_before_it() {
    let (mut chain, mut walk) = chain();
    let mut hashes = vec![walk.last_hash()];
    for _ in 0..4 {
        let (block, cert, outcome) = chain.make_block(Vec::new()).expect("a block");
        // Computed here from the block hashes, as RFC 6962 says: leaf
        // SHA-256(0x00 ‖ hash), node SHA-256(0x01 ‖ left ‖ right).
        let leaves: Vec<Hash> = hashes
            .iter()
            .map(|h| Hash::digest(&[&[0u8][..], &h.0[..]].concat()))
            .collect();
        assert_eq!(
            block.header.history_root,
            merkle::root_from_leaf_hashes(&leaves)
        );
        let checked = check_block(&walk, &block, Vec::new()).expect("valid");
        walk.advance(&block, checked);
        chain.advance(&block, cert, outcome);
        hashes.push(block.hash());
    }
    // A block that leaves out block 1 of the history, and one that names
    // the history before the last block, are both refused.
    let (block, _, _) = chain.make_block(Vec::new()).expect("a block");
    for other in [
        {
            let leaves: Vec<Hash> = hashes[1..].iter().map(ledger::history::leaf).collect();
            merkle::root_from_leaf_hashes(&leaves)
        },
        {
            let leaves: Vec<Hash> = hashes[..4].iter().map(ledger::history::leaf).collect();
            merkle::root_from_leaf_hashes(&leaves)
        },
    ] {
        let mut b = block.clone();
        b.header.history_root = other;
        assert_eq!(
            refused(&walk, &b),
            InvalidBlock::HistoryRoot {
                expected: block.header.history_root,
                got: other
            }
        );
    }
}
