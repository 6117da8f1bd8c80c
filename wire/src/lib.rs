//! What a node reads from outside, decoded without the network stack, the
//! database or the runtime, so that every decoder can be fuzzed in a short
//! instrumented build (`fuzz/` at the root of the workspace).
//!
//! At the root: what nodes send each other, the gossip messages of the four
//! topics and the block-sync requests and responses. Everything is encoded
//! with the ledger's one canonical codec and decoded with a size limit,
//! refusing trailing bytes. Besides: [`submission`], the body of
//! `POST /v1/txs`; [`config`], the node's `config.toml`; and
//! [`fuzz_targets`], one checking function per decoder, shared by the fuzz
//! targets and the test that replays their corpora. The node re-exports this
//! crate as `node::wire` and its config as `node::config`; it owns the
//! sockets that carry these bytes.
//!
//! Transactions travel once: in batches on the transactions topic. A
//! proposal carries its block's header, evidence and last commit but only
//! the hashes of its transactions; a validator fills them from its mempool
//! and asks the proposer over the sync protocol for any it lacks.
//! Proposals are signed over their own domain tag, so a signature on a vote
//! can never be replayed as a proposal or the reverse.

pub mod config;
pub mod cursor;
#[cfg(feature = "fuzz")]
pub mod fuzz_targets;
pub mod submission;

use bincode::{Decode, Encode};
use ledger::codec::{self, BLOCK_BYTES_MAX, TX_BYTES_MAX};
use ledger::crypto::{self, SigningKey};
use ledger::state::snapshot::{Chunk, CHUNK_DEPTH_MAX};
use ledger::statesync::SnapshotAnchor;
use ledger::{
    Block, CommitCertificate, Evidence, Hash, Header, Height, PublicKey, Signature, SignedTx,
    TxError, Vote,
};

/// Domain tag of proposal signatures.
pub const PROPOSAL_DOMAIN_TAG: &str = "minhbach/proposal/v1";

/// Gossip topic of transaction batches.
pub const TOPIC_TXS: &str = "minhbach/txs/1";
/// Gossip topic of proposals with their blocks.
pub const TOPIC_PROPOSALS: &str = "minhbach/proposals/1";
/// Gossip topic of prevotes and precommits.
pub const TOPIC_VOTES: &str = "minhbach/votes/1";
/// Gossip topic of equivocation evidence.
pub const TOPIC_EVIDENCE: &str = "minhbach/evidence/1";

/// Largest vote message.
pub const VOTE_MSG_BYTES_MAX: usize = 1024;
/// Largest evidence message.
pub const EVIDENCE_MSG_BYTES_MAX: usize = 2048;
/// Largest proposal message. Its block lists transaction hashes, which are
/// never longer than the transactions, so a full block's size bounds it.
pub const PROPOSAL_MSG_BYTES_MAX: usize = BLOCK_BYTES_MAX + 1024;
/// Most transactions in one gossiped batch.
pub const TX_BATCH_TXS_MAX: usize = 2048;
/// Largest gossiped batch of transactions; a sender closes a batch before
/// it grows past half of this, so one largest transaction always fits.
pub const TX_BATCH_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Largest gossip message of any topic.
pub const GOSSIP_BYTES_MAX: usize = PROPOSAL_MSG_BYTES_MAX;
/// Largest sync response; a responder stops adding blocks before this.
pub const SYNC_RESPONSE_BYTES_MAX: usize = 2 * BLOCK_BYTES_MAX + 64 * 1024;
/// Most transaction hashes asked for in one request.
pub const TXS_FETCH_MAX: usize = 16_384;
/// Most snapshots one node offers.
pub const SNAPSHOTS_OFFERED_MAX: usize = config::SNAPSHOTS_KEPT_MAX;
/// Most bytes of entries a served chunk holds; a larger one is asked for
/// in halves.
pub const SNAPSHOT_CHUNK_BYTES: usize = 4 * 1024 * 1024;
const _: () = assert!(SNAPSHOT_CHUNK_BYTES * 2 < SYNC_RESPONSE_BYTES_MAX);
/// Largest sync request: a request for [`TXS_FETCH_MAX`] transactions.
pub const SYNC_REQUEST_BYTES_MAX: usize = TXS_FETCH_MAX * 32 + 64;
/// Most blocks asked for or sent in one sync exchange.
pub const SYNC_BLOCKS_MAX: u32 = 64;

// Every transaction fits in a batch, a batch in a gossip message, and a
// block in a sync response.
const _: () = assert!(2 * TX_BYTES_MAX < TX_BATCH_BYTES_MAX);
const _: () = assert!(TX_BATCH_BYTES_MAX < GOSSIP_BYTES_MAX);
const _: () = assert!(BLOCK_BYTES_MAX + 1024 < SYNC_RESPONSE_BYTES_MAX);

