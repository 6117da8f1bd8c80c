//! The chain the mempool tests run on (a treasury, a ministry, three
//! departments holding the same budget, and a vendor), and the helpers that
//! sign their transactions and fill a pool.

use ledger::testkit::{id, key, TestChain, CHAIN_ID};
use ledger::tx::{EntityKind, Op, TxBody};
use ledger::{Amount, ContractId, LineCode, SignedTx, State, Year};
use node::mempool::{Mempool, MempoolLimits, FUTURE_NONCES_PER_SIGNER_MAX};

pub(crate) const MOF: &str = "MOF";
const MOH: &str = "MOH";
pub(crate) const DEPT_A: &str = "MOH.BVBM";
pub(crate) const DEPT_B: &str = "MOH.BVCR";
pub(crate) const DEPT_C: &str = "MOH.BVTN";
const VENDOR: &str = "V-0042";
/// What each department receives in the fixture.
pub(crate) const DEPT_BUDGET: u64 = 100;

pub(crate) fn year() -> Year {
    Year::new(2026).unwrap()
}

pub(crate) fn line() -> LineCode {
    LineCode::new("0402-HEALTH").unwrap()
}

pub(crate) fn sign(signer: &str, nonce: u64, op: Op) -> SignedTx {
    TxBody {
        chain_id: CHAIN_ID.into(),
        signer: id(signer),
        nonce,
        op,
    }
    .sign(&key(signer))
}

/// The committed nonce + 1 of `signer`.
pub(crate) fn base(state: &State, signer: &str) -> u64 {
    state.next_nonce(&id(signer)).unwrap()
}

/// A treasury transaction that always executes: appropriate 1 to MOH.
pub(crate) fn appropriate(nonce: u64, legal_ref: &str) -> SignedTx {
    sign(
        MOF,
        nonce,
        Op::Appropriate {
            year: year(),
            line: line(),
            to: id(MOH),
            amount: Amount(1),
            legal_ref: legal_ref.into(),
        },
    )
}

/// `dept` commits `amount` of its budget to a new contract.
pub(crate) fn award(dept: &str, nonce: u64, amount: u64) -> SignedTx {
    sign(
        dept,
        nonce,
        Op::Award {
            contract: ContractId::new(&format!("C-{dept}-{nonce}")).unwrap(),
            year: year(),
            line: line(),
            vendor: id(VENDOR),
            amount: Amount(amount),
            title: "Máy thở".into(),
            document_hash: None,
        },
    )
}

/// A chain with a ministry, three departments holding [`DEPT_BUDGET`] each,
/// and a vendor.
pub(crate) fn chain() -> TestChain {
    let mut chain = TestChain::new(1);
    let register = |n: u64, who: &str, kind: EntityKind, parent: Option<&str>| {
        sign(
            MOF,
            n,
            Op::RegisterEntity {
                id: id(who),
                kind,
                name: format!("Đơn vị {who}"),
                parent: parent.map(id),
                keys: vec![key(who).public_key()],
                threshold: 1,
            },
        )
    };
    chain
        .commit(vec![
            register(1, MOH, EntityKind::Ministry, None),
            register(2, VENDOR, EntityKind::Vendor, None),
        ])
        .unwrap();
    chain
        .commit(vec![
            register(3, DEPT_A, EntityKind::Department, Some(MOH)),
            register(4, DEPT_B, EntityKind::Department, Some(MOH)),
            register(5, DEPT_C, EntityKind::Department, Some(MOH)),
            sign(
                MOF,
                6,
                Op::Appropriate {
                    year: year(),
                    line: line(),
                    to: id(MOH),
                    amount: Amount(1_000_000),
                    legal_ref: "QĐ-1".into(),
                },
            ),
        ])
        .unwrap();
    let allocations = [DEPT_A, DEPT_B, DEPT_C]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            sign(
                MOH,
                i as u64 + 1,
                Op::Allocate {
                    year: year(),
                    line: line(),
                    to: id(d),
                    amount: Amount(DEPT_BUDGET),
                },
            )
        })
        .collect();
    chain.commit(allocations).unwrap();
    chain
}

pub(crate) fn small_limits() -> MempoolLimits {
    MempoolLimits {
        txs_max: 1000,
        bytes_max: 1 << 20,
        future_nonces_per_signer_max: FUTURE_NONCES_PER_SIGNER_MAX,
        txs_per_signer_max: 1000,
        bytes_per_signer_max: 1 << 20,
        verdicts_max: 1000,
    }
}

pub(crate) fn nonces(txs: &[SignedTx]) -> Vec<(String, u64)> {
    txs.iter()
        .map(|t| (t.body.signer.to_string(), t.body.nonce))
        .collect()
}

/// A pool with `limits` admits `txs[..n]` and refuses `txs[n]` with
/// `mempool_full`, naming `limit`.
pub(crate) fn fill_then_refuse(
    limits: MempoolLimits,
    txs: &[SignedTx],
    n: usize,
    state: &State,
    limit: &str,
) -> Mempool {
    let mut pool = Mempool::new(limits);
    for tx in &txs[..n] {
        pool.insert(tx.clone(), state).unwrap();
    }
    let err = pool.insert(txs[n].clone(), state).unwrap_err();
    assert_eq!(err.code(), "mempool_full");
    assert!(err.to_string().contains(limit), "{err}");
    pool
}
