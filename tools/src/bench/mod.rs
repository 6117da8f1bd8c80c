//! `minhbach bench`: the end-to-end benchmark of SPEC §9.
//!
//! One run:
//!
//! 1. measures this machine's signature verification ([`calibrate`]), the
//!    ceiling the run is compared with, before any node starts;
//! 2. writes a fresh network with `node::testnet::generate_with` (the
//!    validators only, on free 127.0.0.1 ports, in a temporary folder or
//!    `--keep DIR`) whose genesis is the bench's world ([`load::World`]);
//! 3. plans the setup and the load and signs all of it on every core
//!    ([`load`]), so no signing happens while the clock runs;
//! 4. starts each validator as a `minhbach node start` child process
//!    ([`crate::nodes`]), waits until all are ready, sends the setup phases
//!    and waits until each is committed on every validator;
//! 5. submits the load for `--duration` ([`submit`]), while one probe per
//!    validator records when each height appears there, and samples every
//!    node's CPU time at the window's start and end ([`procfs`]);
//! 6. waits until every accepted transaction is committed on every
//!    validator (giving up after [`DRAIN_TIMEOUT_MS`], or
//!    [`DRAIN_IDLE_MS`] without a commit), reads the nodes' peak memory,
//!    stops them, and reads each validator's store ([`audit`]);
//! 7. reports ([`stats`] defines every figure): a summary on stdout, and as
//!    the last line one JSON object.
//!
//! The nodes are stopped on every way out: errors, Ctrl-C (SIGINT or
//! SIGTERM) and panics, since [`crate::nodes::Nodes`] stops them when
//! dropped. The exit code is 1 if a check fails: an accepted transaction
//! lost or committed twice, or two validators with different blocks.

pub mod audit;
pub mod calibrate;
pub mod history;
pub mod load;
pub mod procfs;
pub mod readers;
mod report;
pub mod stats;
pub mod submit;
mod window;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use genesis::Currency;
use ledger::crypto::{read_key_file, SigningKey};
use ledger::tx::TxBody;
use ledger::{EntityId, SignedTx, Year};
use node::config::Config;
use node::testnet::{self, Explorers, NodePlan, Ports, TestnetSpec};

use self::load::{LoadSpec, Mix, Signed, World};
use self::report::{print_calibration, print_report, NodeSettings, ReportIn};
use self::submit::{Halt, Pace, Probe};
use self::window::{measure, send_setup, MeasureIn};
use crate::nodes::{self, Nodes, Waited};
use crate::{Output, UsageError, EXIT_FAILED};

/// Highest `--rate`, in transactions per second.
pub const RATE_PER_S_MAX: f64 = 1_000_000.0;
/// With `--rate max` and no `--txs`: at most this many are pre-signed
/// (about 300 MB and 10 s of signing on two cores).
pub const MAX_RATE_TXS_DEFAULT_MAX: usize = 500_000;
/// Most `--readers`.
pub const READERS_MAX: u64 = 256;
/// Most transactions `--history` builds.
pub const HISTORY_TXS_MAX: u64 = 100_000_000;
/// How long each calibration measure runs.
pub const CALIBRATE_MS: u64 = 1_000;
/// How long the validators have to become ready.
const READY_TIMEOUT_MS: u64 = 120_000;
/// How long one setup phase has to be committed on every validator.
const SETUP_PHASE_TIMEOUT_MS: u64 = 120_000;
/// Between the end of the setup and the first load transaction, so every
/// thread is in place before the window opens.
const START_LEAD_MS: u64 = 100;
/// After the window: the longest wait for every accepted transaction to be
/// committed on every validator.
pub const DRAIN_TIMEOUT_MS: u64 = 60_000;
/// After the window: giving up once nothing has been committed for this long
/// (what is left is stuck, and will be reported lost).
pub const DRAIN_IDLE_MS: u64 = 10_000;
/// How often the main thread looks at the run (progress, exits, Ctrl-C).
const WATCH_MS: u64 = 100;

