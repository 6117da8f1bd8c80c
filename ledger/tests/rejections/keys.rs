//! Refusals of who signed: more signatures than a transaction carries, one
//! key signing twice, a key that is not the signer's (nor the controller's
//! the operation needs), fewer of the signer's keys than its threshold, a key
//! set or threshold out of form, and a payment a control rule covers without
//! the controller's signature.

use ledger::crypto::SigningKey;
use ledger::testkit::{id, key, TestChain, CHAIN_ID};
use ledger::tx::EntityKind;
use ledger::{Amount, Op, SignedTx, TxBody, TxError};

use crate::helpers::{accept_op, allocate, appropriate, pay, register, reject, reject_op, world};

/// `op` as `signer` with its next nonce, signed by the keys of `labels`.
fn signed_by(chain: &TestChain, signer: &str, labels: &[&str], op: Op) -> SignedTx {
    let keys: Vec<SigningKey> = labels.iter().map(|l| key(l)).collect();
    let refs: Vec<&SigningKey> = keys.iter().collect();
    TxBody {
        chain_id: CHAIN_ID.into(),
        signer: id(signer),
        nonce: chain.state.next_nonce(&id(signer)).unwrap(),
        op,
    }
    .sign_all(&refs)
}

/// Submits `bytes` as a client would: they must not decode.
fn refuse_bytes(bytes: &[u8]) -> TxError {
    SignedTx::decode(bytes).expect_err("the bytes must not decode")
}

pub(crate) fn too_many_signatures() -> Vec<TxError> {
    let mut chain = world();
    // MOF's own key and sixteen others: seventeen in all.
    let mut labels = vec!["MOF".to_owned()];
    labels.extend((0..16).map(|i| format!("EXTRA-{i}")));
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let tx = signed_by(&chain, "MOF", &refs, appropriate("MOH", 1));
    assert_eq!(tx.signatures.len(), 17);
    let e1 = refuse_bytes(&tx.encode());
    assert_eq!(e1, TxError::TooManySignatures { count: 17, max: 16 });
    assert_eq!(
        e1.to_string(),
        "too_many_signatures: 17 signatures, at most 16 allowed"
    );
    let e2 = reject(&mut chain, tx);
    assert_eq!(e2, e1);
    vec![e1, e2]
}

pub(crate) fn duplicate_signature() -> Vec<TxError> {
    let mut chain = world();
    // MOF's signature twice over.
    let mut tx = signed_by(&chain, "MOF", &["MOF"], appropriate("MOH", 1));
    tx.signatures.push(tx.signatures[0]);
    let mof = key("MOF").public_key();
    let e1 = refuse_bytes(&tx.encode());
    assert_eq!(e1, TxError::DuplicateSignature { key: mof });
    assert_eq!(
        e1.to_string(),
        format!("duplicate_signature: key {} signed twice", mof.to_hex())
    );
    let e2 = reject(&mut chain, tx);
    assert_eq!(e2, e1);
    vec![e1, e2]
}

pub(crate) fn foreign_signature() -> Vec<TxError> {
    let mut chain = world();
    // Signed with MOH's key, claiming to be MOF.
    let tx = signed_by(&chain, "MOF", &["MOH"], appropriate("MOH", 1));
    let e1 = reject(&mut chain, tx);
    let moh = key("MOH").public_key();
    assert_eq!(
        e1,
        TxError::ForeignSignature {
            key: moh,
            signer: id("MOF"),
            controller: None
        }
    );
    assert_eq!(
        e1.to_string(),
        format!(
            "foreign_signature: key {} is not a key of MOF",
            moh.to_hex()
        )
    );

    // MOF's key and MOH's together: MOH's is still foreign to MOF.
    let tx = signed_by(&chain, "MOF", &["MOF", "MOH"], appropriate("MOH", 1));
    let e2 = reject(&mut chain, tx);
    assert_eq!(e2, e1);

    // After MOH's own rotation its old key no longer signs for it.
    let rotate = Op::RotateKey {
        entity: id("MOH"),
        public_key: key("MOH-2").public_key(),
    };
    accept_op(&mut chain, "MOH", rotate);
    let old_key = signed_by(&chain, "MOH", &["MOH"], allocate("MOH.BV", 1));
    let e3 = reject(&mut chain, old_key);
    assert_eq!(
        e3,
        TxError::ForeignSignature {
            key: moh,
            signer: id("MOH"),
            controller: None
        }
    );
    let new_key = signed_by(&chain, "MOH", &["MOH-2"], allocate("MOH.BV", 1));
    chain.commit(vec![new_key]).unwrap();

    // Where a control rule asks for a controller, the message names it.
    control_world(&mut chain);
    let tx = signed_by(
        &chain,
        "MOH.BV",
        &["MOH.BV", "STRANGER"],
        pay("C-17", 1_000),
    );
    let e4 = reject(&mut chain, tx);
    let stranger = key("STRANGER").public_key();
    assert_eq!(
        e4,
        TxError::ForeignSignature {
            key: stranger,
            signer: id("MOH.BV"),
            controller: Some(id("KBNN"))
        }
    );
    assert_eq!(
        e4.to_string(),
        format!(
            "foreign_signature: key {} is not a key of MOH.BV or of KBNN",
            stranger.to_hex()
        )
    );
    vec![e1, e2, e3, e4]
}

