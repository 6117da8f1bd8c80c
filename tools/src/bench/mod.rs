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
pub mod load;
pub mod procfs;
pub mod stats;
pub mod submit;

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use genesis::Currency;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger::crypto::{read_key_file, SigningKey};
use ledger::tx::TxBody;
use ledger::{EntityId, SignedTx, Year};
use node::config::Config;
use node::testnet::{self, Explorers, NodePlan, Ports, TestnetSpec};
use serde::Serialize;

use self::calibrate::Calibration;
use self::load::{LoadSpec, Mix, Signed, World};
use self::submit::{Fate, Halt, Pace, Probe, Run};
use crate::nodes::{self, Nodes, Waited};
use crate::{Output, UsageError, EXIT_FAILED};

/// Highest `--rate`, in transactions per second.
pub const RATE_PER_S_MAX: f64 = 1_000_000.0;
/// With `--rate max` and no `--txs`: at most this many are pre-signed
/// (about 300 MB and 10 s of signing on two cores).
pub const MAX_RATE_TXS_DEFAULT_MAX: usize = 500_000;
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
    /// sign the allocations).
    #[arg(long, default_value_t = 128,
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
    }
}

/// The ceiling in the report.
#[derive(Clone, Copy, Debug, Serialize)]
struct Ceiling {
    #[serde(flatten)]
    calibration: Calibration,
    ceiling_tx_per_s: f64,
    /// The run's committed rate as a share of the ceiling.
    #[serde(skip_serializing_if = "Option::is_none")]
    percent_of_ceiling: Option<f64>,
}

/// CPU and memory of one process.
#[derive(Clone, Debug, Serialize)]
struct Usage {
    name: String,
    /// CPU time used from the start to the end of the submission, ÷ that
    /// time × 100 (above 100 when the process used more than one core).
    cpu_percent: Option<f64>,
    /// The largest resident set it had, in bytes.
    peak_rss_bytes: Option<u64>,
}

/// The node settings of the run.
#[derive(Clone, Debug, Serialize)]
struct NodeSettings {
    block_txs: usize,
    block_bytes: usize,
    block_interval_ms: u64,
    mempool_txs: usize,
}

