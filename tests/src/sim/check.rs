//! The simulator's checkers. They replay the chain themselves from genesis
//! and compute quorums themselves (`3·power > 2·total`), so that they do
//! not trust the code under test to judge itself:
//! - **agreement**: every node holds the same block at every height;
//! - **validity**: every committed block passes the one rule of block
//!   validity on the checker's own replay, and its certificate holds more
//!   than 2/3 of the power of its height's set, in valid precommits for it;
//! - **liveness after heal**: each height started after the heal commits
//!   within [`super::ROUNDS_AFTER_HEAL_MAX`] rounds (and the run reaches its
//!   target in time, checked by the run itself);
//! - **no double signing**: an honest key never signs two different
//!   messages for one step, across restarts (the equivocator's heights
//!   are recorded instead, for the evidence its offences must bring);
//! - **persist before sign**: every message a node signs is in the safety
//!   record on its store at the moment it goes out;
//! - **upgrades**: a node never commits a block of a protocol version
//!   newer than the one it runs;
//! - **state roots**: every committed header's state root is the root of
//!   the checker's replayed state computed from the whole map by the
//!   definition (`statemap::naive`), not by the nodes' incremental tree,
//!   and each node's store proves the treasury's entry at each height it
//!   committed against that root.

use std::collections::{BTreeMap, BTreeSet};

use consensus::{SafetyRecord, Signable};
use ledger::statemap::naive;
use ledger::validity::{self, ChainView, Walk};
use ledger::{Block, CommitCertificate, EntityId, Hash, PublicKey, Signature, VoteType};
use node::driver::Topic;
use node::shared::Shared;
use node::wire;

use super::ROUNDS_AFTER_HEAL_MAX;

/// One signing step: key, height, round, and 0 for a proposal, 1 for a
/// prevote, 2 for a precommit.
type Step = (PublicKey, u64, u32, u8);

/// What the checkers have seen.
pub struct Checker {
    walk: Walk,
    /// The hash of every height committed anywhere, in order.
    chain: Vec<Hash>,
    /// The replay stopped at an invalid block.
    broken: bool,
    /// The last height each node was seen to have committed.
    heights: BTreeMap<usize, u64>,
    /// The first message each key signed for each step.
    signed: BTreeMap<Step, Option<Hash>>,
    /// Heights above this were started after the heal (0: not healed).
    pub heal_height: u64,
    /// The most rounds a height after the heal took.
    pub max_rounds_after_heal: u32,
    /// Validator-set changes committed.
    pub set_changes: u64,
    /// Blocks committed, by the proposer their header names.
    pub proposers: BTreeMap<PublicKey, u64>,
    /// A hash of every commit, in order.
    pub trace_hash: u64,
    /// The node that double-signs on purpose, if any.
    pub equivocator: Option<usize>,
    /// The protocol version each node runs, where it is not the newest.
    pub runs: BTreeMap<usize, u32>,
    /// Heights at which it signed two votes of one step.
    pub double_signed: BTreeSet<u64>,
    /// Violations found.
    pub violations: Vec<String>,
}

fn mix(a: u64, b: &[u8]) -> u64 {
    let mut bytes = a.to_le_bytes().to_vec();
    bytes.extend_from_slice(b);
    let h = Hash::digest(&bytes).0;
    u64::from_le_bytes(h[..8].try_into().expect("8 bytes"))
}

impl Checker {
    /// Before block 1.
    pub fn new(genesis: ledger::State, genesis_hash: Hash, genesis_time_ms: u64) -> Checker {
        Checker {
            walk: Walk::genesis(genesis, genesis_hash, genesis_time_ms),
            chain: Vec::new(),
            broken: false,
            heights: BTreeMap::new(),
            signed: BTreeMap::new(),
            heal_height: 0,
            max_rounds_after_heal: 0,
            set_changes: 0,
            proposers: BTreeMap::new(),
            trace_hash: 0,
            equivocator: None,
            runs: BTreeMap::new(),
            double_signed: BTreeSet::new(),
            violations: Vec::new(),
        }
    }

    fn violation(&mut self, what: String) {
        if self.violations.len() < 50 {
            self.violations.push(what);
        }
    }

    /// The last height node `i` was seen to have committed.
    pub fn height_of(&self, i: usize) -> u64 {
        self.heights.get(&i).copied().unwrap_or(0)
    }

