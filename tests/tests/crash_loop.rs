//! The crash loop under load: four validators of real `minhbach node start`
//! processes commit a steady load of payments, awards and allocations while
//! the test kills one validator at a time with SIGKILL (never more than f =
//! 1), restarts it after a random pause, and waits until it has caught up;
//! then it kills all four at once, in the middle of whatever round they are
//! in, and restarts them.
//!
//! The load's client behaves like a real one: it sends each transaction to
//! its signer's validator (another one while that one is down), and sends
//! again whatever is not committed after a while, since a killed node loses
//! its mempool.
//!
//! Afterwards every transaction the client saw committed is in every
//! validator's store exactly once, nothing sent is lost, the validators hold
//! the same block at every height, and `minhbach verify chain` passes on
//! every home. The report gives the recovery time after each restart.
//!
//! `CRASH_LOOP_KILLS` (10 by default), `CRASH_LOOP_RATE` (transactions per
//! second, 300 by default) and `CRASH_LOOP_SEED` (printed; replays the same
//! kills and pauses) set a run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger::crypto::read_key_file;
use ledger::Hash;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tests::cluster::Cluster;
use tools::bench::load::{self, LoadSpec, Mix, Signed, World};
use tools::bench::submit::{batch_body, post_batch, submit_client};

const BIN: &str = env!("CARGO_BIN_EXE_minhbach-under-test");

const VALIDATORS: usize = 4;
/// Departments in the load's world (and so signers, with their ministries).
const DEPARTMENTS: usize = 64;
/// How often the client sends what is due.
const TICK: Duration = Duration::from_millis(50);
/// A transaction not committed this long after it was last sent is sent
/// again.
const RESEND_AFTER: Duration = Duration::from_secs(3);
/// Most transactions in one request.
const BATCH_MAX: usize = 1_024;
/// Between two kills of one validator, while all four run.
const STEADY_MS: std::ops::Range<u64> = 1_000..3_000;
/// How long a killed validator stays down.
const DOWN_MS: std::ops::Range<u64> = 200..3_000;
/// Deadline for a restarted validator to catch up.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(90);
/// Deadline for every sent transaction to be committed after the load ends.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the client knows about each load transaction.
#[derive(Default)]
struct Book {
    /// Sent and not yet seen committed: load index → when last sent.
    pending: HashMap<usize, Instant>,
    /// Seen committed (by any validator's API).
    committed: Vec<bool>,
    /// Load transactions handed to the client so far.
    released: usize,
    /// Times a transaction was sent again.
    resent: u64,
    /// Transactions a node accepted.
    accepted: u64,
    /// The last height read, and from it the transactions committed.
    height: u64,
}

/// The load and the client's view of it, shared by its threads.
struct Load {
    signed: Vec<Signed>,
    pinned: Vec<usize>,
    index: HashMap<Hash, usize>,
    apis: Vec<String>,
    /// Validators the client may send to and read from.
    up: Vec<AtomicBool>,
    book: Mutex<Book>,
    /// Set when no new transaction is to be released.
    released_all: AtomicBool,
    /// Set when the threads are to stop.
    halt: AtomicBool,
}

impl Load {
    fn is_up(&self, v: usize) -> bool {
        self.up[v].load(Ordering::SeqCst)
    }

    /// The validator to send load transaction `i` to: its signer's, or the
    /// next one up.
    fn target(&self, i: usize) -> Option<usize> {
        (0..VALIDATORS)
            .map(|k| (self.pinned[i] + k) % VALIDATORS)
            .find(|&v| self.is_up(v))
    }

    /// Sends the transactions released since the last tick and those due to
    /// be sent again; runs until halted.
    fn run_client(&self, rate: f64) {
        let http = submit_client();
        let started = Instant::now();
        while !self.halt.load(Ordering::SeqCst) {
            let due = if self.released_all.load(Ordering::SeqCst) {
                0
            } else {
                ((started.elapsed().as_secs_f64() * rate) as usize).min(self.signed.len())
            };
            let now = Instant::now();
            let batch: Vec<usize> = {
                let mut book = self.book.lock().unwrap();
                let fresh: Vec<usize> = (book.released..due.max(book.released)).collect();
                book.released = book.released.max(due);
                let mut again: Vec<usize> = book
                    .pending
                    .iter()
                    .filter(|(_, sent)| now.duration_since(**sent) >= RESEND_AFTER)
                    .map(|(i, _)| *i)
                    .collect();
                again.sort_unstable();
                again.truncate(BATCH_MAX);
                book.resent += again.len() as u64;
                for &i in fresh.iter().chain(&again) {
                    book.pending.insert(i, now);
                }
                again.into_iter().chain(fresh).collect()
            };
            let mut by_target: HashMap<usize, Vec<usize>> = HashMap::new();
            for i in batch {
                if let Some(v) = self.target(i) {
                    by_target.entry(v).or_default().push(i);
                }
            }
            for (v, txs) in by_target {
                for chunk in txs.chunks(BATCH_MAX) {
                    let body = batch_body(chunk.iter().map(|&i| self.signed[i].bytes.as_slice()));
                    let url = format!("{}/v1/txs/batch", self.apis[v]);
                    // A refused or unanswered transaction stays pending and
                    // is sent again later.
                    if let Ok(results) = post_batch(&http, &url, body, chunk.len()) {
                        let accepted = results.iter().filter(|r| r.is_ok()).count();
                        self.book.lock().unwrap().accepted += accepted as u64;
                    }
                }
            }
            std::thread::sleep(TICK);
        }
    }

