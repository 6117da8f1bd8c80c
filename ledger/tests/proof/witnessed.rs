//! Bundles that witnesses stand behind: the fixture's chain registers
//! witnesses (entities of kind observer) in a ninth block, they cosign
//! checkpoints that the store keeps, and a bundle built then carries each
//! checkpoint with its block's path into that history. Verified, it names
//! the witnesses its verifier trusts; each change to a checkpoint or a
//! cosignature fails with what was changed; cosigners the verifier does not
//! trust are not counted; and bundles without witnesses read as before.
//!
//! Expectations come from what the test did: which witnesses it registered
//! and had cosign at which height, and the roots it computes here from the
//! hashes of the blocks it made.

use ledger::codec;
use ledger::history::leaf;
use ledger::merkle::root_from_leaf_hashes;
use ledger::proof::{AuditBundle, ProofError, TrustAnchor};
use ledger::testkit::{id, key};
use ledger::tx::EntityKind;
use ledger::witness::{Checkpoint, CheckpointProof, Cosignature};
use ledger::{EntityId, Hash, Height, Op};

use crate::helpers::{contract, fails, pay_bundle, Fixture, PAY_AT};

const COSIGNED_AT_MS: u64 = 1_800_000_000_000;

fn register_observer(who: &str) -> (&'static str, Op) {
    (
        "MOF",
        Op::RegisterEntity {
            id: id(who),
            kind: EntityKind::Observer,
            name: format!("Nhân chứng {who}"),
            parent: None,
            keys: vec![key(who).public_key()],
            threshold: 1,
        },
    )
}

/// A block confirming a delivery on C-2 with `note`.
fn delivery(f: &mut Fixture, note: &str) {
    f.block(vec![(
        "MOH.BVBM",
        Op::ConfirmDelivery {
            contract: contract("C-2"),
            milestone: "Đợt 2".into(),
            note: note.into(),
        },
    )]);
}

/// The fixture's eight blocks, then block 9 registering `witnesses` as
/// observers, then block 10.
fn with_witnesses(witnesses: &[&str]) -> Fixture {
    let mut f = Fixture::new();
    f.block(witnesses.iter().map(|w| register_observer(w)).collect());
    delivery(&mut f, "Lô 10");
    f
}

fn checkpoint(f: &Fixture, h: u64) -> Checkpoint {
    CheckpointProof::build(&f.store, Height(h))
        .unwrap()
        .expect("block h is committed")
        .checkpoint
}

/// `who` cosigns the checkpoint at `h`, and the store keeps it.
fn cosign(f: &Fixture, who: &str, h: u64) -> Cosignature {
    let c = Cosignature::sign(&key(who), id(who), &checkpoint(f, h), COSIGNED_AT_MS);
    f.store
        .admit_cosignature(&c, &f.chain.state)
        .unwrap()
        .unwrap_or_else(|e| panic!("{who} at {h} refused: {e}"));
    c
}

/// The root over the first `h` blocks, from their hashes.
fn root_of(f: &Fixture, h: u64) -> Hash {
    let leaves: Vec<Hash> = f.blocks[..h as usize]
        .iter()
        .map(|b| leaf(&b.hash()))
        .collect();
    root_from_leaf_hashes(&leaves)
}

/// The genesis anchor of the fixture, also trusting `witnesses` with the
/// keys the test registered for them.
fn trusting(f: &Fixture, witnesses: &[&str]) -> TrustAnchor {
    f.anchor().with_witnesses(
        witnesses
            .iter()
            .map(|w| (id(w), key(w).public_key()))
            .collect(),
    )
}

fn ids(names: &[&str]) -> Vec<EntityId> {
    names.iter().map(|n| id(n)).collect()
}

/// The pay bundle of block 7 after KTNN cosigned block 9 and TTXVN block 10.
fn two_witnessed() -> (Fixture, AuditBundle) {
    let f = with_witnesses(&["KTNN", "TTXVN"]);
    cosign(&f, "KTNN", 9);
    cosign(&f, "TTXVN", 10);
    let bundle = pay_bundle(&f);
    (f, bundle)
}

