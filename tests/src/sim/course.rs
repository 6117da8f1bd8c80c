//! The course of one run: every node started, the event loop, the heal
//! once the faults have had their time or heights, and what the outcome
//! records at the end.

use std::cmp::Reverse;

use rand::Rng;

use super::net::Ev;
use super::{Sim, CHAOS_TIME_MAX_MS, LOAD_EVERY_MS, POST_HEAL_TIME_MAX_MS, SIM_EVENTS_MAX};

impl Sim {
    pub(super) fn run(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i, false);
        }
        if self.scenario.chaos {
            self.push(500, Ev::Chaos);
        }
        if self.scenario.all_crash {
            let at = self.rng.gen_range(1_000..3_000);
            self.push(at, Ev::CrashAll);
        }
        if self.forger.is_some() {
            self.push(300, Ev::Forger);
        }
        self.push(LOAD_EVERY_MS, Ev::Load);
        while let Some(Reverse(q)) = self.queue.pop() {
            self.time.set(q.at);
            self.out.events += 1;
            self.dispatch(q.ev);
            self.observe();
            if self.out.events > SIM_EVENTS_MAX {
                self.violation(format!("event budget of {SIM_EVENTS_MAX} exhausted"));
                break;
            }
            if self.finished() {
                break;
            }
        }
        self.finish();
    }

    /// Whether the run's goal is met, healing the network on the way.
    fn finished(&mut self) -> bool {
        let low = self.lowest_height();
        match self.healed_at_ms {
            None => {
                if low >= self.scenario.heights_with_faults || self.now() > CHAOS_TIME_MAX_MS {
                    self.heal();
                }
                false
            }
            Some(at) => {
                let target = self.heal_height + self.scenario.heights_after_heal;
                if low >= target {
                    return true;
                }
                if self.now() > at + POST_HEAL_TIME_MAX_MS {
                    let heights: Vec<u64> =
                        (0..self.nodes.len()).map(|i| self.height_of(i)).collect();
                    self.violation(format!(
                        "liveness: {POST_HEAL_TIME_MAX_MS} ms after the heal, the nodes have not \
                         all reached height {target} (committed heights {heights:?})"
                    ));
                    return true;
                }
                false
            }
        }
    }

    /// The committed height of node `i`, from its store (a crashed node's
    /// too).
    fn height_of(&self, i: usize) -> u64 {
        self.check.height_of(i)
    }

    fn lowest_height(&self) -> u64 {
        (0..self.nodes.len())
            .filter(|&i| self.counts(i))
            .map(|i| self.height_of(i))
            .min()
            .unwrap_or(0)
    }

    /// Whether node `i` must keep up: the validators at genesis. (The
    /// spare is refused by the others while it is neither a validator nor
    /// registered, so it may fall behind; what it commits is checked all
    /// the same.)
    fn counts(&self, i: usize) -> bool {
        i < self.scenario.validators && !(self.scenario.upgrade && i == super::LAGGARD)
    }

    fn heal(&mut self) {
        self.healed_at_ms = Some(self.now());
        self.out.heights_with_faults = self.lowest_height();
        self.heal_height = (0..self.nodes.len())
            .map(|i| self.height_of(i))
            .max()
            .unwrap_or(0);
        self.check.heal_height = self.heal_height;
        self.drop_rate = 0.0;
        for i in 0..self.nodes.len() {
            self.nodes[i].group = 0;
            if self.nodes[i].core.is_none() {
                self.start(i, false);
            }
        }
    }

    fn finish(&mut self) {
        if std::env::var("SIM_DEBUG").is_ok() {
            // SIM_DEBUG=1 with SIM_SEED=s: where every node ended.
            for (i, n) in self.nodes.iter().enumerate() {
                match &n.core {
                    Some(c) => eprintln!(
                        "node {i}: height {} round {} step {:?} locked {:?} valid {:?} \
                         committed {} bounds {:?}",
                        c.height(),
                        c.round(),
                        c.machine().step(),
                        c.machine().state().locked(),
                        c.machine().state().valid(),
                        c.committed_height(),
                        c.bounds()
                    ),
                    None => eprintln!("node {i}: crashed"),
                }
                if let (Some(c), Some(v)) = (
                    &n.core,
                    self.nodes[1]
                        .core
                        .as_ref()
                        .and_then(|c| c.machine().state().valid().cloned()),
                ) {
                    for r in 0..=c.round() {
                        let pv = c.machine().votes().power_for(
                            consensus::Round(r),
                            consensus::VoteType::Prevote,
                            Some(&v.value),
                        );
                        let pnil = c.machine().votes().power_for(
                            consensus::Round(r),
                            consensus::VoteType::Prevote,
                            None,
                        );
                        let pany = c
                            .machine()
                            .votes()
                            .power_any(consensus::Round(r), consensus::VoteType::Prevote);
                        eprint!(" r{r}:{pv}/{pnil}/{pany}");
                    }
                    eprintln!();
                }
            }
        }
        self.out.heights_decided = self.lowest_height();
        self.out.sim_time_ms = self.now();
        self.out.trace_hash = self.check.trace_hash;
        self.out.max_rounds_after_heal = self.check.max_rounds_after_heal;
        self.out.set_changes = self.check.set_changes;
        self.out.proposers = std::mem::take(&mut self.check.proposers);
        for v in std::mem::take(&mut self.check.violations) {
            self.violation(v);
        }
        let equivocator = self.equivocator();
        for i in (0..self.nodes.len()).filter(|i| Some(*i) != equivocator) {
            if let Some(core) = &self.nodes[i].core {
                let synced = core.synced_blocks();
                self.out.synced_blocks += synced;
                if i == 0 && self.scenario.skew_ms != 0 {
                    self.out.skewed_synced_blocks += synced;
                }
            }
        }
        if let Some(f) = &self.forger {
            self.out.forger_refused = f.refused;
            self.out.forger_doctored = f.doctored;
        }
        self.punishments();
        self.out.read_faults = self
            .read_failures
            .load(std::sync::atomic::Ordering::Relaxed);
    }

    /// Which of the equivocator's detectable offences were punished in
    /// time: evidence of each is to be in a block at most two heights
    /// above it. (A vote that reaches every node only after it committed
    /// the next height is not judged, and cannot be caught.)
    fn punishments(&mut self) {
        let Some(e) = self.equivocator() else { return };
        let key = self.nodes[e].key.public_key();
        self.out.double_signed = self.check.double_signed.len() as u64;
        self.out.detectable = self.detectable.len() as u64;
        let Some(shared) = &self.nodes[0].shared else {
            return;
        };
        let top = self.height_of(0);
        let committed = shared.store.evidence().unwrap_or_default();
        self.out.unpunished = self
            .detectable
            .iter()
            .copied()
            .filter(|h| h + 2 <= top)
            .filter(|h| {
                !committed
                    .iter()
                    .any(|(at, ev)| ev.a.validator == key && ev.height().0 == *h && at.0 <= h + 2)
            })
            .collect();
    }
}
