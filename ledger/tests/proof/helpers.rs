//! The chain every case starts from, written into a store: eight blocks of
//! spending with one validator added and one removed, and what the test
//! knows of where each transaction and set change is. Plus the ways the
//! cases change a bundle and read its failure.

use ledger::proof::{AuditBundle, ProofError, TrustAnchor};
use ledger::store::Store;
use ledger::testkit::{id, key, TestChain};
use ledger::tx::EntityKind;
use ledger::{Amount, Block, ContractId, Hash, LineCode, Op, PeerId, SignedTx, Validator, Year};
use tempfile::TempDir;

/// Keys `validator-0` to `validator-4`: four in genesis, one added.
pub(crate) const VALIDATOR_POOL: usize = 5;
/// Block 3 adds `validator-4`, so set(5) differs from set(4): a change at 4.
pub(crate) const ADDED_IN: u64 = 3;
/// Block 5 removes `validator-1`, so set(7) differs from set(6): a change at 6.
pub(crate) const REMOVED_IN: u64 = 5;
pub(crate) const CHANGES_AT: [u64; 2] = [ADDED_IN + 1, REMOVED_IN + 1];

pub(crate) fn contract(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

pub(crate) fn line() -> LineCode {
    LineCode::new("0402-HEALTH-INFRA").unwrap()
}

pub(crate) fn validator(i: usize) -> Validator {
    let k = key(&format!("validator-{i}")).public_key();
    Validator {
        name: format!("validator-{i}"),
        consensus_key: k,
        peer_id: PeerId::from_ed25519(&k).unwrap(),
        power: 10,
    }
}

/// A chain in a store: what it committed and where.
pub(crate) struct Fixture {
    pub(crate) store: Store,
    pub(crate) _dir: TempDir,
    pub(crate) chain: TestChain,
    pub(crate) blocks: Vec<Block>,
}

impl Fixture {
    /// Eight blocks of spending, with `validator-4` added in block 3 and
    /// `validator-1` removed in block 5.
    pub(crate) fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let chain = TestChain::new(4);
        store.init(&chain.genesis, chain.genesis_hash).unwrap();
        let mut f = Fixture {
            store,
            _dir: dir,
            chain,
            blocks: Vec::new(),
        };
        let register = |i: &str, kind, parent: Option<&str>| Op::RegisterEntity {
            id: id(i),
            kind,
            name: format!("Đơn vị {i}"),
            parent: parent.map(id),
            keys: vec![key(i).public_key()],
            threshold: 1,
        };
        let award = |c: &str, vendor: &str, amount: u64| Op::Award {
            contract: contract(c),
            year: Year::new(2026).unwrap(),
            line: line(),
            vendor: id(vendor),
            amount: Amount(amount),
            title: "Máy thở".into(),
            document_hash: Some(Hash::digest(b"hop dong")),
        };
        let pay = |c: &str, amount: u64, reference: &str| Op::Pay {
            contract: contract(c),
            amount: Amount(amount),
            reference: reference.into(),
            document_hash: None,
        };
        let dept = "MOH.BVBM";
        f.block(vec![
            ("MOF", register("MOH", EntityKind::Ministry, None)),
            ("MOF", register(dept, EntityKind::Department, Some("MOH"))),
            ("MOF", register("V-0042", EntityKind::Vendor, None)),
            ("MOF", register("V-0043", EntityKind::Vendor, None)),
        ]);
        f.block(vec![(
            "MOF",
            Op::Appropriate {
                year: Year::new(2026).unwrap(),
                line: line(),
                to: id("MOH"),
                amount: Amount(10_000_000),
                legal_ref: "QĐ-1234/QĐ-TTg".into(),
            },
        )]);
        let added = validator(4);
        f.block(vec![
            (
                "MOH",
                Op::Allocate {
                    year: Year::new(2026).unwrap(),
                    line: line(),
                    to: id(dept),
                    amount: Amount(8_000_000),
                },
            ),
            (
                "MOF",
                Op::AddValidator {
                    name: added.name,
                    consensus_key: added.consensus_key,
                    peer_id: added.peer_id,
                    power: added.power,
                },
            ),
        ]);
        f.block(vec![
            (dept, award("C-1", "V-0042", 3_000_000)),
            (dept, award("C-2", "V-0043", 1_000_000)),
        ]);
        f.block(vec![(
            "MOF",
            Op::RemoveValidator {
                consensus_key: validator(1).consensus_key,
            },
        )]);
        f.block(vec![(dept, pay("C-1", 1_000_000, "UNC-1"))]);
        f.block(vec![
            (
                dept,
                Op::ConfirmDelivery {
                    contract: contract("C-1"),
                    milestone: "Nghiệm thu".into(),
                    note: "Đủ số lượng".into(),
                },
            ),
            (dept, pay("C-1", 2_000_000, "UNC-2")),
            (dept, pay("C-2", 500_000, "UNC-3")),
        ]);
        f.block(vec![(dept, pay("C-2", 500_000, "UNC-4"))]);
        f
    }

    /// Commits a block of `txs` to the chain and the store, certified by
    /// every member of set(H).
    pub(crate) fn block(&mut self, ops: Vec<(&str, Op)>) {
        let mut txs: Vec<SignedTx> = Vec::new();
        for (signer, op) in ops {
            let pending = txs
                .iter()
                .filter(|t| t.body.signer.as_str() == signer)
                .count() as u64;
            txs.push(self.chain.tx(signer, pending, op));
        }
        let set = self.chain.state.validators().clone();
        self.chain.validator_keys = (0..VALIDATOR_POOL)
            .map(|i| key(&format!("validator-{i}")))
            .filter(|k| set.get(&k.public_key()).is_some())
            .collect();
        let (block, cert, outcome) = self
            .chain
            .make_block(txs)
            .unwrap_or_else(|(i, e)| panic!("tx {i} rejected: {e}"));
        self.store
            .commit_block(&block, &cert, &outcome, &self.chain.state)
            .unwrap();
        self.chain.advance(&block, cert, outcome);
        self.blocks.push(block);
    }

    pub(crate) fn tx(&self, height: u64, index: usize) -> &SignedTx {
        &self.blocks[height as usize - 1].txs[index]
    }

    pub(crate) fn bundle(&self, height: u64, index: usize) -> AuditBundle {
        let hash = self.tx(height, index).hash();
        AuditBundle::build(&self.store, self.chain.genesis_hash, &hash)
            .unwrap()
            .expect("the transaction is committed")
    }

    pub(crate) fn anchor(&self) -> TrustAnchor {
        TrustAnchor::from_genesis_state(&self.chain.genesis, self.chain.genesis_hash)
    }

    pub(crate) fn verify(
        &self,
        bundle: &AuditBundle,
    ) -> Result<ledger::proof::VerifiedTx, ProofError> {
        bundle.verify(&self.anchor())
    }
}