    /// The treasury's next nonce on the committed chain.
    pub fn treasury_next_nonce(&self) -> u64 {
        let mof = EntityId::new("MOF").expect("an id");
        self.walk.state.next_nonce(&mof).unwrap_or(1)
    }

    /// A node (re)started.
    pub fn started(&mut self, i: usize) {
        self.heights.entry(i).or_insert(0);
    }

    /// Reads what node `i` committed since it was last looked at.
    pub fn observe(&mut self, i: usize, shared: &Shared) {
        let seen = self.height_of(i);
        let Ok(Some(meta)) = shared.store.meta() else {
            return;
        };
        // A store started from a snapshot holds the chain from its height.
        let base = shared.store.base().map_or(0, |b| b.0);
        for h in (seen + 1).max(base)..=meta.height.0 {
            let (Ok(Some(block)), Ok(Some(cert))) = (
                shared.store.block(ledger::Height(h)),
                shared.store.cert(ledger::Height(h)),
            ) else {
                self.violation(format!("node {i}: height {h} is recorded but not readable"));
                return;
            };
            if let Some(&runs) = self.runs.get(&i) {
                if block.header.version > runs {
                    self.violation(format!(
                        "upgrade: node {i} runs protocol version {runs} but committed height \
                         {h}, a block of version {}",
                        block.header.version
                    ));
                }
            }
            let hash = block.hash();
            match self.chain.get(h as usize - 1) {
                Some(first) if *first != hash => {
                    let first = *first;
                    self.violation(format!(
                        "agreement: node {i} committed {hash} at height {h}, another node {first}"
                    ));
                }
                Some(_) => {}
                None => self.first_commit(h, &block, &cert),
            }
            self.check_state_proof(i, shared, h, &block.header.state_root);
            self.heights.insert(i, h);
        }
    }

    /// Node `i`'s store proves the treasury's entry after block `h`
    /// against the block's state root.
    fn check_state_proof(&mut self, i: usize, shared: &Shared, h: u64, root: &Hash) {
        let key = ledger::state::StateKey::Entity(EntityId::new("MOF").expect("an id"));
        let proved = match shared.store.entry_proof(&key, ledger::Height(h)) {
            Ok(Some(p)) => p,
            other => {
                self.violation(format!(
                    "state proof: node {i} gives no proof of MOF at height {h}: {other:?}"
                ));
                return;
            }
        };
        let value = proved.value.as_ref().map(ledger::state::value_hash);
        if let Err(e) = proved
            .proof
            .verify(root, &ledger::state::key_hash(&key), value.as_ref())
        {
            self.violation(format!(
                "state proof: node {i}'s proof of MOF at height {h} fails: {e}"
            ));
        }
        if proved.value.is_none() {
            self.violation(format!(
                "state proof: node {i} says MOF is absent at height {h}"
            ));
        }
    }

    /// Block `h` is committed for the first time anywhere.
    fn first_commit(&mut self, h: u64, block: &Block, cert: &CommitCertificate) {
        // The history root, computed here from the chain's own hashes as
        // RFC 6962 says: leaf SHA-256(0x00 ‖ hash).
        let leaves: Vec<Hash> = self
            .chain
            .iter()
            .map(|b| Hash::digest(&[&[0u8][..], &b.0[..]].concat()))
            .collect();
        if block.header.history_root != ledger::merkle::root_from_leaf_hashes(&leaves) {
            self.violation(format!(
                "validity: block {h} names history root {}, not the root of the {} blocks before it",
                block.header.history_root,
                leaves.len()
            ));
        }
        self.chain.push(block.hash());
        *self.proposers.entry(block.header.proposer).or_default() += 1;
        self.trace_hash = mix(self.trace_hash, &block.hash().0);
        if self.heal_height > 0 && h > self.heal_height + 1 {
            let rounds = cert.round + 1;
            self.max_rounds_after_heal = self.max_rounds_after_heal.max(rounds);
            if rounds > ROUNDS_AFTER_HEAL_MAX {
                self.violation(format!(
                    "liveness: height {h} took {rounds} rounds after the heal \
                     (at most {ROUNDS_AFTER_HEAL_MAX})"
                ));
            }
        }
        if self.broken {
            return;
        }
        self.check_quorum(h, block, cert);
        let verdicts = self.walk.state.batch_verdicts(&block.txs);
        match validity::check_block(&self.walk, block, verdicts) {
            Ok(outcome) => {
                if block.header.validators_hash != block.header.next_validators_hash {
                    self.set_changes += 1;
                }
                self.walk.advance(block, outcome);
                let model = naive::root(&ledger::state::hashed_entries(&self.walk.state));
                if block.header.state_root != model {
                    self.violation(format!(
                        "validity: block {h} names state root {}, but the map of the state \
                         after it has root {model}",
                        block.header.state_root
                    ));
                }
            }
            Err(e) => {
                self.violation(format!(
                    "validity: block {h} was committed but is invalid: {e}"
                ));
                self.broken = true;
            }
        }
    }

