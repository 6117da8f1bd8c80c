//! What the event loop shares with the HTTP handlers: the store, the state
//! after the last committed block, the mempool, recent rejections and live
//! status. The loop is the only writer of the state and the store; handlers
//! read them and may admit transactions to the mempool.
//!
//! Lock order, where two are held: `state`, then `awaiting`, then
//! `mempool`, then `rejected`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};

use genesis::Genesis;
use ledger::store::Store;
use ledger::{Hash, State, TxError};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::mpsc;

use crate::awaiting::{AwaitingPool, Offered};
use crate::mempool::{Mempool, Staged};

/// Most remembered rejections.
pub const REJECTIONS_MAX: usize = 100_000;

/// Transactions refused after admission (or at it), newest kept, so a client
/// polling a hash learns why it will never commit.
#[derive(Default)]
pub struct Rejections {
    map: HashMap<Hash, TxError>,
    order: VecDeque<Hash>,
}

impl Rejections {
    /// Remembers why `hash` was refused.
    pub fn insert(&mut self, hash: Hash, why: TxError) {
        if self.map.insert(hash, why).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > REJECTIONS_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// Why `hash` was refused, if it was.
    pub fn get(&self, hash: &Hash) -> Option<&TxError> {
        self.map.get(hash)
    }

    /// Forgets `hash` (it was submitted again and admitted).
    pub fn remove(&mut self, hash: &Hash) {
        self.map.remove(hash);
    }
}

/// Figures the loop updates as it goes.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Consensus round at the current height.
    pub round: u32,
    /// Connected peers.
    pub peers: usize,
    /// Whether a peer is known to be more than one block ahead.
    pub catching_up: bool,
    /// Whether the node has compared its height with a peer's at least once
    /// (or has no peers to compare with).
    pub heard_peer: bool,
    /// The best height a peer reported.
    pub best_peer_height: u64,
    /// Why the store cannot be written (its folder and the error), while it
    /// cannot; the node then neither signs nor commits.
    pub store_error: Option<String>,
}

impl Live {
    /// Whether the node is ready (`/readyz` is 200, `minhbach_ready` 1): it
    /// has compared heights with a peer, no peer is more than one block
    /// ahead, and the store can be written.
    pub fn ready(&self) -> bool {
        self.heard_peer && !self.catching_up && self.store_error.is_none()
    }
}

/// What became of a transaction offered to gather signatures.
#[derive(Clone, Debug)]
pub enum AwaitingOutcome {
    /// It still waits for signatures.
    Waiting(Box<crate::awaiting::Awaiting>),
    /// Its signatures sufficed: it was admitted to the mempool, with this
    /// hash.
    Submitted(Hash),
}

/// The node's shared parts.
pub struct Shared {
    /// The node's name from its config.
    pub name: String,
    /// The node's libp2p peer id.
    pub node_id: String,
    /// The genesis.
    pub genesis: Genesis,
    /// The store.
    pub store: Store,
    /// The state after the last committed block.
    pub state: RwLock<State>,
    /// Pending transactions.
    pub mempool: Mutex<Mempool>,
    /// Transactions gathering signatures.
    pub awaiting: Mutex<AwaitingPool>,
    /// Recent rejections.
    pub rejected: Mutex<Rejections>,
    /// Live figures.
    pub live: RwLock<Live>,
    /// Admitted transactions for the loop to gossip.
    pub gossip: mpsc::Sender<ledger::SignedTx>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}

/// What [`Shared::new`] puts together.
pub struct SharedParts {
    /// The node's name from its config.
    pub name: String,
    /// The node's libp2p peer id.
    pub node_id: String,
    /// The genesis.
    pub genesis: Genesis,
    /// The store, opened and initialised.
    pub store: Store,
    /// The state the store is at.
    pub state: State,
    /// The mempool's bounds.
    pub mempool: crate::mempool::MempoolLimits,
    /// Where admitted transactions go to be gossiped.
    pub gossip: mpsc::Sender<ledger::SignedTx>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
}

impl Shared {
    /// A node's shared parts, with an empty mempool, no rejections yet and
    /// no live figures yet.
    pub fn new(p: SharedParts) -> Shared {
        Shared {
            name: p.name,
            node_id: p.node_id,
            genesis: p.genesis,
            store: p.store,
            state: RwLock::new(p.state),
            mempool: Mutex::new(Mempool::new(p.mempool)),
            awaiting: Mutex::new(AwaitingPool::default()),
            rejected: Mutex::new(Rejections::default()),
            live: RwLock::new(Live::default()),
            gossip: p.gossip,
            metrics: p.metrics,
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.genesis.chain_id
    }

    /// Admits a transaction to the mempool and queues it for gossip.
    pub fn admit(&self, tx: ledger::SignedTx) -> Result<Hash, TxError> {
        self.admit_batch(vec![tx])
            .pop()
            .expect("one result per transaction")
    }

    /// Takes a transaction still gathering signatures (see
    /// [`crate::awaiting`]): kept while it waits, admitted to the mempool
    /// (and gossiped) once its signatures suffice.
    pub fn offer_awaiting(&self, tx: ledger::SignedTx) -> Result<AwaitingOutcome, TxError> {
        let offered = {
            let state = self.state.read().expect("state lock");
            self.awaiting
                .lock()
                .expect("awaiting lock")
                .offer(tx, &state)?
        };
        match offered {
            Offered::Waiting(a) => Ok(AwaitingOutcome::Waiting(Box::new(a))),
            Offered::Complete(tx) => self.admit(tx).map(AwaitingOutcome::Submitted),
        }
    }

    /// Admits transactions in order, one result each, and queues those
    /// admitted for gossip. Signatures are checked in batches without
    /// holding the mempool, so the event loop is not kept waiting.
    pub fn admit_batch(&self, txs: Vec<ledger::SignedTx>) -> Vec<Result<Hash, TxError>> {
        let results = self.admit_only(txs);
        let admitted: Vec<ledger::SignedTx> = {
            let mempool = self.mempool.lock().expect("mempool lock");
            results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .filter_map(|hash| mempool.get(hash).cloned())
                .collect()
        };
        let mut rejected = self.rejected.lock().expect("rejections lock");
        for hash in results.iter().filter_map(|r| r.as_ref().ok()) {
            rejected.remove(hash);
        }
        drop(rejected);
        for tx in admitted {
            // A full queue means the loop is far behind; the transaction
            // stays pooled here and is proposed from here all the same.
            let _ = self.gossip.try_send(tx);
        }
        results
    }

    /// Admits transactions in order without gossiping them (they came by
    /// gossip, which forwards them itself), one result each. Transactions
    /// evicted to make room are remembered as rejected, with why.
    pub fn admit_only(&self, txs: Vec<ledger::SignedTx>) -> Vec<Result<Hash, TxError>> {
        let hashed = Staged::hash(txs);
        let mut staged = {
            let state = self.state.read().expect("state lock");
            self.mempool
                .lock()
                .expect("mempool lock")
                .stage(hashed, &state)
        };
        staged.verify();
        let state = self.state.read().expect("state lock");
        let (results, evicted) = {
            let mut mempool = self.mempool.lock().expect("mempool lock");
            let results = mempool.admit_staged(staged, &state);
            (results, mempool.take_evicted())
        };
        drop(state);
        if !evicted.is_empty() {
            let mut rejected = self.rejected.lock().expect("rejections lock");
            for (hash, why) in evicted {
                rejected.insert(hash, why);
            }
        }
        results
    }
}
