//! Gossip in and out: votes, proposals, evidence and transaction batches,
//! the peers allowed and dialled, and bans for peers that forward invalid
//! gossip.
//!
//! Every message is judged as strictly from an allowed peer as it would be
//! from a stranger: a vote whose signer is not a validator of its height is
//! dropped before its signature is even checked, and is never forwarded.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use consensus::{Input, Signed};
use ledger::{SignedTx, Vote};
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::{Multiaddr, PeerId};
use tracing::{debug, info, warn};

use super::{
    consensus_vote_type, Core, GossipVerdict, Io, Topic, GOSSIPED_TXS_MAX, UNSENT_TXS_MAX,
};
use crate::wire::{self, VoteMsg};

/// Invalid gossip messages (refused: undecodable, or a signature that does
/// not verify) a peer may forward within [`INVALID_GOSSIP_WINDOW`]. Honest
/// nodes check every message before they forward it, so they send none.
pub const INVALID_GOSSIP_MAX: u32 = 32;
/// The window over which invalid gossip is counted.
pub const INVALID_GOSSIP_WINDOW: Duration = Duration::from_secs(10);
/// How long a peer that sent more invalid gossip than allowed is
/// disconnected and refused.
pub const INVALID_GOSSIP_BAN: Duration = Duration::from_secs(60);
/// Gossiped transactions gathered before they are admitted as one batch.
pub const ADMIT_BATCH_TXS: usize = 512;
/// The longest a gossiped transaction waits to be gathered into a batch.
pub const ADMIT_WAIT: Duration = Duration::from_millis(20);

/// Gossiped transaction batches waiting to be admitted together.
#[derive(Default)]
pub(crate) struct Gathered {
    batches: Vec<super::GossipedTxs>,
    /// How many transactions they hold.
    pub(crate) count: usize,
    /// When the oldest arrived.
    since: Option<Instant>,
}

/// Invalid gossip per peer, and the peers banned for it.
#[derive(Default)]
pub(crate) struct Bans {
    /// Since when each peer's invalid gossip is counted, and how much.
    invalid: HashMap<PeerId, (Instant, u32)>,
    /// Peers refused, until when.
    pub(crate) banned: HashMap<PeerId, Instant>,
}

impl<I: Io> Core<I> {
    pub(crate) fn on_gossip(
        &mut self,
        id: MessageId,
        from: PeerId,
        topic: Option<Topic>,
        data: Vec<u8>,
    ) {
        let verdict = match topic {
            Some(Topic::Txs) => match wire::decode_tx_batch(&data) {
                // Beyond the bound, a batch is not taken (nor forwarded);
                // its transactions come back in a proposal, which fetches
                // what is missing.
                Ok(txs) if self.gossiped.count + txs.len() > GOSSIPED_TXS_MAX => {
                    MessageAcceptance::Ignore
                }
                Ok(txs) => {
                    let now = self.io.now();
                    self.gossiped.since.get_or_insert(now);
                    self.gossiped.count += txs.len();
                    self.gossiped.batches.push((id, from, txs));
                    self.admit_gossiped_txs(false);
                    return;
                }
                Err(_) => MessageAcceptance::Reject,
            },
            Some(Topic::Votes) => match wire::decode_vote(&data) {
                Ok(msg) => self.on_vote(from, msg),
                Err(_) => MessageAcceptance::Reject,
            },
            Some(Topic::Proposals) => match wire::decode_proposal(&data) {
                Ok(msg) => self.on_proposal_msg(msg, from),
                Err(_) => MessageAcceptance::Reject,
            },
            Some(Topic::Evidence) => match wire::decode_evidence(&data) {
                Ok(ev) => match self.check_evidence(&ev) {
                    Ok(Ok(())) => {
                        self.add_evidence(ev);
                        MessageAcceptance::Accept
                    }
                    Ok(Err(e)) => {
                        debug!("evidence refused: {e}");
                        MessageAcceptance::Ignore
                    }
                    Err(e) => {
                        debug!("evidence cannot be checked now: {e}");
                        MessageAcceptance::Ignore
                    }
                },
                Err(_) => MessageAcceptance::Reject,
            },
            None => MessageAcceptance::Reject,
        };
        self.report(&id, &from, verdict);
    }

