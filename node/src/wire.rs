//! What nodes send each other: the gossip messages of the four topics and the
//! block-sync requests and responses. Everything is encoded with the ledger's
//! one canonical codec and decoded with a size limit, refusing trailing bytes.
//!
//! A proposal travels with its block, so a validator can judge it on
//! arrival. Proposals are signed over their own domain tag, so a signature
//! on a vote can never be replayed as a proposal or the reverse.

use bincode::{Decode, Encode};
use ledger::codec::{self, BLOCK_BYTES_MAX, TX_BYTES_MAX};
use ledger::crypto::{self, SigningKey};
use ledger::{
    Block, CommitCertificate, Evidence, Hash, Height, PublicKey, Signature, TxError, Vote,
};

/// Domain tag of proposal signatures.
pub const PROPOSAL_DOMAIN_TAG: &str = "minhbach/proposal/v1";

/// Gossip topic of transactions.
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
/// Largest proposal message: a block plus the proposal's few fields.
pub const PROPOSAL_MSG_BYTES_MAX: usize = BLOCK_BYTES_MAX + 1024;
/// Largest gossip message of any topic.
pub const GOSSIP_BYTES_MAX: usize = PROPOSAL_MSG_BYTES_MAX;
/// Largest sync response; a responder stops adding blocks before this.
pub const SYNC_RESPONSE_BYTES_MAX: usize = 2 * BLOCK_BYTES_MAX + 64 * 1024;
/// Largest sync request.
pub const SYNC_REQUEST_BYTES_MAX: usize = 64;
/// Most blocks asked for or sent in one sync exchange.
pub const SYNC_BLOCKS_MAX: u32 = 64;

// Every transaction fits in a gossip message and a block in a sync response.
const _: () = assert!(TX_BYTES_MAX < GOSSIP_BYTES_MAX);
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

/// A proposal with its block. `sent_ms` is not signed: it makes each
/// rebroadcast a new gossip message (gossip drops repeats of the same bytes).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProposalMsg {
    /// The signed proposal.
    pub proposal: SignedProposal,
    /// The block it proposes.
    pub block: Block,
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
}

/// Encodes a wire value.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    codec::encode(value)
}

/// Decodes a proposal message.
pub fn decode_proposal(bytes: &[u8]) -> Result<ProposalMsg, TxError> {
    codec::decode::<ProposalMsg, PROPOSAL_MSG_BYTES_MAX>(bytes)
}

/// Decodes a vote message.
pub fn decode_vote(bytes: &[u8]) -> Result<VoteMsg, TxError> {
    codec::decode::<VoteMsg, VOTE_MSG_BYTES_MAX>(bytes)
}

/// Decodes an evidence message.
pub fn decode_evidence(bytes: &[u8]) -> Result<Evidence, TxError> {
    codec::decode::<Evidence, EVIDENCE_MSG_BYTES_MAX>(bytes)
}

/// Decodes a sync request.
pub fn decode_sync_request(bytes: &[u8]) -> Result<SyncRequest, TxError> {
    codec::decode::<SyncRequest, SYNC_REQUEST_BYTES_MAX>(bytes)
}

/// Decodes a sync response.
pub fn decode_sync_response(bytes: &[u8]) -> Result<SyncResponse, TxError> {
    codec::decode::<SyncResponse, SYNC_RESPONSE_BYTES_MAX>(bytes)
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
}
