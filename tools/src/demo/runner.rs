//! Submitting the demo feed to a node: signing with the entities' keys,
//! nonces tracked locally, pacing, holding an action until what it
//! [`Needs`] is committed, and reporting every action and refusal on stderr.
//!
//! A controlled payment the feed plans to gather its signatures on the node
//! ([`Planned::cosign_after`]) goes to `POST /v1/awaiting` signed by its
//! department alone; the controller's signature follows when its time comes
//! ([`cosign`]), and the node, having merged the two, submits it. Until it
//! is committed it holds its signer's next nonce: nothing else of that
//! signer is submitted meanwhile.
//!
//! The runner is driven by its caller's loop through [`FeedRunner::step`],
//! which does a bounded amount of work and never sleeps, so the caller stays
//! free to watch its child processes and Ctrl-C.

mod cosign;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use ledger::crypto::SigningKey;
use ledger::tx::TxBody;
use ledger::EntityId;
use serde_json::Value;

use super::{Expect, Feed, Needs, Planned};
use crate::client::{Client, ClientError, Offered};

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
/// Actions that failed, remembered so that those depending on them are
/// left out; the oldest are forgotten beyond this.
const FAILED_REMEMBERED_MAX: usize = 1_024;

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
    /// Controlled payments left with the node to gather signatures.
    pub awaited: u64,
    /// Of those, submitted once the controller added its signature.
    pub cosigned: u64,
}

struct InFlight {
    hash: String,
    planned: Planned,
    submitted_at: Instant,
}

/// A payment gathering signatures on the node ([`cosign`]).
struct Gathering {
    /// The action.
    planned: Planned,
    /// The nonce it holds.
    nonce: u64,
    /// Its id on the node.
    id: String,
    /// When the controller signs.
    due: Instant,
}

