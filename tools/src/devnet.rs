//! `minhbach devnet`: the one-command local network.
//!
//! The first run writes a network into DIR (genesis from the devnet story,
//! entity keys in `keys/`, one home per node: the validators and one full
//! node that serves the explorer) and `DIR/devnet.json`, which names every
//! node's addresses and every entity's key file. Every run starts each node
//! as a child process (`minhbach node start --home`), logging to
//! `DIR/logs/<name>.log`, waits until the full node is ready, prints where
//! everything is, and feeds demo spending ([`crate::demo`]) until Ctrl-C or
//! SIGTERM. A later run resumes the same chain: the feed continues from the
//! state the nodes committed.
//!
//! Once the nodes are ready, the State Audit Office's witness ([`witness`])
//! follows two of them and cosigns their checkpoints, so that every block
//! page of the explorer names an outside witness behind it (`--no-witness`
//! leaves it out).
//!
//! The nodes and the witness run as children of this process
//! ([`crate::nodes`]): the terminal's Ctrl-C reaches only this process,
//! which then stops them in order. A node or the witness that exits is
//! reported and started again a few seconds later, except a witness that
//! found a fork, which is reported loudly and left down.

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use genesis::{story, Currency, Genesis};
use ledger::crypto::read_key_file;
use ledger::state::ControlRule;
use ledger::{Amount, EntityId, State, Year};
use node::testnet::{self, Explorers, NetworkPlan, NodePlan, Ports, TestnetSpec};

use crate::client::Client;
use crate::demo::runner::FeedRunner;
use crate::demo::Feed;
use crate::nodes::{self, Nodes, Waited};
use crate::testnet::{now_ms, role_name};

use self::witness::{Witness, WitnessHome};

pub mod witness;

/// How long the full node has to become ready after the nodes start.
const READY_TIMEOUT_MS: u64 = 120_000;
/// Longest pause of the supervising loop, so Ctrl-C and exits are noticed.
const LOOP_SLEEP_MS_MAX: u64 = 100;
/// Fastest demo pace accepted, in transactions per second.
const RATE_PER_S_MAX: f64 = 1_000.0;
/// How long a node that died stays down before the devnet starts it again.
pub const RESTART_AFTER_MS: u64 = 3_000;
/// Validators of a new devnet unless `--validators` says otherwise.
const VALIDATORS_DEFAULT: u64 = 4;

/// `minhbach devnet`.
#[derive(Args)]
pub struct DevnetArgs {
    /// Validators of a new devnet (default 4); a devnet that exists keeps its own.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=32))]
    validators: Option<u64>,
    /// The devnet's folder.
    #[arg(long, default_value = "./devnet")]
    dir: PathBuf,
    /// Start the network without feeding demo spending.
    #[arg(long)]
    no_demo: bool,
    /// For a new devnet: node i listens on P+10i (p2p), +1 (API) and +2
    /// (explorer). Without it, ports free right now are picked.
    #[arg(long, value_name = "P")]
    base_port: Option<u16>,
    /// Demo transactions per second.
    #[arg(long, default_value_t = 5.0, value_parser = parse_rate)]
    rate: f64,
    /// Seed of the demo's choices (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Leave a node or the witness that dies down, instead of starting it
    /// again after a few seconds; the others go on either way.
    #[arg(long)]
    no_restart: bool,
    /// Start the network without the State Audit Office's witness (KTNN),
    /// which otherwise cosigns the chain's checkpoints.
    #[arg(long)]
    no_witness: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if rate > 0.0 && rate <= RATE_PER_S_MAX {
        Ok(rate)
    } else {
        Err(format!("must be above 0 and at most {RATE_PER_S_MAX}"))
    }
}

