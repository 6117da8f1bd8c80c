//! What the event loop shares with the HTTP handlers: the store, the state
//! after the last committed block, the mempool, recent rejections and live
//! status. The loop is the only writer of the state and the store; handlers
//! read them and may admit transactions to the mempool.
//!
//! Lock order, where two are held: `state`, then `awaiting`, then
//! `mempool`, then `rejected`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use genesis::Genesis;
use ledger::store::Store;
use ledger::{Hash, State, TxError};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::mpsc;

use crate::awaiting::{AwaitingPool, Offered};
use crate::backlog;
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
    /// The most pooled transactions a client's submission may find and
    /// still be admitted (see [`crate::backlog`]); the loop sets it after
    /// each commit.
    pub client_txs_max: AtomicUsize,
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
            client_txs_max: AtomicUsize::new(p.mempool.txs_max.min(backlog::CLIENT_TXS_FLOOR)),
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
    ///
    /// While clients are refused for the backlog ([`Shared::client_room`]),
    /// so is every offer, before the pool is touched: a signature that
    /// completed a transaction would take it out of the pool, and the
    /// signatures gathered would be lost with its refusal.
    pub fn offer_awaiting(&self, tx: ledger::SignedTx) -> Result<AwaitingOutcome, TxError> {
        self.client_room()?;
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

    /// `mempool_full` while the mempool holds [`Shared::client_txs_max`]
    /// ready transactions or more: what it holds already will take the
    /// validators longer to commit than a client should wait. Transactions
    /// waiting for an earlier nonce do not count; they are not in line for
    /// the next blocks, and a full pool makes room among them (see
    /// [`crate::mempool`]).
    ///
    /// `Ok` holds how many more a client may add now
    /// ([`backlog::client_room`]).
    pub fn client_room(&self) -> Result<usize, TxError> {
        let validators = self
            .state
            .read()
            .expect("state lock")
            .validators()
            .validators()
            .len();
        let ready = self.mempool.lock().expect("mempool lock").ready_len();
        let max = self.client_txs_max.load(Ordering::Relaxed);
        if ready < max {
            return Ok(backlog::client_room(max, ready, validators));
        }
        Err(TxError::MempoolFull {
            reason: format!(
                "it holds {ready} transactions ready for the next blocks, as many as the \
                 validators commit within [limits] backlog_ms at their recent rate ({max}); \
                 try again shortly"
            ),
        })
    }

    /// Admits a client's transactions in order, one result each, and queues
    /// those admitted for gossip. Past the room [`Shared::client_room`]
    /// gives, the rest are refused `mempool_full` unchecked, so a large
    /// batch cannot carry a client past the bound. Signatures are checked in
    /// batches without holding the mempool, so the event loop is not kept
    /// waiting.
    pub fn admit_batch(&self, mut txs: Vec<ledger::SignedTx>) -> Vec<Result<Hash, TxError>> {
        let room = match self.client_room() {
            Ok(room) => room,
            Err(full) => return txs.iter().map(|_| Err(full.clone())).collect(),
        };
        let past = txs.split_off(room.min(txs.len()));
        let mut results = self.admit_only(txs);
        if !past.is_empty() {
            let full = TxError::MempoolFull {
                reason: format!(
                    "the first {room} transactions of the batch took the room the validators \
                     commit within [limits] backlog_ms at their recent rate; try again shortly"
                ),
            };
            results.extend(past.iter().map(|_| Err(full.clone())));
        }
        self.gossip_admitted(&results);
        results
    }

    /// Queues the admitted transactions of `results` for gossip.
    fn gossip_admitted(&self, results: &[Result<Hash, TxError>]) {
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
