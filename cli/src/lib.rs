//! `minhbach`, the command line of Minh Bạch.
//!
//! Data goes to stdout, messages to stderr. Exit codes: 0 success; 1 rejected
//! or verification failed; 2 usage; 3 node unreachable; 4 a witness found a
//! fork (`witness run`); 5 the node stopped before a protocol upgrade it
//! does not run (`node start`).

pub mod backup;
pub mod ceremony;
pub mod export;
pub mod migrate;
pub mod proof;
pub mod query;
pub mod render;
pub mod state_proof;
pub mod tx;
pub mod verdict;
pub mod watch;
pub mod witness;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger::crypto::{read_key_file, write_key_file, SigningKey};
use ledger::verify::verify_store;
use ledger::PeerId;
use tools::{bench, client, devnet, nodes, testnet};
pub use tools::{Output, UsageError, EXIT_FAILED};

/// Exit code for bad input: clap's own, [`UsageError`], and a node started
/// on a genesis its config does not pin.
const EXIT_USAGE: u8 = 2;
/// Exit code when the node cannot be reached.
const EXIT_UNREACHABLE: u8 = 3;
/// Exit code of `node start` when the node stopped before a height of a
/// protocol version it does not run: starting it again will not help.
const EXIT_UPGRADE: u8 = 5;

