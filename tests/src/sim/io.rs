//! The simulated edges of a node's driver core: a clock the simulator
//! moves, timers and network requests that become events in its queue, and
//! a store in memory that survives a crash as a disk would.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger::store::{Store, StoreError};
use ledger::{Block, Height};
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::{Multiaddr, PeerId};
use node::driver::{ChainStore, Clock, GossipedTxs, Network, ReplyId, RequestId, Timers, Topic};
use node::wire::{SyncRequest, SyncResponse};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The simulated time, in ms since the start of the run, shared by every
/// node's clock.
#[derive(Clone)]
pub struct SimTime {
    ms: Rc<Cell<u64>>,
    base: Instant,
}

impl SimTime {
    /// Time zero.
    pub fn new() -> SimTime {
        SimTime {
            ms: Rc::new(Cell::new(0)),
            base: Instant::now(),
        }
    }

    /// The time now.
    pub fn ms(&self) -> u64 {
        self.ms.get()
    }

    /// Moves the time to `ms`.
    pub fn set(&self, ms: u64) {
        self.ms.set(ms);
    }
}

impl Default for SimTime {
    fn default() -> Self {
        SimTime::new()
    }
}

/// What a node's core asked of the world, for the simulator to carry out.
#[derive(Debug)]
pub enum Out {
    /// Gossip to every peer, or only to `to`.
    Publish {
        /// The topic.
        topic: Topic,
        /// The message.
        bytes: Vec<u8>,
        /// Only these peers, for a Byzantine split.
        to: Option<Vec<PeerId>>,
        /// The safety record on the store at the moment the message went
        /// out, for a vote or a proposal.
        record: Option<Vec<u8>>,
    },
    /// A block-sync request.
    Request {
        /// Its number.
        id: RequestId,
        /// To whom.
        peer: PeerId,
        /// What.
        request: SyncRequest,
    },
    /// The answer to a request.
    Respond {
        /// Which request.
        reply: ReplyId,
        /// The answer.
        response: SyncResponse,
    },
    /// A consensus timeout to deliver later.
    Timer {
        /// The timeout.
        timeout: consensus::Timeout,
        /// After how long.
        after: Duration,
    },
    /// Gossiped transactions to admit.
    Admit(Vec<GossipedTxs>),
    /// A verdict on a gossip message.
    Report {
        /// The message.
        id: MessageId,
        /// The peer that forwarded it.
        from: PeerId,
        /// The verdict.
        verdict: MessageAcceptance,
    },
}

/// One node's edges.
pub struct SimIo {
    time: SimTime,
    /// How far this node's wall clock is off, in ms.
    skew_ms: i64,
    /// The simulated genesis time, in ms since the Unix epoch.
    epoch_ms: u64,
    /// What the core asked for since the simulator last looked.
    pub outbox: Vec<Out>,
    /// Peers the core allows.
    pub allowed: BTreeSet<PeerId>,
    next_id: u64,
    /// The node's shared parts, to read its stored safety record.
    pub shared: Option<Arc<node::shared::Shared>>,
}

impl SimIo {
    /// The edges of a node whose wall clock is off by `skew_ms`.
    pub fn new(time: SimTime, epoch_ms: u64, skew_ms: i64, first_id: u64) -> SimIo {
        SimIo {
            time,
            skew_ms,
            epoch_ms,
            outbox: Vec::new(),
            allowed: BTreeSet::new(),
            next_id: first_id,
            shared: None,
        }
    }
}

impl SimIo {
    /// The safety record on the store now, for a signed message.
    fn stored_record(&self, topic: Topic) -> Option<Vec<u8>> {
        if !matches!(topic, Topic::Votes | Topic::Proposals) {
            return None;
        }
        let shared = self.shared.as_ref()?;
        shared
            .store
            .safety_get(node::driver::SAFETY_RECORD_KEY)
            .ok()
            .flatten()
    }
}

