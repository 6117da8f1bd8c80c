//! kill -9 the store writer at random moments: after every kill the store
//! must open, hold at least every block the writer reported committed (and at
//! most the one it was writing), and pass full verification from genesis;
//! the next writer must resume at exactly the next height.
//!
//! The moments come from a seeded RNG; the seed is printed, and
//! `CRASH_SEED=<seed>` replays the same sequence of waits.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ledger::store::Store;
use ledger::testkit::{self, TestChain};
use ledger::verify::verify_store;
use ledger::Height;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Writer runs, each ended by SIGKILL.
const ITERATIONS_DEFAULT: usize = 24;

/// Kills per run: 24 in CI, more with `CRASH_KILLS` for a long run.
fn iterations() -> usize {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ITERATIONS_DEFAULT)
}
/// One run in this many is killed at a random moment soon after it starts,
/// whatever it has reported: during open, init or the first commits.
const EARLY_KILL_ONE_IN: u32 = 5;
/// How long an early kill waits after the spawn.
const EARLY_KILL_MS: std::ops::Range<u64> = 0..60;
/// How long a normal kill waits after the writer reports its first block.
const KILL_AFTER_FIRST_BLOCK_MS: std::ops::Range<u64> = 50..400;
/// Deadline for the writer's first report (open, resume, first commit).
const FIRST_BLOCK_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline for a killed writer to be reaped and its output drained.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running writer. Dropping it kills it, so that a failing assertion never
/// leaves a writer behind; closing its stdin also makes it exit.
struct Writer {
    child: Child,
    _stdin: ChildStdin,
    heights: Receiver<Result<u64, String>>,
    reader: Option<JoinHandle<()>>,
}

impl Writer {
    fn spawn(dir: &Path) -> Writer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store-writer"))
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn store-writer");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, heights) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parsed = line.trim().parse::<u64>().map_err(|_| line.clone());
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        Writer {
            child,
            _stdin: stdin,
            heights,
            reader: Some(reader),
        }
    }

    /// The next reported height, or `None` if none came before `deadline`
    /// or the output ended.
    fn next_height(&self, deadline: Instant) -> Option<u64> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.heights.recv_timeout(wait) {
            Ok(Ok(h)) => Some(h),
            Ok(Err(line)) => panic!("store-writer printed {line:?}, not a height"),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Sends SIGKILL, reaps the process and returns every height it
    /// reported that was not yet read.
    fn kill(mut self) -> Vec<u64> {
        self.child.kill().expect("SIGKILL store-writer");
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            match self.child.try_wait().expect("wait for store-writer") {
                Some(status) => {
                    assert!(
                        status.code().is_none(),
                        "store-writer exited by itself ({status}) instead of being killed"
                    );
                    break;
                }
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                None => panic!("store-writer still running {EXIT_TIMEOUT:?} after SIGKILL"),
            }
        }
        let mut rest = Vec::new();
        loop {
            match self
                .heights
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(Ok(h)) => rest.push(h),
                Ok(Err(line)) => panic!("store-writer printed {line:?}, not a height"),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("store-writer's output did not end"),
            }
        }
        if let Some(reader) = self.reader.take() {
            reader.join().expect("reader thread");
        }
        rest
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(s) => s.parse().expect("CRASH_SEED is a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos() as u64,
    }
}

/// Opens the store after a kill and checks it against what the writer said.
/// Returns the store's height.
fn check_store(dir: &Path, chain: &TestChain, reported: Option<u64>, before: u64) -> u64 {
    let store = Store::open(dir).expect("the store opens after kill -9");
    let Some(meta) = store.meta().expect("metadata reads") else {
        // Killed before init committed: nothing may have been reported.
        assert_eq!((reported, before), (None, 0), "reported blocks were lost");
        return 0;
    };
    let last_reported = reported.unwrap_or(before);
    let height = meta.height.0;
    assert!(
        height >= last_reported,
        "the store is at height {height}, but the writer reported {last_reported} committed"
    );
    // The writer reports each block right after its commit returns, so at
    // most the block it was working on can be stored and unreported.
    assert!(
        height <= last_reported + 1,
        "the store is at height {height}, but the writer reported only up to {last_reported}"
    );
    let report = verify_store(
        &store,
        &chain.genesis,
        chain.genesis_hash,
        testkit::GENESIS_TIME_MS,
        |_| {},
    )
    .unwrap_or_else(|e| panic!("verify_store after kill -9 at height {height}: {e}"));
    assert_eq!(report.height, Height(height));
    let state = store
        .init(&chain.genesis, chain.genesis_hash)
        .expect("init reopens the killed store");
    assert_eq!(state.height(), Height(height));
    assert_eq!(state.root(), report.state_root);
    height
}

#[test]
fn store_survives_kill_9_at_random_moments() {
    let seed = seed();
    println!("crash test seed: {seed} (replay with CRASH_SEED={seed})");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let store_dir = dir.path().join("store");
    // The writer builds the same chain; the test keeps only its genesis.
    let chain = TestChain::new(4);
    let started = Instant::now();
    let mut height = 0u64;
    let mut early_kills = 0;
    let iterations = iterations();
    for iteration in 0..iterations {
        let writer = Writer::spawn(&store_dir);
        let spawned = Instant::now();
        let early = rng.gen_ratio(1, EARLY_KILL_ONE_IN);
        let mut reported = Vec::new();
        if early {
            early_kills += 1;
            std::thread::sleep(Duration::from_millis(rng.gen_range(EARLY_KILL_MS)));
        } else {
            let first = writer
                .next_height(spawned + FIRST_BLOCK_TIMEOUT)
                .unwrap_or_else(|| {
                    panic!("iteration {iteration}: no block reported in {FIRST_BLOCK_TIMEOUT:?}")
                });
            reported.push(first);
            std::thread::sleep(Duration::from_millis(
                rng.gen_range(KILL_AFTER_FIRST_BLOCK_MS),
            ));
        }
        let killed_after = spawned.elapsed();
        reported.extend(writer.kill());
        // The writer resumes exactly where the store was, one block at a time.
        let expected: Vec<u64> = (height + 1..).take(reported.len()).collect();
        assert_eq!(
            reported, expected,
            "iteration {iteration}: heights reported after resuming at {height}"
        );
        let checking = Instant::now();
        let stored = check_store(&store_dir, &chain, reported.last().copied(), height);
        println!(
            "iteration {iteration}: {} kill {:?} after spawn, {} blocks reported, \
             store at {stored}, verified in {:?}",
            if early { "early" } else { "normal" },
            killed_after,
            reported.len(),
            checking.elapsed(),
        );
        height = stored;
    }
    println!(
        "{iterations} kills ({early_kills} early), final height {height}, in {:?}",
        started.elapsed()
    );
    assert!(
        height >= (iterations as u64 - early_kills as u64),
        "the writer made too little progress to test anything"
    );
}
