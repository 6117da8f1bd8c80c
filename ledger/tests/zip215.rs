//! ZIP-215 edge cases: batch and single verification must give the same
//! verdict for every signature, or validators could disagree on a block.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ledger::crypto::{check_key, verify, verify_batch, SigningKey};
use ledger::{PublicKey, Signature};

/// Every 32-byte encoding of a small-order point, canonical or not: the
/// canonical encodings of the eight torsion points, with the sign bit flipped,
/// and with y + p where that still fits.
fn small_order_encodings() -> Vec<[u8; 32]> {
    // p = 2^255 - 19, little-endian.
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut candidates = Vec::new();
    for point in EIGHT_TORSION.iter() {
        let canon = point.compress().to_bytes();
        for sign in [0u8, 0x80] {
            let mut e = canon;
            e[31] = (e[31] & 0x7f) | sign;
            candidates.push(e);
            // y + p, when y < 19 so the sum stays below 2^255.
            let mut y = canon;
            y[31] &= 0x7f;
            if y[1..].iter().all(|b| *b == 0) && y[0] < 19 {
                let mut sum = p;
                sum[0] = sum[0].wrapping_add(y[0]);
                sum[31] = (sum[31] & 0x7f) | sign;
                candidates.push(sum);
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    candidates
        .into_iter()
        .filter(|e| {
            CompressedEdwardsY(*e)
                .decompress()
                .is_some_and(|pt| pt.is_small_order())
        })
        .collect()
}

#[test]
fn there_are_fourteen_small_order_encodings_and_all_are_bad_keys() {
    let encodings = small_order_encodings();
    // ZIP-215 counts 8 canonical and 6 non-canonical encodings that decode.
    assert_eq!(encodings.len(), 14, "{encodings:02x?}");
    for e in &encodings {
        assert_eq!(check_key(&PublicKey(*e)).unwrap_err().code(), "bad_key");
    }
}

#[test]
fn small_order_signatures_get_the_same_verdict_alone_and_in_a_batch() {
    let encodings = small_order_encodings();
    let msg = b"Zcash";
    let mut items = Vec::new();
    for a in &encodings {
        for r in &encodings {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(r);
            items.push((PublicKey(*a), &msg[..], Signature(sig)));
        }
    }
    assert_eq!(items.len(), 196);
    let single: Vec<bool> = items.iter().map(|(k, m, s)| verify(k, m, s)).collect();
    // ZIP-215 accepts all 196: [8](R + kA - sB) is the identity when R and A
    // have small order and s = 0.
    assert!(
        single.iter().all(|v| *v),
        "ZIP-215 accepts every small-order case"
    );
    assert_eq!(verify_batch(&items), single);
    // One by one in batches of one, too.
    for (item, want) in items.iter().zip(&single) {
        assert_eq!(verify_batch(std::slice::from_ref(item)), vec![*want]);
    }
}

#[test]
fn a_bad_signature_is_named_when_its_batch_fails() {
    let keys: Vec<SigningKey> = (0..64u8).map(|i| SigningKey::from_seed([i; 32])).collect();
    let msgs: Vec<Vec<u8>> = (0..64u32)
        .map(|i| format!("payment {i}").into_bytes())
        .collect();
    let mut items: Vec<(PublicKey, &[u8], Signature)> = keys
        .iter()
        .zip(&msgs)
        .map(|(k, m)| (k.public_key(), m.as_slice(), k.sign(m)))
        .collect();
    assert!(verify_batch(&items).iter().all(|v| *v));
    // Tamper with 7 and 40: a flipped bit in R, and s not reduced (s ≥ L).
    items[7].2 .0[3] ^= 1;
    items[40].2 .0[63] = 0xff;
    let verdicts = verify_batch(&items);
    let bad: Vec<usize> = verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| !**v)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(bad, vec![7, 40]);
    for (i, (k, m, s)) in items.iter().enumerate() {
        assert_eq!(verify(k, m, s), verdicts[i], "item {i}");
    }
}
