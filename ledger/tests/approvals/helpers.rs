//! The world the approval tests start from, and the ways they submit to it.
//!
//! [`world`] is a chain whose genesis fixes the rotation delay (as a genesis
//! file does) and whose entities are registered by the treasury in ordinary
//! transactions: ministries MOH and MOET; departments MOH.BV (two of its
//! three keys must sign), MOH.YT and MOET.DH; vendor V-1; controllers KBNN
//! (two of two keys) and KBTW (one key). Every entity other than MOH.BV and
//! the controllers signs with the key derived from its id.

use std::cell::RefCell;
use std::collections::HashMap;

use ledger::crypto::SigningKey;
use ledger::state::{ChainParams, Entity, StateKey, StateValue};
use ledger::testkit::{id, key, ops, TestChain, CHAIN_ID, GENESIS_TIME_MS};
use ledger::tx::{EntityKind, Status};
use ledger::{Amount, ContractId, EntityId, Hash, LineCode, Op, PublicKey, SignedTx, State};
use ledger::{TxBody, TxError, Year};

pub(crate) const YEAR: u16 = 2026;
pub(crate) const LINE: &str = "0402-HEALTH";
/// Appropriated to each ministry.
pub(crate) const APPROPRIATED: u64 = 1_000_000_000;
/// Allocated to each department.
pub(crate) const ALLOCATED: u64 = 400_000_000;
/// The amount of the control rules the tests set on MOH.
pub(crate) const RULE: u64 = 1_000_000;

/// MOH.BV's keys; two of them must sign.
pub(crate) const BV: [&str; 3] = ["BV-1", "BV-2", "BV-3"];
/// KBNN's keys; both must sign.
pub(crate) const KBNN: [&str; 2] = ["KB-1", "KB-2"];

thread_local! {
    static KEYS: RefCell<HashMap<String, &'static SigningKey>> = RefCell::new(HashMap::new());
}

/// `testkit::key(label)`, derived once per thread: the same few labels sign
/// all the time.
pub(crate) fn sk(label: &str) -> &'static SigningKey {
    KEYS.with(|keys| {
        if let Some(k) = keys.borrow().get(label) {
            return *k;
        }
        let k: &'static SigningKey = Box::leak(Box::new(key(label)));
        keys.borrow_mut().insert(label.to_owned(), k);
        k
    })
}

/// The public key of `label`.
pub(crate) fn pk(label: &str) -> PublicKey {
    sk(label).public_key()
}

/// The public keys of `labels`, in the order the ledger keeps them.
pub(crate) fn pks(labels: &[&str]) -> Vec<PublicKey> {
    let mut v: Vec<PublicKey> = labels.iter().map(|l| pk(l)).collect();
    v.sort();
    v
}

pub(crate) fn year() -> Year {
    Year::new(YEAR).unwrap()
}

pub(crate) fn line() -> LineCode {
    LineCode::new(LINE).unwrap()
}

pub(crate) fn cid(s: &str) -> ContractId {
    ops::cid(s)
}

/// A chain of one validator whose genesis holds the treasury MOF (key
/// `MOF`) and, if `delay` is given, the chain parameters with that rotation
/// delay, as a genesis file writes them.
pub(crate) fn genesis_chain(delay: Option<u64>) -> TestChain {
    let base = TestChain::new(1);
    let mut writes: Vec<(StateKey, Option<StateValue>)> = base
        .genesis
        .entries()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    if let Some(rotation_delay) = delay {
        writes.push((
            StateKey::Params,
            Some(StateValue::Params(ChainParams { rotation_delay })),
        ));
    }
    let genesis_hash = Hash::digest(b"approvals genesis");
    let state = State::genesis(CHAIN_ID, writes);
    TestChain::from_genesis(state, genesis_hash, GENESIS_TIME_MS, base.validator_keys)
}

pub(crate) fn register(
    who: &str,
    kind: EntityKind,
    parent: Option<&str>,
    labels: &[&str],
    threshold: u8,
) -> Op {
    Op::RegisterEntity {
        id: id(who),
        kind,
        name: format!("Đơn vị {who}"),
        parent: parent.map(id),
        keys: labels.iter().map(|l| pk(l)).collect(),
        threshold,
    }
}