/// A signed proposal: "in round `round` of `height`, I propose the block
/// `block_hash`", with the round of its proof of lock, if any.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedProposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// The proposed block.
    pub block_hash: Hash,
    /// The round of the polka that justifies re-proposing a locked value.
    pub pol_round: Option<u32>,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// Signature over [`SignedProposal::signing_bytes`].
    pub signature: Signature,
}

impl SignedProposal {
    /// The bytes a proposer signs: tag, chain id, height, round, block, POL round.
    pub fn signing_bytes(
        chain_id: &str,
        height: Height,
        round: u32,
        block_hash: &Hash,
        pol_round: Option<u32>,
    ) -> Vec<u8> {
        codec::encode(&(
            PROPOSAL_DOMAIN_TAG,
            chain_id,
            height,
            round,
            *block_hash,
            pol_round,
        ))
    }

    /// Signs a proposal.
    pub fn sign(
        key: &SigningKey,
        chain_id: &str,
        height: Height,
        round: u32,
        block_hash: Hash,
        pol_round: Option<u32>,
    ) -> SignedProposal {
        let signature = key.sign(&Self::signing_bytes(
            chain_id,
            height,
            round,
            &block_hash,
            pol_round,
        ));
        SignedProposal {
            height,
            round,
            block_hash,
            pol_round,
            proposer: key.public_key(),
            signature,
        }
    }

    /// Whether the signature is the proposer's, under the ZIP-215 rule.
    pub fn verify(&self, chain_id: &str) -> bool {
        crypto::verify(
            &self.proposer,
            &Self::signing_bytes(
                chain_id,
                self.height,
                self.round,
                &self.block_hash,
                self.pol_round,
            ),
            &self.signature,
        )
    }
}

/// A block as a proposal carries it: everything but its transactions,
/// which it names by hash, in block order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CompactBlock {
    /// The block's header; its hash is the block's.
    pub header: Header,
    /// The hash of each transaction, in execution order.
    pub tx_hashes: Vec<Hash>,
    /// The block's evidence.
    pub evidence: Vec<Evidence>,
    /// The block's last commit.
    pub last_commit: Option<CommitCertificate>,
}

impl CompactBlock {
    /// The compact form of `block`.
    pub fn of(block: &Block) -> CompactBlock {
        CompactBlock {
            header: block.header.clone(),
            tx_hashes: block.tx_hashes(),
            evidence: block.evidence.clone(),
            last_commit: block.last_commit.clone(),
        }
    }

    /// The block's hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The whole block, taking each transaction from `find` by hash; the
    /// hashes `find` does not know if any are missing. The caller checks the
    /// result against its header ([`Block::check_contents`]).
    pub fn fill(
        &self,
        mut find: impl FnMut(&Hash) -> Option<SignedTx>,
    ) -> Result<Block, Vec<Hash>> {
        let mut txs = Vec::with_capacity(self.tx_hashes.len());
        let mut missing = Vec::new();
        for h in &self.tx_hashes {
            match find(h) {
                Some(tx) if missing.is_empty() => txs.push(tx),
                Some(_) => {}
                None => missing.push(*h),
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(Block {
            header: self.header.clone(),
            txs,
            evidence: self.evidence.clone(),
            last_commit: self.last_commit.clone(),
        })
    }
}

/// A proposal with its block in compact form. `sent_ms` is not signed: it
/// makes each rebroadcast a new gossip message (gossip drops repeats of the
/// same bytes).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProposalMsg {
    /// The signed proposal.
    pub proposal: SignedProposal,
    /// The block it proposes, naming its transactions by hash.
    pub block: CompactBlock,
    /// When the sender sent it, ms since the epoch.
    pub sent_ms: u64,
}

/// A vote; `sent_ms` as in [`ProposalMsg`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct VoteMsg {
    /// The signed vote.
    pub vote: Vote,
    /// When the sender sent it, ms since the epoch.
    pub sent_ms: u64,
}

/// A block-sync request.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// "How far is your chain?"
    Status,
    /// "Send me up to `count` blocks from `from` on, with their certificates."
    Blocks {
        /// First height wanted.
        from: Height,
        /// Most blocks wanted.
        count: u32,
    },
    /// "Send me these transactions", named in a proposal this node lacks;
    /// at most [`TXS_FETCH_MAX`].
    Txs(Vec<Hash>),
    /// "Which snapshots of the state do you serve?"
    Snapshots,
    /// "Send me what anchors your snapshot of `height`."
    SnapshotAnchor {
        /// The snapshot's height.
        height: Height,
    },
    /// "Send me chunk `prefix` of `depth` bits of your snapshot of
    /// `height`"; `depth` at most [`CHUNK_DEPTH_MAX`].
    SnapshotChunk {
        /// The snapshot's height.
        height: Height,
        /// Bits in the prefix.
        depth: u8,
        /// The prefix.
        prefix: u32,
    },
}

