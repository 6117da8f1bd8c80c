//! Fetching the transactions of a proposal that this node lacks.
//!
//! Each peer is asked at most once for one block within a height, and only
//! its answers to requests of ours are taken. Without that rule, two nodes
//! waiting on the same transactions that neither peer has would ask each
//! other again at every empty answer, and the requests would multiply
//! with every peer a proposal came from.

use std::collections::{HashMap, HashSet};

use ledger::Hash;
use libp2p::PeerId;

use super::RequestId;

/// Most (block, peer) pairs asked within one height. A height sees at most
/// [`super::CANDIDATES_MAX`] blocks and each is asked of its proposer and
/// of the peers it came from, so honest heights stay far below this.
pub const TX_ASKS_MAX: usize = 256;
/// Most requests for transactions under way at once.
pub const TX_REQUESTS_MAX: usize = 256;

/// The requests for transactions of the current height.
#[derive(Default)]
pub struct TxFetches {
    /// Requests under way: the peer asked and the block they are for.
    open: HashMap<RequestId, (PeerId, Hash)>,
    /// The (block, peer) pairs asked at this height.
    asked: HashSet<(Hash, PeerId)>,
}

impl TxFetches {
    /// Whether `peer` may be asked for the transactions of `block`: not yet
    /// asked at this height, with room to record it. Records the ask.
    pub fn ask(&mut self, block: Hash, peer: PeerId) -> bool {
        if self.asked.len() >= TX_ASKS_MAX || self.open.len() >= TX_REQUESTS_MAX {
            return false;
        }
        self.asked.insert((block, peer))
    }

    /// Records a request sent for `block`.
    pub fn sent(&mut self, id: RequestId, peer: PeerId, block: Hash) {
        self.open.insert(id, (peer, block));
    }

    /// Takes an answer: true if it answers a request of ours to this peer.
    pub fn answered(&mut self, id: RequestId, peer: &PeerId) -> bool {
        match self.open.get(&id) {
            Some((asked, _)) if asked == peer => {
                self.open.remove(&id);
                true
            }
            _ => false,
        }
    }

    /// A request failed in the network: the peer may be asked again when
    /// the proposal comes by once more.
    pub fn failed(&mut self, id: RequestId, peer: &PeerId) -> bool {
        match self.open.get(&id) {
            Some((asked, block)) if asked == peer => {
                self.asked.remove(&(*block, *peer));
                self.open.remove(&id);
                true
            }
            _ => false,
        }
    }

    /// Forgets everything, when a new height starts.
    pub fn clear(&mut self) {
        self.open.clear();
        self.asked.clear();
    }

    /// Requests under way.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// Pairs asked at this height.
    pub fn asked(&self) -> usize {
        self.asked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> PeerId {
        let key = libp2p::identity::Keypair::ed25519_from_bytes([n; 32]).expect("a key");
        key.public().to_peer_id()
    }

    #[test]
    fn a_peer_is_asked_once_per_block_until_its_request_fails() {
        let mut f = TxFetches::default();
        let (a, b) = (peer(1), peer(2));
        let (x, y) = (Hash([1; 32]), Hash([2; 32]));
        assert!(f.ask(x, a));
        f.sent(RequestId(1), a, x);
        assert!(!f.ask(x, a), "asked already");
        assert!(f.ask(x, b), "another peer");
        assert!(f.ask(y, a), "another block");
        // An answer from the wrong peer, or to no request, is not taken.
        assert!(!f.answered(RequestId(1), &b));
        assert!(!f.answered(RequestId(9), &a));
        assert!(f.answered(RequestId(1), &a));
        assert!(!f.answered(RequestId(1), &a), "taken once");
        // An answer leaves the pair asked; a failure frees it.
        assert!(!f.ask(x, a));
        f.sent(RequestId(2), b, x);
        assert!(f.failed(RequestId(2), &b));
        assert!(f.ask(x, b));
        f.clear();
        assert!(f.ask(x, a));
    }

    #[test]
    fn asks_are_bounded_within_a_height() {
        let mut f = TxFetches::default();
        let a = peer(1);
        for i in 0..TX_ASKS_MAX {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
            assert!(f.ask(Hash(h), a));
        }
        assert!(!f.ask(Hash([0xff; 32]), a));
        assert_eq!(f.asked(), TX_ASKS_MAX);
    }
}