#[test]
fn a_bundle_built_after_two_witnesses_cosigned_verifies_and_names_both() {
    let (f, bundle) = two_witnessed();
    let block = PAY_AT.0;
    let heights: Vec<u64> = bundle.witnesses.iter().map(|w| w.height.0).collect();
    assert_eq!(heights, [9, 10]);
    for (w, who) in bundle.witnesses.iter().zip(["KTNN", "TTXVN"]) {
        let n = w.height.0;
        assert_eq!(w.history_root, root_of(&f, n));
        assert_eq!(w.inclusion.tree_size, n);
        assert_eq!(w.inclusion.leaf_index, block - 1);
        let block_leaf = leaf(&f.blocks[block as usize - 1].hash());
        assert!(w.inclusion.verify_bound(&block_leaf, &root_of(&f, n), n));
        let cosigners: Vec<_> = w.cosignatures.iter().map(|c| c.witness.clone()).collect();
        assert_eq!(cosigners, ids(&[who]));
    }

    let v = bundle.verify(&trusting(&f, &["KTNN", "TTXVN"])).unwrap();
    assert_eq!(v.witnesses, ids(&["KTNN", "TTXVN"]));
    assert!(v.uncounted_witnesses.is_empty());
    assert_eq!(v.block_hash, f.blocks[block as usize - 1].hash());

    // Read back from its JSON, it is the same and names the same.
    let back = AuditBundle::decode(bundle.to_json().as_bytes()).unwrap();
    assert_eq!(back, bundle);
    let again = back.verify(&trusting(&f, &["KTNN", "TTXVN"])).unwrap();
    assert_eq!(again.witnesses, ids(&["KTNN", "TTXVN"]));

    // The genesis file knows neither: both valid, neither counted.
    let v = f.verify(&bundle).unwrap();
    assert!(v.witnesses.is_empty());
    assert_eq!(v.uncounted_witnesses, ids(&["KTNN", "TTXVN"]));
}

#[test]
fn witnesses_of_one_checkpoint_share_it_and_each_counts_once() {
    let f = with_witnesses(&["KTNN", "TTXVN"]);
    cosign(&f, "KTNN", 10);
    cosign(&f, "TTXVN", 10);
    let mut bundle = pay_bundle(&f);
    assert_eq!(bundle.witnesses.len(), 1);
    let cosigners: Vec<_> = bundle.witnesses[0]
        .cosignatures
        .iter()
        .map(|c| c.witness.clone())
        .collect();
    assert_eq!(cosigners, ids(&["KTNN", "TTXVN"]));
    let anchor = trusting(&f, &["KTNN", "TTXVN"]);
    assert_eq!(
        bundle.verify(&anchor).unwrap().witnesses,
        ids(&["KTNN", "TTXVN"])
    );

    // KTNN's earlier cosignature of block 9, in a checkpoint of its own:
    // two checkpoints, still two witnesses.
    let earlier = Cosignature::sign(&key("KTNN"), id("KTNN"), &checkpoint(&f, 9), 1);
    let mut at_9 = AuditBundle::clone(&bundle).witnesses.remove(0);
    at_9.height = Height(9);
    at_9.history_root = root_of(&f, 9);
    at_9.inclusion = f
        .store
        .history_inclusion(Height(PAY_AT.0), Height(9))
        .unwrap()
        .unwrap();
    at_9.cosignatures = vec![earlier];
    bundle.witnesses.insert(0, at_9);
    let v = bundle.verify(&anchor).unwrap();
    assert_eq!(v.witnesses, ids(&["KTNN", "TTXVN"]));
}

