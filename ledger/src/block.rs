//! Blocks, votes, commit certificates and evidence of equivocation.
//!
//! The block hash is SHA-256 of the encoded [`Header`], and the header commits
//! to everything else in the block: the transactions (root and count), the
//! evidence, the previous block's commit certificate, and the validator sets
//! of this height and the next. It also commits to the whole history before
//! it, through the root of the tree of every earlier block hash.

use std::collections::BTreeSet;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{self, BLOCK_BYTES_MAX, CERT_BYTES_MAX, RECORD_BYTES_MAX};
use crate::crypto::{self, SigningKey};
use crate::error::TxError;
use crate::merkle;
use crate::tx::SignedTx;
use crate::types::{Hash, Height, PublicKey, Signature};
use crate::validators::ValidatorSet;

/// Domain tag that starts the signed bytes of every vote.
pub const VOTE_DOMAIN_TAG: &str = "minhbach/vote/v1";
/// Most pieces of evidence in one block.
pub const BLOCK_EVIDENCE_MAX: usize = 16;

/// A block header.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Header {
    /// The protocol version whose rules made the block: the genesis
    /// version until the treasury schedules another
    /// ([`crate::State::protocol_version_at`]).
    pub version: u32,
    /// Chain id.
    pub chain_id: String,
    /// Height, from 1.
    pub height: Height,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Hash of the previous block; the genesis hash for block 1.
    pub prev_hash: Hash,
    /// RFC 6962 root of the history tree over the hashes of blocks 1..H−1
    /// (see [`crate::history`]); the empty tree's root for block 1.
    pub history_root: Hash,
    /// Number of transactions.
    pub tx_count: u32,
    /// RFC 6962 root over the encoded transactions.
    pub txs_root: Hash,
    /// State root after this block's transactions.
    pub state_root: Hash,
    /// Hash of the previous block's commit certificate ([`Hash::digest`] of
    /// nothing for block 1).
    pub last_commit_hash: Hash,
    /// Hash of the evidence list.
    pub evidence_hash: Hash,
    /// Hash of set(H).
    pub validators_hash: Hash,
    /// Hash of set(H+1).
    pub next_validators_hash: Hash,
    /// Consensus key of the validator that made the block; in set(H).
    pub proposer: PublicKey,
}

/// The protocol version of a chain's first block.
pub const GENESIS_PROTOCOL_VERSION: u32 = 1;
/// The newest protocol version this build's rules implement. A node stops
/// before a height whose blocks must carry a later one.
pub const PROTOCOL_VERSION: u32 = 1;

impl Header {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        Hash::digest(&codec::encode(self))
    }
}

/// A block: header, transactions, evidence, and the previous block's commit.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Block {
    /// Header.
    pub header: Header,
    /// Transactions, in execution order.
    pub txs: Vec<SignedTx>,
    /// Evidence of equivocation.
    pub evidence: Vec<Evidence>,
    /// Commit certificate of block H-1; absent for block 1.
    pub last_commit: Option<CommitCertificate>,
}

/// Why a block does not match its own header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// A header field disagrees with the block's contents.
    #[error("block {height}: {field} does not match the block's contents")]
    Mismatch {
        /// Height.
        height: Height,
        /// The header field.
        field: &'static str,
    },
    /// Too much evidence.
    #[error("block {height}: {count} pieces of evidence, at most {BLOCK_EVIDENCE_MAX} allowed")]
    TooMuchEvidence {
        /// Height.
        height: Height,
        /// Count.
        count: usize,
    },
}