    /// A vote for the height just committed (for equivocation), the
    /// current one, or the next. Its signer must be a validator of its
    /// height before anything else is done with it.
    fn on_vote(&mut self, from: PeerId, msg: VoteMsg) -> MessageAcceptance {
        let received_ms = self.io.wall_ms();
        let VoteMsg { vote, sent_ms } = msg;
        let h = vote.height.0;
        let committed = self.committed_height();
        let signer = {
            let state = self.shared.state.read().expect("state lock");
            let set = if h == committed {
                self.prev_set.as_ref()
            } else if h == committed + 1 {
                Some(state.validators())
            } else if h == committed + 2 {
                Some(state.next_validators())
            } else {
                None
            };
            set.and_then(|s| s.get(&vote.validator))
                .map(|v| v.name.clone())
        };
        let Some(signer) = signer else {
            return MessageAcceptance::Ignore;
        };
        if !vote.verify(self.shared.chain_id()) {
            return MessageAcceptance::Reject;
        }
        self.note_clock(vote.validator, &signer, sent_ms, received_ms);
        self.note_precommit(&vote);
        self.sync.heard_height(&from, h.saturating_sub(1));
        self.input(Input::Vote(Signed {
            message: consensus::Vote {
                vote_type: consensus_vote_type(vote.vote_type),
                height: consensus::Height(h),
                round: consensus::Round(vote.round),
                value: vote.block_hash,
                validator: vote.validator,
            },
            signature: vote.signature,
        }));
        // A vote for the height just committed is forwarded too: a validator
        // that signs two votes may send each to different peers, late, and
        // only if both reach one node does the double signing become
        // evidence.
        MessageAcceptance::Accept
    }

    pub(crate) fn publish_vote(&mut self, vote: Vote) {
        let msg = VoteMsg {
            vote,
            sent_ms: self.io.wall_ms(),
        };
        self.io.publish(Topic::Votes, wire::encode(&msg));
    }

    /// Gossips a batch of transactions; those no peer could take yet (the
    /// node has just started, say) are tried again on later ticks while they
    /// are still pending.
    fn publish_txs(&mut self, txs: Vec<SignedTx>) {
        if !self.io.publish(Topic::Txs, wire::encode(&txs)) {
            let room = UNSENT_TXS_MAX.saturating_sub(self.unsent_txs.len());
            self.unsent_txs.extend(txs.into_iter().take(room));
        }
    }

    fn retry_unsent_txs(&mut self) {
        let waiting: Vec<SignedTx> = {
            let mempool = self.shared.mempool.lock().expect("mempool lock");
            self.unsent_txs
                .drain(..)
                .filter(|tx| mempool.contains(&tx.hash()))
                .collect()
        };
        self.publish_in_batches(waiting);
    }

    /// Gossips `txs` as batch messages, each closed at
    /// [`wire::TX_BATCH_TXS_MAX`] transactions or half of
    /// [`wire::TX_BATCH_BYTES_MAX`].
    pub(crate) fn publish_in_batches(&mut self, txs: Vec<SignedTx>) {
        let mut batch = Vec::new();
        let mut bytes = 0;
        for tx in txs {
            bytes += tx.encode().len();
            batch.push(tx);
            if batch.len() == wire::TX_BATCH_TXS_MAX || bytes >= wire::TX_BATCH_BYTES_MAX / 2 {
                self.publish_txs(std::mem::take(&mut batch));
                bytes = 0;
            }
        }
        if !batch.is_empty() {
            self.publish_txs(batch);
        }
    }

    /// When the gossiped transactions waiting are due for admission.
    pub(crate) fn admit_due(&self) -> Option<Instant> {
        if self.admitting {
            return None;
        }
        self.gossiped.since.map(|t| t + ADMIT_WAIT)
    }

    /// Admits the gossiped transactions waiting, as one batch off the loop,
    /// one batch at a time so a signer's nonces are admitted in the order
    /// they came. Signatures are checked several times faster in large
    /// batches, so the waiting batches are gathered until they hold
    /// [`ADMIT_BATCH_TXS`] transactions or the oldest has waited
    /// [`ADMIT_WAIT`] (`now` admits them at once).
    pub(crate) fn admit_gossiped_txs(&mut self, now: bool) {
        if self.admitting || self.gossiped.batches.is_empty() {
            return;
        }
        if !now && self.gossiped.count < ADMIT_BATCH_TXS {
            return;
        }
        self.admitting = true;
        let batches = std::mem::take(&mut self.gossiped.batches);
        self.gossiped = Gathered::default();
        self.io.admit(batches);
    }

    /// Gossip is told which admitted messages to forward: those with a
    /// transaction admitted; not those with a bad signature (refused) or
    /// with nothing this node could admit now (ignored).
    pub(crate) fn on_admitted(&mut self, verdicts: Vec<GossipVerdict>) {
        self.admitting = false;
        for (id, from, verdict) in verdicts {
            self.report(&id, &from, verdict);
        }
        if !self.awaiting.is_empty() {
            self.retry_awaiting();
        }
        self.admit_gossiped_txs(false);
    }

