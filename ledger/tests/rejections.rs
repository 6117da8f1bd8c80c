//! Every rejection code of SPEC §2, reached through the public API: bytes
//! through `SignedTx::decode`, transactions through `State::check_tx` and a
//! committed block (`TestChain::commit`, which runs `State::execute_block`).
//!
//! Each case sets up a small chain, submits what must be refused, and checks
//! the code, the values the error carries (they must be the ones the test set
//! up, not whatever the code computed) and that the message reads well, with
//! amounts grouped by thousands. A refused transaction must change nothing:
//! the state root and height stay where they were. The validator-set cases
//! also check the set(H+2) rotation at the heights SPEC §2 gives.
//!
//! `mempool_full` belongs to the node's mempool and is not reachable from the
//! ledger; here we only check that the code exists. The last test checks that
//! every other code is produced by at least one case.

use std::collections::BTreeSet;

use ledger::codec::TX_BYTES_MAX;
use ledger::error::ERROR_CODES;
use ledger::testkit::{id, key, TestChain, CHAIN_ID};
use ledger::tx::{EntityKind, Status};
use ledger::{
    Amount, ContractId, LineCode, Op, PeerId, PublicKey, SignedTx, TxBody, TxError, Validator,
    ValidatorSet, Year,
};

const YEAR: u16 = 2026;
const LINE: &str = "0402-HEALTH-INFRA";
/// Appropriated to MOH in [`world`].
const APPROPRIATED: u64 = 10_000_000;
/// Allocated by MOH to MOH.BV in [`world`].
const ALLOCATED: u64 = 9_000_000;
/// Amount of contract C-17 in [`world`].
const AWARDED: u64 = 8_000_000;
/// Paid on C-17 in [`world`].
const PAID: u64 = 5_000_000;

/// The identity point: a canonical encoding of a point of small order.
const SMALL_ORDER_KEY: PublicKey = PublicKey({
    let mut b = [0u8; 32];
    b[0] = 1;
    b
});
/// y = 2 is not the y-coordinate of any point on the curve.
const NOT_A_POINT_KEY: PublicKey = PublicKey({
    let mut b = [0u8; 32];
    b[0] = 2;
    b
});
/// y = p + 3 (p = 2^255 − 19): a point (y = 3) written non-canonically.
const NON_CANONICAL_KEY: PublicKey = PublicKey({
    let mut b = [0xff; 32];
    b[0] = 0xf0;
    b[31] = 0x7f;
    b
});

fn year() -> Year {
    Year::new(YEAR).unwrap()
}

fn line() -> LineCode {
    LineCode::new(LINE).unwrap()
}

fn cid(s: &str) -> ContractId {
    ContractId::new(s).unwrap()
}

fn register(id_: &str, kind: EntityKind, parent: Option<&str>) -> Op {
    Op::RegisterEntity {
        id: id(id_),
        kind,
        name: format!("Tên {id_}"),
        parent: parent.map(id),
        public_key: key(id_).public_key(),
    }
}

fn appropriate(to: &str, amount: u64) -> Op {
    Op::Appropriate {
        year: year(),
        line: line(),
        to: id(to),
        amount: Amount(amount),
        legal_ref: "QĐ-123/2026".into(),
    }
}

fn allocate(to: &str, amount: u64) -> Op {
    Op::Allocate {
        year: year(),
        line: line(),
        to: id(to),
        amount: Amount(amount),
    }
}

fn award(contract: &str, vendor: &str, amount: u64) -> Op {
    Op::Award {
        contract: cid(contract),
        year: year(),
        line: line(),
        vendor: id(vendor),
        amount: Amount(amount),
        title: "Xây dựng bệnh viện".into(),
        document_hash: None,
    }
}

fn pay(contract: &str, amount: u64) -> Op {
    Op::Pay {
        contract: cid(contract),
        amount: Amount(amount),
        reference: "UNC-1".into(),
        document_hash: None,
    }
}

fn amend(contract: &str, amount: u64) -> Op {
    Op::AmendContract {
        contract: cid(contract),
        amount: Amount(amount),
        reason: "phụ lục".into(),
        document_hash: None,
    }
}

fn set_status(entity: &str, status: Status) -> Op {
    Op::SetStatus {
        entity: id(entity),
        status,
    }
}

fn validator(label: &str, power: u64) -> Validator {
    let k = key(label).public_key();
    Validator {
        name: label.into(),
        consensus_key: k,
        peer_id: PeerId::from_ed25519(&k).unwrap(),
        power,
    }
}

fn add_validator(label: &str, power: u64) -> Op {
    let v = validator(label, power);
    Op::AddValidator {
        name: v.name,
        consensus_key: v.consensus_key,
        peer_id: v.peer_id,
        power,
    }
}

fn remove_validator(label: &str) -> Op {
    Op::RemoveValidator {
        consensus_key: key(label).public_key(),
    }
}

