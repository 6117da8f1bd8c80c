//! Submitting the demo feed to a node: signing with the entities' keys,
//! nonces tracked locally, pacing, holding an action until what it
//! [`Needs`] is committed, and reporting every action and refusal on stderr.
//!
//! The runner is driven by its caller's loop through [`FeedRunner::step`],
//! which does a bounded amount of work and never sleeps, so the caller stays
//! free to watch its child processes and Ctrl-C.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use ledger::crypto::SigningKey;
use ledger::tx::TxBody;
use ledger::EntityId;
use serde_json::Value;

use super::{Expect, Feed, Needs, Planned};
use crate::client::{Client, ClientError};

/// How often the oldest transactions in flight are looked up.
const POLL_INTERVAL_MS: u64 = 250;
/// Lookups per poll, at most.
const POLLS_PER_STEP_MAX: usize = 16;
/// A transaction younger than this is not looked up yet.
const LOOKUP_AFTER_MS: u64 = 200;
/// A transaction still pending (or unknown) after this long is given up.
const IN_FLIGHT_MS_MAX: u64 = 30_000;
/// Transactions in flight, at most; beyond it the feed waits.
const IN_FLIGHT_MAX: usize = 512;
/// How long to wait before retrying after `mempool_full` or an unreachable node.
const RETRY_MS: u64 = 1_000;
/// How often the totals are printed.
const REPORT_INTERVAL_MS: u64 = 10_000;

/// Totals since the runner started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Accepted by the node.
    pub submitted: u64,
    /// Seen committed.
    pub committed: u64,
    /// Deliberate mistakes refused with the expected code.
    pub refused_as_expected: u64,
    /// Anything else: valid actions refused or dropped, or a mistake accepted.
    pub unexpected: u64,
}

struct InFlight {
    hash: String,
    planned: Planned,
    submitted_at: Instant,
}

/// Signs, paces and submits a [`Feed`]'s actions to one node.
pub struct FeedRunner {
    client: Client,
    feed: Feed,
    chain_id: String,
    keys: BTreeMap<EntityId, Vec<SigningKey>>,
    nonces: BTreeMap<EntityId, u64>,
    in_flight: VecDeque<InFlight>,
    held: Option<Planned>,
    held_since: Option<Instant>,
    interval: Duration,
    next_due: Instant,
    next_poll: Instant,
    next_report: Instant,
    unreachable: bool,
    stats: FeedStats,
}

/// The node's message without a repeated code prefix.
fn reason(code: &str, message: &str) -> String {
    let message = message
        .strip_prefix(code)
        .and_then(|m| m.strip_prefix(':'))
        .map_or(message, str::trim_start);
    format!("{code}: {message}")
}

/// The code and message of a rejected transaction's status, wherever the
/// node puts them.
fn rejection(v: &Value) -> (String, String) {
    for r in [v, &v["error"], &v["rejection"], &v["reason"]] {
        if let Some(code) = r["code"].as_str() {
            let message = r["message"].as_str().unwrap_or_default();
            return (code.to_owned(), message.to_owned());
        }
    }
    ("rejected".into(), v.to_string())
}

impl FeedRunner {
    /// A runner that submits `feed`'s actions to `client` at `rate_per_s`,
    /// signing with `keys` (each entity's key files, first key first).
    pub fn new(
        client: Client,
        feed: Feed,
        keys: BTreeMap<EntityId, Vec<SigningKey>>,
        rate_per_s: f64,
        now: Instant,
    ) -> FeedRunner {
        assert!(
            rate_per_s > 0.0 && rate_per_s.is_finite(),
            "the caller checks the rate"
        );
        FeedRunner {
            client,
            chain_id: feed.model().chain_id().to_owned(),
            feed,
            keys,
            nonces: BTreeMap::new(),
            in_flight: VecDeque::new(),
            held: None,
            held_since: None,
            interval: Duration::from_secs_f64(1.0 / rate_per_s),
            next_due: now,
            next_poll: now,
            next_report: now + Duration::from_millis(REPORT_INTERVAL_MS),
            unreachable: false,
            stats: FeedStats::default(),
        }
    }

