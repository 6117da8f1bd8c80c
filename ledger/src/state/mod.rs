//! The ledger state and the execution of transactions against it.
//!
//! [`State`] is one ordered map from [`StateKey`] to [`StateValue`]: entities,
//! budget figures, contracts, deliveries, validator sets and registered nodes.
//! A block is executed in a [`BlockExec`] overlay, so that a rejected
//! transaction changes nothing and an invalid block can be thrown away whole.
//! The overlay records every write in order; those writes are what the store
//! persists. The state root is the root of the authenticated map over every
//! entry ([`crate::statemap`]): the block's changed keys update it along
//! their paths only, so the root costs O(changes × log(entries)).
//!
//! Execution is deterministic: it reads no clock, no randomness and iterates
//! only ordered maps.

use std::collections::BTreeMap;

mod approvals;
mod budgets;
mod contracts;
mod entities;
mod map;
mod network;
mod queries;
mod records;
pub mod snapshot;
mod years;

pub use approvals::check_key_set;
#[cfg(feature = "store")]
pub(crate) use map::key_hash_of_encoding;
pub use map::{hashed_entries, key_hash, value_hash};
pub use records::{
    AckChunk, BudgetFigures, ChainParams, Contract, ControlRule, Delivery, Entity, NodeRecord,
    PendingKeys, StateKey, StateValue, Upgrade, ValidatorSlot, Write, ACKS_PER_CHUNK,
};
pub use years::YearFigures;

use crate::checked::check_text;
use crate::error::TxError;
use crate::statemap::{NodeWrite, Nodes};
use crate::tx::{EntityKind, Op, SignedTx, Status};
use crate::types::{Amount, ContractId, EntityId, Hash, Height, LineCode, PeerId, PublicKey, Year};
use crate::validators::{check_carry_over, Validator, ValidatorSet};

/// Longest display name, in bytes.
pub const NAME_BYTES_MAX: usize = 200;
/// Longest contract title, amendment reason or delivery note, in bytes.
pub const TEXT_BYTES_MAX: usize = 1000;
/// Longest legal reference, payment reference or milestone, in bytes.
pub const REF_BYTES_MAX: usize = 128;

/// The ledger state after the last committed block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    chain_id: String,
    height: Height,
    root: Hash,
    map: BTreeMap<StateKey, StateValue>,
    /// The authenticated map over `map`, whose root is `root`.
    tree: Nodes,
}

/// The outcome of executing a block: its writes in order, the new root and
/// the tree nodes that give it.
#[derive(Clone, Debug)]
pub struct BlockOutcome {
    /// Height executed.
    pub height: Height,
    /// The ordered writes.
    pub writes: Vec<Write>,
    /// The state root after the block.
    pub state_root: Hash,
    /// The authenticated map's node writes, by position.
    pub tree_writes: Vec<NodeWrite>,
}

/// The authenticated map's changes for final values by key: key hash →
/// value hash, `None` for a removed entry.
fn tree_changes<'a>(
    finals: impl IntoIterator<Item = (&'a StateKey, Option<&'a StateValue>)>,
) -> BTreeMap<Hash, Option<Hash>> {
    finals
        .into_iter()
        .map(|(k, v)| (key_hash(k), v.map(value_hash)))
        .collect()
}

/// Whether every signature of a transaction verifies under the key it names,
/// computed ahead of execution (for example by a batch). It depends on the
/// transaction alone, not on the state: whether those keys may act for the
/// signer is decided in execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Whether they all verified.
    pub valid: bool,
}

/// Checks the signatures of a block's transactions on every core, each
/// core taking a batch of them ([`verify_tx_batch`](crate::tx::verify_tx_batch)): a verdict for every
/// transaction, for checking a block whose transactions no cache has seen
/// (one read back by `verify chain`, or received by block sync).
pub fn verdicts_on_every_core(txs: &[SignedTx]) -> Vec<Option<Verdict>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let part = txs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = txs
            .chunks(part)
            .map(|txs| {
                scope.spawn(move || {
                    let txs: Vec<&SignedTx> = txs.iter().collect();
                    crate::tx::verify_tx_batch(&txs)
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("signature verification does not panic"))
            .map(|valid| Some(Verdict { valid }))
            .collect()
    })
}

