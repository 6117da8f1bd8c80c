//! What every command shares: how it prints data, and the errors and exit
//! codes it ends with.

use clap::ValueEnum;

/// Exit code when verification fails, a transaction is rejected, or a run
/// (a bench, a devnet) fails.
pub const EXIT_FAILED: u8 = 1;

/// Bad input that clap cannot check while parsing, such as an unreadable key
/// file. Exit code 2, like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct UsageError {
    /// The flag whose value is bad, e.g. `--key`.
    pub flag: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// How a command prints its data (`--output`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Output {
    /// Aligned, for people.
    Table,
    /// The node's JSON, pretty-printed.
    Json,
    /// A header line and rows.
    Csv,
}