    /// The totals so far.
    pub fn stats(&self) -> FeedStats {
        self.stats
    }

    /// When [`FeedRunner::step`] next has something to do.
    pub fn next_wake(&self) -> Instant {
        self.next_due.min(self.next_poll).min(self.next_report)
    }

    /// Does what is due at `now`: looks up transactions in flight, prints the
    /// totals, and submits the next action if its time has come and what it
    /// needs is committed.
    pub fn step(&mut self, now: Instant) {
        if now >= self.next_poll {
            self.poll(now);
            self.next_poll = now + Duration::from_millis(POLL_INTERVAL_MS);
        }
        if now >= self.next_report {
            self.report();
            self.next_report = now + Duration::from_millis(REPORT_INTERVAL_MS);
        }
        if now < self.next_due || self.in_flight.len() >= IN_FLIGHT_MAX {
            return;
        }
        let Some(planned) = self.held.take().or_else(|| self.feed.next()) else {
            eprintln!("demo: the story has nothing left to do on this chain; the feed stops");
            self.next_due = now + Duration::from_secs(3600);
            return;
        };
        if !self.needs_met(&planned) {
            self.held_since.get_or_insert(now);
            self.held = Some(planned);
            return;
        }
        self.held_since = None;
        self.submit(planned, now);
        let next = self.next_due + self.interval;
        // After a wait, carry on at the rate instead of catching up in a burst.
        self.next_due = if next < now {
            now + self.interval
        } else {
            next
        };
    }

    fn needs_met(&self, planned: &Planned) -> bool {
        match planned.needs {
            Needs::Nothing => true,
            Needs::SignerIdle => !self
                .in_flight
                .iter()
                .any(|f| f.planned.signer == planned.signer),
            Needs::AllCommitted => self.in_flight.is_empty(),
        }
    }

    fn submit(&mut self, planned: Planned, now: Instant) {
        let Some(signing) = self.signing_keys(&planned) else {
            eprintln!(
                "demo: ! not enough key files to sign for {}; leaving out: {}",
                planned.signer, planned.summary
            );
            self.stats.unexpected += 1;
            self.feed.refused_unexpectedly(&planned);
            return;
        };
        let nonce = match self.nonces.get(&planned.signer) {
            Some(n) => Ok(*n),
            None => self.client.next_nonce(&planned.signer),
        };
        let result = nonce.and_then(|nonce| {
            let tx = TxBody {
                chain_id: self.chain_id.clone(),
                signer: planned.signer.clone(),
                nonce,
                op: planned.op.clone(),
            }
            .sign_all(&signing);
            self.client.submit(&tx).map(|hash| (hash, nonce))
        });
        match result {
            Ok((hash, nonce)) => {
                self.unreachable = false;
                self.nonces.insert(planned.signer.clone(), nonce + 1);
                self.stats.submitted += 1;
                let short = hash.get(..10).unwrap_or(&hash);
                eprintln!("demo: {} [{short}]", planned.summary);
                if let Expect::Refused(code) = planned.expect {
                    self.stats.unexpected += 1;
                    eprintln!("demo: ! expected {code}, but the node accepted it");
                }
                self.in_flight.push_back(InFlight {
                    hash,
                    planned,
                    submitted_at: now,
                });
            }
            Err(ClientError::Rejected { code, message, .. }) => {
                self.unreachable = false;
                // The nonce was not used; ask the node again next time.
                self.nonces.remove(&planned.signer);
                if code == "mempool_full" {
                    self.retry(planned, now);
                    return;
                }
                match planned.expect {
                    Expect::Refused(expected) if expected == code => {
                        self.stats.refused_as_expected += 1;
                        eprintln!(
                            "demo: {}\n      refused, as it must be: {}",
                            planned.summary,
                            reason(&code, &message)
                        );
                    }
                    _ => self.unexpected(&planned, &reason(&code, &message)),
                }
            }
            Err(e @ (ClientError::Unreachable { .. } | ClientError::Tls { .. })) => {
                if !self.unreachable {
                    eprintln!("demo: {e}; retrying");
                }
                self.unreachable = true;
                self.retry(planned, now);
            }
        }
    }