/// Signs `op` as `signer` with key `key_label`, nonce `nonce` and chain `chain_id`.
fn signed(chain_id: &str, signer: &str, nonce: u64, key_label: &str, op: Op) -> SignedTx {
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
fn world() -> TestChain {
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
fn reject(chain: &mut TestChain, tx: SignedTx) -> TxError {
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
fn reject_op(chain: &mut TestChain, signer: &str, op: Op) -> TxError {
    let tx = chain.tx(signer, 0, op);
    reject(chain, tx)
}

/// Commits `op` signed by `signer`, which must succeed.
fn accept_op(chain: &mut TestChain, signer: &str, op: Op) {
    let tx = chain.tx(signer, 0, op);
    chain.commit(vec![tx]).unwrap();
}

/// A valid transaction's bytes.
fn valid_bytes() -> Vec<u8> {
    signed(CHAIN_ID, "MOF", 1, "MOF", appropriate("MOH", 1)).encode()
}

mod cases {
    use super::*;

    pub fn malformed() -> Vec<TxError> {
        let bytes = valid_bytes();
        assert!(SignedTx::decode(&bytes).is_ok(), "the fixture must decode");

        let mut trailing = bytes.clone();
        trailing.push(0);
        let e1 = SignedTx::decode(&trailing).unwrap_err();
        assert!(
            matches!(&e1, TxError::Malformed { reason } if reason.contains("1 trailing byte")),
            "{e1:?}"
        );

        let truncated = &bytes[..bytes.len() - 1];
        let e2 = SignedTx::decode(truncated).unwrap_err();
        assert!(matches!(e2, TxError::Malformed { .. }), "{e2:?}");

        // The signer id "MOF" written in lower case breaks the id pattern.
        let mut bad_id = bytes.clone();
        let at = bad_id
            .windows(3)
            .position(|w| w == b"MOF")
            .expect("the signer id is in the bytes");
        bad_id[at..at + 3].copy_from_slice(b"mof");
        let e3 = SignedTx::decode(&bad_id).unwrap_err();
        assert!(
            matches!(&e3, TxError::Malformed { reason } if reason.contains("\"mof\"")),
            "{e3:?}"
        );
        assert_eq!(
            e3.to_string(),
            "malformed: invalid_argument: entity id: \"mof\" does not match \
             [A-Z0-9][A-Z0-9._-]{1,63}"
        );

        // The nonce 1 written as a 3-byte varint (marker 251, then u16 LE):
        // the same value, but not the canonical encoding.
        let body_prefix = {
            let mut p = bincode_string(CHAIN_ID);
            p.extend(bincode_string("MOF"));
            p
        };
        assert_eq!(&bytes[..body_prefix.len()], &body_prefix[..]);
        assert_eq!(bytes[body_prefix.len()], 1, "nonce 1 is one byte");
        let mut wide = bytes[..body_prefix.len()].to_vec();
        wide.extend([251, 1, 0]);
        wide.extend(&bytes[body_prefix.len() + 1..]);
        let e4 = SignedTx::decode(&wide).unwrap_err();
        assert!(matches!(e4, TxError::Malformed { .. }), "{e4:?}");

        assert!(e1.to_string().starts_with("malformed: "));
        vec![e1, e2, e3, e4]
    }

    /// bincode's encoding of a short string: a one-byte length, then UTF-8.
    fn bincode_string(s: &str) -> Vec<u8> {
        assert!(s.len() < 251);
        let mut v = vec![s.len() as u8];
        v.extend(s.as_bytes());
        v
    }

    pub fn too_large() -> Vec<TxError> {
        // A well-formed award whose title alone is over the limit.
        let mut op = award("C-99", "V-1", 1);
        if let Op::Award { title, .. } = &mut op {
            *title = "x".repeat(TX_BYTES_MAX);
        }
        let bytes = signed(CHAIN_ID, "MOH.BV", 3, "MOH.BV", op).encode();
        assert!(bytes.len() > 64 * 1024);
        let e1 = SignedTx::decode(&bytes).unwrap_err();
        assert_eq!(
            e1,
            TxError::TooLarge {
                bytes: bytes.len(),
                bytes_max: 65_536
            }
        );
        let e2 = SignedTx::decode(&vec![0u8; 65_537]).unwrap_err();
        assert_eq!(
            e2,
            TxError::TooLarge {
                bytes: 65_537,
                bytes_max: 65_536
            }
        );
        assert_eq!(
            e2.to_string(),
            "too_large: 65537 bytes exceeds the limit of 65536"
        );
        vec![e1, e2]
    }

    pub fn wrong_chain() -> Vec<TxError> {
        let mut chain = world();
        let tx = signed("other-chain", "MOF", 2, "MOF", appropriate("MOH", 1));
        let e = reject(&mut chain, tx);
        assert_eq!(
            e,
            TxError::WrongChain {
                expected: CHAIN_ID.into(),
                got: "other-chain".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "wrong_chain: transaction is for chain \"other-chain\", this is \"minhbach-test\""
        );
        vec![e]
    }

    pub fn bad_signature() -> Vec<TxError> {
        let mut chain = world();
        // Signed with MOH's key, claiming to be MOF.
        let tx = signed(CHAIN_ID, "MOF", 2, "MOH", appropriate("MOH", 1));
        let e1 = reject(&mut chain, tx);
        assert_eq!(e1, TxError::BadSignature { signer: id("MOF") });

        // Signed correctly, then the amount changed.
        let mut tx = chain.tx("MOF", 0, appropriate("MOH", 1));
        tx.body.op = appropriate("MOH", 1_000_000_000);
        let e2 = reject(&mut chain, tx);
        assert_eq!(e2, TxError::BadSignature { signer: id("MOF") });

        // After a key rotation the old key no longer signs for MOH.
        let rotate = Op::RotateKey {
            entity: id("MOH"),
            public_key: key("MOH-2").public_key(),
        };
        accept_op(&mut chain, "MOH", rotate);
        let next = chain.state.next_nonce(&id("MOH")).unwrap();
        let old_key = signed(CHAIN_ID, "MOH", next, "MOH", allocate("MOH.BV", 1));
        let e3 = reject(&mut chain, old_key);
        assert_eq!(e3, TxError::BadSignature { signer: id("MOH") });
        let new_key = signed(CHAIN_ID, "MOH", next, "MOH-2", allocate("MOH.BV", 1));
        chain.commit(vec![new_key]).unwrap();

        assert_eq!(
            e1.to_string(),
            "bad_signature: signature does not verify for signer MOF"
        );
        vec![e1, e2, e3]
    }

    pub fn bad_nonce() -> Vec<TxError> {
        let mut chain = world();
        // MOF committed 7 transactions in the fixture.
        assert_eq!(chain.state.next_nonce(&id("MOF")), Some(8));
        let ahead = signed(CHAIN_ID, "MOF", 10, "MOF", appropriate("MOH", 1));
        let e1 = reject(&mut chain, ahead);
        assert_eq!(
            e1,
            TxError::BadNonce {
                signer: id("MOF"),
                expected: 8,
                got: 10
            }
        );
        assert_eq!(e1.to_string(), "bad_nonce: MOF must use nonce 8, got 10");

        // A replay of a committed transaction.
        let tx = chain.tx("MOF", 0, appropriate("MOH", 1));
        chain.commit(vec![tx.clone()]).unwrap();
        let e2 = reject(&mut chain, tx);
        assert_eq!(
            e2,
            TxError::BadNonce {
                signer: id("MOF"),
                expected: 9,
                got: 8
            }
        );

        // The same nonce twice in one block: the second is refused, at index 1.
        let a = chain.tx("MOF", 0, appropriate("MOH", 1));
        let b = chain.tx("MOF", 0, appropriate("MOH", 2));
        let (index, e3) = chain.commit(vec![a, b]).unwrap_err();
        assert_eq!(index, 1);
        assert_eq!(
            e3,
            TxError::BadNonce {
                signer: id("MOF"),
                expected: 10,
                got: 9
            }
        );
        vec![e1, e2, e3]
    }

    pub fn bad_key() -> Vec<TxError> {
        let mut chain = world();
        let mut op = register("MOT", EntityKind::Ministry, None);
        if let Op::RegisterEntity { public_key, .. } = &mut op {
            *public_key = SMALL_ORDER_KEY;
        }
        let e1 = reject_op(&mut chain, "MOF", op);
        assert_eq!(
            e1,
            TxError::BadKey {
                key: SMALL_ORDER_KEY,
                reason: "a point of small order"
            }
        );
        assert_eq!(
            e1.to_string(),
            format!(
                "bad_key: {} is a point of small order",
                "01".to_owned() + &"0".repeat(62)
            )
        );

        // Rotation, by the treasury and by the entity itself.
        for signer in ["MOF", "MOH"] {
            let rotate = Op::RotateKey {
                entity: id("MOH"),
                public_key: NOT_A_POINT_KEY,
            };
            let e = reject_op(&mut chain, signer, rotate);
            assert_eq!(
                e,
                TxError::BadKey {
                    key: NOT_A_POINT_KEY,
                    reason: "not a curve point"
                }
            );
        }
        let e2 = reject_op(
            &mut chain,
            "MOH",
            Op::RotateKey {
                entity: id("MOH"),
                public_key: SMALL_ORDER_KEY,
            },
        );
        assert!(matches!(e2, TxError::BadKey { key, .. } if key == SMALL_ORDER_KEY));

        let good = validator("validator-new", 1);
        let e3 = reject_op(
            &mut chain,
            "MOF",
            Op::AddValidator {
                name: "validator-new".into(),
                consensus_key: NON_CANONICAL_KEY,
                peer_id: good.peer_id,
                power: 1,
            },
        );
        assert_eq!(
            e3,
            TxError::BadKey {
                key: NON_CANONICAL_KEY,
                reason: "not the canonical encoding of its point"
            }
        );
        vec![e1, e2, e3]
    }

    pub fn invalid_argument() -> Vec<TxError> {
        let mut chain = world();
        let e1 = reject_op(&mut chain, "MOF", appropriate("MOH", 0));
        assert!(
            matches!(
                &e1,
                TxError::InvalidArgument {
                    field: "amount",
                    ..
                }
            ),
            "{e1:?}"
        );
        assert_eq!(
            e1.to_string(),
            "invalid_argument: amount: must be more than zero"
        );
        let e2 = reject_op(
            &mut chain,
            "MOF",
            register("MOF2", EntityKind::Treasury, None),
        );
        assert!(
            matches!(&e2, TxError::InvalidArgument { field: "kind", .. }),
            "{e2:?}"
        );
        // A department whose parent is a department, a vendor with a parent,
        // a department with no parent.
        for op in [
            register("MOH.BV.X", EntityKind::Department, Some("MOH.BV")),
            register("V-3", EntityKind::Vendor, Some("MOH")),
            register("MOH.Y", EntityKind::Department, None),
        ] {
            let e = reject_op(&mut chain, "MOF", op);
            assert!(
                matches!(
                    &e,
                    TxError::InvalidArgument {
                        field: "parent",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        // Appropriating to a department, awarding to a ministry.
        let e3 = reject_op(&mut chain, "MOF", appropriate("MOH.BV", 1));
        assert!(
            matches!(&e3, TxError::InvalidArgument { field: "to", reason } if reason.contains("MOH.BV")),
            "{e3:?}"
        );
        let e4 = reject_op(&mut chain, "MOH.BV", award("C-2", "MOET", 1));
        assert!(
            matches!(
                &e4,
                TxError::InvalidArgument {
                    field: "vendor",
                    ..
                }
            ),
            "{e4:?}"
        );
        let e5 = reject_op(&mut chain, "MOF", add_validator("validator-new", 0));
        assert!(
            matches!(&e5, TxError::InvalidArgument { field: "power", .. }),
            "{e5:?}"
        );
        let e6 = reject_op(&mut chain, "MOF", set_status("MOF", Status::Suspended));
        assert!(
            matches!(
                &e6,
                TxError::InvalidArgument {
                    field: "entity",
                    ..
                }
            ),
            "{e6:?}"
        );
        // Text fields: required, bounded, no control characters.
        let mut op = appropriate("MOH", 1);
        if let Op::Appropriate { legal_ref, .. } = &mut op {
            *legal_ref = "  ".into();
        }
        let e7 = reject_op(&mut chain, "MOF", op);
        assert_eq!(
            e7,
            TxError::InvalidArgument {
                field: "legal_ref",
                reason: "must not be empty".into()
            }
        );
        let mut op = award("C-2", "V-2", 1);
        if let Op::Award { title, .. } = &mut op {
            *title = "Bàn\u{7}ghế".into();
        }
        let e8 = reject_op(&mut chain, "MOH.BV", op);
        assert_eq!(
            e8.to_string(),
            "invalid_argument: title: contains control characters"
        );
        let mut op = register("MOT", EntityKind::Ministry, None);
        if let Op::RegisterEntity { name, .. } = &mut op {
            // 67 × 3 bytes: "ộ" is three bytes in UTF-8.
            *name = "ộ".repeat(67);
        }
        let e9 = reject_op(&mut chain, "MOF", op);
        assert_eq!(
            e9.to_string(),
            "invalid_argument: name: 201 bytes is longer than the 200 allowed"
        );
        let mut out = vec![e1, e2, e3, e4, e5, e6, e7, e8, e9];
        out.extend(years_out_of_range(&mut chain));
        out
    }

    /// Every operation that names a fiscal year refuses one outside 2000 to
    /// 2100, whoever signs it and whatever else it says; the bounds
    /// themselves are accepted.
    fn years_out_of_range(chain: &mut TestChain) -> Vec<TxError> {
        let with_year = |op: Op, y: u16| -> Op {
            let mut op = op;
            match &mut op {
                Op::Appropriate { year, .. }
                | Op::Allocate { year, .. }
                | Op::ReturnFunds { year, .. }
                | Op::Award { year, .. } => *year = Year(y),
                other => panic!("{other:?} names no year"),
            }
            op
        };
        let give_back = Op::ReturnFunds {
            year: year(),
            line: line(),
            amount: Amount(1),
        };
        let ops = [
            ("MOF", appropriate("MOH", 1)),
            ("MOH", allocate("MOH.BV", 1)),
            ("MOH.BV", give_back),
            ("MOH.BV", award("C-99", "V-1", 1)),
        ];
        let mut out = Vec::new();
        for (signer, op) in ops {
            for y in [0, 1999, 2101, 65535] {
                let e = reject_op(chain, signer, with_year(op.clone(), y));
                assert_eq!(
                    e,
                    TxError::InvalidArgument {
                        field: "year",
                        reason: format!("{y} is not a fiscal year from 2000 to 2100"),
                    },
                    "{signer} {}",
                    op.name()
                );
                out.push(e);
            }
        }
        assert_eq!(
            out[0].to_string(),
            "invalid_argument: year: 0 is not a fiscal year from 2000 to 2100"
        );
        // The bounds: the treasury appropriates for 2000 and 2100.
        for y in [2000, 2100] {
            accept_op(chain, "MOF", with_year(appropriate("MOH", 1), y));
            let moh = chain.state.budget(&id("MOH"), Year(y), &line());
            assert_eq!(moh.received, Amount(1));
        }
        assert_eq!(Year::new(2101), Err(out[2].clone()));
        out
    }

    pub fn overflow() -> Vec<TxError> {
        let mut chain = TestChain::new(1);
        accept_op(
            &mut chain,
            "MOF",
            register("MOH", EntityKind::Ministry, None),
        );
        accept_op(&mut chain, "MOF", appropriate("MOH", u64::MAX));
        let e = reject_op(&mut chain, "MOF", appropriate("MOH", 1));
        assert_eq!(
            e,
            TxError::Overflow {
                what: format!("appropriations on {YEAR}/{LINE}")
            }
        );
        assert_eq!(
            e.to_string(),
            "overflow: appropriations on 2026/0402-HEALTH-INFRA would exceed the largest \
             representable amount"
        );
        // The first appropriation stands, whole.
        let t = chain.state.budget(&id("MOF"), year(), &line());
        assert_eq!(
            (t.received, t.passed_on),
            (Amount(u64::MAX), Amount(u64::MAX))
        );
        vec![e]
    }

    pub fn unknown_signer() -> Vec<TxError> {
        let mut chain = world();
        let tx = signed(CHAIN_ID, "NOBODY", 1, "NOBODY", appropriate("MOH", 1));
        let e = reject(&mut chain, tx);
        assert_eq!(
            e,
            TxError::UnknownSigner {
                signer: id("NOBODY")
            }
        );
        assert_eq!(e.to_string(), "unknown_signer: no entity NOBODY");
        vec![e]
    }

    pub fn inactive() -> Vec<TxError> {
        let mut chain = world();
        accept_op(&mut chain, "MOF", set_status("MOH.BV", Status::Suspended));
        // A suspended signer signs nothing, not even a delivery note.
        let delivery = Op::ConfirmDelivery {
            contract: cid("C-17"),
            milestone: "M1".into(),
            note: String::new(),
        };
        let e1 = reject_op(&mut chain, "MOH.BV", delivery.clone());
        assert_eq!(
            e1,
            TxError::Inactive {
                entity: id("MOH.BV")
            }
        );
        assert_eq!(e1.to_string(), "inactive: MOH.BV is suspended");
        // Nor can it receive an allocation.
        let e2 = reject_op(&mut chain, "MOH", allocate("MOH.BV", 1));
        assert_eq!(
            e2,
            TxError::Inactive {
                entity: id("MOH.BV")
            }
        );
        accept_op(&mut chain, "MOF", set_status("MOH.BV", Status::Active));
        accept_op(&mut chain, "MOH.BV", delivery);

        // A suspended vendor can be neither awarded nor paid.
        accept_op(&mut chain, "MOF", set_status("V-1", Status::Suspended));
        let e3 = reject_op(&mut chain, "MOH.BV", award("C-18", "V-1", 1));
        assert_eq!(e3, TxError::Inactive { entity: id("V-1") });
        let e4 = reject_op(&mut chain, "MOH.BV", pay("C-17", 1));
        assert_eq!(e4, TxError::Inactive { entity: id("V-1") });
        // A suspended ministry receives no appropriation.
        accept_op(&mut chain, "MOF", set_status("MOET", Status::Suspended));
        let e5 = reject_op(&mut chain, "MOF", appropriate("MOET", 1));
        assert_eq!(e5, TxError::Inactive { entity: id("MOET") });
        vec![e1, e2, e3, e4, e5]
    }

    pub fn not_authorized() -> Vec<TxError> {
        let mut chain = world();
        let e1 = reject_op(
            &mut chain,
            "MOH",
            register("MOT", EntityKind::Ministry, None),
        );
        assert_eq!(
            e1,
            TxError::NotAuthorized {
                signer: id("MOH"),
                action: "register-entity".into()
            }
        );
        assert_eq!(
            e1.to_string(),
            "not_authorized: MOH may not register-entity"
        );
        // MOH allocating to MOET's department.
        let e2 = reject_op(&mut chain, "MOH", allocate("MOET.DH", 1));
        assert!(
            matches!(&e2, TxError::NotAuthorized { signer, action } if *signer == id("MOH") && action.contains("MOET.DH")),
            "{e2:?}"
        );
        // Another department paying on MOH.BV's contract.
        let e3 = reject_op(&mut chain, "MOET.DH", pay("C-17", 1));
        assert!(
            matches!(&e3, TxError::NotAuthorized { signer, action } if *signer == id("MOET.DH") && action.contains("C-17")),
            "{e3:?}"
        );
        // A ministry awarding; a vendor returning funds; one entity rotating
        // another's key; a department adding a validator.
        let e4 = reject_op(&mut chain, "MOH", award("C-2", "V-1", 1));
        assert!(matches!(e4, TxError::NotAuthorized { .. }), "{e4:?}");
        let e5 = reject_op(
            &mut chain,
            "V-1",
            Op::ReturnFunds {
                year: year(),
                line: line(),
                amount: Amount(1),
            },
        );
        assert!(matches!(e5, TxError::NotAuthorized { .. }), "{e5:?}");
        let e6 = reject_op(
            &mut chain,
            "MOH",
            Op::RotateKey {
                entity: id("MOET"),
                public_key: key("X").public_key(),
            },
        );
        assert!(matches!(e6, TxError::NotAuthorized { .. }), "{e6:?}");
        let e7 = reject_op(&mut chain, "MOH.BV", add_validator("validator-new", 1));
        assert!(matches!(e7, TxError::NotAuthorized { .. }), "{e7:?}");
        vec![e1, e2, e3, e4, e5, e6, e7]
    }

    pub fn unknown_entity() -> Vec<TxError> {
        let mut chain = world();
        let e1 = reject_op(&mut chain, "MOF", set_status("GHOST", Status::Suspended));
        assert_eq!(
            e1,
            TxError::UnknownEntity {
                what: "entity",
                id: "GHOST".into()
            }
        );
        assert_eq!(e1.to_string(), "unknown_entity: no entity GHOST");
        let e2 = reject_op(
            &mut chain,
            "MOF",
            register("MOT.A", EntityKind::Department, Some("MOT")),
        );
        assert_eq!(
            e2,
            TxError::UnknownEntity {
                what: "entity",
                id: "MOT".into()
            }
        );
        let e3 = reject_op(&mut chain, "MOF", appropriate("MOT", 1));
        assert_eq!(
            e3,
            TxError::UnknownEntity {
                what: "entity",
                id: "MOT".into()
            }
        );
        let e4 = reject_op(&mut chain, "MOH.BV", award("C-2", "V-9", 1));
        assert_eq!(
            e4,
            TxError::UnknownEntity {
                what: "entity",
                id: "V-9".into()
            }
        );
        let ghost = key("validator-ghost").public_key();
        let e5 = reject_op(
            &mut chain,
            "MOF",
            Op::RemoveValidator {
                consensus_key: ghost,
            },
        );
        assert_eq!(
            e5,
            TxError::UnknownEntity {
                what: "validator",
                id: ghost.to_hex()
            }
        );
        let peer = PeerId::from_ed25519(&key("node-1").public_key()).unwrap();
        let e6 = reject_op(
            &mut chain,
            "MOF",
            Op::RemoveNode {
                peer_id: peer.clone(),
            },
        );
        assert_eq!(
            e6,
            TxError::UnknownEntity {
                what: "node",
                id: peer.to_string()
            }
        );
        let e7 = reject_op(
            &mut chain,
            "MOF",
            Op::RegisterNode {
                peer_id: peer,
                operator: id("GHOST"),
            },
        );
        assert_eq!(
            e7,
            TxError::UnknownEntity {
                what: "entity",
                id: "GHOST".into()
            }
        );
        vec![e1, e2, e3, e4, e5, e6, e7]
    }

    pub fn unknown_contract() -> Vec<TxError> {
        let mut chain = world();
        let mut out = Vec::new();
        for op in [
            pay("C-404", 1),
            amend("C-404", 1),
            Op::ConfirmDelivery {
                contract: cid("C-404"),
                milestone: "M1".into(),
                note: String::new(),
            },
        ] {
            let e = reject_op(&mut chain, "MOH.BV", op);
            assert_eq!(
                e,
                TxError::UnknownContract {
                    contract: cid("C-404")
                }
            );
            out.push(e);
        }
        assert_eq!(out[0].to_string(), "unknown_contract: no contract C-404");
        out
    }

    pub fn duplicate() -> Vec<TxError> {
        let mut chain = world();
        let e1 = reject_op(
            &mut chain,
            "MOF",
            register("MOH", EntityKind::Ministry, None),
        );
        assert_eq!(
            e1,
            TxError::Duplicate {
                what: "entity",
                id: "MOH".into()
            }
        );
        assert_eq!(e1.to_string(), "duplicate: entity MOH already exists");
        let e2 = reject_op(&mut chain, "MOH.BV", award("C-17", "V-2", 1));
        assert_eq!(
            e2,
            TxError::Duplicate {
                what: "contract",
                id: "C-17".into()
            }
        );
        let v0 = key("validator-0").public_key();
        let e3 = reject_op(&mut chain, "MOF", add_validator("validator-0", 1));
        assert_eq!(
            e3,
            TxError::Duplicate {
                what: "validator key",
                id: v0.to_hex()
            }
        );
        // A node may not take a validator's peer id, nor another node's.
        let v0_peer = PeerId::from_ed25519(&v0).unwrap();
        let e4 = reject_op(
            &mut chain,
            "MOF",
            Op::RegisterNode {
                peer_id: v0_peer.clone(),
                operator: id("MOH"),
            },
        );
        assert_eq!(
            e4,
            TxError::Duplicate {
                what: "peer id",
                id: v0_peer.to_string()
            }
        );
        let peer = PeerId::from_ed25519(&key("node-1").public_key()).unwrap();
        let node = Op::RegisterNode {
            peer_id: peer.clone(),
            operator: id("MOH"),
        };
        accept_op(&mut chain, "MOF", node.clone());
        let e5 = reject_op(&mut chain, "MOF", node);
        assert_eq!(
            e5,
            TxError::Duplicate {
                what: "peer id",
                id: peer.to_string()
            }
        );
        vec![e1, e2, e3, e4, e5]
    }

    pub fn over_budget() -> Vec<TxError> {
        let mut chain = world();
        let expect = |entity: &str, requested: u64, available: u64| TxError::OverBudget {
            entity: id(entity),
            year: year(),
            line: line(),
            requested: Amount(requested),
            available: Amount(available),
        };
        let e1 = reject_op(&mut chain, "MOH", allocate("MOH.BV", 2_500_000));
        assert_eq!(e1, expect("MOH", 2_500_000, 1_000_000));
        assert_eq!(
            e1.to_string(),
            "over_budget: MOH needs 2,500,000 on 2026/0402-HEALTH-INFRA but only 1,000,000 is \
             available"
        );
        let e2 = reject_op(&mut chain, "MOH.BV", award("C-18", "V-2", 1_000_001));
        assert_eq!(e2, expect("MOH.BV", 1_000_001, 1_000_000));
        let e3 = reject_op(
            &mut chain,
            "MOH.BV",
            Op::ReturnFunds {
                year: year(),
                line: line(),
                amount: Amount(1_500_000),
            },
        );
        assert_eq!(e3, expect("MOH.BV", 1_500_000, 1_000_000));
        // Raising C-17 by 1,000,001 needs that much available.
        let e4 = reject_op(&mut chain, "MOH.BV", amend("C-17", AWARDED + 1_000_001));
        assert_eq!(e4, expect("MOH.BV", 1_000_001, 1_000_000));
        // Another year or line has nothing: budgets do not leak across lines.
        let other_line = Op::Award {
            contract: cid("C-18"),
            year: year(),
            line: LineCode::new("0501-EDU").unwrap(),
            vendor: id("V-2"),
            amount: Amount(1),
            title: "Bàn ghế".into(),
            document_hash: None,
        };
        let e5 = reject_op(&mut chain, "MOH.BV", other_line);
        assert_eq!(
            e5,
            TxError::OverBudget {
                entity: id("MOH.BV"),
                year: year(),
                line: LineCode::new("0501-EDU").unwrap(),
                requested: Amount(1),
                available: Amount(0),
            }
        );
        // Exactly what is available is accepted.
        accept_op(&mut chain, "MOH.BV", award("C-18", "V-2", 1_000_000));
        let bv = chain.state.budget(&id("MOH.BV"), year(), &line());
        assert_eq!(bv.available(), Some(Amount(0)));
        assert_eq!(bv.committed, Amount(AWARDED + 1_000_000));
        vec![e1, e2, e3, e4, e5]
    }

    pub fn over_contract() -> Vec<TxError> {
        let mut chain = world();
        let e1 = reject_op(&mut chain, "MOH.BV", pay("C-17", 5_000_000));
        assert_eq!(
            e1.to_string(),
            "over_contract: pay 5,000,000 exceeds the 3,000,000 still unpaid on contract C-17"
        );
        assert!(
            matches!(&e1, TxError::OverContract { contract, .. } if *contract == cid("C-17")),
            "{e1:?}"
        );
        let e2 = reject_op(&mut chain, "MOH.BV", pay("C-17", 3_000_001));
        assert!(e2.to_string().contains("3,000,001"), "{e2}");
        // Amending below what is paid.
        let e3 = reject_op(&mut chain, "MOH.BV", amend("C-17", 4_000_000));
        assert!(
            matches!(&e3, TxError::OverContract { contract, .. } if *contract == cid("C-17")),
            "{e3:?}"
        );
        let msg = e3.to_string();
        assert!(
            msg.starts_with("over_contract: ")
                && msg.contains("4,000,000")
                && msg.contains("5,000,000"),
            "{msg}"
        );
        let e4 = reject_op(&mut chain, "MOH.BV", amend("C-17", PAID - 1));
        assert!(matches!(e4, TxError::OverContract { .. }), "{e4:?}");
        // The boundaries themselves are accepted: amend down to what is paid,
        // which releases the rest, then nothing more can be paid.
        accept_op(&mut chain, "MOH.BV", amend("C-17", PAID));
        let bv = chain.state.budget(&id("MOH.BV"), year(), &line());
        assert_eq!(bv.committed, Amount(PAID));
        assert_eq!(bv.available(), Some(Amount(ALLOCATED - PAID)));
        let e5 = reject_op(&mut chain, "MOH.BV", pay("C-17", 1));
        assert_eq!(
            e5.to_string(),
            "over_contract: pay 1 exceeds the 0 still unpaid on contract C-17"
        );
        vec![e1, e2, e3, e4, e5]
    }

    pub fn no_op() -> Vec<TxError> {
        let mut chain = world();
        // A key rotated to the key already held, by the entity and by the
        // treasury.
        let mut out = Vec::new();
        for signer in ["MOH", "MOF"] {
            let same = Op::RotateKey {
                entity: id("MOH"),
                public_key: key("MOH").public_key(),
            };
            let e = reject_op(&mut chain, signer, same);
            assert_eq!(
                e,
                TxError::NoOp {
                    op: "rotate-key",
                    reason: format!("MOH already holds key {}", key("MOH").public_key()),
                }
            );
            out.push(e);
        }
        assert_eq!(
            out[0].to_string(),
            format!(
                "no_op: rotate-key changes nothing: MOH already holds key {}",
                key("MOH").public_key().to_hex()
            )
        );
        // A status set to the one held, both ways.
        let e = reject_op(&mut chain, "MOF", set_status("V-2", Status::Active));
        assert_eq!(
            e,
            TxError::NoOp {
                op: "set-status",
                reason: "V-2 is already active".into()
            }
        );
        out.push(e);
        accept_op(&mut chain, "MOF", set_status("V-2", Status::Suspended));
        let e = reject_op(&mut chain, "MOF", set_status("V-2", Status::Suspended));
        assert_eq!(
            e.to_string(),
            "no_op: set-status changes nothing: V-2 is already suspended"
        );
        out.push(e);
        // A contract amended to its own amount, with no document or the one
        // it has.
        let e = reject_op(&mut chain, "MOH.BV", amend("C-17", AWARDED));
        assert_eq!(
            e.to_string(),
            "no_op: amend-contract changes nothing: C-17 is already 8,000,000, with no new document"
        );
        out.push(e);
        let document = |amount: u64, doc: &[u8]| Op::AmendContract {
            contract: cid("C-17"),
            amount: Amount(amount),
            reason: "phụ lục".into(),
            document_hash: Some(ledger::Hash::digest(doc)),
        };
        // The same amount with a new document records the document.
        accept_op(&mut chain, "MOH.BV", document(AWARDED, b"phu luc 2"));
        let c = chain.state.contract(&cid("C-17")).unwrap();
        assert_eq!(c.document_hash, Some(ledger::Hash::digest(b"phu luc 2")));
        let e = reject_op(&mut chain, "MOH.BV", document(AWARDED, b"phu luc 2"));
        assert!(
            matches!(
                e,
                TxError::NoOp {
                    op: "amend-contract",
                    ..
                }
            ),
            "{e:?}"
        );
        out.push(e);
        // Each refusal left everything as it was: the next real change works.
        accept_op(
            &mut chain,
            "MOH",
            Op::RotateKey {
                entity: id("MOH"),
                public_key: key("MOH-2").public_key(),
            },
        );
        out
    }

    pub fn validator_set() -> Vec<TxError> {
        // The last validator cannot go.
        let mut chain = TestChain::new(1);
        let e1 = reject_op(&mut chain, "MOF", remove_validator("validator-0"));
        assert!(
            matches!(&e1, TxError::ValidatorSet { reason } if reason.contains("empty")),
            "{e1:?}"
        );

        // From one validator of power 10, adding power 10 leaves only half
        // the new total carried over; power 4 leaves 10/14 > 2/3.
        let e2 = reject_op(&mut chain, "MOF", add_validator("validator-new", 10));
        let TxError::ValidatorSet { reason } = &e2 else {
            panic!("{e2:?}");
        };
        assert!(
            reason.contains("10") && reason.contains("20"),
            "the reason names the carried and total power: {reason}"
        );
        // Two additions of 4 in one block: each alone would pass, together
        // only 10 of 18 carries over.
        let a = chain.tx("MOF", 0, add_validator("validator-new", 4));
        let b = chain.tx("MOF", 1, add_validator("validator-new-2", 4));
        let (index, e3) = chain.commit(vec![a, b]).unwrap_err();
        assert_eq!(index, 1);
        assert!(matches!(e3, TxError::ValidatorSet { .. }), "{e3:?}");

        // Rotation: the change committed in block H decides from H+2.
        let genesis = ValidatorSet::new(vec![validator("validator-0", 10)]).unwrap();
        let grown = ValidatorSet::new(vec![
            validator("validator-0", 10),
            validator("validator-new", 4),
        ])
        .unwrap();
        assert_eq!(chain.state.validators(), &genesis);
        accept_op(&mut chain, "MOF", add_validator("validator-new", 4));
        let h = chain.state.height().0;
        // After block H: set(H+1) unchanged, set(H+2) grown.
        assert_eq!(chain.state.validators(), &genesis);
        assert_eq!(chain.state.next_validators(), &grown);
        let block = chain.commit(vec![]).unwrap();
        assert_eq!(block.header.height.0, h + 1);
        assert_eq!(block.header.validators_hash, genesis.hash());
        assert_eq!(block.header.next_validators_hash, grown.hash());
        assert_eq!(chain.state.validators(), &grown);
        let block = chain.commit(vec![]).unwrap();
        assert_eq!(block.header.height.0, h + 2);
        assert_eq!(block.header.validators_hash, grown.hash());
        assert_eq!(block.header.next_validators_hash, grown.hash());

        // Removals: from four validators of 10 one may go (30 of 40 carry
        // over), not two at once (20 of 40), and after one has gone, the next
        // removal is checked against set(H+1) = 30: 20 of 30 is not enough.
        let mut chain = TestChain::new(4);
        let a = chain.tx("MOF", 0, remove_validator("validator-0"));
        let b = chain.tx("MOF", 1, remove_validator("validator-1"));
        let (index, e4) = chain.commit(vec![a, b]).unwrap_err();
        assert_eq!(index, 1);
        assert!(matches!(e4, TxError::ValidatorSet { .. }), "{e4:?}");
        accept_op(&mut chain, "MOF", remove_validator("validator-0"));
        let e5 = reject_op(&mut chain, "MOF", remove_validator("validator-1"));
        assert!(
            matches!(&e5, TxError::ValidatorSet { reason } if reason.contains("20") && reason.contains("30")),
            "{e5:?}"
        );
        let three = ValidatorSet::new(
            (1..4)
                .map(|i| validator(&format!("validator-{i}"), 10))
                .collect(),
        )
        .unwrap();
        assert_eq!(chain.state.validators().total_power(), 40);
        assert_eq!(chain.state.next_validators(), &three);
        chain.commit(vec![]).unwrap();
        assert_eq!(chain.state.validators(), &three);
        vec![e1, e2, e3, e4, e5]
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let errors = cases::$name();
                assert!(!errors.is_empty());
                for e in &errors {
                    assert_eq!(e.code(), stringify!($name), "{e:?}");
                    assert!(e.to_string().starts_with(concat!(stringify!($name), ": ")), "{e}");
                }
            }
        )*

        /// Every case, to collect the codes they reach.
        const ALL_CASES: &[fn() -> Vec<TxError>] = &[$(cases::$name),*];
    };
}

cases!(
    malformed,
    too_large,
    wrong_chain,
    bad_signature,
    bad_nonce,
    bad_key,
    invalid_argument,
    overflow,
    unknown_signer,
    inactive,
    not_authorized,
    unknown_entity,
    unknown_contract,
    duplicate,
    over_budget,
    over_contract,
    validator_set,
    no_op,
);

/// `mempool_full` is produced by the node's mempool (a later issue), so the
/// ledger can only promise that the code exists.
#[test]
fn mempool_full_is_a_code() {
    assert!(ERROR_CODES.contains(&"mempool_full"));
    let e = TxError::MempoolFull {
        reason: "64 future nonces for MOF".into(),
    };
    assert_eq!(e.code(), "mempool_full");
}

#[test]
fn every_code_but_mempool_full_is_reached() {
    let reached: BTreeSet<&str> = ALL_CASES
        .iter()
        .flat_map(|case| case())
        .map(|e| e.code())
        .collect();
    let expected: BTreeSet<&str> = ERROR_CODES
        .iter()
        .copied()
        .filter(|c| *c != "mempool_full")
        .collect();
    assert_eq!(reached, expected);
    // The codes are the SPEC's, each once.
    assert_eq!(
        ERROR_CODES.iter().collect::<BTreeSet<_>>().len(),
        ERROR_CODES.len()
    );
}
