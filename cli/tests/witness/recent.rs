//! The checkpoints a witness keeps before its last one
//! (`recent-cosigned.json`): how the tests read them, and a home of the
//! older shape, without them, that starts, cosigns and keeps them from then
//! on, as it does when the file is damaged or does not fit the state.

use std::path::Path;

use ledger::merkle::ConsistencyProof;
use ledger::witness::{extends, CheckpointProof, FORK_PAIRS_MAX};
use serde_json::Value;

use crate::fake::{wait_until, Chain, FakeNode, Running, Served};
use crate::{logged_heights, state, Setup, WAIT};

/// The checkpoints of `recent-cosigned.json`, each with its link to the
/// next; none without the file.
pub fn recent(home: &Path) -> Vec<(CheckpointProof, ConsistencyProof)> {
    let Ok(bytes) = std::fs::read(home.join("recent-cosigned.json")) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["earlier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let proof = CheckpointProof::decode(e["proof"].to_string().as_bytes()).unwrap();
            (proof, serde_json::from_value(e["link"].clone()).unwrap())
        })
        .collect()
}

pub fn recent_heights(home: &Path) -> Vec<u64> {
    recent(home)
        .iter()
        .map(|(p, _)| p.checkpoint.height.0)
        .collect()
}

/// Checks that the recent checkpoints are linked one to the next and the
/// newest to the state. A last one at the state's height (written, then
/// the process killed before the state that follows it) is what the
/// witness leaves out at its start, and is left out here too.
pub fn assert_recent_linked(home: &Path) {
    let state = state(home).checkpoint;
    let mut recent = recent(home);
    assert!(recent.len() < FORK_PAIRS_MAX, "{} kept", recent.len());
    if recent.last().is_some_and(|(p, _)| p.checkpoint == state) {
        recent.pop();
    }
    for (i, (proof, link)) in recent.iter().enumerate() {
        let next = recent.get(i + 1).map_or(&state, |(p, _)| &p.checkpoint);
        assert!(
            proof.checkpoint.height < next.height,
            "{} then {}",
            proof.checkpoint.height,
            next.height
        );
        assert!(
            extends(&proof.checkpoint, next, Some(link)),
            "height {} is not linked to {}",
            proof.checkpoint.height,
            next.height
        );
    }
}

#[test]
fn a_home_without_recent_checkpoints_starts_and_cosigns_and_keeps_them_from_then_on() {
    let setup = Setup::new();
    let home = setup.home();
    let chain = Chain::build(&setup.genesis, 12, None);
    let node = FakeNode::start(&Served::new(&chain, 3));
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    wait_until(
        "height 3",
        WAIT,
        || node.held() == Some(3),
        || witness.stderr(),
    );
    node.set(|s| s.height = 5);
    wait_until(
        "height 5",
        WAIT,
        || node.held() == Some(5),
        || witness.stderr(),
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
    assert_eq!(recent_heights(&home), [3]);

    // The home as an older witness left it: the state and the log alone.
    let recent_file = home.join("recent-cosigned.json");
    std::fs::remove_file(&recent_file).unwrap();
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    node.set(|s| s.height = 7);
    wait_until(
        "height 7",
        WAIT,
        || node.held() == Some(7),
        || witness.stderr(),
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
    let stderr = witness.stderr();
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(logged_heights(&home), [3, 5, 7]);
    assert_eq!(recent_heights(&home), [5]);
    assert_recent_linked(&home);
    assert_eq!(recent(&home)[0].0, chain.checkpoint(5));

    // A damaged file is reported and left out; the witness goes on.
    std::fs::write(&recent_file, "{\"earlier\": [").unwrap();
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    node.set(|s| s.height = 9);
    wait_until(
        "height 9",
        WAIT,
        || node.held() == Some(9),
        || witness.stderr(),
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
    let stderr = witness.stderr();
    assert!(
        stderr.contains("warning: ") && stderr.contains("recent-cosigned.json: cannot be read"),
        "{stderr}"
    );
    assert_eq!(logged_heights(&home), [3, 5, 7, 9]);
    assert_eq!(recent_heights(&home), [7]);
    assert_recent_linked(&home);

    // Checkpoints that do not fit the state are left out from the first
    // that does not: here 7's link is made to point past 9.
    node.set(|s| s.height = 11);
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    wait_until(
        "height 11",
        WAIT,
        || node.held() == Some(11),
        || witness.stderr(),
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
    assert_eq!(recent_heights(&home), [7, 9]);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&recent_file).unwrap()).unwrap();
    v["earlier"][0]["link"] = serde_json::to_value(
        chain
            .store
            .history_consistency(ledger::Height(7), ledger::Height(11))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    std::fs::write(&recent_file, v.to_string()).unwrap();
    node.set(|s| s.height = 12);
    let mut witness = Running::start(&home, &[node.url()], 20, "table");
    wait_until(
        "height 12",
        WAIT,
        || node.held() == Some(12),
        || witness.stderr(),
    );
    assert_eq!(witness.terminate(), Some(0), "{}", witness.stderr());
    let stderr = witness.stderr();
    assert!(
        stderr.contains("consistency proof from height 7 does not link to height 9"),
        "{stderr}"
    );
    assert_eq!(recent_heights(&home), [9, 11]);
    assert_recent_linked(&home);
}