/// The answer to a request for a chunk.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ChunkAnswer {
    /// The chunk.
    Chunk(Chunk),
    /// Its entries take more than [`SNAPSHOT_CHUNK_BYTES`]: ask for its two
    /// halves, one bit deeper.
    TooLarge,
    /// No snapshot of that height is served here (any more).
    NotServed,
}

/// A block-sync response.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// The responder's last committed block.
    Status {
        /// Its height.
        height: Height,
        /// Its hash.
        last_hash: Hash,
    },
    /// Consecutive committed blocks with their commit certificates, from the
    /// height asked for; fewer than asked (even none) when the responder has
    /// fewer or they would exceed the response size.
    Blocks(Vec<(Block, CommitCertificate)>),
    /// Those of the transactions asked for that the responder holds, in the
    /// order asked, fewer if they would exceed the response size.
    Txs(Vec<SignedTx>),
    /// The heights of the snapshots served, oldest first; at most
    /// [`SNAPSHOTS_OFFERED_MAX`].
    Snapshots(Vec<Height>),
    /// The anchor of the snapshot asked for, `None` if it is not served.
    SnapshotAnchor(Option<SnapshotAnchor>),
    /// A chunk of the snapshot asked for.
    SnapshotChunk(ChunkAnswer),
}

/// Encodes a wire value.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    codec::encode(value)
}

/// Decodes a proposal message.
pub fn decode_proposal(bytes: &[u8]) -> Result<ProposalMsg, TxError> {
    codec::decode::<ProposalMsg, PROPOSAL_MSG_BYTES_MAX>(bytes)
}

/// Decodes a gossiped batch of transactions, refusing an empty one and one
/// of more than [`TX_BATCH_TXS_MAX`].
pub fn decode_tx_batch(bytes: &[u8]) -> Result<Vec<SignedTx>, TxError> {
    let txs = codec::decode::<Vec<SignedTx>, TX_BATCH_BYTES_MAX>(bytes)?;
    if txs.is_empty() || txs.len() > TX_BATCH_TXS_MAX {
        return Err(TxError::Malformed {
            reason: format!(
                "a batch holds 1 to {TX_BATCH_TXS_MAX} transactions, not {}",
                txs.len()
            ),
        });
    }
    Ok(txs)
}

/// Decodes a vote message.
pub fn decode_vote(bytes: &[u8]) -> Result<VoteMsg, TxError> {
    codec::decode::<VoteMsg, VOTE_MSG_BYTES_MAX>(bytes)
}

/// Decodes an evidence message.
pub fn decode_evidence(bytes: &[u8]) -> Result<Evidence, TxError> {
    codec::decode::<Evidence, EVIDENCE_MSG_BYTES_MAX>(bytes)
}

/// Decodes a sync request, refusing a request for more than
/// [`TXS_FETCH_MAX`] transactions or for a chunk deeper than
/// [`CHUNK_DEPTH_MAX`] bits.
pub fn decode_sync_request(bytes: &[u8]) -> Result<SyncRequest, TxError> {
    let request = codec::decode::<SyncRequest, SYNC_REQUEST_BYTES_MAX>(bytes)?;
    let malformed = |reason: String| Err(TxError::Malformed { reason });
    match &request {
        SyncRequest::Txs(hashes) if hashes.len() > TXS_FETCH_MAX => {
            malformed(format!("{} hashes is over {TXS_FETCH_MAX}", hashes.len()))
        }
        SyncRequest::SnapshotChunk { depth, prefix, .. }
            if *depth > CHUNK_DEPTH_MAX || u64::from(*prefix) >= 1u64 << depth =>
        {
            malformed(format!(
                "chunk {prefix} of {depth} bits: at most {CHUNK_DEPTH_MAX} bits, below 2^depth"
            ))
        }
        _ => Ok(request),
    }
}