/// The last line of stdout.
#[derive(Debug, Serialize)]
struct Report {
    validators: usize,
    signers: usize,
    mix: String,
    rate: String,
    offered_tx_per_s: f64,
    duration_s: f64,
    txs_planned: usize,
    sent: u64,
    unsent: u64,
    accepted: u64,
    refused: BTreeMap<String, u64>,
    committed: u64,
    committed_in_window: u64,
    committed_tx_per_s: f64,
    latency_ms: Option<stats::Percentiles>,
    submit_lag_ms: Option<stats::Percentiles>,
    blocks_in_window: u64,
    blocks_per_s: f64,
    txs_per_block: f64,
    lost: u64,
    duplicated: u64,
    untracked: u64,
    /// `complete`, or why the wait for the last commits gave up.
    drain: String,
    chain_agrees: bool,
    heights: Vec<u64>,
    nodes: Vec<Usage>,
    bench: Usage,
    clock_ticks_per_s: u64,
    node_settings: NodeSettings,
    ceiling: Ceiling,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
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
    let spec = TestnetSpec {
        chain_id: load::CHAIN_ID.into(),
        genesis_time_ms: now_ms(),
        currency: Currency::default(),
        validators,
        full_nodes: 0,
        entities: world.entities(),
        ports: Ports::Free,
        explorers: Explorers::FullNodes,
    };
    let plan = testnet::generate_with(&spec, &out, |_, c| args.configure(c))?;
    let mut keys = BTreeMap::new();
    for e in &plan.entities {
        keys.insert(e.id.clone(), read_key_file(&e.key_file)?);
    }
    let mut settings = Config::default();
    args.configure(&mut settings);
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
    let planned = load::plan(&world, load::CHAIN_ID, &load_spec);
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
    let measured = std::thread::scope(|scope| {
        let _done = DoneOnDrop(&halt);
        let handles: Vec<_> = apis
            .iter()
            .zip(&probes)
            .map(|(api, probe)| scope.spawn(|| submit::run_probe(api, probe, origin, &halt)))
            .collect();
        let setup_txs = send_setup(&setup, &apis[0], &probes, &mut nodes, &halt)?;
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
    let audit = audit::audit(&homes, &hashes)?;
    let report = report(ReportIn {
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

/// Waits until every probe reports at least `txs` committed transactions.
/// `Ok(false)` if interrupted.
fn wait_committed(
    txs: u64,
    probes: &[Probe],
    nodes: &mut Nodes,
    halt: &Halt,
    timeout: Duration,
    what: &str,
) -> anyhow::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if halt.is_set() {
            return Ok(false);
        }
        if nodes.check_exits().is_some() {
            bail!("a node exited during {what}");
        }
        let least = probes
            .iter()
            .map(|p| p.committed_txs.load(Ordering::SeqCst))
            .min()
            .unwrap_or(0);
        if least >= txs {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            bail!(
                "{what}: {least} of {txs} transactions committed on every validator after {} s",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(submit::PROBE_INTERVAL_MS));
    }
}

/// Sends the setup phases to one validator, each once the previous one is
/// committed on every validator; returns how many transactions they hold.
fn send_setup(
    setup: &[Vec<Signed>],
    api: &str,
    probes: &[Probe],
    nodes: &mut Nodes,
    halt: &Halt,
) -> anyhow::Result<u64> {
    let client = submit::submit_client();
    let url = format!("{api}/v1/txs/batch");
    let mut total = 0;
    let names = ["appropriations", "allocations", "contract awards"];
    for (i, phase) in setup.iter().enumerate() {
        let what = format!("the setup's {}", names.get(i).unwrap_or(&"phase"));
        for chunk in phase.chunks(submit::BATCH_TXS_MAX) {
            let body = submit::batch_body(chunk.iter().map(|s| s.bytes.as_slice()));
            let results = submit::post_batch(&client, &url, body, chunk.len())
                .map_err(|r| anyhow::anyhow!("{what}: {}: {}", r.code, r.message))?;
            for (s, r) in chunk.iter().zip(results) {
                match r {
                    Ok(hash) if hash == s.hash.0 => {}
                    Ok(_) => bail!("{what}: the node answered another hash for {}", s.hash),
                    Err(r) => bail!("{what}: {} refused: {}: {}", s.hash, r.code, r.message),
                }
            }
        }
        total += phase.len() as u64;
        let timeout = Duration::from_millis(SETUP_PHASE_TIMEOUT_MS);
        if !wait_committed(total, probes, nodes, halt, timeout, &what)? {
            return Ok(total);
        }
        eprintln!("bench: {what} committed ({} transactions)", phase.len());
    }
    Ok(total)
}

/// What [`measure`] needs.
struct MeasureIn<'a> {
    origin: Instant,
    pace: Pace,
    duration: Duration,
    signed: &'a [Signed],
    /// The validator each load transaction goes to.
    pinned: &'a [usize],
    probes: &'a [Probe],
    apis: &'a [String],
    setup_txs: u64,
    halt: &'a Halt,
}

/// What a run recorded.
struct Measured {
    /// One per load transaction, in load order.
    sent: Vec<submit::Sent>,
    /// Per validator, by height: first seen (ns since the origin).
    first_seen: Vec<Vec<Option<u64>>>,
    start_ns: u64,
    end_ns: u64,
    /// CPU ticks of each node and of this process at the start and end of
    /// the submission, and the seconds between the two samples.
    cpu: Vec<(Option<u64>, Option<u64>)>,
    cpu_s: f64,
    peak_rss: Vec<Option<u64>>,
    drain: String,
}

/// The submission window and the drain after it. `Ok(None)` if interrupted.
fn measure(
    nodes: &mut Nodes,
    pids: &[(String, u32)],
    m: MeasureIn<'_>,
) -> anyhow::Result<Option<Measured>> {
    if m.halt.is_set() {
        return Ok(None);
    }
    let validators = m.apis.len();
    let mut mine: Vec<Vec<usize>> = vec![Vec::new(); validators];
    for (i, v) in m.pinned.iter().enumerate() {
        mine[*v].push(i);
    }
    let start = Instant::now() + Duration::from_millis(START_LEAD_MS);
    let end = start + m.duration;
    let run = Run {
        origin: m.origin,
        start,
        end,
        pace: m.pace,
        signed: m.signed,
        probes: m.probes,
        committed_before: m.setup_txs,
        accepted: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        halt: m.halt,
    };
    let mut all_pids: Vec<u32> = pids.iter().map(|(_, p)| *p).collect();
    all_pids.push(std::process::id());
    let ticks =
        |pids: &[u32]| -> Vec<Option<u64>> { pids.iter().map(|p| procfs::cpu_ticks(*p)).collect() };
    let bar = progress(m.duration, std::io::stderr().is_terminal());
    let (per_validator, cpu) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..validators)
            .map(|v| {
                let (api, mine, run) = (&m.apis[v], &mine[v], &run);
                scope.spawn(move || submit::run_submitter(api, mine, validators, run))
            })
            .collect();
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
        let before = (Instant::now(), ticks(&all_pids));
        while Instant::now() < end && !m.halt.is_set() {
            if nodes.check_exits().is_some() {
                m.halt.done.store(true, Ordering::SeqCst);
                bail!("a node exited during the run");
            }
            let elapsed = start.elapsed().as_millis() as u64;
            bar.set_position(elapsed.min(m.duration.as_millis() as u64));
            bar.set_message(format!(
                "sent {}, accepted {}, committed {}",
                run.sent.load(Ordering::SeqCst),
                run.accepted.load(Ordering::SeqCst),
                run.committed()
            ));
            let wake = (Instant::now() + Duration::from_millis(WATCH_MS)).min(end);
            std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        }
        let after = (Instant::now(), ticks(&all_pids));
        let results: Vec<Vec<submit::Sent>> = handles
            .into_iter()
            .map(|h| h.join().expect("a submitter does not panic"))
            .collect();
        let cpu_s = after.0.duration_since(before.0).as_secs_f64();
        let cpu: Vec<_> = before.1.into_iter().zip(after.1).collect();
        Ok((results, (cpu, cpu_s)))
    })?;
    let (cpu, cpu_s) = cpu;
    if m.halt.is_set() {
        bar.abandon();
        return Ok(None);
    }

