//! `minhbach migrate`: brings a stopped node's store to this version's
//! format (the migrations are `ledger::store`'s).

use std::path::PathBuf;

use anyhow::Context;
use node::home::Home;
use tools::Output;

/// `minhbach migrate`.
#[derive(clap::Args)]
pub struct MigrateArgs {
    /// The home of a stopped node.
    #[arg(long)]
    home: PathBuf,
}

/// Migrates the store and says what it did.
pub fn migrate(args: MigrateArgs, output: Output) -> anyhow::Result<u8> {
    let home = Home::new(&args.home);
    let genesis = home.genesis()?;
    let store = home.open_existing_store().with_context(|| {
        format!(
            "cannot open the store of {} for writing; stop the node first",
            args.home.display()
        )
    })?;
    let done = store.migrate(&genesis.state(), genesis.hash(), |h, top| {
        eprintln!("walked the chain to height {h} of {top}");
    })?;
    let what = if done.from == done.to {
        format!("the store is already at format {}: nothing to do", done.to)
    } else {
        format!(
            "migrated the store from format {} to {}: walked {} blocks, wrote {} state keys, \
             stored the transactions of {} blocks one by one",
            done.from, done.to, done.blocks, done.keys, done.split
        )
    };
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({
                "from": done.from,
                "to": done.to,
                "blocks": done.blocks,
                "keys": done.keys,
                "split": done.split,
            })
        ),
        Output::Csv => {
            println!("from,to,blocks,keys,split");
            println!(
                "{},{},{},{},{}",
                done.from, done.to, done.blocks, done.keys, done.split
            );
        }
        Output::Table => println!("{what}"),
    }
    Ok(0)
}