    pub(crate) fn report(&mut self, id: &MessageId, from: &PeerId, verdict: MessageAcceptance) {
        let invalid = matches!(verdict, MessageAcceptance::Reject);
        self.io.report(id, from, verdict);
        if invalid {
            self.note_invalid_gossip(*from);
        }
    }

    /// Counts a refused message against the peer that forwarded it; past
    /// [`INVALID_GOSSIP_MAX`] in [`INVALID_GOSSIP_WINDOW`], the peer is
    /// disconnected and refused for [`INVALID_GOSSIP_BAN`].
    pub(crate) fn note_invalid_gossip(&mut self, peer: PeerId) {
        metrics::counter!("minhbach_gossip_invalid_total").increment(1);
        let now = self.io.now();
        let (since, count) = self.bans.invalid.entry(peer).or_insert((now, 0));
        if now.duration_since(*since) > INVALID_GOSSIP_WINDOW {
            *since = now;
            *count = 0;
        }
        *count += 1;
        if *count <= INVALID_GOSSIP_MAX || self.bans.banned.contains_key(&peer) {
            return;
        }
        self.bans.invalid.remove(&peer);
        warn!(
            %peer,
            seconds = INVALID_GOSSIP_BAN.as_secs(),
            "peer sent more than {INVALID_GOSSIP_MAX} invalid gossip messages in {} s; \
             disconnecting it",
            INVALID_GOSSIP_WINDOW.as_secs()
        );
        metrics::counter!("minhbach_peers_banned_total").increment(1);
        self.bans.banned.insert(peer, now + INVALID_GOSSIP_BAN);
        self.io.disallow(peer);
    }

    /// Lets peers whose ban is over connect again, if they are still allowed.
    fn lift_bans(&mut self) {
        let now = self.io.now();
        self.bans
            .invalid
            .retain(|_, (since, _)| now.duration_since(*since) <= INVALID_GOSSIP_WINDOW);
        let over: Vec<PeerId> = self
            .bans
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in over {
            self.bans.banned.remove(&peer);
            if self.allowed.contains(&peer) {
                info!(%peer, "ban over; the peer may connect again");
                self.io.allow(peer);
            }
        }
    }

    pub(crate) fn on_tick(&mut self) {
        self.lift_bans();
        self.dial_peers();
        self.retry_unsent_txs();
        self.retry_unavailable();
        self.ask_statuses();
        self.maybe_sync();
        self.check_sign_guard();
        if self.dial.is_empty() {
            self.shared.live.write().expect("live lock").heard_peer = true;
        }
        self.publish_ready();
        self.publish_clock_offset();
        metrics::gauge!("minhbach_mempool_txs")
            .set(self.shared.mempool.lock().expect("mempool lock").len() as f64);
    }

    pub(crate) fn dial_peers(&mut self) {
        let targets: Vec<(PeerId, Multiaddr)> = self
            .dial
            .iter()
            .filter(|(p, _)| {
                !self.connected.contains(p)
                    && self.allowed.contains(p)
                    && !self.bans.banned.contains_key(p)
            })
            .cloned()
            .collect();
        for (peer, addr) in targets {
            self.io.dial(peer, addr);
        }
    }

    pub(crate) fn on_connected(&mut self, peer: PeerId) {
        if self.connected.insert(peer) {
            info!(%peer, "peer connected");
        }
        self.ask_status(peer);
        self.update_peer_count();
    }

    pub(crate) fn on_disconnected(&mut self, peer: PeerId) {
        self.connected.remove(&peer);
        self.sync.forget(&peer);
        info!(%peer, "peer disconnected");
        self.update_peer_count();
    }

    fn update_peer_count(&mut self) {
        let n = self.connected.len();
        self.shared.live.write().expect("live lock").peers = n;
        metrics::gauge!("minhbach_peers").set(n as f64);
        self.update_power_share();
    }

    /// Allows exactly the current and next validators and the registered
    /// nodes, but for those banned for invalid gossip until their ban is
    /// over; disallowing a peer closes its connections.
    pub(crate) fn update_allowed(&mut self) {
        let wanted = crate::net::allowed_peers(&self.shared.state.read().expect("state lock"));
        for p in self
            .allowed
            .difference(&wanted)
            .copied()
            .collect::<Vec<_>>()
        {
            info!(peer = %p, "peer no longer allowed; disconnecting");
            self.io.disallow(p);
        }
        for p in wanted
            .difference(&self.allowed)
            .copied()
            .collect::<Vec<_>>()
        {
            if !self.bans.banned.contains_key(&p) {
                self.io.allow(p);
            }
        }
        self.allowed = wanted;
    }
}
