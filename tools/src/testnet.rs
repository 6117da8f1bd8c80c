//! `minhbach testnet`: writes the homes, genesis and keys of a local network
//! of validators and full nodes, with the devnet story's entities, and
//! starts nothing. Each node is then run with `minhbach node start --home`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use genesis::{story, Currency};
use node::testnet::{self, Explorers, NetworkPlan, Ports, Role, TestnetSpec};

use crate::Output;

/// Most validators or full nodes the command generates.
const NODES_MAX: u64 = testnet::NODES_MAX as u64;

/// `minhbach testnet`.
#[derive(Args)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=NODES_MAX))]
    validators: u64,
    /// Number of full nodes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=NODES_MAX))]
    full_nodes: u64,
    /// The folder to write; it must not exist or be empty.
    #[arg(long)]
    out: PathBuf,
    /// Node i listens on P+10i (p2p), P+10i+1 (API) and P+10i+2 (explorer).
    /// Without it, ports free right now are picked.
    #[arg(long, value_name = "P")]
    base_port: Option<u16>,
    /// The chain id.
    #[arg(long, default_value = "minhbach-testnet")]
    chain_id: String,
}

/// The genesis time of a network generated now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as u64
}

/// Role as written in tables.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Validator => "validator",
        Role::FullNode => "full node",
    }
}

/// Runs `minhbach testnet`.
pub fn run(args: TestnetArgs, output: Output) -> anyhow::Result<u8> {
    let spec = TestnetSpec {
        chain_id: args.chain_id,
        genesis_time_ms: now_ms(),
        currency: Currency::default(),
        validators: args.validators as usize,
        full_nodes: args.full_nodes as usize,
        entities: story::entities(),
        ports: args.base_port.map_or(Ports::Free, Ports::Base),
        explorers: Explorers::Every,
    };
    let plan = testnet::generate(&spec, &args.out)?;
    let plan_path = args.out.join("testnet.json");
    plan.save(&plan_path)?;
    print_plan(&plan, output);
    eprintln!(
        "wrote {} node homes, genesis.json, keys/ and testnet.json to {}",
        plan.nodes.len(),
        args.out.display()
    );
    if let Some(first) = plan.nodes.first() {
        eprintln!(
            "start each node with: minhbach node start --home {}",
            first.home.display()
        );
    }
    Ok(0)
}

fn print_plan(plan: &NetworkPlan, output: Output) {
    let explorer = |n: &testnet::NodePlan| n.explorer_url().unwrap_or_default();
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(plan).expect("a plan always serialises")
        ),
        Output::Csv => {
            println!("name,role,peer_id,p2p,api,explorer,home");
            for n in &plan.nodes {
                println!(
                    "{},{},{},{},{},{},{}",
                    n.name,
                    role_name(n.role),
                    n.peer_id,
                    n.p2p,
                    n.api_url(),
                    explorer(n),
                    n.home.display()
                );
            }
        }
        Output::Table => {
            println!(
                "{:<13} {:<10} {:<26} {:<23} {:<24} home",
                "name", "role", "p2p", "api", "explorer"
            );
            for n in &plan.nodes {
                println!(
                    "{:<13} {:<10} {:<26} {:<23} {:<24} {}",
                    n.name,
                    role_name(n.role),
                    n.p2p,
                    n.api_url(),
                    explorer(n),
                    n.home.display()
                );
            }
        }
    }
}
