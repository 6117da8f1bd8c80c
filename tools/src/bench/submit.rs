//! Talking to the validators during a run, with as little load on them as
//! the measurement allows: per validator, one submitter thread and one
//! probe thread, each with its own HTTP connection.
//!
//! A *submitter* sends its validator's share of the load (the transactions
//! of the signers pinned to it, in order) with `POST /v1/txs/batch`: every
//! [`SUBMIT_TICK_MS`] it sends, in one request, every transaction that is
//! due, so the load is open-loop: a slow answer delays the next request but
//! not the schedule, and the delay shows as submit lag. With `--rate max`
//! it sends as soon as there is room under the in-flight bound. A
//! transaction is *accepted* when the node answers with its hash;
//! `mempool_full` is retried (keeping its first send instant) until it is
//! accepted or [`RETRY_AFTER_END`] past the window's end, since a signer's
//! later nonces wait for it; any other refusal is final.
//!
//! A *probe* reads `GET /metrics` every [`PROBE_INTERVAL_MS`] and records
//! the first instant each height is seen, and the node's count of committed
//! transactions. `/metrics` is served from memory; `/v1/status` would read
//! the store and decode the last block on every poll.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use super::load::Signed;

/// How often a submitter sends what is due, at a fixed rate.
pub const SUBMIT_TICK_MS: u64 = 50;
/// How long after the window a submitter still sends again what was
/// refused `mempool_full`.
const RETRY_AFTER_END: Duration = Duration::from_secs(30);
/// How long a submitter waits for room under the in-flight bound.
const ROOM_WAIT_MS: u64 = 2;
/// How often a probe polls its validator.
pub const PROBE_INTERVAL_MS: u64 = 20;
/// Longest wait for a batch's answer.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a probe's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most transactions in one request: the node's limit.
pub const BATCH_TXS_MAX: usize = gateway::api::SUBMIT_BATCH_TXS_MAX;
/// Most bytes in one request's body: the node's limit, less room for the
/// JSON around the transactions.
const BATCH_BODY_BYTES_MAX: usize = gateway::api::SUBMIT_BATCH_BODY_BYTES_MAX - 1024;

const _: () = assert!(SUBMIT_TICK_MS > 0 && PROBE_INTERVAL_MS > 0);
// A batch of the largest transactions, in base64 and quoted, still fits.
const _: () = assert!(ledger::codec::TX_BYTES_MAX / 3 * 4 + 8 < BATCH_BODY_BYTES_MAX);

/// Flags that end the threads: Ctrl-C, or the run being over.
pub struct Halt {
    /// Set by the Ctrl-C and SIGTERM handler.
    pub interrupted: Arc<AtomicBool>,
    /// Set when the threads' work is done or the run fails.
    pub done: AtomicBool,
}

impl Halt {
    /// True once either flag is set.
    pub fn is_set(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst) || self.done.load(Ordering::SeqCst)
    }
}

/// What a probe last saw of its validator.
#[derive(Default)]
pub struct Probe {
    /// The last committed height.
    pub height: AtomicU64,
    /// Transactions committed since the node started (on a fresh cluster,
    /// every transaction of the chain).
    pub committed_txs: AtomicU64,
}

/// A client of the bench's own plain-HTTP nodes: no root store to read.
fn http(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .tcp_nodelay(true)
        .tls_built_in_root_certs(false)
        .build()
        .expect("an HTTP client without root certificates always builds")
}

/// A sample's value in Prometheus text: the line `name value` or
/// `name{labels} value`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let value = if rest.starts_with('{') {
            &rest[rest.find('}')? + 1..]
        } else if rest.starts_with(' ') {
            rest
        } else {
            return None;
        };
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Polls `api`'s `/metrics` until `halt`; returns, indexed by height, the
/// first instant (ns since `origin`) each height was seen.
pub fn run_probe(api: &str, probe: &Probe, origin: Instant, halt: &Halt) -> Vec<Option<u64>> {
    let client = http(PROBE_TIMEOUT);
    let url = format!("{api}/metrics");
    let mut seen: Vec<Option<u64>> = vec![None];
    let mut next = Instant::now();
    while !halt.is_set() {
        if let Some(text) = client.get(&url).send().ok().and_then(|r| r.text().ok()) {
            let at = origin.elapsed().as_nanos() as u64;
            let height = metric(&text, "minhbach_height").unwrap_or(0.0) as u64;
            let committed = metric(&text, "minhbach_committed_txs_total").unwrap_or(0.0) as u64;
            while (seen.len() as u64) <= height {
                seen.push(Some(at));
            }
            probe.height.fetch_max(height, Ordering::SeqCst);
            probe.committed_txs.fetch_max(committed, Ordering::SeqCst);
        }
        next += Duration::from_millis(PROBE_INTERVAL_MS);
        let now = Instant::now();
        if next < now {
            next = now;
        }
        std::thread::sleep(next - now);
    }
    seen
}

