//! `minhbach backup` and `minhbach restore` (the rules are in
//! `node::backup`; this prints what they did).

use std::path::PathBuf;

use node::backup::{self, BackupReport, RestoreReport, Signing};
use node::home::Home;
use tools::Output;

/// `minhbach backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// The node's home; the node may be running.
    #[arg(long)]
    home: PathBuf,
    /// The backup file to write (mode 0600); never overwritten.
    #[arg(long)]
    out: PathBuf,
    /// Also put node_key and validator_key in the backup. Anyone who holds
    /// the file can then sign as this validator.
    #[arg(long)]
    with_keys: bool,
}

/// `minhbach restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file, as `minhbach backup` wrote it.
    file: PathBuf,
    /// The home to restore into: a new folder, or the home of a stopped
    /// node (its data/ is kept beside, renamed data.replaced-<time>).
    #[arg(long)]
    home: PathBuf,
}

/// Writes a backup and says what it holds.
pub fn backup(args: BackupArgs, output: Output) -> anyhow::Result<u8> {
    let report = backup::backup(&Home::new(&args.home), &args.out, args.with_keys)?;
    if args.with_keys {
        eprintln!(
            "warning: {} holds this node's keys; anyone who can read it can sign as this \
             node. Keep it as you keep the keys themselves, and never on the same disk.",
            args.out.display()
        );
    }
    eprintln!("wrote {}", args.out.display());
    print_backup(output, &report, None);
    Ok(0)
}

/// Restores a backup and says what it did about signing.
pub fn restore(args: RestoreArgs, output: Output) -> anyhow::Result<u8> {
    let report = backup::restore(&args.file, &Home::new(&args.home))?;
    if let Some(aside) = &report.replaced {
        eprintln!("the store that was here is kept at {}", aside.display());
    }
    for name in &report.kept {
        eprintln!("kept this home's own {name}, which differs from the backup's");
    }
    let signing = match report.signing {
        Signing::NoRecord => "no safety record: this node has never signed".to_owned(),
        Signing::KeptHomeRecord {
            record_height,
            from,
        } => format!(
            "kept this home's safety record (height {record_height}), newer than the \
             backup's; signs from height {from}"
        ),
        Signing::AwaitingNetwork { record_height } => format!(
            "restored the backup's safety record (height {record_height}); signs nothing \
             until it has caught up with the network's latest height, then sits out two \
             more heights"
        ),
    };
    print_backup(output, &report.backup, Some((&report, &signing)));
    Ok(0)
}

fn print_backup(output: Output, b: &BackupReport, restored: Option<(&RestoreReport, &str)>) {
    match output {
        Output::Json => {
            let mut v = serde_json::json!({
                "chain_id": b.chain_id,
                "height": b.height.0,
                "entries": b.entries,
                "files": b.files,
                "bytes": b.bytes,
            });
            if let Some((r, signing)) = restored {
                v["written"] = serde_json::json!(r.written);
                v["kept"] = serde_json::json!(r.kept);
                v["signing"] = serde_json::json!(signing);
            }
            println!("{v}");
        }
        Output::Csv => {
            println!("chain_id,height,entries,bytes");
            println!("{},{},{},{}", b.chain_id, b.height, b.entries, b.bytes);
        }
        Output::Table => {
            println!("chain     {}", b.chain_id);
            println!("height    {}", b.height);
            println!("entries   {}", b.entries);
            println!("files     {}", b.files.join(", "));
            println!("bytes     {}", b.bytes);
            if let Some((_, signing)) = restored {
                println!("signing   {signing}");
            }
        }
    }
}