pub(crate) fn threshold_not_met() -> Vec<TxError> {
    let mut chain = world();
    // MOF takes three keys, two of which must sign; its own change is
    // immediate.
    let keys = ["MOF-1", "MOF-2", "MOF-3"].map(|l| key(l).public_key());
    let set = Op::SetKeys {
        entity: id("MOF"),
        keys: keys.to_vec(),
        threshold: 2,
    };
    accept_op(&mut chain, "MOF", set);
    let one = signed_by(&chain, "MOF", &["MOF-2"], appropriate("MOH", 1));
    let e1 = reject(&mut chain, one);
    assert_eq!(
        e1,
        TxError::ThresholdNotMet {
            entity: id("MOF"),
            threshold: 2,
            signed: 1
        }
    );
    assert_eq!(
        e1.to_string(),
        "threshold_not_met: MOF needs 2 of its keys, 1 signed"
    );
    let two = signed_by(&chain, "MOF", &["MOF-1", "MOF-3"], appropriate("MOH", 1));
    chain.commit(vec![two]).unwrap();
    vec![e1]
}

pub(crate) fn bad_threshold() -> Vec<TxError> {
    let mut chain = world();
    let with_keys = |labels: &[&str], threshold: u8| {
        let mut op = register("MOT", EntityKind::Ministry, None);
        if let Op::RegisterEntity {
            keys, threshold: t, ..
        } = &mut op
        {
            *keys = labels.iter().map(|l| key(l).public_key()).collect();
            *t = threshold;
        }
        op
    };
    let mut out = Vec::new();
    for (labels, threshold, words) in [
        (&["MOT-1"][..], 0, "threshold 0"),
        (&["MOT-1", "MOT-2"][..], 3, "threshold 3"),
        (&[][..], 1, "0 keys"),
        (&["MOT-1", "MOT-1"][..], 1, "twice"),
    ] {
        let e = reject_op(&mut chain, "MOF", with_keys(labels, threshold));
        assert!(
            matches!(&e, TxError::BadThreshold { reason } if reason.contains(words)),
            "{labels:?} {threshold}: {e:?}"
        );
        out.push(e);
    }
    let seventeen: Vec<String> = (0..17).map(|i| format!("MOT-{i}")).collect();
    let refs: Vec<&str> = seventeen.iter().map(String::as_str).collect();
    let e = reject_op(&mut chain, "MOF", with_keys(&refs, 1));
    assert!(
        matches!(&e, TxError::BadThreshold { reason } if reason.contains("17 keys")),
        "{e:?}"
    );
    out.push(e);
    // Sixteen keys, all of which must sign, is a key set.
    accept_op(&mut chain, "MOF", with_keys(&refs[..16], 16));
    assert_eq!(chain.state.entity(&id("MOT")).unwrap().threshold, 16);
    out
}

/// Registers controller KBNN (key `KBNN`) and a rule that MOH's payments
/// and awards of 1,000 or more need it.
fn control_world(chain: &mut TestChain) {
    let mut register_kbnn = register("KBNN", EntityKind::Controller, None);
    if let Op::RegisterEntity { name, .. } = &mut register_kbnn {
        *name = "Kho bạc Nhà nước".into();
    }
    accept_op(chain, "MOF", register_kbnn);
    let rule = Op::SetControl {
        ministry: Some(id("MOH")),
        amount: Amount(1_000),
        controller: id("KBNN"),
    };
    accept_op(chain, "MOF", rule);
}

pub(crate) fn approval_required() -> Vec<TxError> {
    let mut chain = world();
    control_world(&mut chain);
    // Below the rule's amount MOH.BV pays alone.
    accept_op(&mut chain, "MOH.BV", pay("C-17", 999));
    let alone = signed_by(&chain, "MOH.BV", &["MOH.BV"], pay("C-17", 1_000));
    let e1 = reject(&mut chain, alone);
    assert_eq!(
        e1,
        TxError::ApprovalRequired {
            op: "pay",
            ministry: Some(id("MOH")),
            rule_amount: Amount(1_000),
            amount: Amount(1_000),
            controller: id("KBNN"),
            threshold: 1,
            signed: 0
        }
    );
    assert_eq!(
        e1.to_string(),
        "approval_required: the control rule of MOH covers pay of 1,000 or more; \
         1,000 needs KBNN's signature (1 of its keys, 0 signed)"
    );
    let approved = signed_by(&chain, "MOH.BV", &["MOH.BV", "KBNN"], pay("C-17", 1_000));
    chain.commit(vec![approved]).unwrap();
    let paid = chain
        .state
        .contract(&crate::helpers::cid("C-17"))
        .unwrap()
        .paid;
    assert_eq!(paid, Amount(crate::helpers::PAID + 1_999));
    vec![e1]
}
