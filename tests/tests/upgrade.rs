//! A protocol upgrade in a running network of four processes: validators
//! 0 to 2 run a build of the next protocol version (`minhbach-next`),
//! validator 3 runs this one. The treasury schedules the next version a few
//! heights ahead. The old node commits up to the height before, then stops
//! with exit code 5 naming the version it needs, and started again stops at
//! once; the others go on, and every block from that height carries the new
//! version. Nothing forks.
//!
//! Every wait has a deadline; the processes are killed when the test ends,
//! even by a panic.

use std::path::Path;
use std::time::Duration;

use ledger::store::Store;
use ledger::{Height, Op};
use tests::cluster::{wait_for, Cluster};

const OLD_BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");
const NEXT_BIN: &str = env!("CARGO_BIN_EXE_minhbach-next");
const BLOCKS: Duration = Duration::from_secs(60);
const OLD: usize = 3;
/// Heights between the schedule's commit and the upgrade.
const NOTICE: u64 = 6;

/// The protocol version in node `i`'s block `h`.
fn version(c: &Cluster, i: usize, h: u64) -> u64 {
    let b = c
        .client(i)
        .get(&format!("/v1/blocks/{h}"))
        .unwrap_or_else(|e| panic!("node {i} has no block {h}: {e}"));
    b["header"]["version"].as_u64().expect("a version")
}

#[test]
fn a_node_without_the_scheduled_version_stops_cleanly_at_the_upgrade() {
    let mut c = Cluster::new(NEXT_BIN, 4, 0);
    for i in 0..OLD {
        c.start(i);
    }
    c.start_as(OLD, Path::new(OLD_BIN));
    for i in 0..4 {
        c.wait_height(i, 2, BLOCKS);
    }
    assert_eq!(version(&c, 0, 1), 1, "a chain starts at version 1");

    let schedule = |c: &Cluster, height: u64| {
        let op = Op::ScheduleUpgrade {
            height: Height(height),
            version: 2,
        };
        let tx = c.sign_next(0, "BTC", op);
        let hash = c
            .submit(0, &tx)
            .expect("the treasury's upgrade is accepted");
        c.wait_committed(0, &hash, BLOCKS)["height"]
            .as_u64()
            .expect("a height")
    };
    let at = c.height(0).unwrap() + NOTICE;
    let committed = schedule(&c, at);
    assert!(
        committed < at,
        "scheduled at {committed} for {at}: too late"
    );

    // The old node stops by itself, with exit code 5, after height at − 1.
    let code = wait_for("the old node to stop", BLOCKS, || c.exit_code(OLD));
    assert_eq!(code, Some(5), "{}", c.log_tail(OLD));
    let log = c.log_tail(OLD);
    assert!(log.contains("carry protocol version 2"), "{log}");
    assert!(
        log.contains("install a minhbach that runs version 2"),
        "{log}"
    );
    let data = c.node(OLD).home.join("data");
    let height = |data: &Path| {
        let store = Store::open(data).expect("the stopped node's store opens");
        store.meta().unwrap().expect("a chain").height.0
    };
    assert_eq!(
        height(&data),
        at - 1,
        "it commits exactly up to the upgrade"
    );

    // The others go on, under the new version from the height on.
    c.wait_height(0, at + 3, BLOCKS);
    for h in [at - 1, at, at + 1] {
        let want = if h < at { 1 } else { 2 };
        for i in 0..OLD {
            assert_eq!(version(&c, i, h), want, "node {i}, height {h}");
        }
    }
    let hashes: Vec<Option<String>> = (0..OLD).map(|i| c.block_hash(i, at)).collect();
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");

    // Started again unchanged, it stops again at once, committing nothing.
    c.start_as(OLD, Path::new(OLD_BIN));
    let code = wait_for("the old node to stop again", BLOCKS, || c.exit_code(OLD));
    assert_eq!(code, Some(5), "{}", c.log_tail(OLD));
    assert_eq!(height(&data), at - 1);

    // With the new build it syncs on from where it stopped.
    c.start(OLD);
    c.wait_height(OLD, at + 2, BLOCKS);
    assert_eq!(c.block_hash(OLD, at), hashes[0]);
}
