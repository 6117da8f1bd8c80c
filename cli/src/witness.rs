//! `minhbach witness`: a witness cosigns the chain's checkpoints, so that a
//! rewrite of history, or two histories shown to two audiences, cannot go
//! unnoticed.
//!
//! A witness is an entity of kind `observer` (an audit office, a press
//! agency, a university) running `minhbach witness run` against one or
//! more nodes. It cosigns a checkpoint only if the checkpoint verifies from
//! the genesis file alone and extends, by a consistency proof, the last one
//! it cosigned; it remembers that one in its home across restarts and
//! crashes. Two certified blocks at one height are a fork: the witness
//! writes the proof and stops with [`EXIT_FORK`]; `minhbach verify fork`
//! checks such a proof offline.
//!
//! - [`home`]: the files of a witness's home, and how they are written;
//! - [`recent`]: the checkpoints cosigned before the last, kept for the
//!   earlier pairs of a fork proof;
//! - [`follow`]: the rounds of `witness run`;
//! - [`behind`]: comparing a node behind with the cosigned history;
//! - [`changes`]: the validator-set changes a checkpoint must list;
//! - [`fork`]: `verify fork` and the description of a fork.

pub mod behind;
pub mod changes;
pub mod follow;
pub mod fork;
pub mod home;
pub mod recent;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use genesis::Genesis;
use ledger::crypto::{read_key_file, SigningKey};
use ledger::EntityId;
use serde_json::json;
use tools::client::Client;

use self::follow::Follower;
use self::home::{registration, Registration, WitnessConfig, WitnessHome, GENESIS_FILE};
use crate::render::render;
use crate::tx::parse_entity_id;
use crate::{Output, UsageError};

/// Exit code of `witness run` when it has found a fork.
pub const EXIT_FORK: u8 = 4;

/// A witness of the chain.
#[derive(Subcommand, Clone, Debug)]
pub enum WitnessCommand {
    /// Make a witness home: the genesis file, a key (mode 0600) and the
    /// witness's id. Prints the public key, for the treasury to register
    /// the witness as an observer (`minhbach tx register-entity --kind
    /// observer`).
    Init(InitArgs),
    /// Follow nodes (`--node`, repeated for each) and cosign each checkpoint
    /// that verifies from the genesis file and extends the last one
    /// cosigned, until Ctrl-C or SIGTERM.
    ///
    /// Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 the home cannot be
    /// read or written (a state file that cannot be read stops the witness
    /// rather than letting it start afresh); 2 usage; 4 a fork: a node
    /// serves, at a height already cosigned, another block certified by
    /// the validators (or, behind, another block than the cosigned
    /// history holds at its height). The fork proof is then written to
    /// DIR/fork-proof-<height>.json, with the node's other blocks at the
    /// heights cosigned just before; the validators who certified blocks
    /// of both histories are named on stderr, and the witness cosigns
    /// nothing more; check the proof with `minhbach verify fork`.
    Run(RunArgs),
}

/// `witness init`'s flags.
#[derive(Args, Clone, Debug)]
pub struct InitArgs {
    /// The witness's home, made if absent.
    #[arg(long, value_name = "DIR")]
    pub home: PathBuf,
    /// The witness's entity id, e.g. KTNN, as the treasury registers it.
    #[arg(long, value_name = "ID", value_parser = parse_entity_id)]
    pub id: EntityId,
    /// The chain's genesis file, copied into the home.
    #[arg(long, value_name = "FILE")]
    pub genesis: PathBuf,
    /// An existing key file (mode 0600) to copy into the home instead of
    /// making a new key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// `witness run`'s flags.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// The witness's home, made by `minhbach witness init`.
    #[arg(long, value_name = "DIR")]
    pub home: PathBuf,
    /// A node to follow: its API's URL. Repeat for each node; the more
    /// nodes, run by different operators, the harder a split view is to
    /// hide. Without it: MINHBACH_NODE, or http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", value_parser = tools::client::parse_node_url)]
    pub node: Vec<String>,
    /// How often to ask each node for its latest checkpoint, in
    /// milliseconds.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(10..=3_600_000)
    )]
    pub interval_ms: u64,
}