/// How a submitter paces itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Each transaction is due at its index ÷ rate after the start.
    Rate {
        /// Transactions per second, over all validators.
        per_s: f64,
    },
    /// Send as soon as accepted-but-uncommitted transactions are below
    /// this, over all validators.
    Max {
        /// The bound.
        in_flight_max: u64,
    },
}

impl Pace {
    /// When the load transaction with this index is due, after the start.
    pub fn due_ns(self, index: usize) -> u64 {
        match self {
            Pace::Rate { per_s } => (index as f64 * 1e9 / per_s) as u64,
            Pace::Max { .. } => 0,
        }
    }
}

/// What the submitters share.
pub struct Run<'a> {
    /// Where instants are counted from.
    pub origin: Instant,
    /// When the first transaction is due.
    pub start: Instant,
    /// When submission stops.
    pub end: Instant,
    /// The pace.
    pub pace: Pace,
    /// Every signed load transaction.
    pub signed: &'a [Signed],
    /// One per validator.
    pub probes: &'a [Probe],
    /// Transactions committed before the load (the setup).
    pub committed_before: u64,
    /// Accepted so far, over all submitters.
    pub accepted: AtomicU64,
    /// Sent at least once so far, over all submitters.
    pub sent: AtomicU64,
    /// When to stop early.
    pub halt: &'a Halt,
}

impl Run<'_> {
    /// Load transactions committed on every validator so far.
    pub fn committed(&self) -> u64 {
        let least = self
            .probes
            .iter()
            .map(|p| p.committed_txs.load(Ordering::SeqCst))
            .min()
            .unwrap_or(0);
        least.saturating_sub(self.committed_before)
    }

    fn ns(&self, at: Instant) -> u64 {
        at.duration_since(self.origin).as_nanos() as u64
    }
}

/// What became of one load transaction at a submitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Never sent: the window ended first.
    Unsent,
    /// The node answered with its hash.
    Accepted,
    /// Refused with this code (`unreachable` when no answer came).
    Refused(String),
}

/// One load transaction's outcome.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its index in the load.
    pub index: usize,
    /// When its request was first sent (ns since the origin).
    pub sent_ns: Option<u64>,
    /// When the request that a node accepted it from was sent: later than
    /// `sent_ns` for a transaction refused `mempool_full` and sent again.
    pub accepted_ns: Option<u64>,
    /// What became of it.
    pub fate: Fate,
}

#[derive(Deserialize)]
struct BatchAnswer {
    results: Vec<BatchItem>,
}

#[derive(Deserialize)]
struct BatchItem {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ItemError,
}