pub(crate) fn appropriate(to: &str, amount: u64) -> Op {
    ops::appropriate(YEAR, LINE, to, amount)
}

pub(crate) fn allocate(to: &str, amount: u64) -> Op {
    ops::allocate(YEAR, LINE, to, amount)
}

pub(crate) fn award(contract: &str, amount: u64) -> Op {
    ops::award(contract, YEAR, LINE, "V-1", amount, "Thiết bị y tế")
}

pub(crate) fn pay(contract: &str, amount: u64) -> Op {
    ops::pay(contract, amount, "UNC-1")
}

pub(crate) fn set_keys(entity: &str, labels: &[&str], threshold: u8) -> Op {
    Op::SetKeys {
        entity: id(entity),
        keys: labels.iter().map(|l| pk(l)).collect(),
        threshold,
    }
}

pub(crate) fn cancel_keys(entity: &str) -> Op {
    Op::CancelKeys { entity: id(entity) }
}

pub(crate) fn set_control(ministry: Option<&str>, amount: u64, controller: &str) -> Op {
    Op::SetControl {
        ministry: ministry.map(id),
        amount: Amount(amount),
        controller: id(controller),
    }
}

pub(crate) fn set_status(entity: &str, status: Status) -> Op {
    Op::SetStatus {
        entity: id(entity),
        status,
    }
}

/// The labels that sign for `who` in [`world`] when a test does not say.
pub(crate) fn usual_labels(who: &str) -> Vec<&str> {
    match who {
        "MOH.BV" => BV[..2].to_vec(),
        "KBNN" => KBNN.to_vec(),
        other => vec![other],
    }
}

/// `op` as `signer` with its next nonce plus `pending`, signed by the keys of
/// `labels`.
pub(crate) fn tx_at(
    chain: &TestChain,
    signer: &str,
    pending: u64,
    labels: &[&str],
    op: Op,
) -> SignedTx {
    let keys: Vec<&SigningKey> = labels.iter().map(|l| sk(l)).collect();
    TxBody {
        chain_id: CHAIN_ID.into(),
        signer: id(signer),
        nonce: chain.state.next_nonce(&id(signer)).expect("a known signer") + pending,
        op,
    }
    .sign_all(&keys)
}

/// `op` as `signer` with its next nonce, signed by the keys of `labels`.
pub(crate) fn tx(chain: &TestChain, signer: &str, labels: &[&str], op: Op) -> SignedTx {
    tx_at(chain, signer, 0, labels, op)
}

/// Commits a block of `txs`, which must all be accepted.
pub(crate) fn commit(chain: &mut TestChain, txs: Vec<SignedTx>) {
    if let Err((i, e)) = chain.commit(txs) {
        panic!("transaction {i} of the block was refused: {e}");
    }
}

/// Commits `op` signed by `signer` with the keys of `labels`, alone in a
/// block; its signer's nonce goes up by one.
pub(crate) fn accept(chain: &mut TestChain, signer: &str, labels: &[&str], op: Op) {
    let before = chain.state.next_nonce(&id(signer)).unwrap();
    let t = tx(chain, signer, labels, op);
    commit(chain, vec![t]);
    assert_eq!(chain.state.next_nonce(&id(signer)), Some(before + 1));
}

/// Commits `op` signed by `signer` with its usual keys.
pub(crate) fn accept_usual(chain: &mut TestChain, signer: &str, op: Op) {
    let labels = usual_labels(signer);
    accept(chain, signer, &labels, op);
}

/// Submits `tx` to `check_tx` and in a block of its own: both must refuse
/// it with the same error, and nothing may change (the whole state, the
/// signer's nonce with it, and the height).
pub(crate) fn refuse(chain: &mut TestChain, tx: SignedTx) -> TxError {
    let before = chain.state.clone();
    let checked = chain
        .state
        .check_tx(&tx)
        .expect_err("check_tx accepted a transaction that must be refused");
    let (index, executed) = chain
        .state
        .execute_block(std::slice::from_ref(&tx))
        .expect_err("execute_block accepted a transaction that must be refused");
    assert_eq!(index, 0);
    assert_eq!(checked, executed, "check_tx and execute_block disagree");
    let (index, committed) = chain
        .commit(vec![tx])
        .expect_err("a block with a refused transaction was committed");
    assert_eq!((index, &committed), (0, &checked));
    assert_eq!(
        chain.state, before,
        "a refused transaction changed the state"
    );
    checked
}

