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
    /// Root of the history tree over blocks 1..H−1 (see
    /// [`crate::validity::ChainView::history`]).
    pub history_root: Hash,
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
        version: state.protocol_version_at(state.height().next()),
        chain_id: state.chain_id().to_owned(),
        height: state.height().next(),
        time_ms: template.time_ms,
        prev_hash: template.prev_hash,
        history_root: template.history_root,
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
