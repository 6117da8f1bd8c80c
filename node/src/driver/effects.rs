//! Consensus effects, carried out in the order consensus gives them.

use std::collections::VecDeque;
use std::time::Duration;

use consensus::{Effect, Input, Message, Signed, Validity};
use ledger::{CommitCertificate, Evidence, Hash, Height, PublicKey, Signature, Vote};
use tracing::{debug, error, info, warn};

use super::{ledger_vote, ledger_vote_type, Core, Fx, In, Io, Topic};
use crate::wire::{self, CompactBlock, ProposalMsg, SignedProposal};

impl<I: Io> Core<I> {
    pub(crate) fn input(&mut self, input: In) {
        let fx = self.machine.handle(input);
        self.effects(fx);
    }

    pub(crate) fn effects(&mut self, fx: Fx) {
        let mut queue: VecDeque<In> = VecDeque::new();
        let mut fx: VecDeque<_> = fx.into();
        #[cfg(feature = "faults")]
        if self.faults.sign_before_persist {
            // Broken on purpose: every signature goes out before the record.
            let (persist, rest): (Vec<_>, Vec<_>) = fx
                .drain(..)
                .partition(|e| matches!(e, Effect::PersistSafetyRecord(_)));
            fx.extend(rest);
            fx.extend(persist);
        }
        loop {
            while let Some(effect) = fx.pop_front() {
                self.effect(effect, &mut queue);
            }
            match queue.pop_front() {
                Some(input) => fx.extend(self.machine.handle(input)),
                None => break,
            }
        }
        self.shared.live.write().expect("live lock").round = self.machine.round().0;
        metrics::gauge!("minhbach_round").set(self.machine.round().0 as f64);
    }

