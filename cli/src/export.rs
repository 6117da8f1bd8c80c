//! `minhbach export csv|ocds [--year Y] --out FILE`: downloads an export from
//! a node (`GET /v1/export.csv` or `/v1/export/ocds.json`) and writes it to
//! FILE as the node sent it, then says on stderr which height and block it
//! was taken at.
//!
//! FILE is never overwritten without `--force`, and nothing is written when
//! the node refuses (exit 1), cannot be reached (exit 3) or leaves out the
//! height and block hash an export must carry. Building the export is the
//! node's job (`gateway::export`); this command only fetches and saves.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gateway::api::{EXPORT_BLOCK_HASH_HEADER, EXPORT_HEIGHT_HEADER};
use ledger::Year;

use crate::tx::parse_year;
use crate::UsageError;
use tools::client::{Client, ClientError, Download};

/// What to export.
#[derive(Subcommand, Clone, Debug)]
pub enum ExportCommand {
    /// Contracts and payments as one CSV table (a `record_type` column tells
    /// the rows apart).
    Csv(ExportArgs),
    /// An OCDS 1.1.5 release package (JSON): one release per contract.
    Ocds(ExportArgs),
}

/// The flags of both exports.
#[derive(Args, Clone, Debug)]
pub struct ExportArgs {
    /// Only the contracts of this fiscal year, and their payments.
    #[arg(long, value_parser = parse_year)]
    pub year: Option<Year>,
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

impl ExportCommand {
    fn args(&self) -> &ExportArgs {
        match self {
            ExportCommand::Csv(a) | ExportCommand::Ocds(a) => a,
        }
    }

    /// The API path this downloads, query string included.
    pub fn path(&self) -> String {
        let route = match self {
            ExportCommand::Csv(_) => "/v1/export.csv",
            ExportCommand::Ocds(_) => "/v1/export/ocds.json",
        };
        match self.args().year {
            Some(y) => format!("{route}?year={y}"),
            None => route.to_owned(),
        }
    }

    fn what(&self) -> &'static str {
        match self {
            ExportCommand::Csv(_) => "contracts and payments (CSV)",
            ExportCommand::Ocds(_) => "OCDS release package",
        }
    }
}

/// The height and block hash the node stamped the export with.
fn stamp(download: &Download) -> Result<(u64, String), ClientError> {
    let header = |name: &str| {
        download
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let height = header(EXPORT_HEIGHT_HEADER).and_then(|h| h.parse::<u64>().ok());
    let hash = header(EXPORT_BLOCK_HASH_HEADER).filter(|h| ledger::Hash::from_hex(h).is_ok());
    match (height, hash) {
        (Some(height), Some(hash)) => Ok((height, hash)),
        _ => Err(ClientError::Rejected {
            status: 200,
            code: "bad_response".into(),
            message: format!(
                "the node's export does not name its height and block \
                 ({EXPORT_HEIGHT_HEADER}, {EXPORT_BLOCK_HASH_HEADER}); nothing was written"
            ),
        }),
    }
}

/// Writes `bytes` to `path`: a new file, or over an old one when `replace`
/// allows it.
fn write_file(path: &Path, bytes: &[u8], replace: Replace) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    match replace {
        Replace::Allowed => options.create(true).truncate(true),
        Replace::Refused => options.create_new(true),
    };
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::Error::new(exists(path))
        } else {
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        }
    })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Whether an existing file may be replaced (`--force`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replace {
    Allowed,
    Refused,
}

fn exists(path: &Path) -> UsageError {
    UsageError {
        flag: "--out",
        message: format!("{} exists; add --force to overwrite it", path.display()),
    }
}

/// Runs `minhbach export ...`; errors carry their exit code by type.
pub fn run(client: &Client, command: ExportCommand) -> anyhow::Result<u8> {
    let args = command.args();
    let replace = if args.force {
        Replace::Allowed
    } else {
        Replace::Refused
    };
    // Checked before the download too, so a refusal costs the node nothing.
    if replace == Replace::Refused && args.out.exists() {
        return Err(exists(&args.out).into());
    }
    let download = client.download(&command.path())?;
    let (height, hash) = stamp(&download)?;
    write_file(&args.out, &download.body, replace)?;
    eprintln!(
        "wrote {} ({} bytes): {} as of height {height}, block {hash}",
        args.out.display(),
        download.body.len(),
        command.what()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ExportCommand,
    }

    fn parse(args: &[&str]) -> Result<ExportCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("export").chain(args.iter().copied()))
            .map(|c| c.command)
    }

    #[test]
    fn paths_follow_the_api() {
        let csv = parse(&["csv", "--out", "a.csv"]).unwrap();
        assert_eq!(csv.path(), "/v1/export.csv");
        let ocds = parse(&["ocds", "--year", "2026", "--out", "a.json"]).unwrap();
        assert_eq!(ocds.path(), "/v1/export/ocds.json?year=2026");
        assert!(!ocds.args().force);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        assert!(parse(&["csv", "--year", "1999", "--out", "a.csv"]).is_err());
        assert!(parse(&["csv", "--year", "next", "--out", "a.csv"]).is_err());
        assert!(parse(&["csv"]).is_err(), "--out is required");
        assert!(parse(&["xml", "--out", "a.xml"]).is_err());
    }

    #[test]
    fn an_existing_file_is_kept_unless_replacing_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        write_file(&path, b"first", Replace::Refused).unwrap();
        let err = write_file(&path, b"second", Replace::Refused).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        write_file(&path, b"2nd", Replace::Allowed).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2nd");
    }
}