impl State {
    /// The state at genesis, built by the `genesis` crate from its writes.
    pub fn genesis(chain_id: &str, writes: Vec<Write>) -> State {
        let mut map = BTreeMap::new();
        for (k, v) in writes {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        State::with_map(chain_id, Height(0), map)
    }

    /// The state of `map` at `height`, its authenticated map built anew
    /// from the entries.
    fn with_map(chain_id: &str, height: Height, map: BTreeMap<StateKey, StateValue>) -> State {
        let mut tree = Nodes::new();
        let (root, nodes) = tree.update(&tree_changes(map.iter().map(|(k, v)| (k, Some(v)))));
        tree.apply(&nodes);
        State {
            chain_id: chain_id.to_owned(),
            height,
            root,
            map,
            tree,
        }
    }

    /// Puts together a state read back from the store: its entries and the
    /// nodes of its authenticated map. Refuses, saying why, nodes that do
    /// not form one whole tree (execution would find a node missing) or
    /// whose root is not `root`. Whether the entries are the map's is
    /// `verify chain`'s to say, entry by entry, against a replay.
    pub fn from_parts(
        chain_id: &str,
        height: Height,
        root: Hash,
        entries: impl IntoIterator<Item = (StateKey, StateValue)>,
        tree: Nodes,
    ) -> Result<State, String> {
        let map: BTreeMap<StateKey, StateValue> = entries.into_iter().collect();
        State::check_map(&tree, root)?;
        Ok(State {
            chain_id: chain_id.to_owned(),
            height,
            root,
            map,
            tree,
        })
    }

    /// Checks that the nodes of a state map hang together and have the
    /// root `root`.
    pub fn check_map(tree: &Nodes, root: Hash) -> Result<(), String> {
        tree.check().map_err(|at| {
            format!(
                "the state map is broken at depth {} on path {}",
                at.depth, at.path
            )
        })?;
        if tree.root() != root {
            return Err(format!(
                "the state map's root is {}, not the recorded state root {root}",
                tree.root()
            ));
        }
        Ok(())
    }

    /// The state of height `height` from its entries alone, as a snapshot
    /// gives them: the authenticated map is built anew, and the state is
    /// refused unless its root is `root`, the certified one.
    pub fn from_entries(
        chain_id: &str,
        height: Height,
        root: Hash,
        entries: impl IntoIterator<Item = (StateKey, StateValue)>,
    ) -> Result<State, String> {
        let state = State::with_map(chain_id, height, entries.into_iter().collect());
        if state.root != root {
            return Err(format!(
                "the entries give the state root {}, not the certified {root}",
                state.root
            ));
        }
        Ok(state)
    }

    /// The authenticated map's nodes.
    pub fn tree(&self) -> &Nodes {
        &self.tree
    }

    /// Starts executing block `height` (which must be the next one).
    pub fn begin_block(&self) -> BlockExec<'_> {
        let controls = StateKey::Control(None)..StateKey::Acks(ContractId::from_checked(""), 0);
        BlockExec {
            base: self,
            height: self.height.next(),
            overlay: BTreeMap::new(),
            writes: Vec::new(),
            pending_set: None,
            controls_maybe: self.map.range(controls).next().is_some(),
            years_closed_maybe: self
                .map
                .range(StateKey::YearClosed(Year(0))..)
                .next()
                .is_some(),
        }
    }

    /// Executes `txs` as block L+1, all or nothing. On failure names the index
    /// of the first rejected transaction.
    ///
    /// Signatures are checked in one batch first; whether their keys may act
    /// for the signer is decided transaction by transaction, against the keys
    /// at that point of the block.
    pub fn execute_block(&self, txs: &[SignedTx]) -> Result<BlockOutcome, (usize, TxError)> {
        self.execute_block_with(txs, self.batch_verdicts(txs))
    }