    /// Reads each new block from a validator that is up and marks its load
    /// transactions committed; runs until halted.
    fn run_watcher(&self) {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let get = |v: usize, path: &str| -> Option<serde_json::Value> {
            http.get(format!("{}{path}", self.apis[v]))
                .send()
                .ok()?
                .json()
                .ok()
        };
        let mut turn = 0;
        while !self.halt.load(Ordering::SeqCst) {
            turn += 1;
            let Some(v) = (0..VALIDATORS)
                .map(|k| (turn + k) % VALIDATORS)
                .find(|&v| self.is_up(v))
            else {
                std::thread::sleep(TICK);
                continue;
            };
            let top = get(v, "/v1/status").and_then(|s| s["height"].as_u64());
            let from = self.book.lock().unwrap().height + 1;
            for h in from..=top.unwrap_or(0) {
                let Some(block) = get(v, &format!("/v1/blocks/{h}")) else {
                    break;
                };
                let mut book = self.book.lock().unwrap();
                for hash in block["txs"].as_array().into_iter().flatten() {
                    let hash = Hash::from_hex(hash.as_str().unwrap_or_default()).unwrap();
                    if let Some(&i) = self.index.get(&hash) {
                        book.pending.remove(&i);
                        book.committed[i] = true;
                    }
                }
                book.height = h;
            }
            std::thread::sleep(TICK);
        }
    }
}

/// The threads of a running load; dropping it stops them.
struct Running {
    load: Arc<Load>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.load.halt.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The highest height any validator that answers has.
fn top_height(c: &Cluster) -> u64 {
    (0..VALIDATORS)
        .filter_map(|v| c.height(v))
        .max()
        .unwrap_or(0)
}

fn median(sorted: &[u128]) -> u128 {
    sorted[sorted.len() / 2]
}

#[test]
fn validators_killed_again_and_again_under_load_lose_nothing_and_agree() {
    let kills: usize = env_or("CRASH_LOOP_KILLS", 10);
    let rate: f64 = env_or("CRASH_LOOP_RATE", 300.0);
    let seed: u64 = env_or(
        "CRASH_LOOP_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    assert!(kills >= 1, "CRASH_LOOP_KILLS must be at least 1");
    eprintln!("crash loop: {kills} kills at {rate} tx/s, CRASH_LOOP_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let world = World::new(DEPARTMENTS);
    let mut c = Cluster::with_entities(BIN, VALIDATORS, 0, world.entities());
    let chain_id = c.plan.chain_id.clone();
    let keys = c
        .plan
        .entities
        .iter()
        .map(|e| (e.id.clone(), read_key_file(&e.key_file).unwrap()))
        .collect();
    // Enough load for every kill's steady time, pause and recovery.
    let seconds = 30 + kills as u64 * 8;
    let spec = LoadSpec {
        txs: ((rate * seconds as f64) as usize).min(load::LOAD_TXS_MAX),
        mix: Mix::default(),
        seed,
        validators: VALIDATORS,
        year: tools::devnet::year_of(now_ms()),
    };
    let planned = load::plan(&world, &chain_id, &spec);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bodies: Vec<_> = planned.load.iter().map(|p| &p.body).collect();
    let signed = load::sign_all(&bodies, &keys, cores);
    let pinned: Vec<usize> = planned.load.iter().map(|p| p.validator).collect();

    c.start_all();
    for v in 0..VALIDATORS {
        c.wait_height(v, 1, RECOVERY_TIMEOUT);
    }
    // The setup (appropriations, allocations, contract awards), phase by
    // phase, each committed before the next.
    for phase in &planned.setup {
        let phase = load::sign_all(&phase.iter().collect::<Vec<_>>(), &keys, cores);
        let http = submit_client();
        for chunk in phase.chunks(BATCH_MAX) {
            let body = batch_body(chunk.iter().map(|s| s.bytes.as_slice()));
            let url = format!("{}/v1/txs/batch", c.node(0).api_url());
            let results = post_batch(&http, &url, body, chunk.len()).expect("setup accepted");
            assert!(results.iter().all(|r| r.is_ok()), "a setup tx is refused");
        }
        let last = phase.last().unwrap().hash.to_hex();
        for v in 0..VALIDATORS {
            c.wait_committed(v, &last, RECOVERY_TIMEOUT);
        }
    }

    let load = Arc::new(Load {
        index: signed
            .iter()
            .enumerate()
            .map(|(i, s)| (s.hash, i))
            .collect(),
        book: Mutex::new(Book {
            committed: vec![false; signed.len()],
            height: top_height(&c),
            ..Book::default()
        }),
        signed,
        pinned,
        apis: (0..VALIDATORS).map(|v| c.node(v).api_url()).collect(),
        up: (0..VALIDATORS).map(|_| AtomicBool::new(true)).collect(),
        released_all: AtomicBool::new(false),
        halt: AtomicBool::new(false),
    });
    let mut running = Running {
        load: load.clone(),
        threads: Vec::new(),
    };
    let l = load.clone();
    running
        .threads
        .push(std::thread::spawn(move || l.run_client(rate)));
    let l = load.clone();
    running
        .threads
        .push(std::thread::spawn(move || l.run_watcher()));
    let load_started = Instant::now();

    // One validator at a time.
    let mut recoveries = Vec::new();
    for k in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.gen_range(STEADY_MS)));
        let v = rng.gen_range(0..VALIDATORS);
        let down = rng.gen_range(DOWN_MS);
        load.up[v].store(false, Ordering::SeqCst);
        c.kill(v);
        std::thread::sleep(Duration::from_millis(down));
        c.start(v);
        let restarted = Instant::now();
        let target = top_height(&c);
        c.wait_height(v, target, RECOVERY_TIMEOUT);
        let took = restarted.elapsed().as_millis();
        load.up[v].store(true, Ordering::SeqCst);
        recoveries.push(took);
        eprintln!(
            "crash loop: kill {}/{kills}: validator {v} down {down} ms, caught up with height \
             {target} {took} ms after its restart",
            k + 1
        );
    }