// Every wait of a run is bounded and the drain gives up before it ends.
const _: () = assert!(DRAIN_IDLE_MS < DRAIN_TIMEOUT_MS);

/// `--rate`: transactions per second, or as fast as accepted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// This many per second, spread evenly.
    PerSecond(f64),
    /// As fast as the validators accept, with a bounded number in flight.
    Max,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::PerSecond(r) => write!(f, "{r}"),
            Rate::Max => f.write_str("max"),
        }
    }
}

fn parse_rate(s: &str) -> Result<Rate, String> {
    if s == "max" {
        return Ok(Rate::Max);
    }
    let rate: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is neither a number nor \"max\""))?;
    if rate > 0.0 && rate <= RATE_PER_S_MAX {
        Ok(Rate::PerSecond(rate))
    } else {
        Err(format!("must be above 0 and at most {RATE_PER_S_MAX}"))
    }
}

/// `minhbach bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Validators, each a separate node process on 127.0.0.1.
    #[arg(long, default_value_t = 4,
        value_parser = clap::value_parser!(u64).range(1..=testnet::NODES_MAX as u64))]
    validators: u64,
    /// Transactions per second offered, or `max`: as fast as the validators
    /// accept, with at most --in-flight accepted and not yet committed.
    #[arg(long, default_value = "1000", value_parser = parse_rate)]
    rate: Rate,
    /// How long the load is submitted, e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Spending departments signing the load (with up to 8 ministries, which
    /// sign the allocations), each with its own key.
    #[arg(long, default_value_t = load::DEPARTMENTS_DEFAULT as u64,
        value_parser = clap::value_parser!(u64).range(1..=load::DEPARTMENTS_MAX as u64))]
    signers: u64,
    /// Relative weights of the operations: pay, award, allocate and
    /// confirm-delivery.
    #[arg(long, default_value_t = Mix::default(), value_parser = load::parse_mix)]
    mix: Mix,
    /// With --rate max: transactions to pre-sign (default: what the
    /// calibrated ceiling could commit in --duration, at most 500,000). If
    /// they are all sent before --duration ends, the window ends there.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=load::LOAD_TXS_MAX as u64))]
    txs: Option<u64>,
    /// With --rate max: most transactions accepted and not yet committed on
    /// every validator. Enough to fill blocks at several thousand tx/s with
    /// commits within a second; more only lengthens the queues, and the
    /// latency with them.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    in_flight: u64,
    /// Most transactions in a block (the node's `limits.block_txs`; default:
    /// the node's own).
    #[arg(long, value_name = "N")]
    block_txs: Option<usize>,
    /// Most transaction bytes in a block (`limits.block_bytes`; default: the
    /// node's own).
    #[arg(long, value_name = "BYTES")]
    block_bytes: Option<usize>,
    /// Pause after each commit before the next height
    /// (`consensus.block_interval_ms`). Default: the node's own (500 ms), so
    /// the figures are those of a network as it ships; lower it to trade
    /// bigger blocks for latency.
    #[arg(long, value_name = "MS")]
    block_interval_ms: Option<u64>,
    /// Most transactions in each mempool (`limits.mempool_txs`; default: the
    /// node's own).
    #[arg(long, value_name = "N")]
    mempool_txs: Option<usize>,
    /// Before the nodes start, commit a history of about N transactions
    /// (the bench's own workload, plus a setup per million) into the
    /// validators' stores, fully certified, so that the run measures a
    /// network with a long history behind it. Keep it with --keep to start
    /// its nodes again, verify it or sync from it.
    #[arg(long, value_name = "N", default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(0..=HISTORY_TXS_MAX))]
    history: u64,
    /// Readers of an explorer during the run, on a full node started for
    /// them, each fetching its pages in turn with a pause (see `readers`);
    /// their latencies are reported by page.
    #[arg(long, value_name = "N", default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(0..=READERS_MAX))]
    readers: u64,
    /// Seed of the load's choices (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Write the network (homes, stores, keys, node logs) into DIR and keep
    /// it; by default it goes to a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Only measure this machine's signature verification and the ceiling
    /// it sets; start nothing.
    #[arg(long)]
    calibrate: bool,
}

