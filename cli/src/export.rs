//! `minhbach export csv|ocds [--year Y] --out FILE`: downloads an export from
//! a node (`GET /v1/export.csv` or `/v1/export/ocds.json`) and writes it to
//! FILE as the node sent it, then says on stderr which height and block it
//! was taken at.
//!
//! FILE is never overwritten without `--force`, and nothing is written when
//! the node refuses (exit 1), cannot be reached (exit 3) or leaves out the
//! height and block hash an export must carry. The export is saved as it
//! comes, into a file beside FILE that takes its name once whole: a
//! download that stops partway leaves FILE as it was. Building the export is the
//! node's job (`gateway::export`); this command only fetches and saves.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gateway::api::{EXPORT_BLOCK_HASH_HEADER, EXPORT_HEIGHT_HEADER};
use ledger::Year;

use crate::tx::parse_year;
use crate::UsageError;
use tools::client::{Client, ClientError, DownloadStream};

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
fn stamp(download: &DownloadStream) -> Result<(u64, String), ClientError> {
    let header = |name: &str| download.header(name);
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

/// Writes `path` with what `fill` writes into it: a new file, or over an
/// old one when `replace` allows it. The bytes go to a file beside it
/// first, which takes `path`'s name once whole; if `fill` fails, `path` is
/// as it was. Without `replace`, the name is taken (empty) before `fill`
/// starts, so that nothing can be overwritten meanwhile.
fn write_file(
    path: &Path,
    replace: Replace,
    fill: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let cannot = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", path.display());
    if replace == Replace::Refused {
        let reserved = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path);
        match reserved {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(exists(path).into())
            }
            other => drop(other.map_err(cannot)?),
        }
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let partial = path.with_file_name(format!(".{}", name.to_string_lossy()));
    let written = (|| {
        let mut file = std::fs::File::create(&partial).map_err(cannot)?;
        fill(&mut file)?;
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&partial, path).map_err(cannot)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
        if replace == Replace::Refused {
            let _ = std::fs::remove_file(path);
        }
    }
    written
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
    let mut download = client.download_stream(&command.path())?;
    let (height, hash) = stamp(&download)?;
    let mut bytes = 0;
    write_file(&args.out, replace, |file| {
        let mut out = std::io::BufWriter::new(file);
        bytes = download.copy_to(&mut out)?;
        out.flush()?;
        Ok(())
    })?;
    eprintln!(
        "wrote {} ({bytes} bytes): {} as of height {height}, block {hash}",
        args.out.display(),
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
        let put = |bytes: &'static [u8]| move |f: &mut std::fs::File| Ok(f.write_all(bytes)?);
        write_file(&path, Replace::Refused, put(b"first")).unwrap();
        let err = write_file(&path, Replace::Refused, put(b"second")).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        write_file(&path, Replace::Allowed, put(b"2nd")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2nd");
        // A download that stops partway leaves the old file as it was, and
        // no new file or partial file behind.
        let broken = |f: &mut std::fs::File| {
            f.write_all(b"half a ")?;
            anyhow::bail!("the download stopped partway")
        };
        assert!(write_file(&path, Replace::Allowed, broken).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"2nd");
        let new = dir.path().join("new.csv");
        assert!(write_file(&new, Replace::Refused, broken).is_err());
        assert!(!new.exists());
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["export.csv"]);
    }
}
