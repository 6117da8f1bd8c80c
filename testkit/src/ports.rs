//! Ports for test networks that no other test takes, even one running in
//! another process at the same moment.
//!
//! A port found free by binding port 0 and letting it go can be handed out
//! again, to another test or as the local port of an outgoing connection,
//! before the node that was meant to listen on it starts; two networks then
//! talk to each other's nodes. Instead, a test network reserves a block of
//! [`BLOCK_PORTS`] ports below Linux's ephemeral range (which starts at
//! 32768), so the kernel never hands them out by itself, and holds an
//! exclusive lock on the block's file for as long as it lives; the lock
//! goes with the process, so a killed test leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::net::TcpListener;
use std::path::PathBuf;

/// Ports in a block: ten nodes of [`node::testnet::PORT_STRIDE`] ports.
pub const BLOCK_PORTS: u16 = 100;
/// The first port of the first block.
const FIRST: u16 = 20_000;
/// Blocks, up to port 31,999.
const BLOCKS: u16 = 120;

/// A block of ports held for a test network; let go when dropped.
#[derive(Debug)]
pub struct Reservation {
    /// Its first port.
    pub base: u16,
    /// Held open, locked, while the block is in use.
    _lock: File,
}

impl Reservation {
    /// The port `offset` ports into the block.
    pub fn port(&self, offset: u16) -> u16 {
        assert!(offset < BLOCK_PORTS, "port {offset} is past the block");
        self.base + offset
    }
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("minhbach-test-ports")
}

/// Reserves a block of ports, every one of which could be bound on
/// 127.0.0.1 just now. Blocks are tried from one chosen by the process id,
/// so that parallel test processes rarely contend for the same one.
pub fn reserve() -> Reservation {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir).expect("the port lock folder");
    let start = (std::process::id() % u32::from(BLOCKS)) as u16;
    for k in (0..BLOCKS).map(|k| (start + k) % BLOCKS) {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("block-{k}")))
            .expect("a port lock file");
        if file.try_lock().is_err() {
            continue;
        }
        let base = FIRST + k * BLOCK_PORTS;
        let all_free =
            (base..base + BLOCK_PORTS).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return Reservation { base, _lock: file };
        }
    }
    panic!(
        "no block of {BLOCK_PORTS} free ports between {FIRST} and {}",
        FIRST + BLOCKS * BLOCK_PORTS
    );
}