impl BenchArgs {
    fn configure(&self, c: &mut Config) {
        if let Some(n) = self.block_txs {
            c.limits.block_txs = n;
        }
        if let Some(n) = self.block_bytes {
            c.limits.block_bytes = n;
        }
        if let Some(n) = self.mempool_txs {
            c.limits.mempool_txs = n;
        }
        if let Some(ms) = self.block_interval_ms {
            c.consensus.block_interval_ms = ms;
        }
        if self.readers > 0 {
            // The readers all come from 127.0.0.1: one client to the
            // explorer's limits, which must not be what is measured.
            c.explorer.requests_per_second = u32::MAX;
            c.explorer.burst = u32::MAX;
        }
    }
}

fn now_ms() -> u64 {
    crate::testnet::now_ms()
}

/// Runs `minhbach bench`.
pub fn run(args: BenchArgs, output: Output) -> anyhow::Result<u8> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C and SIGTERM handler")?;
    let validators = args.validators as usize;
    let world = World::new(args.signers as usize);
    let year = crate::devnet::year_of(now_ms());
    let per = Duration::from_millis(CALIBRATE_MS);

    if args.calibrate {
        let keys: BTreeMap<EntityId, SigningKey> = world
            .entities()
            .into_iter()
            .map(|e| (e.id, SigningKey::generate()))
            .collect();
        eprintln!("bench: measuring signature verification on one core");
        let calibration = calibrate::measure(&samples(&world, &keys, year), per);
        print_calibration(&calibration, validators, output);
        return Ok(0);
    }

    if let Rate::PerSecond(_) = args.rate {
        if args.txs.is_some() {
            return Err(UsageError {
                flag: "--txs",
                message: "only with --rate max; at a fixed rate the count is rate × duration"
                    .into(),
            }
            .into());
        }
    }

    // The network.
    let temp;
    let out = match &args.keep {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("minhbach-bench-")
                .tempdir()
                .context("cannot make a temporary folder")?;
            temp.path().join("net")
        }
    };
    let mut settings = Config::default();
    args.configure(&mut settings);
    let history_spec = history::HistorySpec {
        txs: args.history,
        round_txs: history::ROUND_TXS,
        block_txs: settings.limits.block_txs,
        block_bytes: settings.limits.block_bytes,
        seed: args.seed.unwrap_or_else(now_ms).wrapping_add(1),
        year,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let spec = TestnetSpec {
        chain_id: load::CHAIN_ID.into(),
        genesis_time_ms: history::genesis_time_ms(&history_spec, &world, now_ms()),
        currency: Currency::default(),
        validators,
        // The readers' explorer runs where an operator would put it: on a
        // full node, so that readers and consensus share no lock.
        full_nodes: usize::from(args.readers > 0),
        entities: world.entities(),
        ports: Ports::Free,
        explorers: Explorers::FullNodes,
    };
    let plan = testnet::generate_with(&spec, &out, |_, c| args.configure(c))?;
    let mut keys = BTreeMap::new();
    for e in &plan.entities {
        keys.insert(e.id.clone(), read_key_file(&e.key_file)?);
    }
    let (after, history_height) = if args.history > 0 {
        eprintln!("bench: building a history of {} transactions", args.history);
        let built = history::build(&plan, &world, &keys, &history_spec)?;
        eprintln!(
            "bench: history of {} transactions in {} blocks ({:.0} s signing, {:.0} s making and committing blocks)",
            built.txs, built.height.0, built.signing_s, built.committing_s
        );
        (built.after, built.height)
    } else {
        (load::After::default(), ledger::Height(0))
    };
    let settings = NodeSettings {
        block_txs: settings.limits.block_txs,
        block_bytes: settings.limits.block_bytes,
        block_interval_ms: settings.consensus.block_interval_ms,
        mempool_txs: settings.limits.mempool_txs,
    };

    eprintln!("bench: measuring signature verification on one core");
    let calibration = calibrate::measure(&samples(&world, &keys, year), per);
    let ceiling = calibration.ceiling_tx_per_s(validators);
    if interrupted.load(Ordering::SeqCst) {
        return Ok(EXIT_FAILED);
    }

    // The load, signed before the clock starts.
    let duration_s = args.duration.as_secs_f64();
    if duration_s < 0.1 {
        return Err(UsageError {
            flag: "--duration",
            message: "must be at least 100ms".into(),
        }
        .into());
    }
    let (pace, txs) = match args.rate {
        Rate::PerSecond(per_s) => {
            let txs = (per_s * duration_s).ceil() as usize;
            if txs > load::LOAD_TXS_MAX {
                return Err(UsageError {
                    flag: "--duration",
                    message: format!(
                        "--rate × --duration is {txs} transactions, more than the {} a run \
                         signs beforehand",
                        load::LOAD_TXS_MAX
                    ),
                }
                .into());
            }
            (Pace::Rate { per_s }, txs)
        }
        Rate::Max => {
            let default = ((ceiling * duration_s) as usize).clamp(1, MAX_RATE_TXS_DEFAULT_MAX);
            let txs = args.txs.map_or(default, |t| t as usize);
            let in_flight_max = args.in_flight;
            (Pace::Max { in_flight_max }, txs)
        }
    };
    let seed = args.seed.unwrap_or_else(now_ms);
    let load_spec = LoadSpec {
        txs,
        mix: args.mix.clone(),
        seed,
        validators,
        year,
    };
    let signing = Instant::now();
    let planned = load::plan_after(&world, load::CHAIN_ID, &load_spec, after);
    let cores = calibration.cores;
    let setup: Vec<Vec<Signed>> = planned
        .setup
        .iter()
        .map(|phase| load::sign_all(&phase.iter().collect::<Vec<_>>(), &keys, cores))
        .collect();
    let bodies: Vec<&TxBody> = planned.load.iter().map(|p| &p.body).collect();
    let signed = load::sign_all(&bodies, &keys, cores);
    let pinned: Vec<usize> = planned.load.iter().map(|p| p.validator).collect();
    drop(bodies);
    drop(planned);
    eprintln!(
        "bench: signed {} setup and {} load transactions of {} signers in {:.1} s (seed {seed})",
        setup.iter().map(Vec::len).sum::<usize>(),
        signed.len(),
        world.load_signers(),
        signing.elapsed().as_secs_f64()
    );
    if interrupted.load(Ordering::SeqCst) {
        return Ok(EXIT_FAILED);
    }

    // The nodes.
    let vals: Vec<&NodePlan> = plan.validators().collect();
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| logs.display().to_string())?;
    let mut nodes = Nodes::start(&plan.nodes, &logs, "bench")?;
    let ready = Duration::from_millis(READY_TIMEOUT_MS);
    match nodes::wait_ready(&vals, &mut nodes, &interrupted, ready)? {
        Waited::Ready => {}
        Waited::Stopped => return Ok(EXIT_FAILED),
        Waited::Exited(code) => return Ok(code),
    }
    let pids = nodes.pids();

    let halt = Halt {
        interrupted: interrupted.clone(),
        done: AtomicBool::new(false),
    };
    let probes: Vec<Probe> = vals.iter().map(|_| Probe::default()).collect();
    let origin = Instant::now();
    let apis: Vec<String> = vals.iter().map(|n| n.api_url()).collect();
    let explorer = plan.explorer_node().and_then(|n| n.explorer_url());
    let pages = readers::pages(&world);
    let measured = std::thread::scope(|scope| {
        let _done = DoneOnDrop(&halt);
        let handles: Vec<_> = apis
            .iter()
            .zip(&probes)
            .map(|(api, probe)| scope.spawn(|| submit::run_probe(api, probe, origin, &halt)))
            .collect();
        let setup_txs = send_setup(&setup, &apis[0], &probes, &mut nodes, &halt)?;
        let reading: Vec<_> = (0..args.readers as usize)
            .filter_map(|i| Some((i, explorer.as_deref()?)))
            .map(|(i, url)| {
                let pages = &pages;
                let halt = &halt;
                scope.spawn(move || readers::run_reader(url, pages, i, origin, halt))
            })
            .collect();
        let Some(mut measured) = measure(
            &mut nodes,
            &pids,
            MeasureIn {
                origin,
                pace,
                duration: args.duration,
                signed: &signed,
                pinned: &pinned,
                probes: &probes,
                apis: &apis,
                setup_txs,
                halt: &halt,
            },
        )?
        else {
            return Ok(None);
        };
        halt.done.store(true, Ordering::SeqCst);
        measured.first_seen = handles
            .into_iter()
            .map(|h| h.join().expect("a probe does not panic"))
            .collect();
        measured.reads = reading
            .into_iter()
            .flat_map(|h| h.join().expect("a reader does not panic"))
            .collect();
        Ok::<_, anyhow::Error>(Some(measured))
    })?;
    let Some(measured) = measured else {
        eprintln!("bench: interrupted; stopping the nodes");
        nodes.stop();
        return Ok(EXIT_FAILED);
    };
    let stopped = nodes.stop();
    if stopped != 0 {
        eprintln!("bench: a node did not stop cleanly; see {}", logs.display());
    }

    let homes: Vec<node::home::Home> = vals.iter().map(|n| n.home()).collect();
    let hashes: Vec<ledger::Hash> = signed.iter().map(|s| s.hash).collect();
    let audit = audit::audit_from(&homes, &hashes, history_height.next())?;
    let report = report::report(ReportIn {
        args: &args,
        world: &world,
        measured: &measured,
        audit: &audit,
        pace,
        settings,
        calibration,
        signed: &signed,
    });
    print_report(&report, output);
    if let Some(dir) = &args.keep {
        eprintln!(
            "bench: the network, its stores and logs are kept in {}",
            dir.display()
        );
    }
    let failed = report.lost > 0 || report.duplicated > 0 || !report.chain_agrees;
    if failed {
        eprintln!(
            "bench: FAILED: {} lost, {} committed more than once, chain {}",
            report.lost,
            report.duplicated,
            if report.chain_agrees {
                "identical on every validator"
            } else {
                "differs between validators"
            }
        );
    }
    Ok(if failed { EXIT_FAILED } else { 0 })
}

/// Sets [`Halt::done`] when dropped, so that the probes and submitters end
/// on every way out of the run, including errors and panics.
struct DoneOnDrop<'a>(&'a Halt);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::SeqCst);
    }
}

/// Transactions of the bench's load for calibration: the first
/// [`calibrate::SAMPLE_TXS`] of a plan, signed.
fn samples(
    world: &World,
    keys: &BTreeMap<EntityId, SigningKey>,
    year: Year,
) -> Vec<(SignedTx, ledger::PublicKey)> {
    let spec = LoadSpec {
        txs: calibrate::SAMPLE_TXS,
        mix: Mix::default(),
        seed: 1,
        validators: 1,
        year,
    };
    let plan = load::plan(world, load::CHAIN_ID, &spec);
    plan.load
        .iter()
        .map(|p| {
            let key = &keys[&p.body.signer];
            (p.body.clone().sign(key), key.public_key())
        })
        .collect()
}
