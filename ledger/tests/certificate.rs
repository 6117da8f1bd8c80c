//! Commit certificates and evidence, checked against a validator set: the
//! refusals SPEC §3–4 require, each with the reason it names.

use ledger::block::{CertError, EvidenceError, Vote, VoteType};
use ledger::builder::sign_commit;
use ledger::crypto::SigningKey;
use ledger::testkit::{key, TestChain, CHAIN_ID};
use ledger::{Evidence, Hash, Height};

fn chain_and_block() -> (TestChain, ledger::Block) {
    let chain = TestChain::new(4);
    let (block, _, _) = chain.make_block(vec![]).unwrap();
    (chain, block)
}

#[test]
fn more_than_two_thirds_is_needed() {
    let (chain, block) = chain_and_block();
    let set = chain.state.validators();
    let keys: Vec<&SigningKey> = chain.validator_keys.iter().collect();
    let h = Height(1);
    // 3 of 4 equal validators: 30 of 40 > 2/3.
    let cert = sign_commit(&block, 0, &keys[..3]);
    assert_eq!(cert.verify(CHAIN_ID, h, &block.hash(), set), Ok(()));
    // 2 of 4: 20 of 40 is not.
    let cert = sign_commit(&block, 0, &keys[..2]);
    assert_eq!(
        cert.verify(CHAIN_ID, h, &block.hash(), set),
        Err(CertError::InsufficientPower {
            power: 20,
            total: 40
        })
    );
}

#[test]
fn nil_duplicate_outsider_and_forged_votes_are_refused() {
    let (chain, block) = chain_and_block();
    let set = chain.state.validators();
    let keys: Vec<&SigningKey> = chain.validator_keys.iter().collect();
    let (h, hash) = (Height(1), block.hash());
    let base = sign_commit(&block, 0, &keys);
    assert_eq!(base.verify(CHAIN_ID, h, &hash, set), Ok(()));

    let mut nil = base.clone();
    nil.precommits[2] = Vote::sign(keys[2], CHAIN_ID, VoteType::Precommit, h, 0, None);
    assert_eq!(
        nil.verify(CHAIN_ID, h, &hash, set),
        Err(CertError::NilVote { index: 2 })
    );

    let mut dup = base.clone();
    dup.precommits[3] = dup.precommits[0].clone();
    assert_eq!(
        dup.verify(CHAIN_ID, h, &hash, set),
        Err(CertError::DuplicateSigner {
            validator: keys[0].public_key()
        })
    );

    let outsider = key("not a validator");
    let mut out = base.clone();
    out.precommits[1] = Vote::sign(&outsider, CHAIN_ID, VoteType::Precommit, h, 0, Some(hash));
    assert_eq!(
        out.verify(CHAIN_ID, h, &hash, set),
        Err(CertError::UnknownSigner {
            validator: outsider.public_key()
        })
    );

    // Signed for another chain: the signature does not verify here.
    let mut other_chain = base.clone();
    other_chain.precommits[1] = Vote::sign(
        keys[1],
        "another-chain",
        VoteType::Precommit,
        h,
        0,
        Some(hash),
    );
    assert_eq!(
        other_chain.verify(CHAIN_ID, h, &hash, set),
        Err(CertError::BadSignature {
            validator: keys[1].public_key()
        })
    );

    let mut prevote = base.clone();
    prevote.precommits[0] = Vote::sign(keys[0], CHAIN_ID, VoteType::Prevote, h, 0, Some(hash));
    assert_eq!(
        prevote.verify(CHAIN_ID, h, &hash, set),
        Err(CertError::ForeignVote { index: 0 })
    );

    assert!(matches!(
        base.verify(CHAIN_ID, Height(2), &hash, set),
        Err(CertError::WrongTarget { what: "height", .. })
    ));
    assert!(matches!(
        base.verify(CHAIN_ID, h, &Hash::digest(b"other block"), set),
        Err(CertError::WrongTarget { what: "block", .. })
    ));
}

#[test]
fn evidence_needs_two_signed_conflicting_votes_from_a_validator() {
    let chain = TestChain::new(4);
    let set = chain.state.validators();
    let k = &chain.validator_keys[1];
    let (a, b) = (Hash::digest(b"a"), Hash::digest(b"b"));
    let vote = |key: &SigningKey, t, round, v| Vote::sign(key, CHAIN_ID, t, Height(5), round, v);
    let ev = Evidence {
        a: vote(k, VoteType::Prevote, 0, Some(a)),
        b: vote(k, VoteType::Prevote, 0, Some(b)),
    };
    assert_eq!(ev.verify(CHAIN_ID, set), Ok(()));
    // Nil against a value is equivocation too.
    let ev_nil = Evidence {
        a: vote(k, VoteType::Precommit, 2, Some(a)),
        b: vote(k, VoteType::Precommit, 2, None),
    };
    assert_eq!(ev_nil.verify(CHAIN_ID, set), Ok(()));

    let same = Evidence {
        a: vote(k, VoteType::Prevote, 0, Some(a)),
        b: vote(k, VoteType::Prevote, 0, Some(a)),
    };
    assert!(matches!(
        same.verify(CHAIN_ID, set),
        Err(EvidenceError::NotConflicting(_))
    ));
    let rounds = Evidence {
        a: vote(k, VoteType::Prevote, 0, Some(a)),
        b: vote(k, VoteType::Prevote, 1, Some(b)),
    };
    assert!(matches!(
        rounds.verify(CHAIN_ID, set),
        Err(EvidenceError::NotConflicting(_))
    ));
    let k2 = &chain.validator_keys[2];
    let two = Evidence {
        a: vote(k, VoteType::Prevote, 0, Some(a)),
        b: vote(k2, VoteType::Prevote, 0, Some(b)),
    };
    assert!(matches!(
        two.verify(CHAIN_ID, set),
        Err(EvidenceError::NotConflicting(_))
    ));
    let outsider = key("outsider");
    let foreign = Evidence {
        a: vote(&outsider, VoteType::Prevote, 0, Some(a)),
        b: vote(&outsider, VoteType::Prevote, 0, Some(b)),
    };
    assert_eq!(
        foreign.verify(CHAIN_ID, set),
        Err(EvidenceError::UnknownValidator(outsider.public_key()))
    );
    let mut forged = ev.clone();
    forged.b.signature.0[0] ^= 1;
    assert_eq!(
        forged.verify(CHAIN_ID, set),
        Err(EvidenceError::BadSignature)
    );
}
