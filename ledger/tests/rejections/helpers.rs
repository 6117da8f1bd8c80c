//! The world the cases start from, and the ways they submit to it: a
//! small funded chain, builders for each operation, and `reject`, which
//! checks that a refused transaction changes nothing.

use ledger::testkit::{id, key, ops, TestChain, CHAIN_ID};
use ledger::tx::{EntityKind, Status};
use ledger::{
    Amount, ContractId, LineCode, Op, PeerId, PublicKey, SignedTx, TxBody, TxError, Validator, Year,
};

pub(crate) const YEAR: u16 = 2026;
pub(crate) const LINE: &str = "0402-HEALTH-INFRA";
/// Appropriated to MOH in [`world`].
pub(crate) const APPROPRIATED: u64 = 10_000_000;
/// Allocated by MOH to MOH.BV in [`world`].
pub(crate) const ALLOCATED: u64 = 9_000_000;
/// Amount of contract C-17 in [`world`].
pub(crate) const AWARDED: u64 = 8_000_000;
/// Paid on C-17 in [`world`].
pub(crate) const PAID: u64 = 5_000_000;

/// The identity point: a canonical encoding of a point of small order.
pub(crate) const SMALL_ORDER_KEY: PublicKey = PublicKey({
    let mut b = [0u8; 32];
    b[0] = 1;
    b
});
/// y = 2 is not the y-coordinate of any point on the curve.
pub(crate) const NOT_A_POINT_KEY: PublicKey = PublicKey({
    let mut b = [0u8; 32];
    b[0] = 2;
    b
});
/// y = p + 3 (p = 2^255 − 19): a point (y = 3) written non-canonically.
pub(crate) const NON_CANONICAL_KEY: PublicKey = PublicKey({
    let mut b = [0xff; 32];
    b[0] = 0xf0;
    b[31] = 0x7f;
    b
});

pub(crate) fn year() -> Year {
    Year::new(YEAR).unwrap()
}

pub(crate) fn line() -> LineCode {
    LineCode::new(LINE).unwrap()
}

pub(crate) fn cid(s: &str) -> ContractId {
    ops::cid(s)
}

pub(crate) fn register(id_: &str, kind: EntityKind, parent: Option<&str>) -> Op {
    Op::RegisterEntity {
        id: id(id_),
        kind,
        name: format!("Tên {id_}"),
        parent: parent.map(id),
        keys: vec![key(id_).public_key()],
        threshold: 1,
    }
}

pub(crate) fn appropriate(to: &str, amount: u64) -> Op {
    ops::appropriate(YEAR, LINE, to, amount)
}

pub(crate) fn allocate(to: &str, amount: u64) -> Op {
    ops::allocate(YEAR, LINE, to, amount)
}

pub(crate) fn award(contract: &str, vendor: &str, amount: u64) -> Op {
    ops::award(contract, YEAR, LINE, vendor, amount, "Xây dựng bệnh viện")
}

pub(crate) fn pay(contract: &str, amount: u64) -> Op {
    ops::pay(contract, amount, "UNC-1")
}

pub(crate) fn amend(contract: &str, amount: u64) -> Op {
    Op::AmendContract {
        contract: cid(contract),
        amount: Amount(amount),
        reason: "phụ lục".into(),
        document_hash: None,
    }
}

pub(crate) fn set_status(entity: &str, status: Status) -> Op {
    Op::SetStatus {
        entity: id(entity),
        status,
    }
}

pub(crate) fn validator(label: &str, power: u64) -> Validator {
    let k = key(label).public_key();
    Validator {
        name: label.into(),
        consensus_key: k,
        peer_id: PeerId::from_ed25519(&k).unwrap(),
        power,
    }
}

pub(crate) fn add_validator(label: &str, power: u64) -> Op {
    let v = validator(label, power);
    Op::AddValidator {
        name: v.name,
        consensus_key: v.consensus_key,
        peer_id: v.peer_id,
        power,
    }
}

