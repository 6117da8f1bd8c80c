//! Making blocks: executing a list of transactions on a state and filling in a
//! header that commits to the result, and collecting precommits into a commit
//! certificate. A proposer uses this; so do tests and benchmarks.

use crate::block::{
    evidence_hash, last_commit_hash, Block, CommitCertificate, Evidence, Header, Vote, VoteType,
};
use crate::crypto::SigningKey;
use crate::error::TxError;
use crate::merkle;
use crate::state::{BlockOutcome, State, Verdict};
use crate::tx::SignedTx;
use crate::types::{Hash, PublicKey};

/// What a proposer chooses besides the transactions.
#[derive(Clone, Debug)]
pub struct BlockTemplate {
    /// Hash of the last committed block (the genesis hash before block 1).
    pub prev_hash: Hash,
    /// Block time, ms since the epoch; must exceed the previous block's.
    pub time_ms: u64,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// The certificate of the previous block (`None` for block 1).
    pub last_commit: Option<CommitCertificate>,
    /// Evidence to include.
    pub evidence: Vec<Evidence>,
}

/// Executes `txs` on `state` as the next block and returns the block with its
/// outcome, or the index and reason of the first rejected transaction.
pub fn build_block(
    state: &State,
    txs: Vec<SignedTx>,
    template: BlockTemplate,
) -> Result<(Block, BlockOutcome), (usize, TxError)> {
    let verdicts = state.batch_verdicts(&txs);
    build_block_with(state, txs, verdicts, template)
}

/// [`build_block`] with the signature verdicts already known, one per
/// transaction (see [`State::execute_block_with`]).
pub fn build_block_with(
    state: &State,
    txs: Vec<SignedTx>,
    verdicts: Vec<Option<Verdict>>,
    template: BlockTemplate,
) -> Result<(Block, BlockOutcome), (usize, TxError)> {
    let outcome = state.execute_block_with(&txs, verdicts)?;
    let leaves: Vec<Hash> = txs.iter().map(|t| merkle::leaf_hash(&t.encode())).collect();
    let header = header_for(
        state,
        &template,
        txs.len(),
        merkle::root_from_leaf_hashes(&leaves),
        outcome.state_root,
    );
    let block = Block {
        header,
        txs,
        evidence: template.evidence,
        last_commit: template.last_commit,
    };
    Ok((block, outcome))
}

/// The header [`build_block_with`] gives for these contents.
fn header_for(
    state: &State,
    template: &BlockTemplate,
    tx_count: usize,
    txs_root: Hash,
    state_root: Hash,
) -> Header {
    Header {
        chain_id: state.chain_id().to_owned(),
        height: state.height().next(),
        time_ms: template.time_ms,
        prev_hash: template.prev_hash,
        tx_count: u32::try_from(tx_count).expect("a block holds fewer than 2^32 transactions"),
        txs_root,
        state_root,
        last_commit_hash: last_commit_hash(template.last_commit.as_ref()),
        evidence_hash: evidence_hash(&template.evidence),
        validators_hash: state.validators().hash(),
        next_validators_hash: state.next_validators().hash(),
        proposer: template.proposer,
    }
}

/// Why [`check_block_with`] refuses a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebuildError {
    /// A transaction is rejected.
    #[error("transaction {index} is rejected: {error}")]
    Rejected {
        /// Its index in the block.
        index: usize,
        /// Why.
        error: TxError,
    },
    /// The header is not what the block's contents give.
    #[error("its header is not what its contents give")]
    Header,
}

/// Checks that `block` is exactly what [`build_block_with`] makes of its
/// transactions, time, proposer, last commit and evidence on `state` after
/// `prev_hash`, without copying it, and returns its outcome. The caller has
/// checked [`Block::check_contents`], which binds the transactions root,
/// count, evidence and last commit to the header.
pub fn check_block_with(
    state: &State,
    block: &Block,
    verdicts: Vec<Option<Verdict>>,
    prev_hash: Hash,
) -> Result<BlockOutcome, RebuildError> {
    let outcome = state
        .execute_block_with(&block.txs, verdicts)
        .map_err(|(index, error)| RebuildError::Rejected { index, error })?;
    let template = BlockTemplate {
        prev_hash,
        time_ms: block.header.time_ms,
        proposer: block.header.proposer,
        last_commit: block.last_commit.clone(),
        evidence: block.evidence.clone(),
    };
    let want = header_for(
        state,
        &template,
        block.txs.len(),
        block.header.txs_root,
        outcome.state_root,
    );
    if want != block.header {
        return Err(RebuildError::Header);
    }
    Ok(outcome)
}

/// A commit certificate for `block` in `round`, signed by `keys`.
pub fn sign_commit(block: &Block, round: u32, keys: &[&SigningKey]) -> CommitCertificate {
    let h = &block.header;
    let hash = block.hash();
    let precommits = keys
        .iter()
        .map(|k| {
            Vote::sign(
                k,
                &h.chain_id,
                VoteType::Precommit,
                h.height,
                round,
                Some(hash),
            )
        })
        .collect();
    CommitCertificate {
        height: h.height,
        round,
        block_hash: hash,
        precommits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{key, TestChain};
    use crate::tx::{EntityKind, Op};
    use crate::types::EntityId;

    fn register(chain: &TestChain, pending: u64, n: u64) -> SignedTx {
        let id = format!("V-{n:04}");
        chain.tx(
            "MOF",
            pending,
            Op::RegisterEntity {
                id: EntityId::new(&id).unwrap(),
                kind: EntityKind::Vendor,
                name: format!("Vendor {n}"),
                parent: None,
                public_key: key(&id).public_key(),
            },
        )
    }

    #[test]
    fn a_block_checks_only_if_building_its_contents_gives_its_header() {
        let chain = TestChain::new(1);
        let txs: Vec<SignedTx> = (0..3).map(|i| register(&chain, i, i)).collect();
        let (block, built) = chain
            .make_block(txs.clone())
            .map(|(b, _, o)| (b, o))
            .unwrap();
        let checked = check_block_with(&chain.state, &block, vec![None; 3], chain.last_hash);
        assert_eq!(checked.as_ref().map(|o| o.state_root), Ok(built.state_root));

        // Any header field that building would fill differently.
        let mut changed = Vec::new();
        let mut b = block.clone();
        b.header.state_root = Hash::digest(b"another root");
        changed.push(b);
        let mut b = block.clone();
        b.header.validators_hash = Hash::digest(b"another set");
        changed.push(b);
        let mut b = block.clone();
        b.header.height = crate::types::Height(2);
        changed.push(b);
        for b in changed {
            assert_eq!(
                check_block_with(&chain.state, &b, vec![None; 3], chain.last_hash).unwrap_err(),
                RebuildError::Header
            );
        }
        // After another block, the same block no longer follows.
        assert_eq!(
            check_block_with(&chain.state, &block, vec![None; 3], Hash::digest(b"x")).unwrap_err(),
            RebuildError::Header
        );
        // A transaction that cannot execute is named.
        let mut b = block.clone();
        b.txs.swap(0, 2);
        match check_block_with(&chain.state, &b, vec![None; 3], chain.last_hash) {
            Err(RebuildError::Rejected { index: 0, .. }) => {}
            other => panic!("expected transaction 0 rejected, got {other:?}"),
        }
    }
}
