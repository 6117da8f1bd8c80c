//! Audit bundles at their boundary: a bundle built from a real store
//! verifies against the genesis facts alone, and every single-field tamper
//! (in the readable views, in the signed bytes, in the Merkle path, in a
//! header, in a certificate, in the validator-set changes, or a wrong
//! genesis) fails with a message that names what was changed.
//!
//! Expectations come from the chain the test made (where it put each
//! transaction and each validator-set change, the hashes of the blocks it
//! built), not from the bundle.

use ledger::block::{CertError, Vote, VoteType};
use ledger::proof::{AuditBundle, ProofError, TrustAnchor, BUNDLE_BYTES_MAX};
use ledger::store::Store;
use ledger::testkit::{id, key, TestChain, CHAIN_ID};
use ledger::tx::EntityKind;
use ledger::{
    Amount, Block, ContractId, Hash, Height, LineCode, Op, PeerId, PublicKey, SignedTx, Validator,
    ValidatorSet, Year,
};
use tempfile::TempDir;

/// Keys `validator-0` to `validator-4`: four in genesis, one added.
const VALIDATOR_POOL: usize = 5;
/// Block 3 adds `validator-4`, so set(5) differs from set(4): a change at 4.
const ADDED_IN: u64 = 3;
/// Block 5 removes `validator-1`, so set(7) differs from set(6): a change at 6.
const REMOVED_IN: u64 = 5;
const CHANGES_AT: [u64; 2] = [ADDED_IN + 1, REMOVED_IN + 1];