#[test]
fn every_change_to_a_witnessed_checkpoint_fails_with_what_was_changed() {
    let (f, good) = two_witnessed();
    let block = Height(PAY_AT.0);
    let other = Hash::digest(b"another history");
    let at_9 = Height(9);
    let ktnn = id("KTNN");

    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].inclusion.path[0] =
            other),
        ProofError::HistoryPath {
            checkpoint: at_9,
            block
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| {
            b.witnesses[0].inclusion.path.pop();
        }),
        ProofError::HistoryPath {
            checkpoint: at_9,
            block
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].inclusion.tree_size =
            10),
        ProofError::HistoryTreeSize {
            checkpoint: at_9,
            tree_size: 10
        }
    );
    // The checkpoint said to be higher, its path and cosignature unchanged.
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].height = Height(10)),
        ProofError::HistoryTreeSize {
            checkpoint: Height(10),
            tree_size: 9
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].inclusion.leaf_index =
            5),
        ProofError::HistoryLeafIndex {
            checkpoint: at_9,
            block,
            leaf_index: 5,
            expected: 6
        }
    );
    // Another root: the block's path does not lead there.
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].history_root = other),
        ProofError::HistoryPath {
            checkpoint: at_9,
            block
        }
    );
    // Another root in the cosignature alone.
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures[0]
            .history_root = other),
        ProofError::CosignatureMismatch {
            checkpoint: at_9,
            witness: ktnn.clone(),
            field: "history_root",
            found: other.to_string(),
            expected: root_of(&f, 9).to_string(),
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures[0]
            .height = Height(10)),
        ProofError::CosignatureMismatch {
            checkpoint: at_9,
            witness: ktnn.clone(),
            field: "height",
            found: "10".into(),
            expected: "9".into(),
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures[0]
            .signature
            .0[0] ^= 1),
        ProofError::CosignatureSignature {
            checkpoint: at_9,
            witness: ktnn.clone()
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures[0]
            .time_ms += 1),
        ProofError::CosignatureSignature {
            checkpoint: at_9,
            witness: ktnn.clone()
        }
    );
    // Another witness's name on KTNN's signature.
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures[0].key =
            key("TTXVN").public_key()),
        ProofError::CosignatureSignature {
            checkpoint: at_9,
            witness: ktnn.clone()
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures[0]
            .chain_id = "another-chain".into()),
        ProofError::CosignatureWrongChain {
            checkpoint: at_9,
            witness: ktnn.clone(),
            found: "another-chain".into(),
            chain: f.chain.genesis.chain_id().to_owned(),
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].cosignatures.clear()),
        ProofError::NoCosignatures { checkpoint: at_9 }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses.swap(0, 1)),
        ProofError::CheckpointOutOfOrder {
            checkpoint: at_9,
            after: Height(10)
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b
            .witnesses
            .push(b.witnesses[1].clone())),
        ProofError::CheckpointOutOfOrder {
            checkpoint: Height(10),
            after: Height(10)
        }
    );
    assert_eq!(
        fails(&f, good.clone(), |b| b.witnesses[0].height = Height(6)),
        ProofError::CheckpointBelowBlock {
            checkpoint: Height(6),
            block
        }
    );
    // The message names the witness and the checkpoint.
    let e = fails(&f, good, |b| b.witnesses[1].cosignatures[0].time_ms += 1);
    assert_eq!(
        e.to_string(),
        "the cosignature of TTXVN on the checkpoint at height 10 does not verify: \
         it was changed or forged"
    );
}

#[test]
fn a_cosigner_the_verifier_does_not_trust_is_not_counted() {
    let f = with_witnesses(&["KTNN", "TTXVN", "BAO-TN"]);
    cosign(&f, "KTNN", 9);
    cosign(&f, "TTXVN", 10);
    cosign(&f, "BAO-TN", 10);
    let mut bundle = pay_bundle(&f);
    let anchor = trusting(&f, &["KTNN", "TTXVN"]);
    let v = bundle.verify(&anchor).unwrap();
    assert_eq!(v.witnesses, ids(&["KTNN", "TTXVN"]));
    assert_eq!(v.uncounted_witnesses, ids(&["BAO-TN"]));

    // A key never registered, signing for itself, and another key
    // signing in KTNN's name: valid signatures, neither counted.
    let cp = checkpoint(&f, 10);
    let stranger = Cosignature::sign(&key("SAO-X"), id("SAO-X"), &cp, 1);
    let impostor = Cosignature::sign(&key("impostor"), id("KTNN"), &cp, 1);
    bundle.witnesses.remove(0);
    let at_10 = &mut bundle.witnesses[0].cosignatures;
    at_10.push(stranger);
    at_10.push(impostor);
    let v = bundle.verify(&anchor).unwrap();
    assert_eq!(v.witnesses, ids(&["TTXVN"]));
    assert_eq!(v.uncounted_witnesses, ids(&["BAO-TN", "KTNN", "SAO-X"]));
}