/// Sends the load transactions `mine` (indices into `run.signed`, in
/// order) to the validator at `api`, paced by `run.pace`, until they are
/// all answered or `run.end`. Returns one [`Sent`] per transaction of
/// `mine`, in the same order.
pub fn run_submitter(api: &str, mine: &[usize], submitters: usize, run: &Run<'_>) -> Vec<Sent> {
    let client = submit_client();
    let url = format!("{api}/v1/txs/batch");
    let mut out: Vec<Sent> = mine
        .iter()
        .map(|&index| Sent {
            index,
            sent_ns: None,
            accepted_ns: None,
            fate: Fate::Unsent,
        })
        .collect();
    // Positions in `mine`.
    let mut cursor = 0;
    let mut retry: VecDeque<usize> = VecDeque::new();
    let tick = Duration::from_millis(match run.pace {
        Pace::Rate { .. } => SUBMIT_TICK_MS,
        Pace::Max { .. } => ROOM_WAIT_MS,
    });
    std::thread::sleep(run.start.saturating_duration_since(Instant::now()));
    let mut next = run.start;
    while !run.halt.is_set() && (cursor < mine.len() || !retry.is_empty()) {
        let now = Instant::now();
        // At a fixed rate, what fell due before the end is still sent once
        // the end has come; as fast as accepted, nothing new is. What was
        // refused `mempool_full` is sent again until it is accepted (or
        // [`RETRY_AFTER_END`] has passed): a signer's later nonces, already
        // accepted, would otherwise wait for it for ever.
        let last = now >= run.end;
        let max_pace = matches!(run.pace, Pace::Max { .. });
        if last && (max_pace && retry.is_empty() || now >= run.end + RETRY_AFTER_END) {
            break;
        }
        let room = match run.pace {
            Pace::Rate { .. } => BATCH_TXS_MAX,
            Pace::Max { in_flight_max } => {
                let in_flight = run
                    .accepted
                    .load(Ordering::SeqCst)
                    .saturating_sub(run.committed());
                let free = in_flight_max.saturating_sub(in_flight) as usize;
                free.div_ceil(submitters).min(BATCH_TXS_MAX)
            }
        };
        let due_ns = run.ns(now.min(run.end)).saturating_sub(run.ns(run.start));
        let mut batch: Vec<usize> = Vec::new();
        let mut bytes = 0;
        let fits = |batch: &[usize], bytes: usize, p: usize| {
            batch.len() < room
                && bytes + run.signed[mine[p]].bytes.len() / 3 * 4 + 8 <= BATCH_BODY_BYTES_MAX
        };
        while let Some(&p) = retry.front() {
            if !fits(&batch, bytes, p) {
                break;
            }
            retry.pop_front();
            bytes += run.signed[mine[p]].bytes.len() / 3 * 4 + 8;
            batch.push(p);
        }
        while cursor < mine.len()
            && !(last && max_pace)
            && run.pace.due_ns(mine[cursor]) <= due_ns
            && fits(&batch, bytes, cursor)
        {
            bytes += run.signed[mine[cursor]].bytes.len() / 3 * 4 + 8;
            batch.push(cursor);
            cursor += 1;
        }
        let full = !batch.is_empty() && batch.len() == room;
        let refused =
            !batch.is_empty() && !send(&client, &url, mine, &batch, run, &mut out, &mut retry);
        if last && retry.is_empty() {
            break;
        }
        if full && !refused && max_pace && !last {
            continue;
        }
        next += tick;
        let now = Instant::now();
        if next < now {
            next = now;
        }
        // A batch refused whole (the node holds more than it commits soon)
        // is sent again after a fixed-rate tick, as fast as accepted too.
        if refused {
            next = next.max(now + Duration::from_millis(SUBMIT_TICK_MS));
        }
        let until = if last { next } else { next.min(run.end) };
        std::thread::sleep(until.saturating_duration_since(now));
    }
    for p in retry {
        out[p].fate = Fate::Refused("mempool_full".into());
    }
    out
}

/// Why a transaction, or a whole request, was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The SPEC code, or `unreachable`, `bad_response` or `http_<status>`.
    pub code: String,
    /// The node's explanation, if it gave one.
    pub message: String,
}

fn refusal(code: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// The body of `POST /v1/txs/batch` for these encoded transactions.
pub fn batch_body<'a>(txs: impl Iterator<Item = &'a [u8]>) -> String {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut body = String::from("{\"txs\":[");
    for (i, tx) in txs.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push('"');
        engine.encode_string(tx, &mut body);
        body.push('"');
    }
    body.push_str("]}");
    body
}