    /// [`State::execute_block`] with signature verdicts already known (from
    /// a node's cache), one per transaction; `None` checks that one alone.
    pub fn execute_block_with(
        &self,
        txs: &[SignedTx],
        verdicts: Vec<Option<Verdict>>,
    ) -> Result<BlockOutcome, (usize, TxError)> {
        assert_eq!(verdicts.len(), txs.len(), "one verdict per transaction");
        let mut exec = self.begin_block();
        for (i, (tx, verdict)) in txs.iter().zip(verdicts).enumerate() {
            exec.apply_tx(tx, verdict).map_err(|e| (i, e))?;
        }
        Ok(exec.finish())
    }

    /// Signature verdicts for `txs`, checked as one batch; `None` for a
    /// signer this state does not know, whose signatures are not worth
    /// checking.
    pub fn batch_verdicts(&self, txs: &[SignedTx]) -> Vec<Option<Verdict>> {
        let known: Vec<(usize, &SignedTx)> = txs
            .iter()
            .enumerate()
            .filter(|(_, tx)| self.entity(&tx.body.signer).is_some())
            .collect();
        let batch: Vec<&SignedTx> = known.iter().map(|(_, tx)| *tx).collect();
        let mut out = vec![None; txs.len()];
        for ((i, _), valid) in known.iter().zip(crate::tx::verify_tx_batch(&batch)) {
            out[*i] = Some(Verdict { valid });
        }
        out
    }

    /// Applies an executed block.
    pub fn commit(&mut self, outcome: BlockOutcome) {
        assert_eq!(outcome.height, self.height.next(), "blocks commit in order");
        for (k, v) in outcome.writes {
            match v {
                Some(v) => self.map.insert(k, v),
                None => self.map.remove(&k),
            };
        }
        self.tree.apply(&outcome.tree_writes);
        self.height = outcome.height;
        self.root = outcome.state_root;
    }

    /// Checks a transaction against this state alone, as a mempool does for
    /// the next nonce.
    pub fn check_tx(&self, tx: &SignedTx) -> Result<(), TxError> {
        self.begin_block().apply_tx(tx, None)
    }

    /// Checks that `tx`'s keys may act for its signer on this state: each
    /// is the signer's or a controller's the operation needs, and they reach
    /// the thresholds. What a mempool checks of a transaction it cannot yet
    /// execute (a later nonce), so that no one but the signer can hold the
    /// signer's future nonces.
    pub fn check_authority(&self, tx: &SignedTx) -> Result<(), TxError> {
        let signer = self
            .entity(&tx.body.signer)
            .ok_or_else(|| TxError::UnknownSigner {
                signer: tx.body.signer.clone(),
            })?;
        self.begin_block().authorize(signer, tx, Approval::Required)
    }

    /// Checks a transaction as [`State::check_tx`] does, except whether its
    /// signers reach their thresholds: what a transaction still gathering
    /// signatures must pass to be worth signing. Every signature must still
    /// verify, and none may come from a key that has no say in it.
    pub fn check_tx_before_approval(&self, tx: &SignedTx) -> Result<(), TxError> {
        self.begin_block()
            .apply_checked(tx, None, Approval::KeysOnly)
    }
}

/// How much of [`BlockExec::authorize`] a check applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Approval {
    /// Every key must have a say, and the thresholds must be reached.
    Required,
    /// Every key must have a say; the thresholds are not yet checked.
    KeysOnly,
}

/// Executes one block's transactions on top of a [`State`] without changing it.
pub struct BlockExec<'a> {
    base: &'a State,
    height: Height,
    overlay: BTreeMap<StateKey, Option<StateValue>>,
    writes: Vec<Write>,
    /// set(L+3) while this block changes it.
    pending_set: Option<ValidatorSet>,
    /// Whether a control rule may exist: one did before the block, or the
    /// block set one. Spares each payment a search when none does.
    controls_maybe: bool,
    /// Whether a fiscal year may be closed, likewise.
    years_closed_maybe: bool,
}

