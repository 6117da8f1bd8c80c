//! The edges of the driver core: everything it asks of the world goes
//! through one of four small traits, so that the node runs it over libp2p,
//! tokio and RocksDB (`shell`), and the seeded simulator runs the very same
//! core over a simulated network, clock and store.
//!
//! - [`Clock`]: the time, monotonic and wall.
//! - [`Timers`]: wake the core with a consensus timeout later.
//! - [`Network`]: gossip, block-sync requests and answers, the allow list,
//!   and checking gossiped transactions off the loop.
//! - [`ChainStore`]: the durable chain and the safety record.

use std::time::{Duration, Instant};

use ledger::merkle::Frontier;
use ledger::store::{ChainMeta, Store, StoreError};
use ledger::{
    Block, BlockOutcome, CommitCertificate, Evidence, Hash, Height, SignedTx, State, ValidatorSet,
};
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::{Multiaddr, PeerId};

use crate::wire::{SyncRequest, SyncResponse};

/// Key of the safety record in the store's safety column.
pub const SAFETY_RECORD_KEY: &[u8] = b"record";
/// Key of the block of the record's valid value, in the safety column.
pub const VALID_BLOCK_KEY: &[u8] = b"valid_block";

/// The time.
pub trait Clock {
    /// A monotonic reading, for waits and windows.
    fn now(&self) -> Instant;
    /// Milliseconds since the Unix epoch, for block times.
    fn wall_ms(&self) -> u64;
}

/// Consensus timeouts.
pub trait Timers {
    /// Hands `timeout` back as [`super::Event::Timeout`] after `after`.
    fn schedule(&mut self, timeout: consensus::Timeout, after: Duration);
}

/// The four gossip topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// Transaction batches.
    Txs,
    /// Proposals with their compact blocks.
    Proposals,
    /// Votes.
    Votes,
    /// Evidence of equivocation.
    Evidence,
}

impl Topic {
    /// The topic of a gossipsub topic name, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Topic> {
        match name {
            crate::wire::TOPIC_TXS => Some(Topic::Txs),
            crate::wire::TOPIC_PROPOSALS => Some(Topic::Proposals),
            crate::wire::TOPIC_VOTES => Some(Topic::Votes),
            crate::wire::TOPIC_EVIDENCE => Some(Topic::Evidence),
            _ => None,
        }
    }
}

/// A block-sync request this node sent, as the network numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// A block-sync request this node must answer, as the network numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplyId(pub u64);

/// A gossip message of transactions, waiting to be checked.
pub type GossipedTxs = (MessageId, PeerId, Vec<SignedTx>);

/// A gossip message's verdict, for gossipsub.
pub type GossipVerdict = (MessageId, PeerId, MessageAcceptance);

/// The peer-to-peer network.
pub trait Network {
    /// Publishes on a topic; false if no peer could take the message now.
    fn publish(&mut self, topic: Topic, bytes: Vec<u8>) -> bool;
    /// Tells gossip whether to forward a message it delivered.
    fn report(&mut self, id: &MessageId, from: &PeerId, verdict: MessageAcceptance);
    /// Sends a block-sync request; the answer comes back as
    /// [`super::Event::SyncResponse`] or [`super::Event::SyncFailed`].
    fn request(&mut self, peer: &PeerId, request: SyncRequest) -> RequestId;
    /// Answers a peer's block-sync request.
    fn respond(&mut self, reply: ReplyId, response: SyncResponse);
    /// Lets a peer connect.
    fn allow(&mut self, peer: PeerId);
    /// Refuses a peer and closes its connections.
    fn disallow(&mut self, peer: PeerId);
    /// Dials a peer that is not connected.
    fn dial(&mut self, peer: PeerId, addr: Multiaddr);
    /// Admits gossiped transactions to the mempool off the loop; the
    /// verdicts come back as [`super::Event::Admitted`]. One call at a time.
    fn admit(&mut self, batches: Vec<GossipedTxs>);
    /// Publishes to `to` only and not to `not`: only a Byzantine validator
    /// of the tests does this.
    fn publish_to(&mut self, topic: Topic, bytes: Vec<u8>, to: &[PeerId], not: &[PeerId]) {
        let _ = (to, not);
        self.publish(topic, bytes);
    }
}

/// The durable chain and the safety record. Every method reads or writes
/// [`ChainStore::store`] unless an implementation says otherwise: a
/// simulation overrides the ones it makes fail or forget.
pub trait ChainStore: Send + Sync {
    /// The store behind it.
    fn store(&self) -> &Store;
    /// The folder, for messages.
    fn path(&self) -> String {
        self.store().path().display().to_string()
    }
    /// Whether the store is open for writing.
    fn is_writable(&self) -> bool {
        self.store().is_writable()
    }
    /// Opens the store for writing again after a failed write.
    fn reopen(&self) -> Result<(), StoreError> {
        self.store().reopen()
    }
    /// The chain's metadata.
    fn meta(&self) -> Result<Option<ChainMeta>, StoreError> {
        self.store().meta()
    }
    /// Block `h`.
    fn block(&self, h: Height) -> Result<Option<Block>, StoreError> {
        self.store().block(h)
    }
    /// Block `h`'s commit certificate.
    fn cert(&self, h: Height) -> Result<Option<CommitCertificate>, StoreError> {
        self.store().cert(h)
    }
    /// The history tree over blocks 1..=`size`.
    fn history_frontier(&self, size: Height) -> Result<Frontier, StoreError> {
        self.store().history_frontier(size)
    }
    /// A validator set by its hash.
    fn validator_set(&self, hash: &Hash) -> Result<Option<ValidatorSet>, StoreError> {
        self.store().validator_set(hash)
    }
    /// All committed evidence with the height of the block carrying it.
    fn evidence(&self) -> Result<Vec<(Height, Evidence)>, StoreError> {
        self.store().evidence()
    }
    /// The safety record's bytes, if one was written.
    fn safety_record(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.store().safety_get(SAFETY_RECORD_KEY)
    }
    /// Writes the safety record, synced before returning.
    fn put_safety_record(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.store().safety_put(SAFETY_RECORD_KEY, bytes)
    }
    /// The block of the record's valid value, as last written.
    fn valid_block(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.store().safety_get(VALID_BLOCK_KEY)
    }
    /// Writes the safety record with the block of its valid value, in one
    /// synced write.
    fn put_safety_record_with_block(&self, bytes: &[u8], block: &[u8]) -> Result<(), StoreError> {
        self.store()
            .safety_put_all(&[(SAFETY_RECORD_KEY, bytes), (VALID_BLOCK_KEY, block)])
    }
    /// Commits block H in one synced batch.
    fn commit_block(
        &self,
        block: &Block,
        cert: &CommitCertificate,
        outcome: &BlockOutcome,
        before: &State,
    ) -> Result<(), StoreError> {
        self.store().commit_block(block, cert, outcome, before)
    }
}

/// The node's own store: the one in its [`crate::shared::Shared`], which
/// the HTTP handlers read too.
impl ChainStore for crate::shared::Shared {
    fn store(&self) -> &Store {
        &self.store
    }
}

/// Everything the core needs of the world but the store.
pub trait Io: Clock + Timers + Network {}

impl<T: Clock + Timers + Network> Io for T {}
