//! A node behind the witness: one on another history, below a checkpoint
//! cosigned far above the real tip whose history extends the last root with
//! made-up blocks, is a fork; one on the cosigned history is waited for,
//! with nothing said of it but once when it cannot be compared.

use ledger::witness::ForkProof;
use serde_json::Value;

use crate::fake::{wait_until, Chain, FakeNode, Running, Served};
use crate::{logged_heights, verify_fork, Setup, WAIT};

#[test]
fn a_node_behind_with_another_block_than_the_history_cosigned_above_it_is_a_fork() {
    let setup = Setup::new();
    let home = setup.home();
    // The real chain, and one certified far above its tip whose history
    // extends the real one at 5 with made-up blocks after 8.
    let real = Chain::build(&setup.genesis, 12, None);
    let forged = Chain::build(&setup.genesis, 20, Some(8));
    let honest = FakeNode::start(&Served::new(&real, 5));
    let forger = FakeNode::start(&Served::new(&forged, 5));
    let mut witness = Running::start(&home, &[honest.url(), forger.url()], 20, "table");
    wait_until(
        "both nodes to hold 5",
        WAIT,
        || honest.held() == Some(5) && forger.held() == Some(5),
        || witness.stderr(),
    );
    // It extends 5: cosigned. The honest node, behind at 5, holds the
    // block cosigned there.
    forger.set(|s| s.height = 20);
    wait_until(
        "the log to reach 20",
        WAIT,
        || logged_heights(&home) == [5, 20],
        || witness.stderr(),
    );
    let asked = honest.asked("GET /v1/checkpoint");
    wait_until(
        "more rounds",
        WAIT,
        || honest.asked("GET /v1/checkpoint") >= asked + 5,
        || witness.stderr(),
    );
    assert_eq!(witness.exited(), None, "{}", witness.stderr());

    // The honest node moves on, still behind, with its own block at 12.
    honest.set(|s| s.height = 12);
    assert_eq!(witness.wait(WAIT), Some(4), "{}", witness.stderr());
    let stderr = witness.stderr();
    let file = home.join("fork-proof-12.json");
    for needle in [
        "FORK at height 12".to_owned(),
        forger.url().to_owned(),
        honest.url().to_owned(),
        forged.blocks[11].hash().to_hex(),
        real.blocks[11].hash().to_hex(),
        file.display().to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle} not in\n{stderr}");
    }
    assert!(forger.asked("GET /v1/consistency?from=12&to=20") >= 1);
    assert_eq!(logged_heights(&home), [5, 20]);
    let proof = ForkProof::decode(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(proof.cosigned, forged.checkpoint(12));
    assert_eq!(proof.other, real.checkpoint(12));
    let run = verify_fork(&file, &setup.path("genesis.json"), true);
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["height"], 12);
}

#[test]
fn a_node_behind_on_the_cosigned_history_is_waited_for_without_warnings() {
    let setup = Setup::new();
    let home = setup.home();
    let chain = Chain::build(&setup.genesis, 12, None);
    let ahead = FakeNode::start(&Served::new(&chain, 3));
    let behind = FakeNode::start(&Served::new(&chain, 3));
    let mut witness = Running::start(&home, &[ahead.url(), behind.url()], 20, "table");
    wait_until(
        "both nodes to hold 3",
        WAIT,
        || ahead.held() == Some(3) && behind.held() == Some(3),
        || witness.stderr(),
    );
    ahead.set(|s| s.height = 12);
    wait_until(
        "the log to reach 12",
        WAIT,
        || logged_heights(&home) == [3, 12],
        || witness.stderr(),
    );
    // Behind at 6: the node that served 12 links 6 to it, once.
    behind.set(|s| s.height = 6);
    let rounds = |n: usize| {
        let asked = behind.asked("GET /v1/checkpoint");
        wait_until(
            "more rounds",
            WAIT,
            || behind.asked("GET /v1/checkpoint") >= asked + n,
            || witness.stderr(),
        );
    };
    rounds(10);
    assert_eq!(ahead.asked("GET /v1/consistency?from=6&to=12"), 1);
    // Nothing said of it but that it cannot take 12 yet, once.
    let stderr = witness.stderr();
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    assert!(stderr.contains("not_reached"), "{stderr}");

    // When the node ahead cannot link it, it is said once, not each round.
    ahead.set(|s| s.bad_consistency = true);
    behind.set(|s| s.height = 9);
    rounds(10);
    let stderr = witness.stderr();
    assert_eq!(
        stderr.matches("could not be checked").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("warning: {}", behind.url())),
        "{stderr}"
    );
    assert!(stderr.contains("at height 9, 3 below"), "{stderr}");
    ahead.set(|s| s.bad_consistency = false);
    behind.set(|s| s.height = 12);
    wait_until(
        "the node behind to take 12",
        WAIT,
        || behind.held() == Some(12),
        || witness.stderr(),
    );
    assert_eq!(witness.exited(), None, "{}", witness.stderr());
    assert_eq!(logged_heights(&home), [3, 12]);
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
}