/// Runs `minhbach devnet` until Ctrl-C or SIGTERM (exit 0). A node that
/// dies is reported and, unless `--no-restart`, started again
/// [`RESTART_AFTER_MS`] later, while the others go on.
pub fn run(args: DevnetArgs) -> anyhow::Result<u8> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C and SIGTERM handler")?;

    let plan_path = args.dir.join("devnet.json");
    let (plan, fresh) = if plan_path.exists() {
        let plan = NetworkPlan::load(&plan_path)?;
        if args.validators.is_some() || args.base_port.is_some() {
            eprintln!(
                "devnet: {} exists, so --validators and --base-port are ignored; \
                 remove {} for a new devnet",
                plan_path.display(),
                args.dir.display()
            );
        }
        (plan, false)
    } else {
        (create(&args, &plan_path)?, true)
    };
    check_ports_free(&plan)?;
    let genesis = Genesis::load(&plan.genesis)?;
    let state = if fresh {
        genesis.state()
    } else {
        committed_state(&plan, &genesis)?
    };
    let validators = plan.validators().count();
    if fresh {
        eprintln!(
            "devnet: new chain {} with {validators} validators and {} full node(s) in {}",
            plan.chain_id,
            plan.nodes.len() - validators,
            args.dir.display()
        );
    } else {
        eprintln!(
            "devnet: resuming chain {} at height {} from {}",
            plan.chain_id,
            state.height(),
            args.dir.display()
        );
    }

    let witness_home = if args.no_witness {
        None
    } else {
        let exe = std::env::current_exe().context("cannot find this program's path")?;
        witness::prepare(&exe, &plan, &args.dir, "devnet")?
    };
    let logs = args.dir.join("logs");
    fs::create_dir_all(&logs).with_context(|| logs.display().to_string())?;
    let mut nodes = Nodes::start(&plan.nodes, &logs, "devnet")?;
    let Some(ready_node) = plan.explorer_node().or(plan.nodes.last()) else {
        bail!("{} lists no nodes", plan_path.display());
    };
    let ready_timeout = Duration::from_millis(READY_TIMEOUT_MS);
    match nodes::wait_ready(&[ready_node], &mut nodes, &stop, ready_timeout)? {
        Waited::Ready => {}
        Waited::Stopped => return Ok(nodes.stop()),
        Waited::Exited(code) => return Ok(code),
    }
    let followed = witness_nodes(&plan, ready_node);
    // Declared after the nodes, so dropped (stopped) before them.
    let mut witness = match &witness_home {
        Some(home) => {
            let urls: Vec<String> = followed.iter().map(|n| n.api_url()).collect();
            Some(Witness::start(home.clone(), &urls, &logs, "devnet")?)
        }
        None => None,
    };
    let watching = witness_home.as_ref().map(|h| (h, followed.as_slice()));
    print_where(&plan, &plan_path, &logs, watching, args.no_witness);

    let mut runner = if args.no_demo {
        None
    } else {
        Some(demo_runner(&plan, &genesis, state, ready_node, &args)?)
    };
    loop {
        if stop.load(Ordering::SeqCst) {
            eprintln!("devnet: stopping");
            let witness_code = witness.as_mut().map_or(0, Witness::stop);
            return Ok(nodes.stop().max(witness_code));
        }
        let restart_after = (!args.no_restart).then(|| Duration::from_millis(RESTART_AFTER_MS));
        nodes.tend(restart_after)?;
        if let Some(w) = witness.as_mut() {
            w.tend(restart_after)?;
        }
        let now = Instant::now();
        let mut wake = now + Duration::from_millis(LOOP_SLEEP_MS_MAX);
        if let Some(r) = runner.as_mut() {
            r.step(now);
            wake = wake.min(r.next_wake());
        }
        let pause = wake.saturating_duration_since(Instant::now());
        std::thread::sleep(pause.max(Duration::from_millis(1)));
    }
}

/// Writes a new devnet into `args.dir` and its plan to `plan_path`.
fn create(args: &DevnetArgs, plan_path: &Path) -> anyhow::Result<NetworkPlan> {
    if args.dir.exists() && fs::read_dir(&args.dir)?.next().is_some() {
        bail!(
            "{} exists but holds no devnet.json; choose another --dir, or empty it for a new devnet",
            args.dir.display()
        );
    }
    let spec = TestnetSpec {
        chain_id: story::CHAIN_ID.into(),
        genesis_time_ms: now_ms(),
        currency: Currency::default(),
        validators: args.validators.unwrap_or(VALIDATORS_DEFAULT) as usize,
        full_nodes: 1,
        entities: story::entities(),
        ports: args.base_port.map_or(Ports::Free, Ports::Base),
        explorers: Explorers::FullNodes,
    };
    let governance = testnet::Governance {
        key_sets: vec![(
            EntityId::new(story::TREASURY).expect("a story id"),
            story::TREASURY_KEYS.0,
            story::TREASURY_KEYS.1,
        )],
        rotation_delay: Some(story::ROTATION_DELAY_BLOCKS),
        control: vec![ControlRule {
            ministry: None,
            amount: Amount(story::CONTROL_FROM_VND),
            controller: EntityId::new(story::CONTROLLER).expect("a story id"),
        }],
    };
    let plan = testnet::generate_governed(&spec, &governance, &args.dir, |_, _| {})?;
    plan.save(plan_path)?;
    Ok(plan)
}

/// Refuses to start when a port of the devnet is taken, which usually means
/// the devnet is already running.
fn check_ports_free(plan: &NetworkPlan) -> anyhow::Result<()> {
    for n in &plan.nodes {
        let p2p_port: u16 = n
            .p2p
            .rsplit('/')
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("{}: p2p address {:?} has no port", n.name, n.p2p))?;
        let addrs = [
            (
                "p2p",
                Some(std::net::SocketAddr::from(([127, 0, 0, 1], p2p_port))),
            ),
            ("API", Some(n.api)),
            ("explorer", n.explorer),
        ];
        for (what, addr) in addrs {
            let Some(addr) = addr else { continue };
            if let Err(e) = TcpListener::bind(addr) {
                bail!(
                    "{} of {} cannot listen on {addr}: {e}; is this devnet already running?",
                    what,
                    n.name
                );
            }
        }
    }
    Ok(())
}