impl Block {
    /// Decodes canonical bytes (at most 8 MiB).
    pub fn decode(bytes: &[u8]) -> Result<Block, TxError> {
        codec::decode::<Block, BLOCK_BYTES_MAX>(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// The block hash (of its header).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The transactions' hashes (their ids), in block order.
    pub fn tx_hashes(&self) -> Vec<Hash> {
        self.txs.iter().map(SignedTx::hash).collect()
    }

    /// The leaf hashes of the transactions tree.
    pub fn tx_leaf_hashes(&self) -> Vec<Hash> {
        self.txs
            .iter()
            .map(|t| merkle::leaf_hash(&t.encode()))
            .collect()
    }

    /// Checks that the header commits to this block's contents: transaction
    /// count and root, evidence and last commit.
    pub fn check_contents(&self) -> Result<(), BlockError> {
        let h = &self.header;
        let mismatch = |field| {
            Err(BlockError::Mismatch {
                height: h.height,
                field,
            })
        };
        if h.tx_count as usize != self.txs.len() {
            return mismatch("tx_count");
        }
        if h.txs_root != merkle::root_from_leaf_hashes(&self.tx_leaf_hashes()) {
            return mismatch("txs_root");
        }
        if self.evidence.len() > BLOCK_EVIDENCE_MAX {
            return Err(BlockError::TooMuchEvidence {
                height: h.height,
                count: self.evidence.len(),
            });
        }
        if h.evidence_hash != evidence_hash(&self.evidence) {
            return mismatch("evidence_hash");
        }
        if h.last_commit_hash != last_commit_hash(self.last_commit.as_ref()) {
            return mismatch("last_commit_hash");
        }
        Ok(())
    }
}

/// The hash of an evidence list, as committed in the header.
pub fn evidence_hash(evidence: &[Evidence]) -> Hash {
    Hash::digest(&codec::encode(&evidence))
}

/// The hash of a commit certificate, or of nothing for block 1.
pub fn last_commit_hash(cert: Option<&CommitCertificate>) -> Hash {
    match cert {
        Some(c) => Hash::digest(&c.encode()),
        None => Hash::digest(&[]),
    }
}

/// The two vote types.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VoteType {
    /// First round of voting.
    Prevote,
    /// Second round; a block is committed by >2/3 precommits.
    Precommit,
}

/// A signed vote for a block hash, or for nil.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Vote {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// The block voted for; `None` is nil.
    pub block_hash: Option<Hash>,
    /// The voter's consensus key.
    pub validator: PublicKey,
    /// Signature over [`Vote::signing_bytes`].
    pub signature: Signature,
}

impl Vote {
    /// The bytes a validator signs: tag, chain id, type, height, round, value.
    pub fn signing_bytes(
        chain_id: &str,
        vote_type: VoteType,
        height: Height,
        round: u32,
        block_hash: Option<Hash>,
    ) -> Vec<u8> {
        codec::encode(&(
            VOTE_DOMAIN_TAG,
            chain_id,
            vote_type,
            height,
            round,
            block_hash,
        ))
    }

    /// Signs a vote.
    pub fn sign(
        key: &SigningKey,
        chain_id: &str,
        vote_type: VoteType,
        height: Height,
        round: u32,
        block_hash: Option<Hash>,
    ) -> Vote {
        let signature = key.sign(&Vote::signing_bytes(
            chain_id, vote_type, height, round, block_hash,
        ));
        Vote {
            vote_type,
            height,
            round,
            block_hash,
            validator: key.public_key(),
            signature,
        }
    }

    /// Checks the signature (ZIP-215).
    pub fn verify(&self, chain_id: &str) -> bool {
        let msg = Vote::signing_bytes(
            chain_id,
            self.vote_type,
            self.height,
            self.round,
            self.block_hash,
        );
        crypto::verify(&self.validator, &msg, &self.signature)
    }

    /// Decodes canonical bytes.
    pub fn decode(bytes: &[u8]) -> Result<Vote, TxError> {
        codec::decode::<Vote, RECORD_BYTES_MAX>(bytes)
    }
}

/// Precommits for one block from more than 2/3 of the power of set(H).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// Height of the block.
    pub height: Height,
    /// Round it was decided in.
    pub round: u32,
    /// The block.
    pub block_hash: Hash,
    /// The precommits.
    pub precommits: Vec<Vote>,
}

/// Why a commit certificate is not valid for a block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertError {
    /// The certificate is for another height, round or block.
    #[error("certificate is for {what} {got}, expected {expected}")]
    WrongTarget {
        /// Which field.
        what: &'static str,
        /// Expected value.
        expected: String,
        /// Value found.
        got: String,
    },
    /// A precommit for nil.
    #[error("vote {index} is a nil vote")]
    NilVote {
        /// Position in the certificate.
        index: usize,
    },
    /// A vote that is not a precommit for this height, round and block.
    #[error("vote {index} is not a precommit for this height, round and block")]
    ForeignVote {
        /// Position.
        index: usize,
    },
    /// The same validator twice.
    #[error("validator {validator} signs twice")]
    DuplicateSigner {
        /// The key.
        validator: PublicKey,
    },
    /// A signer outside set(H).
    #[error("{validator} is not a validator at this height")]
    UnknownSigner {
        /// The key.
        validator: PublicKey,
    },
    /// A signature that does not verify.
    #[error("the signature of {validator} does not verify")]
    BadSignature {
        /// The key.
        validator: PublicKey,
    },
    /// Not enough power.
    #[error("signers hold {power} of {total} voting power, which is not more than 2/3")]
    InsufficientPower {
        /// Signed power.
        power: u64,
        /// Total power.
        total: u64,
    },
}