/// [`refuse`] for `op` signed by `signer` with the keys of `labels`.
pub(crate) fn refuse_op(chain: &mut TestChain, signer: &str, labels: &[&str], op: Op) -> TxError {
    let t = tx(chain, signer, labels, op);
    refuse(chain, t)
}

/// An entity as the state holds it now.
pub(crate) fn entity(chain: &TestChain, who: &str) -> Entity {
    chain
        .state
        .entity(&id(who))
        .expect("a known entity")
        .clone()
}

/// The `foreign_signature` refusal of `label`'s key for `signer`.
pub(crate) fn foreign(label: &str, signer: &str, controller: Option<&str>) -> TxError {
    TxError::ForeignSignature {
        key: pk(label),
        signer: id(signer),
        controller: controller.map(id),
    }
}

/// The `threshold_not_met` refusal.
pub(crate) fn short(entity: &str, threshold: u8, signed: usize) -> TxError {
    TxError::ThresholdNotMet {
        entity: id(entity),
        threshold,
        signed,
    }
}

/// The world of the module docs, with rotation delay `delay` in genesis:
/// after its two blocks each ministry has [`APPROPRIATED`] and each
/// department [`ALLOCATED`] to spend.
pub(crate) fn world(delay: u64) -> TestChain {
    let mut chain = genesis_chain(Some(delay));
    let setup = [
        register("MOH", EntityKind::Ministry, None, &["MOH"], 1),
        register("MOET", EntityKind::Ministry, None, &["MOET"], 1),
        register("MOH.BV", EntityKind::Department, Some("MOH"), &BV, 2),
        register(
            "MOH.YT",
            EntityKind::Department,
            Some("MOH"),
            &["MOH.YT"],
            1,
        ),
        register(
            "MOET.DH",
            EntityKind::Department,
            Some("MOET"),
            &["MOET.DH"],
            1,
        ),
        register("V-1", EntityKind::Vendor, None, &["V-1"], 1),
        register("KBNN", EntityKind::Controller, None, &KBNN, 2),
        register("KBTW", EntityKind::Controller, None, &["KBTW"], 1),
        appropriate("MOH", APPROPRIATED),
        appropriate("MOET", APPROPRIATED),
    ];
    let txs = setup
        .into_iter()
        .enumerate()
        .map(|(i, op)| tx_at(&chain, "MOF", i as u64, &["MOF"], op))
        .collect();
    commit(&mut chain, txs);
    let txs = vec![
        tx_at(&chain, "MOH", 0, &["MOH"], allocate("MOH.BV", ALLOCATED)),
        tx_at(&chain, "MOH", 1, &["MOH"], allocate("MOH.YT", ALLOCATED)),
        tx_at(&chain, "MOET", 0, &["MOET"], allocate("MOET.DH", ALLOCATED)),
    ];
    commit(&mut chain, txs);
    // What the tests rely on.
    let bv = entity(&chain, "MOH.BV");
    assert_eq!((bv.keys, bv.threshold), (pks(&BV), 2));
    let kbnn = entity(&chain, "KBNN");
    assert_eq!((kbnn.kind, kbnn.threshold), (EntityKind::Controller, 2));
    for d in ["MOH.BV", "MOH.YT", "MOET.DH"] {
        let b = chain.state.budget(&id(d), year(), &line());
        assert_eq!(b.available(), Some(Amount(ALLOCATED)), "{d}");
    }
    assert_eq!(chain.state.height().0, 2);
    chain
}

/// Whether the state holds a control rule for `ministry` (`None`: all
/// ministries), and which.
pub(crate) fn rule_of(chain: &TestChain, ministry: Option<&str>) -> Option<(Amount, EntityId)> {
    let key = StateKey::Control(ministry.map(id));
    chain.state.entries().find_map(|(k, v)| match (k, v) {
        (k, StateValue::Control(r)) if *k == key => Some((r.amount, r.controller.clone())),
        _ => None,
    })
}