/// The state of the node that committed the most, read before the nodes start.
fn committed_state(plan: &NetworkPlan, genesis: &Genesis) -> anyhow::Result<State> {
    let mut best: Option<State> = None;
    for n in &plan.nodes {
        let home = n.home();
        if !home.data_dir().is_dir() {
            continue;
        }
        let (_store, state) = match home.open_store(genesis) {
            Ok(opened) => opened,
            Err(node::home::HomeError::Store { source, .. })
                if matches!(*source, ledger::store::StoreError::OlderFormat { .. }) =>
            {
                bail!(
                    "{} holds a devnet chain from an earlier version, made under other \
                     rules, so it cannot be resumed; remove the devnet folder (the one \
                     holding devnet.json) for a new devnet ({source})",
                    n.name
                );
            }
            Err(node::home::HomeError::Store { source, .. })
                if matches!(*source, ledger::store::StoreError::NeedsMigration { .. }) =>
            {
                bail!(
                    "{} holds a devnet chain of an earlier store format: run `minhbach \
                     migrate --home {}` on each node's home, then start the devnet again \
                     ({source})",
                    n.name,
                    home.root().display()
                );
            }
            Err(e) => return Err(e).with_context(|| format!("reading the store of {}", n.name)),
        };
        match &best {
            Some(b) if b.height() >= state.height() => {}
            _ => best = Some(state),
        }
    }
    Ok(best.unwrap_or_else(|| genesis.state()))
}

/// The nodes the witness follows: the one the devnet waited for, and
/// another (a validator if there is one), so that a split view between
/// the two would show.
fn witness_nodes<'a>(plan: &'a NetworkPlan, ready: &'a NodePlan) -> Vec<&'a NodePlan> {
    let other = plan
        .validators()
        .chain(&plan.nodes)
        .find(|n| n.name != ready.name);
    std::iter::once(ready).chain(other).collect()
}

fn print_where(
    plan: &NetworkPlan,
    plan_path: &Path,
    logs: &Path,
    witness: Option<(&WitnessHome, &[&NodePlan])>,
    no_witness: bool,
) {
    let mut lines = vec![String::from("devnet: ready")];
    if let Some(url) = plan.explorer_node().and_then(NodePlan::explorer_url) {
        lines.push(format!("  explorer     {url}"));
    }
    for n in &plan.nodes {
        lines.push(format!(
            "  API          {}  ({}, {})",
            n.api_url(),
            n.name,
            role_name(n.role)
        ));
    }
    match witness {
        Some((home, followed)) => {
            let names: Vec<&str> = followed.iter().map(|n| n.name.as_str()).collect();
            lines.push(format!(
                "  witness      {} ({}), cosigning the checkpoints of {}; home {}",
                home.id,
                home.name,
                names.join(" and "),
                home.dir.display()
            ));
        }
        None if no_witness => lines.push("  witness      none (--no-witness)".into()),
        None => lines.push("  witness      none".into()),
    }
    lines.push(format!(
        "  devnet.json  {}  (nodes, entities and their key files)",
        plan_path.display()
    ));
    let witness_log = witness.map_or(String::new(), |(h, _)| {
        format!(", {}.log", h.process_name())
    });
    lines.push(format!(
        "  logs         {}/<node>.log{witness_log}",
        logs.display()
    ));
    lines.push("  Ctrl-C stops the network; running devnet again resumes the same chain.".into());
    eprintln!("{}", lines.join("\n"));
}

fn demo_runner(
    plan: &NetworkPlan,
    genesis: &Genesis,
    state: State,
    node: &NodePlan,
    args: &DevnetArgs,
) -> anyhow::Result<FeedRunner> {
    let mut keys = BTreeMap::new();
    for e in &plan.entities {
        let held = e
            .key_files()
            .map(|f| read_key_file(f))
            .collect::<Result<Vec<_>, _>>()?;
        keys.insert(e.id.clone(), held);
    }
    let first_year = year_of(genesis.genesis_time_ms);
    let seed = args.seed.unwrap_or_else(now_ms);
    let feed = Feed::new(state, first_year, seed);
    eprintln!(
        "devnet: demo spending at {} tx/s to {} (seed {seed}; --no-demo to leave it out)",
        args.rate,
        node.api_url()
    );
    Ok(FeedRunner::new(
        Client::new(&node.api_url(), None)?,
        feed,
        keys,
        args.rate,
        Instant::now(),
    ))
}

/// The calendar year of a time in ms since the epoch, as a fiscal year.
pub fn year_of(ms: u64) -> Year {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms);
    let text = humantime::format_rfc3339(t).to_string();
    text.get(..4)
        .and_then(|y| y.parse().ok())
        .and_then(|y| Year::new(y).ok())
        .unwrap_or(Year(2026))
}