#[derive(Parser)]
#[command(
    name = "minhbach",
    version,
    about = "Minh Bạch: a transparent ledger of public spending"
)]
struct Cli {
    /// How to print data.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// The node's API, for `tx`, `query`, `proof` and `export`.
    #[arg(
        long,
        global = true,
        env = "MINHBACH_NODE",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL",
        value_parser = client::parse_node_url
    )]
    node: String,
    /// PEM certificates to trust, besides the system's, for an https://
    /// `--node` whose certificate comes from a private CA.
    #[arg(long, global = true, env = "MINHBACH_CA_FILE", value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// The chain's genesis file: `tx` signs only for its chain id, and only
    /// if the node reports the same.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "chain_id")]
    genesis: Option<PathBuf>,
    /// The chain `tx` signs for, e.g. minhbach-devnet; the node must report
    /// the same. Or MINHBACH_CHAIN_ID. With neither this nor --genesis, `tx`
    /// takes the node's chain id only from a node on this machine
    /// (127.0.0.0/8, ::1, localhost).
    #[arg(long, global = true, value_name = "ID", value_parser = tx::parse_chain_id)]
    chain_id: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect ed25519 key files.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify data offline.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Run a node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Make this machine's node home: its keys (kept here), a commented
    /// config.toml, and the join request to send to the genesis coordinator.
    Init(ceremony::InitArgs),
    /// The genesis ceremony: a draft, its entities, validators and nodes
    /// from their join requests, then the final file and its hash.
    #[command(subcommand)]
    Genesis(ceremony::GenesisCommand),
    /// Sign an operation and submit it to a node (`--node`), or pass it to
    /// its signers as a transaction file (`--out`, `tx sign`, `tx submit`).
    #[command(subcommand)]
    Tx(Box<tx::TxCommand>),
    /// Read the chain through a node's API (`--node`).
    #[command(subcommand)]
    Query(query::QueryCommand),
    /// Run a local network of separate node processes with the explorer and
    /// demo spending, until Ctrl-C; running it again resumes the same chain.
    Devnet(devnet::DevnetArgs),
    /// Write the homes, genesis and keys of a local network; starts nothing.
    Testnet(testnet::TestnetArgs),
    /// Benchmark a fresh local cluster end to end: pre-signed load at a rate,
    /// committed tx/s, submit-to-commit latency, CPU and memory per node,
    /// against the ceiling this machine's signature checks set.
    Bench(Box<bench::BenchArgs>),
    /// Fetch audit bundles and state proofs through a node's API (`--node`).
    #[command(subcommand)]
    Proof(proof::ProofCommand),
    /// Download contracts and payments from a node (`--node`) as CSV or an
    /// OCDS release package, stamped with the height and block hash.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Witness the chain: cosign each checkpoint that extends the last one
    /// cosigned, and stop with exit code 4 and a fork proof if a node shows
    /// another history.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// Write a consistent copy of a node's store, config.toml and
    /// genesis.json (and its keys, only with --with-keys) to one file,
    /// while the node runs.
    Backup(backup::BackupArgs),
    /// Restore a backup into a new home, or into a stopped node's home; a
    /// validator never goes back to an older safety record, and signs
    /// nothing until it has caught up with the network.
    Restore(backup::RestoreArgs),
    /// Bring a stopped node's store, written by an earlier version, to
    /// this version's format; a store already at it is left as it is.
    Migrate(migrate::MigrateArgs),
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Run the node whose home is DIR until Ctrl-C or SIGTERM.
    Start {
        /// The node's home (config.toml, genesis.json, keys, data/).
        #[arg(long)]
        home: PathBuf,
        /// With an empty store, start from a recent snapshot of the state
        /// that the peers serve, checked against the genesis file, instead
        /// of replaying the chain from genesis. The node then holds the
        /// chain from the snapshot's height on.
        #[arg(long)]
        state_sync: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new key file (mode 0600); refuses to overwrite.
    New {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key file's public key and libp2p peer id.
    Show {
        /// The key file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum VerifyCommand {
    /// Re-verify a node's whole store: hash links, roots, commit
    /// certificates and re-execution. Names the first bad height.
    Chain {
        /// The node's home (holds genesis.json and data/).
        #[arg(long)]
        home: PathBuf,
    },
    /// Check an audit bundle or a state proof with no network, trusting
    /// only the genesis file: exit 0 if it proves its transaction or
    /// entry, 1 saying what failed.
    Proof {
        /// The bundle or proof, as written by `minhbach proof tx|state`.
        file: PathBuf,
        /// The chain's genesis file.
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// Also require at least K of the genesis file's witnesses
        /// (observers) to have cosigned a checkpoint holding the block.
        #[arg(long, value_name = "K")]
        witnesses: Option<usize>,
    },
    /// Check a fork proof with no network, trusting only the genesis file:
    /// exit 0 naming the height, the two blocks and the validators who
    /// signed both; 1 saying what failed.
    Fork {
        /// The fork proof, as `minhbach witness run` writes it
        /// (fork-proof-<height>.json in the witness's home).
        file: PathBuf,
        /// The chain's genesis file.
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
    },
}

/// Runs the command line with the process's arguments; the binary's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Exit code 3 when the node is unreachable, 2 for bad input, 1 otherwise.
fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(client::ClientError::Unreachable { .. }) = e.downcast_ref() {
        EXIT_UNREACHABLE
    } else if e.downcast_ref::<node::driver::upgrade::Halted>().is_some() {
        EXIT_UPGRADE
    } else if e.downcast_ref::<UsageError>().is_some()
        || matches!(
            e.downcast_ref(),
            Some(node::home::HomeError::GenesisMismatch { .. })
        )
    {
        EXIT_USAGE
    } else {
        EXIT_FAILED
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Keys(KeysCommand::New { out }) => {
            let key = SigningKey::generate();
            write_key_file(&out, &key)?;
            eprintln!("wrote {}", out.display());
            print_key(cli.output, &key)?;
            Ok(0)
        }
        Command::Keys(KeysCommand::Show { file }) => {
            let key = read_key_file(&file)?;
            print_key(cli.output, &key)?;
            Ok(0)
        }
        Command::Verify(VerifyCommand::Chain { home }) => verify_chain(cli.output, &home),
        Command::Verify(VerifyCommand::Fork { file, genesis }) => {
            witness::fork::verify(cli.output, &file, &genesis)
        }
        Command::Verify(VerifyCommand::Proof {
            file,
            genesis,
            witnesses,
        }) => proof::verify(cli.output, &file, &genesis, witnesses),
        Command::Node(NodeCommand::Start { home, state_sync }) => {
            nodes::exit_with_supervisor()?;
            let options = node::run::StartOptions { state_sync };
            node::run::start::<gateway::Listeners>(&home, options)?;
            Ok(0)
        }
        Command::Tx(command) => {
            let chain = tx::ChainFlags {
                genesis: cli.genesis,
                chain_id: cli.chain_id,
            };
            tx::run(
                &client::Client::new(&cli.node, cli.ca_file.as_deref())?,
                cli.output,
                &chain,
                *command,
            )
        }
        Command::Init(args) => ceremony::init(args),
        Command::Genesis(command) => ceremony::run(command, cli.output),
        Command::Query(command) => query::run(
            &client::Client::new(&cli.node, cli.ca_file.as_deref())?,
            cli.output,
            command,
        ),
        Command::Devnet(args) => devnet::run(args),
        Command::Testnet(args) => testnet::run(args, cli.output),
        Command::Bench(args) => bench::run(*args, cli.output),
        Command::Proof(command) => proof::run(
            &client::Client::new(&cli.node, cli.ca_file.as_deref())?,
            cli.output,
            command,
        ),
        Command::Export(command) => export::run(
            &client::Client::new(&cli.node, cli.ca_file.as_deref())?,
            command,
        ),
        Command::Backup(args) => backup::backup(args, cli.output),
        Command::Restore(args) => backup::restore(args, cli.output),
        Command::Migrate(args) => migrate::migrate(args, cli.output),
        Command::Witness(command) => {
            if matches!(command, witness::WitnessCommand::Run(_)) {
                // Stops with the devnet that runs it, however the devnet ends.
                nodes::exit_with_supervisor()?;
            }
            witness::run(command, cli.output, cli.ca_file.as_deref())
        }
    }
}

fn print_key(output: Output, key: &SigningKey) -> anyhow::Result<()> {
    let public_key = key.public_key();
    let peer_id = PeerId::from_ed25519(&public_key)?;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({"public_key": public_key.to_hex(), "peer_id": peer_id.to_string()})
        ),
        Output::Csv => println!("public_key,peer_id\n{public_key},{peer_id}"),
        Output::Table => println!("public_key  {public_key}\npeer_id     {peer_id}"),
    }
    Ok(())
}

