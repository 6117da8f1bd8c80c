//! The kit's fixture and scenario against figures written out by hand.

use testkit::ops::cid;
use testkit::{id, story_genesis, NodeFixture, Scenario};

#[test]
fn the_payment_story_commits_step_by_step_and_the_readers_see_it() {
    let mut node = NodeFixture::new("kit", story_genesis());
    let hashes = node.tell(&Scenario::payment("C-9"));
    assert_eq!(hashes.len(), 4);
    assert_eq!(node.height(), 4, "one block per step");

    // What the node's readers see is what was committed.
    let state = node.shared.state.read().unwrap();
    assert_eq!(state.height().0, 4);
    let contract = state.contract(&cid("C-9")).expect("the award is recorded");
    assert_eq!(contract.amount.0, 1_200_000_000);
    assert_eq!(contract.paid.0, 400_000_000);
    assert_eq!(contract.vendor, id("V-0001"));
    drop(state);

    // The store holds every step, in order, one to a block.
    for (i, hash) in hashes.iter().enumerate() {
        let at = node
            .shared
            .store
            .tx_location(hash)
            .unwrap()
            .expect("a committed step is in the store");
        assert_eq!(at.height.0, i as u64 + 1);
    }
}

#[test]
#[should_panic(expected = "refused")]
fn a_step_the_ledger_refuses_fails_the_test_that_commits_it() {
    let mut node = NodeFixture::new("kit", story_genesis());
    // A payment on a contract nobody awarded.
    let pay = node.tx("BYT-BVBM", 0, testkit::ops::pay("C-404", 1, "x"));
    node.commit(vec![pay]);
}