fn overflow(what: impl Into<String>) -> TxError {
    TxError::Overflow { what: what.into() }
}

fn not_authorized(signer: &EntityId, action: impl Into<String>) -> TxError {
    TxError::NotAuthorized {
        signer: signer.clone(),
        action: action.into(),
    }
}

fn unknown_entity(id: &EntityId) -> TxError {
    TxError::UnknownEntity {
        what: "entity",
        id: id.to_string(),
    }
}

fn positive(amount: Amount) -> Result<(), TxError> {
    if amount == Amount::ZERO {
        return Err(TxError::InvalidArgument {
            field: "amount",
            reason: "must be more than zero".into(),
        });
    }
    Ok(())
}

fn required_text(field: &'static str, s: &str, bytes_max: usize) -> Result<(), TxError> {
    if s.trim().is_empty() {
        return Err(TxError::InvalidArgument {
            field,
            reason: "must not be empty".into(),
        });
    }
    check_text(field, s, bytes_max)
}

/// Refuses `op` unless the treasury signed it.
fn treasury_only(s: &Entity, op: &'static str) -> Result<(), TxError> {
    if s.kind == EntityKind::Treasury {
        Ok(())
    } else {
        Err(not_authorized(&s.id, op))
    }
}

/// The change that writes entity `e`.
fn entity_put(e: Entity) -> (StateKey, Option<StateValue>) {
    (StateKey::Entity(e.id.clone()), Some(StateValue::Entity(e)))
}

/// The change that writes `entity`'s figures on `year` and `line`.
fn budget_put(
    entity: &EntityId,
    year: Year,
    line: &LineCode,
    b: BudgetFigures,
) -> (StateKey, Option<StateValue>) {
    (
        StateKey::Budget(entity.clone(), year, line.clone()),
        Some(StateValue::Budget(b)),
    )
}

/// The changes one transaction makes, applied only if it succeeds.
type Changes = Vec<(StateKey, Option<StateValue>)>;