fn contract(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

fn line() -> LineCode {
    LineCode::new("0402-HEALTH-INFRA").unwrap()
}

fn validator(i: usize) -> Validator {
    let k = key(&format!("validator-{i}")).public_key();
    Validator {
        name: format!("validator-{i}"),
        consensus_key: k,
        peer_id: PeerId::from_ed25519(&k).unwrap(),
        power: 10,
    }
}

/// A chain in a store: what it committed and where.
struct Fixture {
    store: Store,
    _dir: TempDir,
    chain: TestChain,
    blocks: Vec<Block>,
}

impl Fixture {
    /// Eight blocks of spending, with `validator-4` added in block 3 and
    /// `validator-1` removed in block 5.
    fn new() -> Fixture {
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
            public_key: key(i).public_key(),
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
    fn block(&mut self, ops: Vec<(&str, Op)>) {
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

    fn tx(&self, height: u64, index: usize) -> &SignedTx {
        &self.blocks[height as usize - 1].txs[index]
    }

    fn bundle(&self, height: u64, index: usize) -> AuditBundle {
        let hash = self.tx(height, index).hash();
        AuditBundle::build(&self.store, self.chain.genesis_hash, &hash)
            .unwrap()
            .expect("the transaction is committed")
    }

    fn anchor(&self) -> TrustAnchor {
        TrustAnchor::from_genesis_state(&self.chain.genesis, self.chain.genesis_hash)
    }

    fn verify(&self, bundle: &AuditBundle) -> Result<ledger::proof::VerifiedTx, ProofError> {
        bundle.verify(&self.anchor())
    }
}

/// The payment of 2,000,000 on C-1: block 7, index 1 of 3.
const PAY_AT: (u64, usize) = (7, 1);

fn pay_bundle(f: &Fixture) -> AuditBundle {
    f.bundle(PAY_AT.0, PAY_AT.1)
}

/// The error of a bundle changed by `tamper`.
fn fails(
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
fn edit_bytes(bundle: &mut AuditBundle, edit: impl FnOnce(&mut SignedTx)) -> SignedTx {
    let mut tx = SignedTx::decode(&bundle.tx.bytes).unwrap();
    edit(&mut tx);
    bundle.tx.bytes = tx.encode();
    tx
}

fn set_amount(tx: &mut SignedTx, to: u64) {
    match &mut tx.body.op {
        Op::Pay { amount, .. } => *amount = Amount(to),
        op => panic!("expected a payment, found {}", op.name()),
    }
}

#[test]
fn a_bundle_verifies_and_says_where_the_transaction_is() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let v = f.verify(&bundle).unwrap();
    let (h, i) = PAY_AT;
    let block = &f.blocks[h as usize - 1];
    assert_eq!(v.tx, *f.tx(h, i));
    assert_eq!(v.hash, f.tx(h, i).hash());
    assert_eq!(v.height, Height(h));
    assert_eq!(v.index, i as u32);
    assert_eq!(v.block_hash, block.hash());
    assert_eq!(v.time_ms, block.header.time_ms);
    assert_eq!(v.set_changes, CHANGES_AT.len());
    // set(7) is validators 0, 2, 3 and 4, and all of them signed.
    assert_eq!((v.signed_power, v.total_power), (40, 40));
    let heights: Vec<u64> = bundle
        .validator_set_changes
        .iter()
        .map(|c| c.header.view.height.0)
        .collect();
    assert_eq!(heights, CHANGES_AT);
    assert_eq!(bundle.tx.bytes, f.tx(h, i).encode());
    assert_eq!(bundle.block.inclusion.tree_size, 3);
    assert_eq!(bundle.tx.view["op"]["amount"], "2000000");
    assert_eq!(bundle.tx.view["op"]["type"], "pay");
}

#[test]
fn every_committed_transaction_has_a_bundle_that_verifies() {
    let f = Fixture::new();
    for (b, block) in f.blocks.iter().enumerate() {
        let h = b as u64 + 1;
        for i in 0..block.txs.len() {
            let bundle = f.bundle(h, i);
            let v = f
                .verify(&bundle)
                .unwrap_or_else(|e| panic!("block {h} tx {i}: {e}"));
            let walked = CHANGES_AT.iter().filter(|k| **k < h).count();
            assert_eq!(v.set_changes, walked, "block {h}");
            assert_eq!(v.block_hash, block.hash());
        }
    }
    let unknown = Hash::digest(b"never committed");
    assert!(AuditBundle::build(&f.store, f.chain.genesis_hash, &unknown)
        .unwrap()
        .is_none());
}

#[test]
fn a_bundle_round_trips_through_json() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let text = bundle.to_json();
    let back = AuditBundle::decode(text.as_bytes()).unwrap();
    assert_eq!(back, bundle);
    f.verify(&back).unwrap();
    // Amounts are strings and hashes hex in the file.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["tx"]["view"]["op"]["amount"], "2000000");
    assert_eq!(json["tx"]["hash"], f.tx(PAY_AT.0, PAY_AT.1).hash().to_hex());
    assert_eq!(json["format"], "minhbach-audit-bundle");
    assert_eq!(json["version"], 1);
}

#[test]
fn an_amount_changed_in_the_readable_view_is_caught() {
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["op"]["amount"] = "5000000".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's amount 5,000,000 does not match its signed bytes (2,000,000)"
    );
}

#[test]
fn an_amount_changed_in_the_signed_bytes_is_caught() {
    let f = Fixture::new();
    // Bytes alone: the view still shows what was signed.
    let e = fails(&f, pay_bundle(&f), |b| {
        edit_bytes(b, |tx| set_amount(tx, 5_000_000));
    });
    assert_eq!(
        e.to_string(),
        "the transaction's amount 2,000,000 does not match its signed bytes (5,000,000)"
    );
    // Bytes and view together: the hash is no longer theirs.
    let e = fails(&f, pay_bundle(&f), |b| {
        let tx = edit_bytes(b, |tx| set_amount(tx, 5_000_000));
        b.tx.view = ledger::proof::tx_view(&tx);
    });
    assert!(matches!(e, ProofError::TxHash { .. }), "{e}");
    // Bytes, view and hash together: the transaction is not in the block.
    let e = fails(&f, pay_bundle(&f), |b| {
        let tx = edit_bytes(b, |tx| set_amount(tx, 5_000_000));
        b.tx.view = ledger::proof::tx_view(&tx);
        b.tx.hash = tx.hash();
    });
    assert_eq!(
        e,
        ProofError::MerklePath {
            height: Height(PAY_AT.0)
        }
    );
    assert_eq!(
        e.to_string(),
        "Merkle path does not lead to the transactions root of block 7"
    );
}

#[test]
fn a_changed_vendor_or_contract_is_caught() {
    let f = Fixture::new();
    // The award of C-1 to V-0042, block 4.
    let e = fails(&f, f.bundle(4, 0), |b| {
        b.tx.view["op"]["vendor"] = "V-0043".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's vendor V-0043 does not match its signed bytes (V-0042)"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["op"]["contract"] = "C-2".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's contract C-2 does not match its signed bytes (C-1)"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["signer"] = "MOH".into();
    });
    assert_eq!(
        e.to_string(),
        "the transaction's signer MOH does not match its signed bytes (MOH.BVBM)"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.view["op"]["note"] = "added".into();
    });
    assert!(matches!(e, ProofError::TxViewExtra { .. }), "{e}");
}