/// Sends one batch of `count` transactions; per transaction, the hash the
/// node gave or its refusal. The whole request's refusal if the node did
/// not answer with one result per transaction.
pub fn post_batch(
    client: &reqwest::blocking::Client,
    url: &str,
    body: String,
    count: usize,
) -> Result<Vec<Result<[u8; 32], Refusal>>, Refusal> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .map_err(|e| refusal("unreachable", e.to_string()))?;
    let status = response.status();
    let text = response
        .bytes()
        .map_err(|e| refusal("unreachable", e.to_string()))?;
    if !status.is_success() {
        return Err(serde_json::from_slice::<ErrorAnswer>(&text)
            .map(|e| e.error.into())
            .unwrap_or_else(|_| refusal(&format!("http_{}", status.as_u16()), "")));
    }
    let answer: BatchAnswer = serde_json::from_slice(&text)
        .map_err(|e| refusal("bad_response", format!("not a batch answer: {e}")))?;
    if answer.results.len() != count {
        return Err(refusal(
            "bad_response",
            format!("{} results for {count} transactions", answer.results.len()),
        ));
    }
    Ok(answer
        .results
        .into_iter()
        .map(|item| match (item.hash, item.error) {
            (Some(hash), _) => {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(&hash, &mut bytes)
                    .map(|_| bytes)
                    .map_err(|_| refusal("bad_response", format!("{hash:?} is not a hash")))
            }
            (None, Some(e)) => Err(e.into()),
            (None, None) => Err(refusal("bad_response", "neither a hash nor an error")),
        })
        .collect())
}

impl From<ItemError> for Refusal {
    fn from(e: ItemError) -> Refusal {
        Refusal {
            code: e.code,
            message: e.message,
        }
    }
}

/// An HTTP client for submitting.
pub fn submit_client() -> reqwest::blocking::Client {
    http(SUBMIT_TIMEOUT)
}

/// Sends the transactions at positions `batch` of `mine` in one request and
/// records each one's fate; false if the node refused the request whole.
fn send(
    client: &reqwest::blocking::Client,
    url: &str,
    mine: &[usize],
    batch: &[usize],
    run: &Run<'_>,
    out: &mut [Sent],
    retry: &mut VecDeque<usize>,
) -> bool {
    let body = batch_body(batch.iter().map(|&p| run.signed[mine[p]].bytes.as_slice()));
    let sent_ns = run.ns(Instant::now());
    let mut first_sends = 0;
    for &p in batch {
        if out[p].sent_ns.is_none() {
            out[p].sent_ns = Some(sent_ns);
            first_sends += 1;
        }
    }
    run.sent.fetch_add(first_sends, Ordering::SeqCst);
    let results = match post_batch(client, url, body, batch.len()) {
        Ok(results) => results,
        Err(r) => {
            // A node with a full mempool refuses the whole batch; it is
            // sent again, as a refused transaction would be.
            let again = r.code == "mempool_full" && Instant::now() < run.end + RETRY_AFTER_END;
            for &p in batch {
                out[p].fate = Fate::Refused(r.code.clone());
                if again {
                    retry.push_back(p);
                }
            }
            return false;
        }
    };
    let mut accepted = 0;
    let retry_until_end = Instant::now() < run.end + RETRY_AFTER_END;
    for (&p, result) in batch.iter().zip(results) {
        out[p].fate = match result {
            Ok(hash) if hash == run.signed[mine[p]].hash.0 => {
                accepted += 1;
                out[p].accepted_ns = Some(sent_ns);
                Fate::Accepted
            }
            Ok(_) => Fate::Refused("hash_mismatch".into()),
            Err(r) if r.code == "mempool_full" && retry_until_end => {
                retry.push_back(p);
                Fate::Refused(r.code)
            }
            Err(r) => Fate::Refused(r.code),
        };
    }
    run.accepted.fetch_add(accepted, Ordering::SeqCst);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_from_prometheus_text() {
        let text = "# TYPE minhbach_height gauge\nminhbach_height 42\n\
                    minhbach_height_seconds 9\n\
                    minhbach_committed_txs_total{node=\"v0\"} 1234\n";
        assert_eq!(metric(text, "minhbach_height"), Some(42.0));
        assert_eq!(metric(text, "minhbach_committed_txs_total"), Some(1234.0));
        assert_eq!(metric(text, "minhbach_round"), None);
    }

    #[test]
    fn a_fixed_rate_spreads_the_load_evenly() {
        let pace = Pace::Rate { per_s: 200.0 };
        assert_eq!(pace.due_ns(0), 0);
        assert_eq!(pace.due_ns(1), 5_000_000);
        assert_eq!(pace.due_ns(400), 2_000_000_000);
        assert_eq!(Pace::Max { in_flight_max: 1 }.due_ns(400), 0);
    }
}
