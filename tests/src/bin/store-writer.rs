//! `store-writer DIR`: writes blocks of the deterministic
//! [`tests::workload`] into the store at `DIR` until it is killed, printing
//! each height on its own line once the block is committed (synced).
//!
//! The crash test kills it with SIGKILL at random moments. On start it
//! resumes a store that already holds blocks from the state the store gives
//! back and its last block and certificate, as a node restarts; since the
//! workload is a function of the height and the state, the blocks it goes on
//! to write are the ones it would have written had it never been killed.
//!
//! It exits when its standard input closes, so that it never outlives a test
//! that died without killing it (the test holds the other end of the pipe).

use std::error::Error;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ledger::store::Store;
use ledger::testkit::TestChain;
use tests::workload;

/// Validators of the chain the writer builds.
const VALIDATORS: usize = 4;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: store-writer DIR");
        return ExitCode::from(2);
    };
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    match run(PathBuf::from(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: PathBuf) -> Result<(), Box<dyn Error>> {
    let store = Store::open(&dir)?;
    let mut chain = TestChain::new(VALIDATORS);
    resume(&mut chain, &store)?;
    let mut out = std::io::stdout().lock();
    loop {
        let txs = workload::block_txs(&chain);
        let (block, cert, outcome) = chain
            .make_block(txs)
            .map_err(|(i, e)| format!("the workload's transaction {i} is rejected: {e}"))?;
        store.commit_block(&block, &cert, &outcome, &chain.state)?;
        let height = block.header.height;
        chain.advance(&block, cert, outcome);
        // Only now is the block durable, so only now may it be reported.
        writeln!(out, "{height}")?;
        out.flush()?;
    }
}

/// Brings `chain` (fresh from genesis) to where `store` is.
fn resume(chain: &mut TestChain, store: &Store) -> Result<(), Box<dyn Error>> {
    let state = store.init(&chain.genesis, chain.genesis_hash)?;
    let height = state.height();
    if height.0 == 0 {
        return Ok(());
    }
    let block = store
        .block(height)?
        .ok_or_else(|| format!("the store is at height {height} but has no block {height}"))?;
    let cert = store
        .cert(height)?
        .ok_or_else(|| format!("the store has no certificate for block {height}"))?;
    let meta = store.meta()?.ok_or("the store lost its metadata")?;
    if meta.last_block_hash != block.hash() || block.header.state_root != state.root() {
        return Err(format!("block {height} does not match the store's metadata").into());
    }
    chain.state = state;
    chain.last_hash = block.hash();
    chain.last_time_ms = block.header.time_ms;
    chain.last_cert = Some(cert);
    chain.history = store.history_frontier(height)?;
    Ok(())
}