#[test]
fn a_block_above_every_cosigned_height_has_no_witnesses() {
    let f = with_witnesses(&["KTNN", "TTXVN"]);
    cosign(&f, "KTNN", 9);
    cosign(&f, "TTXVN", 9);
    let anchor = trusting(&f, &["KTNN", "TTXVN"]);
    // Block 10's delivery: above both cosignatures.
    let above = f.bundle(10, 0);
    assert!(above.witnesses.is_empty());
    assert!(!above.to_json().contains("\"witnesses\""));
    let v = above.verify(&anchor).unwrap();
    assert!(v.witnesses.is_empty() && v.uncounted_witnesses.is_empty());
    // Block 9 itself: the checkpoint's last block.
    let at = f.bundle(9, 0);
    assert_eq!(at.witnesses.len(), 1);
    assert_eq!(at.witnesses[0].inclusion.leaf_index, 8);
    assert_eq!(
        at.verify(&anchor).unwrap().witnesses,
        ids(&["KTNN", "TTXVN"])
    );
}

#[test]
fn a_stored_cosignature_the_verifier_would_refuse_is_left_out() {
    let f = with_witnesses(&["KTNN", "TTXVN"]);
    cosign(&f, "TTXVN", 10);
    // KTNN's entry rewritten to a validly signed root of another history,
    // bypassing the node's checks.
    let mut other = checkpoint(&f, 10);
    other.history_root = Hash::digest(b"another history");
    let forged = Cosignature::sign(&key("KTNN"), id("KTNN"), &other, 1);
    f.store
        .tamper("cosignatures", b"KTNN", &codec::encode(&forged))
        .unwrap();
    assert_eq!(f.store.cosignatures().unwrap().len(), 2);
    let bundle = pay_bundle(&f);
    assert_eq!(bundle.witnesses.len(), 1);
    let cosigners: Vec<_> = bundle.witnesses[0]
        .cosignatures
        .iter()
        .map(|c| c.witness.clone())
        .collect();
    assert_eq!(cosigners, ids(&["TTXVN"]));
    // And one whose signature does not verify.
    let mut broken = Cosignature::sign(&key("KTNN"), id("KTNN"), &checkpoint(&f, 10), 1);
    broken.time_ms += 1;
    f.store
        .tamper("cosignatures", b"KTNN", &codec::encode(&broken))
        .unwrap();
    assert_eq!(pay_bundle(&f).witnesses[0].cosignatures.len(), 1);
    let v = pay_bundle(&f)
        .verify(&trusting(&f, &["KTNN", "TTXVN"]))
        .unwrap();
    assert_eq!(v.witnesses, ids(&["TTXVN"]));
}

#[test]
fn bundles_without_witnesses_read_and_verify_as_before() {
    let f = Fixture::new();
    let bundle = pay_bundle(&f);
    assert!(bundle.witnesses.is_empty());
    let text = bundle.to_json();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "block",
            "chain_id",
            "format",
            "genesis_hash",
            "signer",
            "tx",
            "validator_set_changes",
            "version"
        ]
    );
    let back = AuditBundle::decode(text.as_bytes()).unwrap();
    assert_eq!(back, bundle);
    let v = f.verify(&back).unwrap();
    assert!(v.witnesses.is_empty() && v.uncounted_witnesses.is_empty());

    // A bundle from before the signer's keys were proved reads and
    // verifies, proving no keys.
    let mut before = json.clone();
    before.as_object_mut().unwrap().remove("signer");
    let read = AuditBundle::decode(before.to_string().as_bytes()).unwrap();
    assert_eq!(f.verify(&read).unwrap().signer_keys, None);

    // An empty list written out reads the same.
    let mut with_empty = json.clone();
    with_empty["witnesses"] = serde_json::json!([]);
    let read = AuditBundle::decode(with_empty.to_string().as_bytes()).unwrap();
    assert_eq!(read, bundle);

    // A witnessed checkpoint carries nothing its verifier does not check.
    let (_, witnessed) = two_witnessed();
    let mut json: serde_json::Value = serde_json::from_str(&witnessed.to_json()).unwrap();
    json["witnesses"][0]["note"] = "x".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
    let mut json: serde_json::Value = serde_json::from_str(&witnessed.to_json()).unwrap();
    json["witnesses"][0]["cosignatures"][0]["note"] = "x".into();
    assert!(matches!(
        AuditBundle::decode(json.to_string().as_bytes()),
        Err(ProofError::Malformed { .. })
    ));
}
