//! Seeded cluster simulations of `consensus` (see `sim/mod.rs`).
//!
//! - `cargo test -p consensus` runs a CI-sized number of seeds.
//! - `SIM_SEEDS=1000 cargo test -p consensus --release --test simulation -- --nocapture`
//!   is the long run (1,000 seeds each for n=4 and n=7).
//! - `SIM_SEED=123 cargo test -p consensus --test simulation -- --nocapture`
//!   replays one seed of every scenario; a failure prints the seed to use.

mod sim;

use std::time::Instant;

use sim::{run, Outcome, Scenario};

/// Seeds per scenario in CI: about 10 s in the dev profile on 2 cores.
const CI_SEEDS: u64 = 100;

/// The seeds to run: `SIM_SEED=s` for one, `SIM_SEEDS=n` for `0..n`.
fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("SIM_SEED") {
        return vec![s.parse().expect("SIM_SEED must be a u64")];
    }
    let n = std::env::var("SIM_SEEDS")
        .map(|s| s.parse().expect("SIM_SEEDS must be a u64"))
        .unwrap_or(CI_SEEDS);
    (0..n).collect()
}

#[derive(Default)]
struct Totals {
    seeds: u64,
    heights: u64,
    heights_with_faults_min: Option<u64>,
    seeds_short_of_fault_heights: u64,
    max_rounds_after_heal: u32,
    events: u64,
    crashes: u64,
    evidence: usize,
    twins_equivocated: u64,
    failures: Vec<String>,
}

impl Totals {
    fn add(&mut self, seed: u64, o: &Outcome) {
        self.seeds += 1;
        self.heights += o.heights_decided;
        self.heights_with_faults_min = Some(
            self.heights_with_faults_min
                .map_or(o.heights_with_faults, |m| m.min(o.heights_with_faults)),
        );
        self.seeds_short_of_fault_heights += u64::from(o.heights_with_faults < 20);
        self.max_rounds_after_heal = self.max_rounds_after_heal.max(o.max_rounds_after_heal);
        self.events += o.events;
        self.crashes += o.crashes;
        self.evidence += o.evidence_reported;
        self.twins_equivocated += u64::from(o.twins_equivocated);
        if !o.violations.is_empty() {
            self.failures.push(format!(
                "seed {seed} (rerun with SIM_SEED={seed}): {} violation(s):\n  {}",
                o.violations.len(),
                o.violations.join("\n  ")
            ));
        }
    }
}

fn run_many(name: &str, scenario: &Scenario) {
    let started = Instant::now();
    let mut t = Totals::default();
    for seed in seeds() {
        let o = run(seed, scenario);
        t.add(seed, &o);
    }
    eprintln!(
        "{name}: {} seeds, {} heights decided (min with faults per seed {:?}, {} seeds under 20), \
         {} violations, max rounds to decide after heal {}, {} crashes, {} evidence, \
         {} seeds with twin equivocation, {} events, {:.1}s wall",
        t.seeds,
        t.heights,
        t.heights_with_faults_min,
        t.seeds_short_of_fault_heights,
        t.failures.len(),
        t.max_rounds_after_heal,
        t.crashes,
        t.evidence,
        t.twins_equivocated,
        t.events,
        started.elapsed().as_secs_f64()
    );
    assert!(t.failures.is_empty(), "{name}:\n{}", t.failures.join("\n"));
    assert_eq!(
        t.seeds_short_of_fault_heights, 0,
        "{name}: some seeds ran fewer than 20 heights with faults"
    );
}

#[test]
fn n4_one_twin_with_drops_partitions_crashes() {
    run_many("n=4 f=1", &Scenario::chaos(4, 1));
}

#[test]
fn n7_two_twins_with_drops_partitions_crashes() {
    run_many("n=7 f=2", &Scenario::chaos(7, 2));
}

#[test]
fn every_seed_runs_twenty_heights_with_faults_on() {
    // Independent of the summary: the fault phase of a seed lasts 20 heights.
    let o = run(seeds()[0], &Scenario::chaos(4, 1));
    assert!(o.violations.is_empty(), "{:?}", o.violations);
    assert!(
        o.heights_with_faults >= 20,
        "only {} heights with faults",
        o.heights_with_faults
    );
    assert!(o.crashes > 0, "the scenario must crash validators");
}

#[test]
fn a_seed_replays_exactly() {
    let seed = seeds()[0];
    let a = run(seed, &Scenario::chaos(4, 1));
    let b = run(seed, &Scenario::chaos(4, 1));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_eq!(a.sim_time_ms, b.sim_time_ms);
    let c = run(seed + 1, &Scenario::chaos(4, 1));
    assert_ne!(
        a.trace_hash, c.trace_hash,
        "different seeds, different runs"
    );
}

#[test]
fn twins_equivocate_and_are_reported() {
    // Over a few seeds the twins must actually equivocate in view of honest
    // validators, or the evidence check above proves nothing.
    let mut expected = 0;
    let mut reported = 0;
    for seed in 0..3 {
        let o = run(seed, &Scenario::chaos(4, 1));
        assert!(o.violations.is_empty(), "seed {seed}: {:?}", o.violations);
        expected += o.evidence_expected;
        reported += o.evidence_reported;
    }
    assert!(
        expected > 0,
        "twins never equivocated in view of an honest validator"
    );
    assert!(reported >= expected);
}

#[test]
fn checker_reports_agreement_violation_when_twins_hold_a_third() {
    // 2 of 4 keys twinned (1/2 of the power), each honest half shown a
    // different twin of each, halves partitioned: Tendermint's assumption is
    // broken, so the honest validators must fork, and the checker must say so.
    let scenario = Scenario {
        validators: 4,
        twins: 2,
        weighted: false,
        crashes: false,
        all_crash: false,
        drop_max: 0.0,
        partitions: false,
        heights_with_faults: 3,
        heights_after_heal: 0,
        split_brain: true,
    };
    for seed in seeds().into_iter().take(3) {
        let o = run(seed, &scenario);
        assert!(
            o.violations.iter().any(|v| v.contains("agreement")),
            "seed {seed}: the checker missed the fork: {:?}",
            o.violations
        );
    }
}

#[test]
fn without_faults_every_height_decides_in_round_zero() {
    let scenario = Scenario {
        validators: 4,
        twins: 0,
        weighted: false,
        crashes: false,
        all_crash: false,
        drop_max: 0.0,
        partitions: false,
        heights_with_faults: 10,
        heights_after_heal: 5,
        split_brain: false,
    };
    let o = run(seeds()[0], &scenario);
    assert!(o.violations.is_empty(), "{:?}", o.violations);
    assert!(o.heights_decided >= 15);
}