impl Clock for SimIo {
    fn now(&self) -> Instant {
        self.time.base + Duration::from_millis(self.time.ms())
    }
    fn wall_ms(&self) -> u64 {
        (self.epoch_ms + self.time.ms()).saturating_add_signed(self.skew_ms)
    }
}

impl Timers for SimIo {
    fn schedule(&mut self, timeout: consensus::Timeout, after: Duration) {
        self.outbox.push(Out::Timer { timeout, after });
    }
}

impl Network for SimIo {
    fn publish(&mut self, topic: Topic, bytes: Vec<u8>) -> bool {
        let record = self.stored_record(topic);
        self.outbox.push(Out::Publish {
            topic,
            bytes,
            to: None,
            record,
        });
        true
    }
    fn report(&mut self, id: &MessageId, from: &PeerId, verdict: MessageAcceptance) {
        self.outbox.push(Out::Report {
            id: id.clone(),
            from: *from,
            verdict,
        });
    }
    fn request(&mut self, peer: &PeerId, request: SyncRequest) -> RequestId {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        self.outbox.push(Out::Request {
            id,
            peer: *peer,
            request,
        });
        id
    }
    fn respond(&mut self, reply: ReplyId, response: SyncResponse) {
        self.outbox.push(Out::Respond { reply, response });
    }
    fn allow(&mut self, peer: PeerId) {
        self.allowed.insert(peer);
    }
    fn disallow(&mut self, peer: PeerId) {
        self.allowed.remove(&peer);
    }
    fn dial(&mut self, _peer: PeerId, _addr: Multiaddr) {}
    fn admit(&mut self, batches: Vec<GossipedTxs>) {
        self.outbox.push(Out::Admit(batches));
    }
    fn publish_to(&mut self, topic: Topic, bytes: Vec<u8>, to: &[PeerId], _not: &[PeerId]) {
        let record = self.stored_record(topic);
        self.outbox.push(Out::Publish {
            topic,
            bytes,
            to: Some(to.to_vec()),
            record,
        });
    }
}

/// A node's store, with a switch that loses its safety record once, as a
/// node whose record was not durable would after a crash, and one that
/// makes reads of blocks fail now and then, as a disk with transient
/// errors would.
pub struct SimStore {
    shared: Arc<node::shared::Shared>,
    forget_record: AtomicBool,
    /// The share of block reads that fail, the draws, and a count of the
    /// failures.
    read_faults: Option<(f64, Mutex<ChaCha8Rng>, Arc<AtomicU64>)>,
}

impl SimStore {
    /// The store of `shared`; `forget_record` hides the safety record from
    /// the next read of it.
    pub fn new(shared: Arc<node::shared::Shared>, forget_record: bool) -> SimStore {
        SimStore {
            shared,
            forget_record: AtomicBool::new(forget_record),
            read_faults: None,
        }
    }

    /// Makes a `rate` share of block reads fail, drawn from `seed`, each
    /// counted in `failed`.
    pub fn failing_reads(mut self, rate: f64, seed: u64, failed: Arc<AtomicU64>) -> SimStore {
        self.read_faults = Some((rate, Mutex::new(ChaCha8Rng::seed_from_u64(seed)), failed));
        self
    }
}

impl ChainStore for SimStore {
    fn store(&self) -> &Store {
        &self.shared.store
    }
    fn safety_record(&self) -> Result<Option<Vec<u8>>, StoreError> {
        if self.forget_record.swap(false, Ordering::SeqCst) {
            return Ok(None);
        }
        self.store().safety_get(node::driver::SAFETY_RECORD_KEY)
    }
    fn block(&self, h: Height) -> Result<Option<Block>, StoreError> {
        if let Some((rate, rng, failed)) = &self.read_faults {
            if rng.lock().expect("read fault draws").gen_bool(*rate) {
                failed.fetch_add(1, Ordering::Relaxed);
                return Err(StoreError::Corrupt {
                    height: h,
                    what: "a simulated read failure".into(),
                });
            }
        }
        self.store().block(h)
    }
}