/// Runs `minhbach witness ...`; `ca_file` is the global `--ca-file`.
pub fn run(command: WitnessCommand, output: Output, ca_file: Option<&Path>) -> anyhow::Result<u8> {
    match command {
        WitnessCommand::Init(args) => init(args, output),
        WitnessCommand::Run(args) => {
            let mut urls: Vec<&String> = Vec::new();
            for url in &args.node {
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
            if urls.is_empty() {
                return Err(UsageError {
                    flag: "--node",
                    message: "name each node to follow with --node URL".into(),
                }
                .into());
            }
            let clients = urls
                .iter()
                .map(|url| Client::new(url, ca_file))
                .collect::<anyhow::Result<Vec<_>>>()?;
            follow(args, output, clients)
        }
    }
}

fn init(args: InitArgs, output: Output) -> anyhow::Result<u8> {
    let genesis_bytes = std::fs::read(&args.genesis).map_err(|e| UsageError {
        flag: "--genesis",
        message: format!("{}: {e}", args.genesis.display()),
    })?;
    let genesis = Genesis::from_json_bytes(&genesis_bytes).map_err(|e| UsageError {
        flag: "--genesis",
        message: format!("{}: {e}", args.genesis.display()),
    })?;
    let key = match &args.key {
        Some(path) => read_key_file(path).map_err(|e| UsageError {
            flag: "--key",
            message: e.to_string(),
        })?,
        None => SigningKey::generate(),
    };
    let config = WitnessConfig {
        id: args.id,
        public_key: key.public_key(),
    };
    let home = WitnessHome::new(&args.home);
    home.init(&config, &key, &genesis_bytes)?;
    let registered = registration(&genesis, &config.id, &config.public_key);
    let answer = json!({
        "id": config.id.as_str(),
        "public_key": config.public_key.to_hex(),
        "home": args.home.display().to_string(),
        "chain_id": genesis.chain_id,
        "registered_in_genesis": registered == Registration::Registered,
    });
    print!("{}", render(&answer, output, None));
    let id = &config.id;
    let register = format!(
        "the treasury registers it with `minhbach tx register-entity --id {id} --kind observer \
         --name NAME --public-key {}` (signed with the treasury's key)",
        config.public_key
    );
    match registered {
        Registration::Registered => eprintln!(
            "made the witness home {}; {GENESIS_FILE} registers {id} as an observer with this \
             key, so nodes take its cosignatures from the start",
            args.home.display()
        ),
        Registration::Absent => eprintln!(
            "made the witness home {}.\nwarning: {GENESIS_FILE} has no entity {id}: nodes take \
             its cosignatures once {register}",
            args.home.display()
        ),
        Registration::Other { kind, same_key } => eprintln!(
            "made the witness home {}.\nwarning: {GENESIS_FILE} has an entity {id} of kind {} \
             {}: nodes take cosignatures only from an observer holding the witness's key; \
             unless the chain changed that since, {register}",
            args.home.display(),
            kind.as_str(),
            if same_key {
                "with this key"
            } else {
                "with another key"
            }
        ),
    }
    Ok(0)
}

fn follow(args: RunArgs, output: Output, clients: Vec<Client>) -> anyhow::Result<u8> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Listened for before anything else, so that a signal while the home is
    // opened (and its log repaired) stops the run cleanly, not by default.
    let (mut term, mut int) = runtime.block_on(async {
        let listen =
            |kind, name| signal(kind).map_err(|e| anyhow::anyhow!("cannot listen for {name}: {e}"));
        anyhow::Ok((
            listen(SignalKind::terminate(), "SIGTERM")?,
            listen(SignalKind::interrupt(), "Ctrl-C")?,
        ))
    })?;
    let home = WitnessHome::new(&args.home);
    let opened = home.open()?;
    let follower = Follower::new(home, opened, output)?;
    let interval = Duration::from_millis(args.interval_ms);
    let result = runtime.block_on(async move {
        tokio::select! {
            // Polled first: a signal ends the run at the next pause, never
            // in the middle of writing the state and signing.
            biased;
            _ = int.recv() => Ok(0),
            _ = term.recv() => Ok(0),
            result = follower.run(clients, interval) => result,
        }
    });
    // A request still in flight is abandoned, not waited for.
    runtime.shutdown_background();
    if result.as_ref().is_ok_and(|code| *code == 0) {
        eprintln!("stopped");
    }
    result
}