pub(crate) fn remove_validator(label: &str) -> Op {
    Op::RemoveValidator {
        consensus_key: key(label).public_key(),
    }
}

/// Signs `op` as `signer` with key `key_label`, nonce `nonce` and chain `chain_id`.
pub(crate) fn signed(
    chain_id: &str,
    signer: &str,
    nonce: u64,
    key_label: &str,
    op: Op,
) -> SignedTx {
    TxBody {
        chain_id: chain_id.into(),
        signer: id(signer),
        nonce,
        op,
    }
    .sign(&key(key_label))
}

/// A chain with ministries MOH and MOET, departments MOH.BV and MOET.DH,
/// vendors V-1 and V-2; MOH received [`APPROPRIATED`] and passed [`ALLOCATED`]
/// to MOH.BV, which awarded C-17 to V-1 for [`AWARDED`] and paid [`PAID`].
/// So MOH has 1,000,000 available, MOH.BV 1,000,000, and C-17 3,000,000 unpaid.
pub(crate) fn world() -> TestChain {
    let mut chain = TestChain::new(1);
    let setup = [
        register("MOH", EntityKind::Ministry, None),
        register("MOET", EntityKind::Ministry, None),
        register("MOH.BV", EntityKind::Department, Some("MOH")),
        register("MOET.DH", EntityKind::Department, Some("MOET")),
        register("V-1", EntityKind::Vendor, None),
        register("V-2", EntityKind::Vendor, None),
        appropriate("MOH", APPROPRIATED),
    ];
    let txs = setup
        .into_iter()
        .enumerate()
        .map(|(i, op)| chain.tx("MOF", i as u64, op))
        .collect();
    chain.commit(txs).unwrap();
    let txs = vec![chain.tx("MOH", 0, allocate("MOH.BV", ALLOCATED))];
    chain.commit(txs).unwrap();
    let txs = vec![
        chain.tx("MOH.BV", 0, award("C-17", "V-1", AWARDED)),
        chain.tx("MOH.BV", 1, pay("C-17", PAID)),
    ];
    chain.commit(txs).unwrap();
    // The fixture itself is what the cases below rely on.
    let bv = chain.state.budget(&id("MOH.BV"), year(), &line());
    assert_eq!(bv.available(), Some(Amount(ALLOCATED - AWARDED)));
    assert_eq!(
        chain.state.budget(&id("MOH"), year(), &line()).available(),
        Some(Amount(APPROPRIATED - ALLOCATED))
    );
    chain
}

/// Submits `tx` both to `check_tx` and in a block of its own; both must refuse
/// it with the same error, and the state must not change.
pub(crate) fn reject(chain: &mut TestChain, tx: SignedTx) -> TxError {
    let root = chain.state.root();
    let height = chain.state.height();
    let checked = chain
        .state
        .check_tx(&tx)
        .expect_err("check_tx accepted a transaction that must be refused");
    let (index, executed) = chain
        .commit(vec![tx])
        .expect_err("a block with a refused transaction was accepted");
    assert_eq!(index, 0);
    assert_eq!(checked, executed, "check_tx and execute_block disagree");
    assert_eq!(
        chain.state.root(),
        root,
        "a refused block changed the state"
    );
    assert_eq!(chain.state.height(), height);
    checked
}

/// Submits `op` signed by `signer` with its next nonce and expects a refusal.
pub(crate) fn reject_op(chain: &mut TestChain, signer: &str, op: Op) -> TxError {
    let tx = chain.tx(signer, 0, op);
    reject(chain, tx)
}

/// Commits `op` signed by `signer`, which must succeed.
pub(crate) fn accept_op(chain: &mut TestChain, signer: &str, op: Op) {
    let tx = chain.tx(signer, 0, op);
    chain.commit(vec![tx]).unwrap();
}

/// A valid transaction's bytes.
pub(crate) fn valid_bytes() -> Vec<u8> {
    signed(CHAIN_ID, "MOF", 1, "MOF", appropriate("MOH", 1)).encode()
}