    // Every accepted transaction committed on every validator, or give up.
    let accepted = run.accepted.load(Ordering::SeqCst);
    let target = m.setup_txs + accepted;
    bar.set_message(format!("waiting for {accepted} accepted to commit"));
    let deadline = Instant::now() + Duration::from_millis(DRAIN_TIMEOUT_MS);
    let (mut last, mut last_change) = (run.committed(), Instant::now());
    let drain = loop {
        if m.halt.is_set() {
            bar.abandon();
            return Ok(None);
        }
        if nodes.check_exits().is_some() {
            bail!("a node exited while the last transactions were committed");
        }
        let committed = run.committed();
        if committed + m.setup_txs >= target {
            break "complete".to_owned();
        }
        let now = Instant::now();
        if committed != last {
            (last, last_change) = (committed, now);
        }
        if now.duration_since(last_change) >= Duration::from_millis(DRAIN_IDLE_MS) {
            break format!(
                "gave up after {} s without a commit, {committed} of {accepted} committed",
                DRAIN_IDLE_MS / 1000
            );
        }
        if now >= deadline {
            break format!(
                "gave up after {} s, {committed} of {accepted} committed",
                DRAIN_TIMEOUT_MS / 1000
            );
        }
        std::thread::sleep(Duration::from_millis(submit::PROBE_INTERVAL_MS));
    };
    // Every probe must have seen the highest height any has seen, so every
    // committed transaction has a commit instant.
    let top = m
        .probes
        .iter()
        .map(|p| p.height.load(Ordering::SeqCst))
        .max()
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_millis(DRAIN_IDLE_MS);
    while m
        .probes
        .iter()
        .any(|p| p.height.load(Ordering::SeqCst) < top)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(submit::PROBE_INTERVAL_MS));
    }
    bar.finish_and_clear();
    if drain != "complete" {
        eprintln!("bench: draining {drain}");
    }
    let peak_rss = all_pids
        .iter()
        .map(|p| procfs::peak_rss_bytes(*p))
        .collect();

    let mut sent: Vec<Option<submit::Sent>> = vec![None; m.signed.len()];
    for s in per_validator.into_iter().flatten() {
        let i = s.index;
        sent[i] = Some(s);
    }
    let sent: Vec<submit::Sent> = sent
        .into_iter()
        .map(|s| s.expect("every load transaction has a submitter"))
        .collect();
    let ns = |t: Instant| t.duration_since(m.origin).as_nanos() as u64;
    let (start_ns, mut end_ns) = (ns(start), ns(end));
    if let Pace::Max { .. } = m.pace {
        // The load ran out before the end: the window ends where it did.
        let last_sent = sent.iter().map(|s| s.sent_ns).collect::<Option<Vec<_>>>();
        if let Some(last) = last_sent.and_then(|t| t.into_iter().max()) {
            if last < end_ns {
                eprintln!(
                    "bench: all {} transactions were sent {:.1} s into the window, which ends \
                     there; --txs sends more",
                    sent.len(),
                    (last - start_ns) as f64 / 1e9
                );
                end_ns = last.max(start_ns + 1);
            }
        }
    }
    Ok(Some(Measured {
        sent,
        first_seen: Vec::new(),
        start_ns,
        end_ns,
        cpu,
        cpu_s,
        peak_rss,
        drain,
    }))
}