#[test]
fn a_changed_merkle_sibling_or_index_is_caught() {
    let f = Fixture::new();
    for i in 0..pay_bundle(&f).block.inclusion.path.len() {
        let e = fails(&f, pay_bundle(&f), |b| {
            b.block.inclusion.path[i] = Hash::digest(b"another sibling");
        });
        assert_eq!(
            e,
            ProofError::MerklePath {
                height: Height(PAY_AT.0)
            },
            "sibling {i}"
        );
    }
    let e = fails(&f, pay_bundle(&f), |b| b.block.index = 0);
    assert!(matches!(e, ProofError::LeafIndex { index: 0, .. }), "{e}");
    // Index and path's index moved together: the path is for another leaf.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.index = 0;
        b.block.inclusion.leaf_index = 0;
    });
    assert!(matches!(e, ProofError::MerklePath { .. }), "{e}");
    let e = fails(&f, pay_bundle(&f), |b| b.block.inclusion.tree_size = 4);
    assert!(
        matches!(
            e,
            ProofError::TreeSize {
                tree_size: 4,
                tx_count: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_changed_header_field_is_caught() {
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.header.view.state_root = Hash::digest(b"another state");
    });
    assert_eq!(
        e.to_string(),
        "block 7: header field state_root was changed: the block hash no longer matches its certificate"
    );
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.header.view.time_ms += 86_400_000;
    });
    assert_eq!(
        e,
        ProofError::HeaderChanged {
            height: Height(7),
            field: "time_ms".into()
        }
    );
    // Bytes and view changed together: the certificate is for another block.
    let e = fails(&f, pay_bundle(&f), |b| {
        let mut header = b.block.header.view.clone();
        header.state_root = Hash::digest(b"another state");
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    match e {
        ProofError::BlockHashMismatch {
            height, certified, ..
        } => {
            assert_eq!(height, Height(7));
            assert_eq!(certified, f.blocks[6].hash());
        }
        e => panic!("{e}"),
    }
    // The same in a validator-set change's header.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes[1].header.view.time_ms += 1;
    });
    assert_eq!(
        e,
        ProofError::HeaderChanged {
            height: Height(CHANGES_AT[1]),
            field: "time_ms".into()
        }
    );
}

#[test]
fn every_header_field_changed_in_the_readable_view_is_named() {
    // One case per field of the header, each changed alone in the view a
    // reader sees; the error names that field (and the height in the
    // signed bytes, not the one shown).
    let f = Fixture::new();
    let other = Hash::digest(b"something else");
    type Change = Box<dyn Fn(&mut ledger::Header)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "chain_id",
            Box::new(|h| h.chain_id = "another-chain".into()),
        ),
        ("height", Box::new(|h| h.height = Height(h.height.0 + 1))),
        ("time_ms", Box::new(|h| h.time_ms += 1)),
        ("prev_hash", Box::new(move |h| h.prev_hash = other)),
        ("tx_count", Box::new(|h| h.tx_count += 1)),
        ("txs_root", Box::new(move |h| h.txs_root = other)),
        ("state_root", Box::new(move |h| h.state_root = other)),
        (
            "last_commit_hash",
            Box::new(move |h| h.last_commit_hash = other),
        ),
        ("evidence_hash", Box::new(move |h| h.evidence_hash = other)),
        (
            "validators_hash",
            Box::new(move |h| h.validators_hash = other),
        ),
        (
            "next_validators_hash",
            Box::new(move |h| h.next_validators_hash = other),
        ),
        (
            "proposer",
            Box::new(|h| h.proposer = validator(3).consensus_key),
        ),
    ];
    let header = serde_json::to_value(&f.blocks[6].header).unwrap();
    let fields: Vec<&str> = header
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut named: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    named.sort();
    let mut all = fields.clone();
    all.sort();
    assert_eq!(named, all, "one case per header field");
    for (field, change) in &cases {
        let e = fails(&f, pay_bundle(&f), |b| change(&mut b.block.header.view));
        assert_eq!(
            e,
            ProofError::HeaderChanged {
                height: Height(7),
                field: (*field).into()
            },
            "changing {field}"
        );
    }
}

