//! Choosing a block's transactions from the pool, fairly between signers,
//! and what a committed block takes out of it.

use std::collections::HashSet;

use ledger::{EntityId, Hash, SignedTx, State, TxError};

use super::{Mempool, Reap, SignerQueue};

impl Mempool {
    /// Selects transactions for a block on top of `state`: at most `txs_max`
    /// of them and `bytes_max` encoded bytes in all. Every candidate is
    /// executed in a block overlay, so the result executes as a block; one
    /// that fails ends its signer's turns and is reported in
    /// [`Reap::rejected`]. The result depends only on the mempool and `state`.
    ///
    /// Each signer's share of the block: signers take turns, one transaction
    /// per turn, and each signer's transactions go in nonce order from its
    /// committed nonce + 1. So a signer takes a second transaction only once
    /// every other signer with a ready one has taken one: while n signers
    /// have ready transactions left, none takes more than ⌈`txs_max` / n⌉,
    /// and one signer fills what is left only when the others have nothing
    /// more. The turns start with the signer that has waited longest: a
    /// signer goes to the back when one of its transactions commits (see
    /// [`Mempool::on_commit`]), so when more signers wait than a block holds,
    /// those left out go first in the next block.
    ///
    /// Cost: O(signers + `txs_max`) turns, each an execution.
    pub fn reap(&self, state: &State, txs_max: usize, bytes_max: usize) -> Reap {
        struct Turn<'a> {
            queue: &'a SignerQueue,
            next: Option<u64>,
        }
        let mut turns: Vec<Turn> = self
            .signers
            .iter()
            .map(|(id, queue)| Turn {
                queue,
                // An unknown signer's head is still tried, so that it is
                // reported as unknown rather than kept forever.
                next: match state.entity(id) {
                    Some(e) => e.nonce.checked_add(1),
                    None => queue.nonces.keys().next().copied(),
                },
            })
            .collect();
        turns.sort_by_key(|t| t.queue.since);

        let mut reap = Reap::default();
        let mut exec = state.begin_block();
        while !turns.is_empty() && reap.txs.len() < txs_max {
            for turn in turns.iter_mut() {
                if reap.txs.len() >= txs_max {
                    break;
                }
                let Some(nonce) = turn.next.take() else {
                    continue;
                };
                let Some(slot) = turn.queue.nonces.get(&nonce) else {
                    continue;
                };
                let pooled = &self.txs[&slot.hash];
                if reap.bytes.saturating_add(pooled.bytes) > bytes_max {
                    continue;
                }
                match exec.apply_tx(&pooled.tx, self.verdicts.get(&slot.hash)) {
                    Ok(()) => {
                        reap.txs.push(pooled.tx.clone());
                        reap.hashes.push(slot.hash);
                        reap.bytes += pooled.bytes;
                        turn.next = nonce.checked_add(1);
                    }
                    Err(e) => reap.rejected.push((slot.hash, e)),
                }
            }
            // Signers whose turns ended are not visited again, so a long
            // queue among many finished ones costs its own length only.
            turns.retain(|t| t.next.is_some());
        }
        reap
    }

    /// Updates the mempool after a block: removes its transactions and every
    /// pooled one whose nonce is now at or below its signer's committed nonce,
    /// then checks each signer's next transaction against `state` (the state
    /// after the block), dropping a failure with the signer's later nonces.
    /// The signers with a transaction in the block move to the back of the
    /// reaping order, in block order. Returns what was dropped, with why; the
    /// block's own transactions are not in it.
    pub fn on_commit(&mut self, committed: &[SignedTx], state: &State) -> Vec<(Hash, TxError)> {
        let mut served: Vec<&EntityId> = Vec::new();
        let mut seen: HashSet<&EntityId> = HashSet::new();
        for tx in committed {
            // Out of the hash index now, so that the resync below takes it
            // out of its queue without reporting it. Pooled, it is in its
            // signer's queue at its nonce (found so without hashing it).
            let slot = self
                .signers
                .get(&tx.body.signer)
                .and_then(|q| q.nonces.get(&tx.body.nonce))
                .map(|slot| slot.hash);
            if let Some(hash) = slot.filter(|h| self.txs.get(h).is_some_and(|p| p.tx == *tx)) {
                self.forget(&hash);
            }
            if seen.insert(&tx.body.signer) {
                served.push(&tx.body.signer);
            }
        }
        let mut dropped = Vec::new();
        let ids: Vec<EntityId> = self.signers.keys().cloned().collect();
        for id in ids {
            dropped.extend(self.recheck_signer(&id, state));
        }
        for id in served {
            if let Some(q) = self.signers.get_mut(id) {
                q.since = self.arrivals;
                self.arrivals += 1;
            }
        }
        dropped
    }

    fn recheck_signer(&mut self, id: &EntityId, state: &State) -> Vec<(Hash, TxError)> {
        let Some(entity) = state.entity(id) else {
            let first = self
                .signers
                .get(id)
                .and_then(|q| q.nonces.keys().next().copied());
            return match first {
                Some(nonce) => {
                    self.drop_from(id, nonce, TxError::UnknownSigner { signer: id.clone() })
                }
                None => Vec::new(),
            };
        };
        let Some(stale) = self.edit_queue(id, |q| q.resync(entity.nonce)) else {
            return Vec::new();
        };
        let head = entity.nonce.checked_add(1).and_then(|n| {
            let slot = self.signers.get(id)?.nonces.get(&n)?;
            Some((n, slot.hash))
        });
        let mut dropped = Vec::new();
        for (nonce, slot) in stale {
            // The block's own transactions were forgotten already.
            if self.forget(&slot.hash).is_none() {
                continue;
            }
            let expected = entity.nonce.saturating_add(1);
            dropped.push((
                slot.hash,
                TxError::BadNonce {
                    signer: id.clone(),
                    expected,
                    got: nonce,
                },
            ));
        }
        let head = head.and_then(|(nonce, hash)| Some((nonce, hash, self.txs.get(&hash)?)));
        if let Some((nonce, hash, pooled)) = head {
            let tx = &pooled.tx;
            let verdict = self.verdicts.verify(&[(hash, tx)])[0];
            if let Err(e) = state.begin_block().apply_tx(tx, Some(verdict)) {
                dropped.extend(self.drop_from(id, nonce, e));
            }
        }
        dropped
    }
}