    /// The keys that sign `planned`: as many of the signer's as its
    /// threshold asks, and of the controller's where a control rule covers
    /// the operation. `None` if the key files are too few.
    fn signing_keys(&self, planned: &Planned) -> Option<Vec<&SigningKey>> {
        let state = self.feed.model();
        let mut out = Vec::new();
        for id in std::iter::once(&planned.signer).chain(planned.controller.as_ref()) {
            let needed = state.entity(id).map_or(1, |e| usize::from(e.threshold));
            let held = self.keys.get(id)?;
            if held.len() < needed {
                return None;
            }
            out.extend(held.iter().take(needed));
        }
        Some(out)
    }

    fn retry(&mut self, planned: Planned, now: Instant) {
        self.held = Some(planned);
        self.next_due = now + Duration::from_millis(RETRY_MS);
    }

    fn unexpected(&mut self, planned: &Planned, why: &str) {
        self.stats.unexpected += 1;
        eprintln!("demo: ! {}\n      unexpected: {why}", planned.summary);
        self.nonces.remove(&planned.signer);
        self.feed.refused_unexpectedly(planned);
    }

    /// Looks up the oldest transactions in flight, oldest first, and stops at
    /// the first one still pending.
    fn poll(&mut self, now: Instant) {
        for _ in 0..POLLS_PER_STEP_MAX {
            let Some(head) = self.in_flight.front() else {
                return;
            };
            let age = now.saturating_duration_since(head.submitted_at);
            if age < Duration::from_millis(LOOKUP_AFTER_MS) {
                return;
            }
            let expired = age > Duration::from_millis(IN_FLIGHT_MS_MAX);
            match self.client.get(&format!("/v1/txs/{}", head.hash)) {
                Ok(v) if v["status"] == "committed" => {
                    self.in_flight.pop_front();
                    self.stats.committed += 1;
                }
                Ok(v) if v["status"] == "rejected" => {
                    let f = self.in_flight.pop_front().expect("head exists");
                    let (code, message) = rejection(&v);
                    self.unexpected(&f.planned, &reason(&code, &message));
                }
                Ok(_) | Err(ClientError::Rejected { status: 404, .. }) if expired => {
                    let f = self.in_flight.pop_front().expect("head exists");
                    let why = format!(
                        "not committed after {} s; giving up on it",
                        IN_FLIGHT_MS_MAX / 1000
                    );
                    self.unexpected(&f.planned, &why);
                }
                _ => return,
            }
        }
    }

    fn report(&self) {
        let s = self.stats;
        let height = self
            .client
            .get("/v1/status")
            .ok()
            .and_then(|v| v["height"].as_u64())
            .map_or(String::new(), |h| format!(", chain at height {h}"));
        eprintln!(
            "demo: {} submitted, {} committed, {} refused as they must be, {} unexpected; fiscal year {}{height}",
            s.submitted,
            s.committed,
            s.refused_as_expected,
            s.unexpected,
            self.feed.year()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_code_is_said_once() {
        assert_eq!(
            reason("over_budget", "over_budget: X needs 5"),
            "over_budget: X needs 5"
        );
        assert_eq!(reason("over_budget", "X needs 5"), "over_budget: X needs 5");
    }

    #[test]
    fn rejections_are_found_where_the_node_puts_them() {
        let flat = serde_json::json!({"status": "rejected", "code": "bad_nonce", "message": "m"});
        let nested = serde_json::json!({"status": "rejected", "error": {"code": "bad_nonce", "message": "m"}});
        for v in [flat, nested] {
            assert_eq!(rejection(&v), ("bad_nonce".into(), "m".into()));
        }
    }
}
