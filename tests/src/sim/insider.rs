//! An insider: a registered non-validator node, allowed to connect, that
//! misbehaves in every way an allowed peer can.
//!
//! It signs votes with its own key (which is no validator's), and votes
//! at height `u64::MAX`; it names validators in votes whose signatures it
//! cannot make; it proposes under its own key; it re-signs every genuine
//! proposal it sees as its own; it claims to have committed height 2^62;
//! and it answers requests for blocks with nothing or with a block whose
//! certificate is empty. It stays under the rate of invalid gossip that
//! gets a peer banned, so that it goes on for the whole run.
//!
//! Colluding ([`super::Scenario::colluding_forger`]), it also holds every
//! validator's key. It holds a request for blocks until some node has
//! committed a block with transactions at or above the height asked for,
//! then answers with the genuine blocks up to it and that block, one
//! transaction's signature changed, certified by all of them: a
//! certificate is no reason to take a block that breaks the rules.

use ledger::crypto::SigningKey;
use ledger::{Block, CommitCertificate, Hash, Height, Vote, VoteType};
use libp2p::PeerId;
use node::driver::Topic;
use node::wire::{self, ProposalMsg, SignedProposal, SyncRequest, SyncResponse, VoteMsg};
use rand::Rng;

use node::driver::Event;

use super::net::From;
use super::Sim;

/// The label of the forger's key.
pub const FORGER_KEY: &str = "sim/consensus/forger";

/// The height the forger claims.
pub const CLAIMED_HEIGHT: u64 = 1 << 62;

/// The forger's state.
pub struct Forger {
    /// Its peer id.
    pub peer: PeerId,
    key: SigningKey,
    /// The last genuine proposal it saw.
    last_proposal: Option<ProposalMsg>,
    /// The last genuine vote it saw.
    last_vote: Option<Vote>,
    /// Its messages that nodes refused or ignored.
    pub refused: u64,
    /// Requests for blocks it holds, colluding: the reply and the height
    /// asked for, and when it was asked (ms of simulated time).
    held: Vec<(u64, Height, u64)>,
    /// Certified blocks with a forged signature it sent to a node that had
    /// not committed that height.
    pub doctored: u64,
}

/// How long the colluding forger holds a request, at most: less than a
/// node waits for an answer.
const HOLD_MS: u64 = 4_000;

impl Forger {
    /// The key it signs with; no validator's.
    pub fn public_key(&self) -> ledger::PublicKey {
        self.key.public_key()
    }
}

impl Forger {
    /// A forger with this peer id and key.
    pub fn new(peer: PeerId, key: SigningKey) -> Forger {
        Forger {
            peer,
            key,
            last_proposal: None,
            last_vote: None,
            refused: 0,
            held: Vec::new(),
            doctored: 0,
        }
    }
}

impl Sim {
    pub(super) fn forger_hears(&mut self, ev: Event) {
        let chain_id = self.genesis.chain_id.clone();
        let now = self.now();
        let Some(f) = self.forger.as_mut() else {
            return;
        };
        match ev {
            Event::Gossip {
                topic: Some(topic),
                data,
                ..
            } => match topic {
                Topic::Proposals => {
                    let Ok(msg) = wire::decode_proposal(&data) else {
                        return;
                    };
                    if msg.proposal.proposer == f.key.public_key() {
                        return;
                    }
                    // The same block, re-signed as its own.
                    let p = &msg.proposal;
                    let replay = ProposalMsg {
                        proposal: SignedProposal::sign(
                            &f.key,
                            &chain_id,
                            p.height,
                            p.round,
                            p.block_hash,
                            p.pol_round,
                        ),
                        block: msg.block.clone(),
                        sent_ms: msg.sent_ms + 1,
                    };
                    f.last_proposal = Some(msg);
                    self.gossip(From::Forger, Topic::Proposals, wire::encode(&replay), None);
                }
                Topic::Votes => {
                    if let Ok(msg) = wire::decode_vote(&data) {
                        f.last_vote = Some(msg.vote);
                    }
                }
                _ => {}
            },
            Event::SyncRequest {
                request: SyncRequest::Blocks { from, .. },
                reply,
                ..
            } if self.scenario.colluding_forger => {
                f.held.push((reply.0, from, now));
            }
            Event::SyncRequest { request, reply, .. } => {
                let response = match request {
                    SyncRequest::Status => SyncResponse::Status {
                        height: Height(CLAIMED_HEIGHT),
                        last_hash: Hash::digest(b"a chain that does not exist"),
                    },
                    SyncRequest::Blocks { from, .. } => {
                        if self.rng.gen_bool(0.5) {
                            SyncResponse::Blocks(Vec::new())
                        } else {
                            SyncResponse::Blocks(vec![garbage_block(f, from)])
                        }
                    }
                    other => node::statesync::nothing_yet(&other),
                };
                self.respond(From::Forger, reply.0, response);
            }
            _ => {}
        }
    }

    /// Answers the requests for blocks the colluding forger holds whose
    /// height some node has committed, with that block doctored; lets go
    /// of those held too long.
    fn forger_answers(&mut self) {
        let (now, chain_id) = (self.now(), self.genesis.chain_id.clone());
        let Some(f) = self.forger.as_mut() else {
            return;
        };
        let mut answers = Vec::new();
        f.held.retain(|&(reply, from, at)| {
            let genuine = self
                .nodes
                .iter()
                .find_map(|n| genuine_up_to_txs(&n.shared.as_ref()?.store, from));
            match genuine {
                Some(blocks) => {
                    answers.push((reply, blocks));
                    false
                }
                None => now < at + HOLD_MS,
            }
        });
        for (reply, (mut blocks, last)) in answers {
            let height = last.header.height;
            let lagging = self.replies.get(&reply).is_some_and(|&(to, ..)| {
                let shared = self.nodes[to].shared.as_ref();
                let committed = shared.and_then(|s| s.store.meta().ok()?);
                committed.is_some_and(|m| m.height < height)
            });
            if lagging {
                if let Some(f) = self.forger.as_mut() {
                    f.doctored += 1;
                }
            }
            blocks.push(doctored_block(last, &chain_id, self.scenario.validators));
            self.respond(From::Forger, reply, SyncResponse::Blocks(blocks));
        }
    }