/// The payment of 2,000,000 on C-1: block 7, index 1 of 3.
pub(crate) const PAY_AT: (u64, usize) = (7, 1);

pub(crate) fn pay_bundle(f: &Fixture) -> AuditBundle {
    f.bundle(PAY_AT.0, PAY_AT.1)
}

/// The error of a bundle changed by `tamper`.
pub(crate) fn fails(
    f: &Fixture,
    mut bundle: AuditBundle,
    tamper: impl FnOnce(&mut AuditBundle),
) -> ProofError {
    tamper(&mut bundle);
    f.verify(&bundle)
        .expect_err("a tampered bundle must not verify")
}

/// Re-encodes the transaction bytes with `edit` applied to the decoded
/// transaction; the signature is left as it was.
pub(crate) fn edit_bytes(bundle: &mut AuditBundle, edit: impl FnOnce(&mut SignedTx)) -> SignedTx {
    let mut tx = SignedTx::decode(&bundle.tx.bytes).unwrap();
    edit(&mut tx);
    bundle.tx.bytes = tx.encode();
    tx
}

pub(crate) fn set_amount(tx: &mut SignedTx, to: u64) {
    match &mut tx.body.op {
        Op::Pay { amount, .. } => *amount = Amount(to),
        op => panic!("expected a payment, found {}", op.name()),
    }
}
