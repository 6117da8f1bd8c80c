//! The validator-set changes a checkpoint above the last cosigned one must
//! list: those of the last one below its height, no other, and the change
//! made at its height exactly when its block made one.

use cli::witness::changes::same_changes;
use ledger::proof::SetChange;
use ledger::witness::CheckpointProof;

use crate::fake::Chain;
use crate::Setup;

/// A change "made" by block `at` of `chain` (not one the chain made).
fn change(chain: &Chain, setup: &Setup, at: u64) -> SetChange {
    let proof = chain.checkpoint(at);
    SetChange {
        header: proof.header,
        certificate: proof.certificate,
        next_validators: setup.genesis.trust_anchor().validators().clone(),
    }
}

#[test]
fn a_change_left_out_or_added_is_refused() {
    let setup = Setup::new();
    let chain = Chain::build(&setup.genesis, 9, None);
    let (last, new) = (chain.checkpoint(5), chain.checkpoint(9));
    assert_eq!(same_changes(&last, &new), Ok(()));

    let with = |p: &CheckpointProof, at: &[u64]| {
        let mut p = p.clone();
        p.validator_set_changes = at.iter().map(|h| change(&chain, &setup, *h)).collect();
        p
    };
    // One added below the last cosigned height.
    let e = same_changes(&last, &with(&new, &[3])).unwrap_err();
    assert!(e.contains("below height 5"), "{e}");
    // One the last cosigned listed, left out.
    let e = same_changes(&with(&last, &[3]), &new).unwrap_err();
    assert!(e.contains("1 expected"), "{e}");
    // The same: taken.
    assert_eq!(same_changes(&with(&last, &[3]), &with(&new, &[3])), Ok(()));
    // Another block's change in its place.
    assert!(same_changes(&with(&last, &[3]), &with(&new, &[2])).is_err());
    // A change at 5, where block 5 made none.
    let e = same_changes(&last, &with(&new, &[5])).unwrap_err();
    assert!(e.contains("where block 5 made none"), "{e}");
    // Above the last cosigned height: not its business.
    assert_eq!(same_changes(&last, &with(&new, &[7])), Ok(()));
}