#[test]
fn another_format_or_version_is_named() {
    let f = Fixture::new();
    let json = pay_bundle(&f).to_json();
    let with = |key: &str, value: serde_json::Value| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v[key] = value;
        AuditBundle::decode(v.to_string().as_bytes()).unwrap_err()
    };
    assert_eq!(
        with("format", "minhbach-something-else".into()),
        ProofError::WrongFormat {
            found: "\"minhbach-something-else\"".into()
        }
    );
    assert_eq!(
        with("version", 2.into()),
        ProofError::UnsupportedVersion { found: "2".into() }
    );
    // Built in memory rather than read: the same checks.
    let e = fails(&f, pay_bundle(&f), |b| b.format = "other".into());
    assert_eq!(
        e,
        ProofError::WrongFormat {
            found: "\"other\"".into()
        }
    );
}

#[test]
fn a_transaction_of_another_chain_is_refused() {
    // Bytes, hash and readable view all agree, and say another chain.
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        let tx = edit_bytes(b, |tx| tx.body.chain_id = "another-chain".into());
        b.tx.hash = tx.hash();
        b.tx.view = ledger::proof::tx_view(&tx);
    });
    assert_eq!(
        e,
        ProofError::TxWrongChain {
            tx_chain: "another-chain".into(),
            chain: CHAIN_ID.into()
        }
    );
}

#[test]
fn a_header_of_another_chain_is_refused() {
    // Bytes and view agree, and say another chain.
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        let mut header = b.block.header.view.clone();
        header.chain_id = "another-chain".into();
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    assert_eq!(
        e,
        ProofError::HeaderWrongChain {
            height: Height(7),
            found: "another-chain".into(),
            chain: CHAIN_ID.into()
        }
    );
}

#[test]
fn a_first_block_that_does_not_follow_the_genesis_is_refused() {
    let f = Fixture::new();
    let e = fails(&f, f.bundle(1, 0), |b| {
        let mut header = b.block.header.view.clone();
        header.prev_hash = Hash::digest(b"another genesis");
        b.block.header = ledger::proof::BundleHeader::new(&header);
    });
    assert_eq!(
        e,
        ProofError::NotAfterGenesis {
            prev_hash: Hash::digest(b"another genesis"),
            genesis: f.chain.genesis_hash
        }
    );
}

#[test]
fn a_certificate_for_another_block_or_height_is_refused() {
    // Block 6's certificate under block 7's header: valid signatures, by
    // the right set, for another block.
    let f = Fixture::new();
    let other = f.store.cert(Height(6)).unwrap().unwrap();
    let e = fails(&f, pay_bundle(&f), |b| b.block.certificate = other);
    assert_eq!(
        e,
        ProofError::BlockHashMismatch {
            height: Height(7),
            header_hash: f.blocks[6].hash(),
            certified: f.blocks[5].hash()
        }
    );
    // Block 7's certificate, saying another height.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.height = Height(8)
    });
    assert_eq!(
        e,
        ProofError::Certificate {
            height: Height(7),
            reason: CertError::WrongTarget {
                what: "height",
                expected: "7".into(),
                got: "8".into()
            }
        }
    );
}

#[test]
fn a_certificate_without_enough_power_is_refused() {
    let f = Fixture::new();
    // set(7) has four members of power 10: three still make more than 2/3.
    let mut bundle = pay_bundle(&f);
    bundle.block.certificate.precommits.pop();
    f.verify(&bundle).unwrap();
    bundle.block.certificate.precommits.pop();
    let e = f.verify(&bundle).unwrap_err();
    assert_eq!(
        e,
        ProofError::Certificate {
            height: Height(7),
            reason: CertError::InsufficientPower {
                power: 20,
                total: 40
            }
        }
    );
    assert_eq!(
        e.to_string(),
        "certificate of block 7: only 20 of 40 voting power signed; more than 2/3 is needed"
    );
    // The same in a change's certificate: set(4) has four members of 10.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes[0]
            .certificate
            .precommits
            .truncate(2);
    });
    assert!(
        e.to_string()
            .starts_with("certificate of block 4: only 20 of 40 voting power signed"),
        "{e}"
    );
}