/// The progress of `verify chain` over `total` heights: a bar on stderr
/// when it is a terminal, nothing otherwise, so that pipes, logs and tests
/// see only the summary on stdout.
fn verify_progress(total: u64, terminal: bool) -> ProgressBar {
    if !terminal {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "verifying [{bar:40}] {pos}/{len} blocks ({percent}%), {elapsed_precise}, eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

fn verify_chain(output: Output, home: &Path) -> anyhow::Result<u8> {
    let home = node::home::Home::new(home);
    let genesis = home.genesis()?;
    let store = home.open_existing_store()?;
    let total = store.meta()?.map_or(0, |m| m.height.0);
    let bar = verify_progress(total, std::io::stderr().is_terminal());
    let result = verify_store(
        &store,
        &genesis.state(),
        genesis.hash(),
        genesis.genesis_time_ms,
        |h| bar.set_position(h.0),
    );
    match &result {
        Ok(_) => bar.finish(),
        // Left where it stopped: the last height that verified.
        Err(_) => bar.abandon(),
    }
    match result {
        Ok(report) => {
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({
                        "valid": true,
                        "height": report.height.0,
                        "txs": report.txs,
                        "last_block_hash": report.last_block_hash.to_hex(),
                        "state_root": report.state_root.to_hex(),
                    })
                ),
                Output::Csv => println!(
                    "valid,height,txs,last_block_hash,state_root\ntrue,{},{},{},{}",
                    report.height, report.txs, report.last_block_hash, report.state_root
                ),
                Output::Table => println!(
                    "valid            yes\nheight           {}\ntransactions     {}\nlast block hash  {}\nstate root       {}",
                    report.height, report.txs, report.last_block_hash, report.state_root
                ),
            }
            Ok(0)
        }
        Err(e) => {
            let height = e.height();
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({"valid": false, "first_bad_height": height.0, "error": e.to_string()})
                ),
                Output::Csv => println!(
                    "valid,first_bad_height,error\nfalse,{height},\"{}\"",
                    e.to_string().replace('"', "\"\"")
                ),
                Output::Table => println!(
                    "valid             no\nfirst bad height  {height}\nreason            {e}"
                ),
            }
            Ok(EXIT_FAILED)
        }
    }
}