/// Decodes a sync response, refusing a list of more than
/// [`SNAPSHOTS_OFFERED_MAX`] snapshots.
pub fn decode_sync_response(bytes: &[u8]) -> Result<SyncResponse, TxError> {
    let response = codec::decode::<SyncResponse, SYNC_RESPONSE_BYTES_MAX>(bytes)?;
    if let SyncResponse::Snapshots(heights) = &response {
        if heights.len() > SNAPSHOTS_OFFERED_MAX {
            return Err(TxError::Malformed {
                reason: format!(
                    "{} snapshots offered, over {SNAPSHOTS_OFFERED_MAX}",
                    heights.len()
                ),
            });
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::testkit::{key, CHAIN_ID};

    #[test]
    fn proposals_verify_only_with_their_own_chain_and_fields() {
        let k = key("validator-0");
        let p = SignedProposal::sign(&k, CHAIN_ID, Height(5), 2, Hash::digest(b"b"), Some(1));
        assert!(p.verify(CHAIN_ID));
        assert!(!p.verify("another-chain"));
        let mut q = p.clone();
        q.round = 3;
        assert!(!q.verify(CHAIN_ID));
        let mut q = p.clone();
        q.pol_round = None;
        assert!(!q.verify(CHAIN_ID));
        // A vote signature over the same height and round is not a proposal.
        let v = Vote::sign(
            &k,
            CHAIN_ID,
            ledger::VoteType::Prevote,
            Height(5),
            2,
            Some(Hash::digest(b"b")),
        );
        let mut q = p.clone();
        q.signature = v.signature;
        assert!(!q.verify(CHAIN_ID));
    }

    #[test]
    fn messages_round_trip_and_refuse_trailing_bytes() {
        let k = key("validator-0");
        let vote = Vote::sign(
            &k,
            CHAIN_ID,
            ledger::VoteType::Precommit,
            Height(9),
            0,
            None,
        );
        let msg = VoteMsg { vote, sent_ms: 7 };
        let mut bytes = encode(&msg);
        assert_eq!(decode_vote(&bytes).unwrap(), msg);
        bytes.push(0);
        assert!(decode_vote(&bytes).is_err());
        let req = SyncRequest::Blocks {
            from: Height(3),
            count: 10,
        };
        assert_eq!(decode_sync_request(&encode(&req)).unwrap(), req);
        assert!(decode_sync_request(&[0u8; SYNC_REQUEST_BYTES_MAX + 1]).is_err());
    }

    #[test]
    fn a_compact_block_fills_back_to_the_same_block_or_names_what_is_missing() {
        let chain = ledger::testkit::TestChain::new(1);
        let op = |n: u64| ledger::Op::RegisterEntity {
            id: ledger::EntityId::new(&format!("V-{n:04}")).unwrap(),
            kind: ledger::tx::EntityKind::Vendor,
            name: format!("Vendor {n}"),
            parent: None,
            keys: vec![key(&format!("V-{n:04}")).public_key()],
            threshold: 1,
        };
        let txs: Vec<SignedTx> = (0..3).map(|i| chain.tx("MOF", i, op(i))).collect();
        let (block, ..) = chain.make_block(txs.clone()).unwrap();
        let compact = CompactBlock::of(&block);
        assert_eq!(compact.hash(), block.hash());
        assert_eq!(compact.tx_hashes[1], txs[1].hash());
        let by_hash = |h: &Hash| txs.iter().find(|t| t.hash() == *h).cloned();
        let filled = compact.fill(by_hash).unwrap();
        assert_eq!(filled, block);
        assert!(filled.check_contents().is_ok());
        // Without the middle transaction, exactly its hash is missing.
        let missing = compact
            .fill(|h| by_hash(h).filter(|t| t.hash() != txs[1].hash()))
            .unwrap_err();
        assert_eq!(missing, vec![txs[1].hash()]);
        // A proposal message carries hashes, not the transactions.
        let msg = ProposalMsg {
            proposal: SignedProposal::sign(
                &key("validator-0"),
                CHAIN_ID,
                block.header.height,
                0,
                block.hash(),
                None,
            ),
            block: compact,
            sent_ms: 1,
        };
        let bytes = encode(&msg);
        assert_eq!(decode_proposal(&bytes).unwrap(), msg);
        assert!(bytes.len() < block.encode().len() + 256);
    }

    #[test]
    fn transaction_batches_are_bounded_in_count_and_size() {
        let chain = ledger::testkit::TestChain::new(1);
        let tx = chain.tx(
            "MOF",
            0,
            ledger::Op::SetStatus {
                entity: ledger::EntityId::new("MOF").unwrap(),
                status: ledger::tx::Status::Active,
            },
        );
        let batch = vec![tx.clone(); 3];
        let mut bytes = encode(&batch);
        assert_eq!(decode_tx_batch(&bytes).unwrap(), batch);
        bytes.push(0);
        assert!(decode_tx_batch(&bytes).is_err(), "trailing bytes");
        assert!(decode_tx_batch(&encode(&Vec::<SignedTx>::new())).is_err());
        let too_many = vec![tx.clone(); TX_BATCH_TXS_MAX + 1];
        assert!(decode_tx_batch(&encode(&too_many)).is_err());
        assert!(decode_tx_batch(&encode(&vec![tx; TX_BATCH_TXS_MAX])).is_ok());
        let fetch = SyncRequest::Txs(vec![Hash([1; 32]); TXS_FETCH_MAX]);
        assert_eq!(decode_sync_request(&encode(&fetch)).unwrap(), fetch);
        let over = SyncRequest::Txs(vec![Hash([1; 32]); TXS_FETCH_MAX + 1]);
        assert!(decode_sync_request(&encode(&over)).is_err());
    }
}