    fn effect(&mut self, effect: Effect<Hash, PublicKey, Signature>, queue: &mut VecDeque<In>) {
        match effect {
            Effect::PersistSafetyRecord(record) => {
                // Signing without a durable record could equivocate after a
                // restart: a record that is not written stops the signature
                // that follows it (below), and every later one until the
                // store can be written again.
                if self.store_fault.is_some() {
                    return;
                }
                let bytes = serde_json::to_vec(&record).expect("a safety record serializes");
                // The valid value's block is kept with the record: after a
                // restart this validator must be able to propose it again
                // (L16), even if no other node still holds it.
                let valid = record.valid().map(|v| v.value);
                let block = valid
                    .filter(|v| self.valid_block_saved != Some(*v))
                    .and_then(|v| self.candidates.get(&v))
                    .map(|c| c.block.encode());
                let written = match &block {
                    Some(block) => self.store.put_safety_record_with_block(&bytes, block),
                    None => self.store.put_safety_record(&bytes),
                };
                match written {
                    Ok(()) if block.is_some() => self.valid_block_saved = valid,
                    Ok(()) => {}
                    Err(e) => self.store_failed("persist the safety record", &e.to_string()),
                }
            }
            Effect::SignProposal(p) => {
                let Some(key) = &self.key else { return };
                if self.store_fault.is_some() {
                    debug!(
                        height = p.height.0,
                        "not proposing: the store cannot be written"
                    );
                    return;
                }
                let Some(candidate) = self.candidates.get(&p.value) else {
                    error!(
                        height = p.height.0,
                        "asked to propose a block this node does not have"
                    );
                    return;
                };
                let signed = SignedProposal::sign(
                    key,
                    self.shared.chain_id(),
                    Height(p.height.0),
                    p.round.0,
                    p.value,
                    p.pol_round.map(|r| r.0),
                );
                let msg = ProposalMsg {
                    proposal: signed.clone(),
                    block: CompactBlock::of(&candidate.block),
                    sent_ms: self.io.wall_ms(),
                };
                info!(
                    height = p.height.0,
                    round = p.round.0,
                    txs = candidate.block.txs.len(),
                    "proposing block {}",
                    p.value
                );
                self.send_proposal(msg);
                queue.push_back(Input::Proposal {
                    proposal: Signed {
                        message: p,
                        signature: signed.signature,
                    },
                    validity: Validity::Valid,
                });
            }
            Effect::SignVote(v) => {
                let Some(key) = &self.key else { return };
                if self.store_fault.is_some() {
                    debug!(
                        height = v.height.0,
                        "not voting: the store cannot be written"
                    );
                    return;
                }
                let vote = Vote::sign(
                    key,
                    self.shared.chain_id(),
                    ledger_vote_type(v.vote_type),
                    Height(v.height.0),
                    v.round.0,
                    v.value,
                );
                let signature = vote.signature;
                self.note_precommit(&vote);
                self.send_vote(vote);
                queue.push_back(Input::Vote(Signed {
                    message: v,
                    signature,
                }));
            }
            Effect::Broadcast(Message::Vote(v)) => {
                self.publish_vote(ledger_vote(&v));
            }
            Effect::Broadcast(Message::Proposal(p)) => {
                if let Some(candidate) = self.candidates.get(&p.message.value) {
                    let msg = ProposalMsg {
                        proposal: SignedProposal {
                            height: Height(p.message.height.0),
                            round: p.message.round.0,
                            block_hash: p.message.value,
                            pol_round: p.message.pol_round.map(|r| r.0),
                            proposer: p.message.proposer,
                            signature: p.signature,
                        },
                        block: CompactBlock::of(&candidate.block),
                        sent_ms: self.io.wall_ms(),
                    };
                    self.io.publish(Topic::Proposals, wire::encode(&msg));
                }
            }
            Effect::ScheduleTimeout {
                timeout,
                duration_ms,
            } => self
                .io
                .schedule(timeout, Duration::from_millis(duration_ms)),
            Effect::GetValue { height, round } => {
                if let Some(value) = self.build_proposal() {
                    queue.push_back(Input::ProposeValue {
                        height,
                        round,
                        value,
                    });
                }
            }
            Effect::Decide(decision) => {
                let Some(candidate) = self.candidates.remove(&decision.value) else {
                    warn!(
                        height = decision.height.0,
                        "decided block {} is not here; it will come by sync", decision.value
                    );
                    return;
                };
                let Some(outcome) = candidate.outcome else {
                    error!(
                        height = decision.height.0,
                        "decided a block this node judged invalid"
                    );
                    return;
                };
                let cert = CommitCertificate {
                    height: Height(decision.height.0),
                    round: decision.round.0,
                    block_hash: decision.value,
                    precommits: decision.precommits.iter().map(ledger_vote).collect(),
                };
                if self.commit(candidate.block, cert, outcome) {
                    let pause = Duration::from_millis(self.config.consensus.block_interval_ms);
                    self.next_height_at = Some(self.io.now() + pause);
                }
            }
            Effect::Evidence(ev) => {
                let [a, b] = ev.votes().clone();
                let evidence = Evidence {
                    a: ledger_vote(&a),
                    b: ledger_vote(&b),
                };
                warn!(
                    validator = %evidence.a.validator,
                    height = evidence.height().0,
                    "equivocation seen"
                );
                self.io.publish(Topic::Evidence, wire::encode(&evidence));
                self.add_evidence(evidence);
            }
            Effect::SigningRefused(e) => {
                error!("the safety record refused a signature: {e}");
            }
        }
    }

    /// Gossips this validator's own proposal (twice over, for a Byzantine
    /// one).
    fn send_proposal(&mut self, #[allow(unused_mut)] mut msg: ProposalMsg) {
        #[cfg(feature = "faults")]
        if self.faults.propose_oversized {
            let names = &mut msg.block.tx_hashes;
            let pad = (names.len()..=ledger::validity::BLOCK_TXS_MAX)
                .map(|k| Hash::digest(format!("no such transaction {k}").as_bytes()));
            names.extend(pad.collect::<Vec<_>>());
        }
        #[cfg(feature = "byzantine")]
        if self.byzantine {
            self.byzantine_propose(msg);
            return;
        }
        self.io.publish(Topic::Proposals, wire::encode(&msg));
    }

    /// Gossips this validator's own vote (and a conflicting one, for a
    /// Byzantine one).
    fn send_vote(&mut self, vote: Vote) {
        #[cfg(feature = "byzantine")]
        if self.byzantine {
            self.byzantine_vote(vote);
            return;
        }
        self.publish_vote(vote);
    }
}