    // All four at once.
    std::thread::sleep(Duration::from_millis(rng.gen_range(STEADY_MS)));
    let before = top_height(&c);
    for v in 0..VALIDATORS {
        load.up[v].store(false, Ordering::SeqCst);
    }
    for v in 0..VALIDATORS {
        c.kill(v);
    }
    let down = rng.gen_range(DOWN_MS);
    std::thread::sleep(Duration::from_millis(down));
    c.start_all();
    let restarted = Instant::now();
    for v in 0..VALIDATORS {
        c.wait_height(v, before + 1, RECOVERY_TIMEOUT);
    }
    let all_resumed = restarted.elapsed().as_millis();
    for v in 0..VALIDATORS {
        load.up[v].store(true, Ordering::SeqCst);
    }
    eprintln!(
        "crash loop: all four killed at height {before}, down {down} ms, committing again on \
         all {all_resumed} ms after the restart"
    );

    // The load ends; everything sent must be committed.
    std::thread::sleep(Duration::from_secs(3));
    load.released_all.store(true, Ordering::SeqCst);
    let load_seconds = load_started.elapsed().as_secs_f64();
    let drain = Instant::now();
    loop {
        let pending = load.book.lock().unwrap().pending.len();
        if pending == 0 {
            break;
        }
        assert!(
            drain.elapsed() < DRAIN_TIMEOUT,
            "{pending} transactions still not committed {} s after the load ended",
            DRAIN_TIMEOUT.as_secs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(running);
    let book = std::mem::take(&mut *load.book.lock().unwrap());
    let sent = book.released;
    let seen: Vec<Hash> = (0..sent)
        .filter(|&i| book.committed[i])
        .map(|i| load.signed[i].hash)
        .collect();
    assert_eq!(seen.len(), sent, "sent transactions never seen committed");

    let validators: Vec<usize> = (0..VALIDATORS).collect();
    let stores = c.audit_stores(&validators, &seen);

    recoveries.sort_unstable();
    eprintln!(
        "crash loop: {kills} single kills, recovery median {} ms, max {} ms; all four: {} ms; \
         {} transactions sent over {:.0} s ({:.0} tx/s), {} accepted answers, {} sent again, \
         all committed exactly once on every validator; heights {:?}; chains identical and \
         verified",
        median(&recoveries),
        recoveries.last().unwrap(),
        all_resumed,
        sent,
        load_seconds,
        sent as f64 / load_seconds,
        book.accepted,
        book.resent,
        stores.heights,
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
