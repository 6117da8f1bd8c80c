mod sim;
use sim::*;
#[test]
fn dbg() {
    let base = Scenario::chaos(4, 1);
    let variants = vec![
        ("no twins", Scenario { twins: 0, ..base.clone() }),
        ("no twins", Scenario { twins: 0, ..base.clone() }),
        ("twins+allcrash", Scenario { crashes: false, drop_max: 0.0, partitions: false, ..base.clone() }),
        ("twins+crash", Scenario { all_crash: false, drop_max: 0.0, partitions: false, ..base.clone() }),
        ("twins+drops", Scenario { crashes: false, all_crash: false, partitions: false, ..base.clone() }),
        ("twins only", Scenario { crashes: false, all_crash: false, drop_max: 0.0, partitions: false, ..base.clone() }),
        ("drops only", Scenario { twins: 0, crashes: false, all_crash: false, partitions: false, ..base.clone() }),
        ("partitions only", Scenario { twins: 0, crashes: false, all_crash: false, drop_max: 0.0, ..base.clone() }),
        ("crashes only", Scenario { twins: 0, all_crash: false, drop_max: 0.0, partitions: false, ..base.clone() }),
        ("allcrash only", Scenario { twins: 0, crashes: false, drop_max: 0.0, partitions: false, ..base.clone() }),
    ];
    for (name, s) in variants {
        for seed in 2..3 {
            let o = run(seed, &s);
            eprintln!("{name} seed {seed}: h={} faults={} t={} ev={} viol={:?}", o.heights_decided, o.heights_with_faults, o.sim_time_ms, o.events, o.violations.iter().take(3).collect::<Vec<_>>());
        }
    }
}