/// Signs, paces and submits a [`Feed`]'s actions to one node.
pub struct FeedRunner {
    client: Client,
    feed: Feed,
    chain_id: String,
    keys: BTreeMap<EntityId, Vec<SigningKey>>,
    nonces: BTreeMap<EntityId, u64>,
    in_flight: VecDeque<InFlight>,
    /// Payments gathering signatures on the node, in the order offered.
    gathering: Vec<Gathering>,
    /// The latest actions that failed (their `seq`), oldest first.
    failed: VecDeque<u64>,
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
        mut feed: Feed,
        keys: BTreeMap<EntityId, Vec<SigningKey>>,
        rate_per_s: f64,
        now: Instant,
    ) -> FeedRunner {
        assert!(
            rate_per_s > 0.0 && rate_per_s.is_finite(),
            "the caller checks the rate"
        );
        feed.set_pace(rate_per_s);
        FeedRunner {
            client,
            chain_id: feed.model().chain_id().to_owned(),
            feed,
            keys,
            nonces: BTreeMap::new(),
            in_flight: VecDeque::new(),
            gathering: Vec::new(),
            failed: VecDeque::new(),
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
        let cosign = self.gathering.iter().map(|g| g.due).min();
        let wake = self.next_due.min(self.next_poll).min(self.next_report);
        cosign.map_or(wake, |c| wake.min(c))
    }

    /// Does what is due at `now`: looks up transactions in flight, prints the
    /// totals, and submits the next action if its time has come and what it
    /// needs is committed.
    pub fn step(&mut self, now: Instant) {
        if now >= self.next_poll {
            self.poll(now);
            self.next_poll = now + Duration::from_millis(POLL_INTERVAL_MS);
        }
        self.cosign_due(now);
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
        if planned.after.is_some_and(|seq| self.failed.contains(&seq)) {
            // What it depends on never made it to the chain.
            eprintln!(
                "demo: leaving out, as what it follows failed: {}",
                planned.summary
            );
            self.feed.refused_unexpectedly(&planned);
            self.forget(&planned);
            return;
        }
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

    /// Whether `planned` may be submitted now. A payment gathering
    /// signatures holds its signer's next nonce, so nothing else of that
    /// signer goes until it is in the mempool; an action that follows
    /// another ([`Planned::after`]) waits until that one is committed.
    /// [`Needs::AllCommitted`] does not wait for payments still gathering
    /// signatures: what a payment changes is read only by its own signer
    /// and by its vendor's acknowledgement, which wait for it themselves.
    fn needs_met(&self, planned: &Planned) -> bool {
        let gathering = |f: &dyn Fn(&Planned) -> bool| self.gathering.iter().any(|g| f(&g.planned));
        let in_flight = |f: &dyn Fn(&Planned) -> bool| self.in_flight.iter().any(|i| f(&i.planned));
        if gathering(&|p| p.signer == planned.signer) {
            return false;
        }
        if let Some(seq) = planned.after {
            if gathering(&|p| p.seq == seq) || in_flight(&|p| p.seq == seq) {
                return false;
            }
        }
        match planned.needs {
            Needs::Nothing => true,
            Needs::SignerIdle => !in_flight(&|p| p.signer == planned.signer),
            Needs::AllCommitted => self.in_flight.is_empty(),
        }
    }

    fn submit(&mut self, planned: Planned, now: Instant) {
        // Left with the node, the payment carries the signer's signatures
        // only; the controller's follow.
        let gather = planned
            .cosign_after
            .filter(|_| planned.controller.is_some());
        let Some(signing) = self.signing_keys(&planned, gather.is_none()) else {
            eprintln!(
                "demo: ! not enough key files to sign for {}; leaving out: {}",
                planned.signer, planned.summary
            );
            self.stats.unexpected += 1;
            self.feed.refused_unexpectedly(&planned);
            self.forget(&planned);
            return;
        };
        let nonce = match self.nonces.get(&planned.signer) {
            Some(n) => Ok(*n),
            None => self.client.next_nonce(&planned.signer),
        };
        let result = nonce.and_then(|nonce| {
            let tx = self.body(&planned, nonce).sign_all(&signing);
            let offered = match gather {
                Some(_) => self.client.offer(&tx),
                None => self
                    .client
                    .submit(&tx)
                    .map(|hash| Offered::Submitted { hash }),
            };
            offered.map(|o| (o, nonce))
        });
        match result {
            Ok((offered, nonce)) => {
                self.unreachable = false;
                self.nonces.insert(planned.signer.clone(), nonce + 1);
                self.stats.submitted += 1;
                let expect = planned.expect;
                match offered {
                    Offered::Submitted { hash } => {
                        let short = hash.get(..10).unwrap_or(&hash);
                        eprintln!("demo: {} [{short}]", planned.summary);
                        self.in_flight.push_back(InFlight {
                            hash,
                            planned,
                            submitted_at: now,
                        });
                    }
                    Offered::Awaiting { id, .. } => {
                        let wait = gather.unwrap_or_default();
                        self.gathering_started(planned, nonce, id, now + wait);
                    }
                }
                if let Expect::Refused(code) = expect {
                    self.stats.unexpected += 1;
                    eprintln!("demo: ! expected {code}, but the node accepted it");
                }
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

    /// The body `planned` is signed over, with `nonce`.
    fn body(&self, planned: &Planned, nonce: u64) -> TxBody {
        TxBody {
            chain_id: self.chain_id.clone(),
            signer: planned.signer.clone(),
            nonce,
            op: planned.op.clone(),
        }
    }

    /// The keys that sign `planned`: as many of the signer's as its
    /// threshold asks, and (`with_controller`) of the controller's where a
    /// control rule covers the operation. `None` if the key files are too
    /// few.
    fn signing_keys(&self, planned: &Planned, with_controller: bool) -> Option<Vec<&SigningKey>> {
        let controller = planned.controller.as_ref().filter(|_| with_controller);
        let mut out = Vec::new();
        for id in std::iter::once(&planned.signer).chain(controller) {
            out.extend(self.keys_of(id)?);
        }
        Some(out)
    }

    /// As many of `id`'s keys as its threshold asks; `None` if the key files
    /// are too few.
    fn keys_of(&self, id: &EntityId) -> Option<Vec<&SigningKey>> {
        let needed = self
            .feed
            .model()
            .entity(id)
            .map_or(1, |e| usize::from(e.threshold));
        let held = self.keys.get(id)?;
        (held.len() >= needed).then(|| held.iter().take(needed).collect())
    }

    /// Remembers that `planned` failed, for the actions that follow it.
    fn forget(&mut self, planned: &Planned) {
        self.failed.push_back(planned.seq);
        while self.failed.len() > FAILED_REMEMBERED_MAX {
            self.failed.pop_front();
        }
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
        self.forget(planned);
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
            "demo: {} submitted, {} committed, {} refused as they must be, {} unexpected; \
             {} co-signed after waiting, {} waiting now; fiscal year {}{height}",
            s.submitted,
            s.committed,
            s.refused_as_expected,
            s.unexpected,
            s.cosigned,
            self.gathering.len(),
            self.feed.year()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::tx::Op;
    use ledger::{Amount, ContractId, Year};

    fn planned(seq: u64, signer: &str, needs: Needs, after: Option<u64>) -> Planned {
        Planned {
            seq,
            signer: EntityId::new(signer).unwrap(),
            op: Op::Pay {
                contract: ContractId::new("HD-1").unwrap(),
                amount: Amount(1),
                reference: "R".into(),
                document_hash: None,
            },
            expect: Expect::Accepted,
            needs,
            summary: format!("action {seq}"),
            controller: None,
            cosign_after: None,
            after,
        }
    }

    fn runner() -> FeedRunner {
        let state = genesis::story::test_genesis().state();
        let feed = Feed::new(state, Year(2026), 1);
        // Never contacted: the tests only ask what may go.
        let client = Client::new("http://127.0.0.1:9", None).unwrap();
        FeedRunner::new(client, feed, BTreeMap::new(), 5.0, Instant::now())
    }

    #[test]
    fn a_payment_gathering_signatures_holds_its_signer_and_what_follows_it() {
        let mut r = runner();
        let now = Instant::now();
        r.gathering.push(Gathering {
            planned: planned(5, "BYT-BVBM", Needs::SignerIdle, None),
            nonce: 3,
            id: "ab".into(),
            due: now,
        });
        // Its signer's next nonce is taken: nothing of it goes, whatever it needs.
        for needs in [Needs::Nothing, Needs::SignerIdle, Needs::AllCommitted] {
            assert!(!r.needs_met(&planned(6, "BYT-BVBM", needs, None)));
        }
        // The vendor's acknowledgement waits for it.
        assert!(!r.needs_met(&planned(7, "V-0001", Needs::Nothing, Some(5))));
        // Others go on, even those that need everything submitted committed.
        for needs in [Needs::Nothing, Needs::SignerIdle, Needs::AllCommitted] {
            assert!(r.needs_met(&planned(8, "BYT-BVCR", needs, None)));
        }

        // Co-signed, it is in flight: the signer's next goes behind it by
        // nonce, what needs it committed still waits.
        let g = r.gathering.pop().unwrap();
        r.in_flight.push_back(InFlight {
            hash: "cd".into(),
            planned: g.planned,
            submitted_at: now,
        });
        assert!(r.needs_met(&planned(9, "BYT-BVBM", Needs::Nothing, None)));
        assert!(!r.needs_met(&planned(9, "BYT-BVBM", Needs::SignerIdle, None)));
        assert!(!r.needs_met(&planned(10, "V-0001", Needs::Nothing, Some(5))));
        assert!(!r.needs_met(&planned(11, "BYT-BVCR", Needs::AllCommitted, None)));
        // Committed: nothing holds anyone.
        r.in_flight.clear();
        assert!(r.needs_met(&planned(12, "V-0001", Needs::Nothing, Some(5))));
        assert!(r.needs_met(&planned(13, "BYT-BVBM", Needs::SignerIdle, None)));
    }

    #[test]
    fn an_action_following_one_that_failed_is_left_out() {
        let mut r = runner();
        r.forget(&planned(4, "BYT-BVBM", Needs::Nothing, None));
        r.held = Some(planned(9, "V-0001", Needs::Nothing, Some(4)));
        let before = r.stats();
        r.step(Instant::now());
        assert!(r.held.is_none(), "left out, not held");
        assert_eq!(r.stats(), before, "nothing submitted, nothing more counted");
        assert!(r.failed.contains(&9), "and what follows it is left out too");
    }

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