#[test]
fn a_signature_from_outside_the_set_is_refused() {
    let f = Fixture::new();
    let hash = f.blocks[6].hash();
    let precommit = |label: &str| {
        Vote::sign(
            &key(label),
            CHAIN_ID,
            VoteType::Precommit,
            Height(7),
            0,
            Some(hash),
        )
    };
    // validator-1 was removed in block 5, so it is not in set(7).
    let removed = precommit("validator-1");
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.precommits.push(removed.clone());
    });
    assert_eq!(
        e.to_string(),
        format!(
            "certificate of block 7: signer {} is not a validator of that height",
            validator(1).consensus_key
        )
    );
    // An outsider's signature in place of a member's.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.precommits[0] = precommit("outsider");
    });
    assert!(
        matches!(
            e,
            ProofError::Certificate {
                reason: CertError::UnknownSigner { .. },
                ..
            }
        ),
        "{e}"
    );
    // A member's key with a signature that is not its own.
    let e = fails(&f, pay_bundle(&f), |b| {
        let first = &mut b.block.certificate.precommits[0];
        first.signature = precommit("outsider").signature;
    });
    assert!(
        matches!(
            e,
            ProofError::Certificate {
                reason: CertError::BadSignature { .. },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_wrong_genesis_file_is_refused() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    let other_hash = TrustAnchor::new(
        CHAIN_ID,
        Hash::digest(b"another genesis"),
        f.chain.genesis.validators().clone(),
    );
    assert!(matches!(
        bundle.verify(&other_hash),
        Err(ProofError::WrongGenesis { .. })
    ));
    let other_chain = TrustAnchor::new(
        "minhbach-other",
        f.chain.genesis_hash,
        f.chain.genesis.validators().clone(),
    );
    assert!(matches!(
        bundle.verify(&other_chain),
        Err(ProofError::WrongChain { .. })
    ));
    // Same chain id and hash but other validators: the genesis hash is only
    // a label, the certificates are what bind the bundle to set(1).
    let others = ValidatorSet::new((10..14).map(validator).collect()).unwrap();
    let other_set = TrustAnchor::new(CHAIN_ID, f.chain.genesis_hash, others.clone());
    match bundle.verify(&other_set) {
        Err(ProofError::ValidatorsHash {
            height, trusted, ..
        }) => {
            assert_eq!(height, Height(CHANGES_AT[0]));
            assert_eq!(trusted, others.hash());
        }
        other => panic!("{other:?}"),
    }
    // Before any change, the block itself is checked against set(1).
    match f.bundle(1, 0).verify(&other_set) {
        Err(ProofError::ValidatorsHash { height, .. }) => assert_eq!(height, Height(1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_forged_or_missing_set_change_is_refused() {
    let f = Fixture::new();
    // A set the header did not commit to, with an outsider in it.
    let forged = ValidatorSet::new(vec![validator(0), validator(2), validator(3), {
        let k = key("outsider").public_key();
        Validator {
            name: "outsider".into(),
            consensus_key: k,
            peer_id: PeerId::from_ed25519(&k).unwrap(),
            power: 10,
        }
    }])
    .unwrap();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes[1].next_validators = forged.clone();
    });
    assert!(
        matches!(e, ProofError::NextSetMismatch { height, .. } if height == Height(6)),
        "{e}"
    );
    // Dropping the last change: block 7 names a set the walk never reached.
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes.pop();
    });
    assert!(
        matches!(e, ProofError::ValidatorsHash { height, .. } if height == Height(7)),
        "{e}"
    );
    // Dropping the first: block 6 is checked against set(1).
    let e = fails(&f, pay_bundle(&f), |b| {
        b.validator_set_changes.remove(0);
    });
    assert!(
        matches!(e, ProofError::ValidatorsHash { height, .. } if height == Height(6)),
        "{e}"
    );
    // Swapped: the first listed, block 6, is checked against set(1).
    let e = fails(&f, pay_bundle(&f), |b| b.validator_set_changes.swap(0, 1));
    assert!(
        matches!(e, ProofError::ValidatorsHash { height, .. } if height == Height(6)),
        "{e}"
    );
    // Listed twice.
    let e = fails(&f, pay_bundle(&f), |b| {
        let first = b.validator_set_changes[0].clone();
        b.validator_set_changes.insert(1, first);
    });
    assert!(
        matches!(e, ProofError::ChangeOutOfOrder { height, after, .. }
            if height == Height(4) && after == Height(4)),
        "{e}"
    );
    // A certified block that changes nothing, listed as a change.
    let e = fails(&f, pay_bundle(&f), |b| {
        let set5 = b.validator_set_changes[0].next_validators.clone();
        let still = ledger::proof::SetChange {
            header: ledger::proof::BundleHeader::new(&f.blocks[4].header),
            certificate: f.store.cert(Height(5)).unwrap().unwrap(),
            next_validators: set5,
        };
        b.validator_set_changes.insert(1, still);
    });
    assert_eq!(e, ProofError::NotAChange { height: Height(5) });
    // A change at or after the transaction's block is not part of its proof.
    let late = f.bundle(8, 0).validator_set_changes;
    assert_eq!(late.len(), 2);
    let e = fails(&f, f.bundle(5, 0), |b| {
        b.validator_set_changes = late.clone();
    });
    assert!(
        matches!(e, ProofError::ChangeOutOfOrder { height, target, .. }
            if height == Height(6) && target == Height(5)),
        "{e}"
    );
    // A whole change made up by outsiders: a header that names set(4) and
    // then their own set, with their own certificate.
    let e = fails(&f, pay_bundle(&f), |b| {
        let mut header = b.validator_set_changes[0].header.view.clone();
        header.next_validators_hash = forged.hash();
        let outsiders: Vec<_> = (0..4).map(|i| key(&format!("outsider-{i}"))).collect();
        let block = Block {
            header: header.clone(),
            txs: vec![],
            evidence: vec![],
            last_commit: None,
        };
        let cert = ledger::builder::sign_commit(&block, 0, &outsiders.iter().collect::<Vec<_>>());
        b.validator_set_changes[0] = ledger::proof::SetChange {
            header: ledger::proof::BundleHeader::new(&header),
            certificate: cert,
            next_validators: forged.clone(),
        };
    });
    assert!(
        matches!(
            e,
            ProofError::Certificate {
                height: Height(4),
                reason: CertError::UnknownSigner { .. }
            }
        ),
        "{e}"
    );
}

#[test]
fn oversized_or_trailing_or_unknown_input_is_refused() {
    let f = Fixture::new();
    let text = pay_bundle(&f).to_json();
    let mut padded = text.clone().into_bytes();
    padded.resize(BUNDLE_BYTES_MAX + 1, b' ');
    assert_eq!(
        AuditBundle::decode(&padded),
        Err(ProofError::TooLarge {
            bytes: BUNDLE_BYTES_MAX + 1
        })
    );
    let trailing = format!("{text}\n{{}}");
    assert!(matches!(
        AuditBundle::decode(trailing.as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
    assert!(matches!(
        AuditBundle::decode(b"not json"),
        Err(ProofError::Malformed { .. })
    ));
    // Whitespace after the document is not garbage.
    AuditBundle::decode(format!("{text}\n\n").as_bytes()).unwrap();

    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["block"]["certificate"]["precommits"][0]["note"] = "x".into();
    assert_eq!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::UnknownField {
            path: "block.certificate.precommits[0].note".into()
        })
    );
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["block"]["header"]["view"]["approved_by"] = "x".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::UnknownField { .. })
    ));
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["comment"] = "x".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["version"] = 2.into();
    assert_eq!(
        AuditBundle::decode(json.to_string().as_bytes())
            .unwrap_err()
            .to_string(),
        "bundle format version 2 is not supported; this program reads version 1"
    );
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["tx"]["bytes"] = "zz".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
}

#[test]
fn garbled_bytes_are_errors_not_panics() {
    let f = Fixture::new();
    let e = fails(&f, pay_bundle(&f), |b| {
        b.tx.bytes.push(0);
    });
    assert!(matches!(e, ProofError::TxUnreadable { .. }), "{e}");
    let e = fails(&f, pay_bundle(&f), |b| b.tx.bytes.clear());
    assert!(matches!(e, ProofError::TxUnreadable { .. }), "{e}");
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.header.bytes.truncate(10);
    });
    assert!(matches!(e, ProofError::HeaderUnreadable { .. }), "{e}");
    let key_bytes: PublicKey = validator(0).consensus_key;
    let e = fails(&f, pay_bundle(&f), |b| {
        b.block.certificate.precommits[1].validator = key_bytes;
    });
    assert!(matches!(e, ProofError::Certificate { .. }), "{e}");
}
