//! Fixtures for tests and benchmarks: a small chain with deterministic keys,
//! and helpers to sign transactions and commit blocks. Nodes never use this.

pub mod ops;

use crate::block::{Block, CommitCertificate};
use crate::builder::{build_block, sign_commit, BlockTemplate};
use crate::crypto::SigningKey;
use crate::error::TxError;
use crate::merkle::Frontier;
use crate::state::{BlockOutcome, Entity, StateKey, StateValue, ValidatorSlot};
use crate::tx::{EntityKind, Op, SignedTx, Status, TxBody};
use crate::types::{EntityId, Hash, PeerId};
use crate::validators::{Validator, ValidatorSet};
use crate::State;

/// Chain id used by fixtures.
pub const CHAIN_ID: &str = "minhbach-test";
/// Genesis time used by fixtures (2026-01-01T00:00:00Z).
pub const GENESIS_TIME_MS: u64 = 1_767_225_600_000;

/// An entity id written in a test; panics if it is not a valid one.
pub fn id(s: &str) -> EntityId {
    EntityId::new(s).expect("a valid entity id")
}

/// A deterministic key from a label.
pub fn key(label: &str) -> SigningKey {
    SigningKey::from_seed(Hash::digest(label.as_bytes()).0)
}

/// A chain under test: its state, genesis facts and the keys of its
/// treasury and validators.
pub struct TestChain {
    /// Current state.
    pub state: State,
    /// Genesis hash.
    pub genesis_hash: Hash,
    /// The genesis state.
    pub genesis: State,
    /// Validator keys, in set order.
    pub validator_keys: Vec<SigningKey>,
    /// Hash of the last block.
    pub last_hash: Hash,
    /// Time of the last block.
    pub last_time_ms: u64,
    /// The history tree of the blocks so far.
    pub history: Frontier,
    /// Certificate of the last block.
    pub last_cert: Option<CommitCertificate>,
    /// The chain id transactions are signed for.
    pub chain_id: String,
    /// How much later than its parent each block is timed.
    pub block_interval_ms: u64,
}

impl TestChain {
    /// A chain whose genesis has treasury `MOF` (key `key("MOF")`) and
    /// `validators` validators of power 10.
    pub fn new(validators: usize) -> TestChain {
        let treasury = EntityId::new("MOF").expect("valid id");
        let validator_keys: Vec<SigningKey> = (0..validators)
            .map(|i| key(&format!("validator-{i}")))
            .collect();
        let set = ValidatorSet::new(
            validator_keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("validator-{i}"),
                    consensus_key: k.public_key(),
                    peer_id: PeerId::from_ed25519(&k.public_key()).expect("valid key"),
                    power: 10,
                })
                .collect(),
        )
        .expect("valid set");
        let writes = vec![
            (
                StateKey::Treasury,
                Some(StateValue::Treasury(treasury.clone())),
            ),
            (
                StateKey::Entity(treasury.clone()),
                Some(StateValue::Entity(Entity {
                    id: treasury,
                    kind: EntityKind::Treasury,
                    name: "Bộ Tài chính".into(),
                    parent: None,
                    keys: vec![key("MOF").public_key()],
                    threshold: 1,
                    pending: None,
                    status: Status::Active,
                    nonce: 0,
                })),
            ),
            (
                StateKey::Validators(ValidatorSlot::Current),
                Some(StateValue::Validators(set.clone())),
            ),
            (
                StateKey::Validators(ValidatorSlot::Next),
                Some(StateValue::Validators(set)),
            ),
        ];
        let genesis_hash = Hash::digest(b"test genesis");
        let state = State::genesis(CHAIN_ID, writes);
        TestChain::from_genesis(state, genesis_hash, GENESIS_TIME_MS, validator_keys)
    }

    /// A chain from a genesis state made elsewhere (such as
    /// `genesis::Genesis::state`), whose validators sign with
    /// `validator_keys`; blocks are a second apart.
    pub fn from_genesis(
        genesis: State,
        genesis_hash: Hash,
        genesis_time_ms: u64,
        validator_keys: Vec<SigningKey>,
    ) -> TestChain {
        TestChain {
            chain_id: genesis.chain_id().to_owned(),
            state: genesis.clone(),
            genesis,
            genesis_hash,
            validator_keys,
            last_hash: genesis_hash,
            last_time_ms: genesis_time_ms,
            history: Frontier::default(),
            last_cert: None,
            block_interval_ms: 1000,
        }
    }

    /// Signs `op` as `signer` with `key(signer)` and its next nonce,
    /// counting `pending` of its transactions not yet committed.
    pub fn tx(&self, signer: &str, pending: u64, op: Op) -> SignedTx {
        let id = EntityId::new(signer).expect("valid id");
        let nonce = self.state.next_nonce(&id).unwrap_or(1) + pending;
        TxBody {
            chain_id: self.chain_id.clone(),
            signer: id,
            nonce,
            op,
        }
        .sign(&key(signer))
    }

    /// Builds and certifies the next block, without committing it.
    pub fn make_block(
        &self,
        txs: Vec<SignedTx>,
    ) -> Result<(Block, CommitCertificate, BlockOutcome), (usize, TxError)> {
        let template = BlockTemplate {
            prev_hash: self.last_hash,
            history_root: self.history.root(),
            time_ms: self.last_time_ms + self.block_interval_ms,
            proposer: self.validator_keys[0].public_key(),
            last_commit: self.last_cert.clone(),
            evidence: Vec::new(),
        };
        let (block, outcome) = build_block(&self.state, txs, template)?;
        let keys: Vec<&SigningKey> = self.validator_keys.iter().collect();
        let cert = sign_commit(&block, 0, &keys);
        Ok((block, cert, outcome))
    }

    /// Records a block made by [`TestChain::make_block`] as committed.
    pub fn advance(&mut self, block: &Block, cert: CommitCertificate, outcome: BlockOutcome) {
        self.state.commit(outcome);
        self.last_hash = block.hash();
        self.history.push(crate::history::leaf(&self.last_hash));
        self.last_time_ms = block.header.time_ms;
        self.last_cert = Some(cert);
    }

    /// Makes and commits a block of `txs` in memory.
    pub fn commit(&mut self, txs: Vec<SignedTx>) -> Result<Block, (usize, TxError)> {
        let (block, cert, outcome) = self.make_block(txs)?;
        self.advance(&block, cert, outcome);
        Ok(block)
    }
}