impl BlockExec<'_> {
    fn get(&self, key: &StateKey) -> Option<&StateValue> {
        match self.overlay.get(key) {
            Some(v) => v.as_ref(),
            None => self.base.map.get(key),
        }
    }

    /// The keys in `from..to` as of this point of the block.
    fn keys_in(&self, from: StateKey, to: StateKey) -> Vec<StateKey> {
        let mut keys: std::collections::BTreeSet<StateKey> = self
            .base
            .map
            .range(from.clone()..to.clone())
            .map(|(k, _)| k.clone())
            .collect();
        for (k, v) in self.overlay.range(from..to) {
            if v.is_some() {
                keys.insert(k.clone());
            } else {
                keys.remove(k);
            }
        }
        keys.into_iter().collect()
    }

    fn entity(&self, id: &EntityId) -> Option<Entity> {
        self.entity_ref(id).cloned()
    }

    /// The entity as of this point of the block, borrowed.
    fn entity_ref(&self, id: &EntityId) -> Option<&Entity> {
        match self.get(&StateKey::Entity(id.clone())) {
            Some(StateValue::Entity(e)) => Some(e),
            _ => None,
        }
    }

    fn budget(&self, entity: &EntityId, year: Year, line: &LineCode) -> BudgetFigures {
        match self.get(&StateKey::Budget(entity.clone(), year, line.clone())) {
            Some(StateValue::Budget(b)) => *b,
            _ => BudgetFigures::default(),
        }
    }

    fn contract(&self, id: &ContractId) -> Result<Contract, TxError> {
        match self.get(&StateKey::Contract(id.clone())) {
            Some(StateValue::Contract(c)) => Ok(c.clone()),
            _ => Err(TxError::UnknownContract {
                contract: id.clone(),
            }),
        }
    }

    fn treasury(&self) -> EntityId {
        match self.get(&StateKey::Treasury) {
            Some(StateValue::Treasury(id)) => id.clone(),
            _ => panic!("state has no treasury"),
        }
    }

    fn next_set(&self) -> &ValidatorSet {
        match self.get(&StateKey::Validators(ValidatorSlot::Next)) {
            Some(StateValue::Validators(v)) => v,
            _ => panic!("state has no next validator set"),
        }
    }

    fn working_set(&self) -> &ValidatorSet {
        self.pending_set.as_ref().unwrap_or_else(|| self.next_set())
    }

    fn available(
        &self,
        entity: &EntityId,
        year: Year,
        line: &LineCode,
    ) -> Result<(BudgetFigures, Amount), TxError> {
        let b = self.budget(entity, year, line);
        let available = b
            .available()
            .ok_or_else(|| overflow(format!("available on {entity} {year}/{line}")))?;
        Ok((b, available))
    }

    fn spend_check(
        &self,
        entity: &EntityId,
        year: Year,
        line: &LineCode,
        requested: Amount,
    ) -> Result<BudgetFigures, TxError> {
        let (b, available) = self.available(entity, year, line)?;
        if requested > available {
            return Err(TxError::OverBudget {
                entity: entity.clone(),
                year,
                line: line.clone(),
                requested,
                available,
            });
        }
        Ok(b)
    }

    /// Executes one transaction. On success its writes join the block; on
    /// failure nothing changes. `verdict` is a signature check made earlier
    /// (by a batch); without one the signatures are checked here.
    pub fn apply_tx(&mut self, tx: &SignedTx, verdict: Option<Verdict>) -> Result<(), TxError> {
        self.apply_checked(tx, verdict, Approval::Required)
    }

    fn apply_checked(
        &mut self,
        tx: &SignedTx,
        verdict: Option<Verdict>,
        approval: Approval,
    ) -> Result<(), TxError> {
        tx.check_form()?;
        let body = &tx.body;
        if body.chain_id != self.base.chain_id {
            return Err(TxError::WrongChain {
                expected: self.base.chain_id.clone(),
                got: body.chain_id.clone(),
            });
        }
        let signer = self
            .entity_ref(&body.signer)
            .ok_or_else(|| TxError::UnknownSigner {
                signer: body.signer.clone(),
            })?;
        let valid = match verdict {
            Some(v) => v.valid,
            None => tx.verify_signatures(),
        };
        if !valid {
            return Err(TxError::BadSignature {
                signer: signer.id.clone(),
            });
        }
        self.authorize(signer, tx, approval)?;
        if signer.status != Status::Active {
            return Err(TxError::Inactive {
                entity: signer.id.clone(),
            });
        }
        let expected = signer
            .nonce
            .checked_add(1)
            .ok_or_else(|| overflow("nonce"))?;
        if body.nonce != expected {
            return Err(TxError::BadNonce {
                signer: signer.id.clone(),
                expected,
                got: body.nonce,
            });
        }

        self.check_year_open(&body.op)?;
        let (changes, new_set) = self.execute_op(signer, &body.op)?;
        for (k, v) in changes {
            self.put(k, v);
        }
        if let Some(set) = new_set {
            self.pending_set = Some(set);
        }
        // Re-read: the operation may have changed the signer (set-keys).
        let mut signer = self.entity(&body.signer).expect("signer still exists");
        signer.nonce = expected;
        self.put(
            StateKey::Entity(signer.id.clone()),
            Some(StateValue::Entity(signer)),
        );
        Ok(())
    }

    fn put(&mut self, key: StateKey, value: Option<StateValue>) {
        match (&key, &value) {
            (StateKey::Control(_), Some(_)) => self.controls_maybe = true,
            (StateKey::YearClosed(_), Some(_)) => self.years_closed_maybe = true,
            _ => {}
        }
        self.writes.push((key.clone(), value.clone()));
        self.overlay.insert(key, value);
    }

    /// Ends the block: gives effect to the key changes due at the next
    /// height, rotates the validator sets and computes the new root.
    pub fn finish(mut self) -> BlockOutcome {
        self.apply_due_keys();
        let next = self.next_set().clone();
        let current = self.base.validators().clone();
        if let Some(after) = self.pending_set.take() {
            if after != next {
                self.put(
                    StateKey::Validators(ValidatorSlot::Next),
                    Some(StateValue::Validators(after)),
                );
            }
        }
        if current != next {
            self.put(
                StateKey::Validators(ValidatorSlot::Current),
                Some(StateValue::Validators(next)),
            );
        }
        let changes = tree_changes(self.overlay.iter().map(|(k, v)| (k, v.as_ref())));
        let (state_root, tree_writes) = self.base.tree.update(&changes);
        BlockOutcome {
            height: self.height,
            writes: self.writes,
            state_root,
            tree_writes,
        }
    }

    /// Carries out `op` for signer `s`: the state changes, and the validator
    /// set it gives (for the validator operations). Each operation's rules
    /// are in the module of its kind: `entities`, `budgets`, `contracts`,
    /// `network`.
    fn execute_op(&self, s: &Entity, op: &Op) -> Result<(Changes, Option<ValidatorSet>), TxError> {
        let changes = match op {
            Op::RegisterEntity {
                id,
                kind,
                name,
                parent,
                keys,
                threshold,
            } => self.register_entity(s, id, kind, name, parent, keys, *threshold)?,
            Op::SetStatus { entity, status } => self.set_status(s, entity, status)?,
            Op::RotateKey { entity, public_key } => {
                self.set_keys("rotate-key", s, entity, &[*public_key], 1)?
            }
            Op::SetKeys {
                entity,
                keys,
                threshold,
            } => self.set_keys("set-keys", s, entity, keys, *threshold)?,
            Op::CancelKeys { entity } => self.cancel_keys(s, entity)?,
            Op::SetControl {
                ministry,
                amount,
                controller,
            } => self.set_control(s, ministry, *amount, controller)?,
            Op::RemoveControl { ministry } => self.remove_control(s, ministry)?,
            Op::CloseYear { year } => self.close_year(s, *year)?,
            Op::AcknowledgePayment { contract, payment } => {
                self.acknowledge_payment(s, contract, *payment)?
            }
            Op::Appropriate {
                year,
                line,
                to,
                amount,
                legal_ref,
            } => self.appropriate(s, year, line, to, amount, legal_ref)?,
            Op::Allocate {
                year,
                line,
                to,
                amount,
            } => self.allocate(s, year, line, to, amount)?,
            Op::ReturnFunds { year, line, amount } => self.return_funds(s, year, line, amount)?,
            Op::Award {
                contract,
                year,
                line,
                vendor,
                amount,
                title,
                document_hash,
            } => self.award(
                s,
                contract,
                year,
                line,
                vendor,
                amount,
                title,
                document_hash,
            )?,
            Op::AmendContract {
                contract,
                amount,
                reason,
                document_hash,
            } => self.amend_contract(s, contract, amount, reason, document_hash)?,
            Op::Pay {
                contract,
                amount,
                reference,
                ..
            } => self.pay(s, contract, amount, reference)?,
            Op::ConfirmDelivery {
                contract,
                milestone,
                note,
            } => self.confirm_delivery(s, contract, milestone, note)?,
            Op::AddValidator {
                name,
                consensus_key,
                peer_id,
                power,
            } => {
                return Ok((
                    Changes::new(),
                    Some(self.add_validator(s, name, consensus_key, peer_id, power)?),
                ))
            }
            Op::RemoveValidator { consensus_key } => {
                return Ok((
                    Changes::new(),
                    Some(self.remove_validator(s, consensus_key)?),
                ))
            }
            Op::RegisterNode { peer_id, operator } => self.register_node(s, peer_id, operator)?,
            Op::ScheduleUpgrade { height, version } => self.schedule_upgrade(s, height, version)?,
            Op::RemoveNode { peer_id } => self.remove_node(s, peer_id)?,
        };
        Ok((changes, None))
    }
}
