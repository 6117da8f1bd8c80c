//! What the `minhbach` command runs besides a node and its clients: the
//! benchmark, the demo spending feed, and the local network harness (homes
//! for a whole network, and its nodes as supervised child processes). The
//! `cli` crate is the clap layer over these; the `tests` crate uses the
//! harness and the bench's load and audit directly.
//!
//! - [`output`]: how a command prints (`Output`), its usage error and exit
//!   codes;
//! - [`client::Client`]: a blocking client of a node's HTTP API;
//! - [`testnet`]: `minhbach testnet`, a network's homes, written and not
//!   started; [`nodes`]: nodes as child processes, stopped in order;
//! - [`demo`]: the devnet's spending story as transactions, and
//!   [`demo::runner`] feeding it to a node; [`devnet`]: `minhbach devnet`,
//!   all of it at once;
//! - [`bench`]: `minhbach bench`, the end-to-end benchmark.

pub mod bench;
pub mod client;
pub mod demo;
pub mod devnet;
pub mod nodes;
pub mod output;
pub mod testnet;

pub use output::{Output, UsageError, EXIT_FAILED};