/// The progress of the window on stderr when it is a terminal; nothing
/// otherwise, so pipes and tests see only the report.
fn progress(duration: Duration, terminal: bool) -> ProgressBar {
    if !terminal {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(duration.as_millis() as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("bench [{bar:30}] {elapsed_precise} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// What [`report`] needs.
struct ReportIn<'a> {
    args: &'a BenchArgs,
    world: &'a World,
    measured: &'a Measured,
    audit: &'a audit::Audit,
    pace: Pace,
    settings: NodeSettings,
    calibration: Calibration,
    signed: &'a [Signed],
}

fn report(r: ReportIn<'_>) -> Report {
    let m = r.measured;
    let validators = m.first_seen.len();
    let window_s = (m.end_ns - m.start_ns) as f64 / 1e9;
    let records: Vec<stats::TxRecord> = m
        .sent
        .iter()
        .zip(&r.audit.found)
        .map(|(s, found)| stats::TxRecord {
            due_ns: m.start_ns + r.pace.due_ns(s.index),
            sent_ns: s.sent_ns,
            accepted: s.fate == Fate::Accepted,
            height: match found {
                audit::Found::Once(h) => Some(*h),
                _ => None,
            },
        })
        .collect();
    let mut f = stats::figures(&stats::Recorded {
        txs: &records,
        first_seen: &m.first_seen,
        block_txs: &r.audit.block_txs,
        window_ns: (m.start_ns, m.end_ns),
    });
    if let Pace::Max { .. } = r.pace {
        // Nothing is due at a given time, so there is no lag to speak of.
        f.submit_lag = None;
    }
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    for s in &m.sent {
        if let Fate::Refused(code) = &s.fate {
            *refused.entry(code.clone()).or_default() += 1;
        }
    }
    let count = |p: &dyn Fn(&submit::Sent, &audit::Found) -> bool| {
        m.sent
            .iter()
            .zip(&r.audit.found)
            .filter(|(s, f)| p(s, f))
            .count() as u64
    };
    let accepted = count(&|s, _| s.fate == Fate::Accepted);
    let sent = count(&|s, _| s.sent_ns.is_some());
    let lost = count(&|s, f| s.fate == Fate::Accepted && *f == audit::Found::Missing);
    let duplicated = count(&|_, f| *f == audit::Found::Repeated);
    let ticks_per_s = procfs::clock_ticks_per_s();
    let usage = |name: String, i: usize| {
        let (before, after) = m.cpu[i];
        Usage {
            name,
            cpu_percent: before.zip(after).map(|(b, a)| {
                round1(a.saturating_sub(b) as f64 / ticks_per_s as f64 / m.cpu_s * 100.0)
            }),
            peak_rss_bytes: m.peak_rss[i],
        }
    };
    let nodes = (0..validators)
        .map(|i| usage(format!("validator-{i}"), i))
        .collect();
    let ceiling_tx_per_s = r.calibration.ceiling_tx_per_s(validators);
    let offered = match r.pace {
        Pace::Rate { per_s } => per_s,
        Pace::Max { .. } => sent as f64 / window_s,
    };
    Report {
        validators,
        signers: r.world.load_signers(),
        mix: r.args.mix.to_string(),
        rate: r.args.rate.to_string(),
        offered_tx_per_s: round1(offered),
        duration_s: round1(window_s),
        txs_planned: r.signed.len(),
        sent,
        unsent: r.signed.len() as u64 - sent,
        accepted,
        refused,
        committed: f.committed,
        committed_in_window: f.committed_in_window,
        committed_tx_per_s: round1(f.committed_tx_per_s),
        latency_ms: f.latency,
        submit_lag_ms: f.submit_lag,
        blocks_in_window: f.blocks_in_window,
        blocks_per_s: round1(f.blocks_per_s),
        txs_per_block: round1(f.txs_per_block),
        lost,
        duplicated,
        untracked: f.untracked,
        drain: m.drain.clone(),
        chain_agrees: r.audit.first_divergence.is_none(),
        heights: r.audit.heights.clone(),
        nodes,
        bench: usage("bench".into(), validators),
        clock_ticks_per_s: ticks_per_s,
        node_settings: r.settings,
        ceiling: Ceiling {
            calibration: rounded(r.calibration),
            ceiling_tx_per_s: round1(ceiling_tx_per_s),
            percent_of_ceiling: Some(round1(f.committed_tx_per_s / ceiling_tx_per_s * 100.0)),
        },
    }
}

fn rounded(c: Calibration) -> Calibration {
    Calibration {
        cores: c.cores,
        verify_single_per_s: c.verify_single_per_s.round(),
        verify_batch_64_per_s: c.verify_batch_64_per_s.round(),
        verify_batch_1024_per_s: c.verify_batch_1024_per_s.round(),
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

fn percent(p: Option<f64>) -> String {
    p.map_or("?".into(), |p| format!("{p:.1}%"))
}

fn percentiles(p: &Option<stats::Percentiles>) -> String {
    p.map_or("none".into(), |p| {
        format!("p50 {}  p95 {}  p99 {}  max {}", p.p50, p.p95, p.p99, p.max)
    })
}

fn calibration_lines(c: &Calibration, validators: usize) -> Vec<String> {
    vec![
        format!(
            "  verification, one core   {} /s one by one, {} /s in batches of 64, {} /s in batches of 1024",
            thousands(c.verify_single_per_s),
            thousands(c.verify_batch_64_per_s),
            thousands(c.verify_batch_1024_per_s)
        ),
        format!(
            "  ceiling                  {} tx/s ({} cores × the batch rate ÷ {validators} validators)",
            thousands(c.ceiling_tx_per_s(validators)),
            c.cores
        ),
    ]
}

fn print_calibration(c: &Calibration, validators: usize, output: Output) {
    if output != Output::Json {
        println!("calibration");
        for line in calibration_lines(c, validators) {
            println!("{line}");
        }
    }
    let ceiling = Ceiling {
        calibration: rounded(*c),
        ceiling_tx_per_s: round1(c.ceiling_tx_per_s(validators)),
        percent_of_ceiling: None,
    };
    println!(
        "{}",
        serde_json::json!({"validators": validators, "ceiling": ceiling})
    );
}

fn print_report(r: &Report, output: Output) {
    if output != Output::Json {
        let refused = if r.refused.is_empty() {
            "none".to_owned()
        } else {
            let items: Vec<String> = r.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
            items.join(", ")
        };
        let mut lines = vec![
            format!(
                "bench: {} validators, {} signers ({}), rate {} for {} s",
                r.validators, r.signers, r.mix, r.rate, r.duration_s
            ),
            format!(
                "  accepted                 {} of {} sent ({} unsent; refused: {refused})",
                r.accepted, r.sent, r.unsent
            ),
            format!(
                "  committed                {} ({} lost, {} duplicated{}), chain {} up to height {}",
                r.committed,
                r.lost,
                r.duplicated,
                if r.untracked > 0 {
                    format!(", {} untracked", r.untracked)
                } else {
                    String::new()
                },
                if r.chain_agrees {
                    "identical on every validator"
                } else {
                    "DIFFERS between validators"
                },
                r.heights.iter().min().unwrap_or(&0)
            ),
            format!(
                "  committed tx/s           {} ({} committed within the window; {} tx/s offered)",
                r.committed_tx_per_s, r.committed_in_window, r.offered_tx_per_s
            ),
            format!("  latency ms               {}", percentiles(&r.latency_ms)),
            format!("  submit lag ms            {}", percentiles(&r.submit_lag_ms)),
            format!(
                "  blocks                   {} /s, {} transactions per block",
                r.blocks_per_s, r.txs_per_block
            ),
        ];
        lines.extend(calibration_lines(&r.ceiling.calibration, r.validators));
        if let Some(p) = r.ceiling.percent_of_ceiling {
            lines.push(format!("  share of the ceiling     {p}%"));
        }
        for u in r.nodes.iter().chain([&r.bench]) {
            lines.push(format!(
                "  {:<24} cpu {}, peak memory {}",
                u.name,
                percent(u.cpu_percent),
                mib(u.peak_rss_bytes)
            ));
        }
        for line in lines {
            println!("{line}");
        }
    }
    println!(
        "{}",
        serde_json::to_string(r).expect("a report always serialises")
    );
}