    /// What the forger sends on its own, a few times a second.
    pub(super) fn forger_acts(&mut self) {
        self.forger_answers();
        let chain_id = self.genesis.chain_id.clone();
        let Some(f) = self.forger.as_ref() else {
            return;
        };
        let Some(seen) = f.last_vote.clone() else {
            return;
        };
        let key = ledger::testkit::key(FORGER_KEY);
        let mut out: Vec<(Topic, Vec<u8>)> = Vec::new();
        let vote_msg = |vote| {
            wire::encode(&VoteMsg {
                vote,
                sent_ms: super::GENESIS_TIME_MS,
            })
        };
        // A flood of votes signed by a key that is no validator's.
        for k in 0..4u32 {
            let vote = Vote::sign(
                &key,
                &chain_id,
                if k % 2 == 0 {
                    VoteType::Prevote
                } else {
                    VoteType::Precommit
                },
                Height(seen.height.0 + u64::from(k % 2)),
                seen.round + k,
                Some(Hash::digest(&k.to_le_bytes())),
            );
            out.push((Topic::Votes, vote_msg(vote)));
        }
        // A vote at the last height there is.
        let far = Vote::sign(
            &key,
            &chain_id,
            VoteType::Prevote,
            Height(u64::MAX),
            0,
            None,
        );
        out.push((Topic::Votes, vote_msg(far)));
        // A validator's vote, with a signature that is not its own.
        if self.rng.gen_bool(0.3) {
            let mut forged = seen.clone();
            forged.block_hash = Some(Hash::digest(b"forged"));
            out.push((Topic::Votes, vote_msg(forged)));
        }
        // A proposal under its own key.
        if let Some(p) = &f.last_proposal {
            let own = ProposalMsg {
                proposal: SignedProposal::sign(
                    &key,
                    &chain_id,
                    p.proposal.height,
                    p.proposal.round + 1,
                    p.proposal.block_hash,
                    None,
                ),
                block: p.block.clone(),
                sent_ms: p.sent_ms + 2,
            };
            out.push((Topic::Proposals, wire::encode(&own)));
        }
        for (topic, bytes) in out {
            self.gossip(From::Forger, topic, bytes, None);
        }
    }
}

/// The genuine blocks from `from` with their certificates, as `store`
/// holds them, before the first that holds a transaction, and that block;
/// `None` if it does not hold one within a sync answer's blocks.
fn genuine_up_to_txs(
    store: &ledger::store::Store,
    from: Height,
) -> Option<(Vec<(Block, CommitCertificate)>, Block)> {
    let mut before = Vec::new();
    for h in from.0..from.0 + u64::from(wire::SYNC_BLOCKS_MAX) {
        let block = store.block(Height(h)).ok()??;
        if !block.txs.is_empty() {
            return Some((before, block));
        }
        before.push((block, store.cert(Height(h)).ok()??));
    }
    None
}

/// `block` with its first transaction's first signature changed, so that
/// it no longer verifies, and its header's root of the transactions made
/// again, under a certificate the keys of `validators` validators sign.
fn doctored_block(
    mut block: Block,
    chain_id: &str,
    validators: usize,
) -> (Block, CommitCertificate) {
    block.txs[0].signatures[0].signature.0[0] ^= 1;
    block.header.txs_root = ledger::merkle::root_from_leaf_hashes(&block.tx_leaf_hashes());
    let (height, block_hash) = (block.header.height, block.hash());
    let precommits = (0..validators)
        .map(|i| {
            let key = ledger::testkit::key(&format!("sim/consensus/{i}"));
            Vote::sign(
                &key,
                chain_id,
                VoteType::Precommit,
                height,
                0,
                Some(block_hash),
            )
        })
        .collect();
    let cert = CommitCertificate {
        height,
        round: 0,
        block_hash,
        precommits,
    };
    (block, cert)
}

/// A block for height `from` that no validator signed: the header of the
/// last proposal seen, with a certificate that holds no vote.
fn garbage_block(f: &Forger, from: Height) -> (Block, CommitCertificate) {
    let header = f
        .last_proposal
        .as_ref()
        .map(|p| p.block.header.clone())
        .unwrap_or_else(|| ledger::Header {
            version: ledger::block::GENESIS_PROTOCOL_VERSION,
            chain_id: "minhbach-sim".into(),
            height: from,
            time_ms: 0,
            prev_hash: Hash([0; 32]),
            history_root: Hash([0; 32]),
            tx_count: 0,
            txs_root: Hash([0; 32]),
            state_root: Hash([0; 32]),
            last_commit_hash: Hash([0; 32]),
            evidence_hash: Hash([0; 32]),
            validators_hash: Hash([0; 32]),
            next_validators_hash: Hash([0; 32]),
            proposer: f.key.public_key(),
        });
    let mut header = header;
    header.height = from;
    let block = Block {
        header,
        txs: Vec::new(),
        evidence: Vec::new(),
        last_commit: None,
    };
    let cert = CommitCertificate {
        height: from,
        round: 0,
        block_hash: block.hash(),
        precommits: Vec::new(),
    };
    (block, cert)
}