    /// The certificate holds more than 2/3 of set(h)'s power in distinct,
    /// valid precommits for the block.
    fn check_quorum(&mut self, h: u64, block: &Block, cert: &CommitCertificate) {
        let set = self.walk.state().validators().clone();
        let chain_id = self.walk.state().chain_id().to_owned();
        let hash = block.hash();
        let total: u128 = set.validators().iter().map(|v| u128::from(v.power)).sum();
        let mut counted = std::collections::BTreeSet::new();
        let mut power: u128 = 0;
        for v in &cert.precommits {
            let ok = v.vote_type == VoteType::Precommit
                && v.height.0 == h
                && v.round == cert.round
                && v.block_hash == Some(hash)
                && v.verify(&chain_id);
            if let (true, Some(member)) = (ok, set.get(&v.validator)) {
                if counted.insert(v.validator) {
                    power += u128::from(member.power);
                }
            }
        }
        if 3 * power <= 2 * total {
            self.violation(format!(
                "validity: block {h}'s certificate holds {power} of {total} power"
            ));
        }
    }

    /// Node `i` sends a message: if it signed it, the signature must be
    /// in its durable safety record, and must not conflict with anything
    /// its key signed before.
    pub fn published(
        &mut self,
        i: usize,
        me: PublicKey,
        topic: Topic,
        bytes: &[u8],
        record: Option<&[u8]>,
    ) {
        let (step, value, item) = match topic {
            Topic::Votes => {
                let Ok(msg) = wire::decode_vote(bytes) else {
                    return;
                };
                let v = msg.vote;
                let t = if v.vote_type == VoteType::Prevote {
                    1
                } else {
                    2
                };
                let item = Signable::Vote(consensus::Vote {
                    vote_type: if t == 1 {
                        consensus::VoteType::Prevote
                    } else {
                        consensus::VoteType::Precommit
                    },
                    height: consensus::Height(v.height.0),
                    round: consensus::Round(v.round),
                    value: v.block_hash,
                    validator: v.validator,
                });
                ((v.validator, v.height.0, v.round, t), v.block_hash, item)
            }
            Topic::Proposals => {
                let Ok(msg) = wire::decode_proposal(bytes) else {
                    return;
                };
                let p = msg.proposal;
                let item = Signable::Proposal(consensus::Proposal {
                    height: consensus::Height(p.height.0),
                    round: consensus::Round(p.round),
                    value: p.block_hash,
                    pol_round: p.pol_round.map(consensus::Round),
                    proposer: p.proposer,
                });
                (
                    (p.proposer, p.height.0, p.round, 0),
                    Some(p.block_hash),
                    item,
                )
            }
            _ => return,
        };
        if step.0 != me {
            // Relayed (a polka behind a re-proposal), not signed here.
            return;
        }
        match self.signed.get(&step) {
            Some(first) if *first != value && self.equivocator == Some(i) => {
                if step.3 != 0 {
                    self.double_signed.insert(step.1);
                }
                return;
            }
            Some(first) if *first != value => {
                self.violation(format!(
                    "double signing: node {i}'s key signed {first:?} and {value:?} at \
                     height {} round {} step {}",
                    step.1, step.2, step.3
                ));
            }
            // Sent again: signed before, when it was checked.
            Some(_) => return,
            None => {
                self.signed.insert(step, value);
            }
        }
        let record: Option<SafetyRecord<Hash, PublicKey, Signature>> =
            record.and_then(|b| serde_json::from_slice(b).ok());
        let durable = record
            .as_ref()
            .is_some_and(|r| r.height().0 > step.1 || r.signed().contains(&item));
        if !durable {
            let stored = record.map(|r| (r.height().0, r.signed().len()));
            self.violation(format!(
                "persist before sign: node {i} sent a signature at height {} round {} step {} \
                 that its stored safety record (height and signatures {stored:?}) does not hold",
                step.1, step.2, step.3
            ));
        }
    }
}