impl CommitCertificate {
    /// Decodes canonical bytes.
    pub fn decode(bytes: &[u8]) -> Result<CommitCertificate, TxError> {
        codec::decode::<CommitCertificate, CERT_BYTES_MAX>(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Checks that this certificate commits block `block_hash` at `height`
    /// under `set` = set(height).
    pub fn verify(
        &self,
        chain_id: &str,
        height: Height,
        block_hash: &Hash,
        set: &ValidatorSet,
    ) -> Result<(), CertError> {
        if self.height != height {
            return Err(CertError::WrongTarget {
                what: "height",
                expected: height.to_string(),
                got: self.height.to_string(),
            });
        }
        if self.block_hash != *block_hash {
            return Err(CertError::WrongTarget {
                what: "block",
                expected: block_hash.to_hex(),
                got: self.block_hash.to_hex(),
            });
        }
        let mut seen = BTreeSet::new();
        let mut power: u64 = 0;
        let mut items = Vec::with_capacity(self.precommits.len());
        let messages: Vec<Vec<u8>> = self
            .precommits
            .iter()
            .map(|v| Vote::signing_bytes(chain_id, v.vote_type, v.height, v.round, v.block_hash))
            .collect();
        for (index, v) in self.precommits.iter().enumerate() {
            if v.block_hash.is_none() {
                return Err(CertError::NilVote { index });
            }
            if v.vote_type != VoteType::Precommit
                || v.height != self.height
                || v.round != self.round
                || v.block_hash != Some(self.block_hash)
            {
                return Err(CertError::ForeignVote { index });
            }
            if !seen.insert(v.validator) {
                return Err(CertError::DuplicateSigner {
                    validator: v.validator,
                });
            }
            let Some(val) = set.get(&v.validator) else {
                return Err(CertError::UnknownSigner {
                    validator: v.validator,
                });
            };
            power += val.power;
            items.push((v.validator, messages[index].as_slice(), v.signature));
        }
        if let Some(i) = crypto::verify_batch(&items).iter().position(|ok| !ok) {
            return Err(CertError::BadSignature {
                validator: items[i].0,
            });
        }
        if !set.is_supermajority(power) {
            return Err(CertError::InsufficientPower {
                power,
                total: set.total_power(),
            });
        }
        Ok(())
    }
}

/// Two signed votes from one validator of one type, height and round, for
/// different values (nil included).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Evidence {
    /// First vote.
    pub a: Vote,
    /// Second vote.
    pub b: Vote,
}

/// Why evidence does not prove equivocation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvidenceError {
    /// The votes do not conflict.
    #[error("the two votes {0}")]
    NotConflicting(&'static str),
    /// The validator is not in the set of that height.
    #[error("{0} is not a validator at that height")]
    UnknownValidator(PublicKey),
    /// A signature does not verify.
    #[error("a vote's signature does not verify")]
    BadSignature,
}

impl Evidence {
    /// Checks the evidence alone against set(height of the votes).
    pub fn verify(&self, chain_id: &str, set: &ValidatorSet) -> Result<(), EvidenceError> {
        let (a, b) = (&self.a, &self.b);
        if a.validator != b.validator {
            return Err(EvidenceError::NotConflicting(
                "are from different validators",
            ));
        }
        if (a.vote_type, a.height, a.round) != (b.vote_type, b.height, b.round) {
            return Err(EvidenceError::NotConflicting("are for different steps"));
        }
        if a.block_hash == b.block_hash {
            return Err(EvidenceError::NotConflicting("are for the same value"));
        }
        if set.get(&a.validator).is_none() {
            return Err(EvidenceError::UnknownValidator(a.validator));
        }
        if !a.verify(chain_id) || !b.verify(chain_id) {
            return Err(EvidenceError::BadSignature);
        }
        Ok(())
    }

    /// The height of the equivocation.
    pub fn height(&self) -> Height {
        self.a.height
    }
}
