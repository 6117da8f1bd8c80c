//! The feed's own copy of the ledger: each draft executed on it before it
//! is handed out (or, for a deliberate mistake, checked to be refused with
//! the expected code), and the bookkeeping of what was planned: which
//! controlled payments gather their signatures on the node, and the
//! vendors' acknowledgements that follow payments.

use std::time::Duration;

use ledger::state::Verdict;
use ledger::tx::{EntityKind, Op, SignedTx, TxBody, TxSignature};
use ledger::{EntityId, PublicKey, Signature, TxError};
use rand::Rng;

use super::{
    Bookkeeping, Draft, Expect, Feed, Needs, Planned, AWAIT_ONE_IN, COMMIT_MARGIN_MS,
    COSIGN_AFTER_MS_MAX, COSIGN_AFTER_MS_MIN,
};

impl Feed {
    /// Executes a draft on the model and records it, or leaves it out.
    pub(super) fn settle(&mut self, draft: Draft) -> Option<Planned> {
        let spends = matches!(
            draft.op,
            Op::Allocate { .. }
                | Op::Award { .. }
                | Op::AmendContract { .. }
                | Op::ReturnFunds { .. }
        );
        let base = match draft.expect {
            Expect::Accepted => Needs::Nothing,
            Expect::Refused(_) => Needs::SignerIdle,
        };
        let mut needs = if spends && self.raised.contains(&draft.signer) {
            Needs::AllCommitted
        } else {
            base
        };
        let controller = self
            .model
            .control_rule_for(&draft.signer, &draft.op)
            .map(|rule| rule.controller)
            .filter(|_| !draft.unapproved);
        match draft.expect {
            Expect::Accepted => {
                if self.apply(&draft.signer, &draft.op).is_err() {
                    self.skipped += 1;
                    if let Bookkeeping::Stage(c, _) | Bookkeeping::Amended(c) = &draft.then {
                        self.active.remove(c);
                    }
                    return None;
                }
            }
            Expect::Refused(code) => {
                match self.probe(&draft.signer, &draft.op, !draft.unapproved) {
                    Err(e) if e.code() == code => {}
                    _ => {
                        self.skipped += 1;
                        return None;
                    }
                }
            }
        }
        if needs == Needs::AllCommitted {
            self.raised.clear();
        }
        let seq = self.actions;
        let mut cosign_after = None;
        if draft.expect == Expect::Accepted {
            self.record(&draft);
            if let Op::Pay { contract, .. } = &draft.op {
                if controller.is_some() && self.rng.gen_ratio(1, AWAIT_ONE_IN) {
                    let ms = self
                        .rng
                        .gen_range(COSIGN_AFTER_MS_MIN..=COSIGN_AFTER_MS_MAX);
                    cosign_after = Some(Duration::from_millis(ms));
                    // Left with the node, it must be the signer's next
                    // transaction on the committed state.
                    needs = needs.max(Needs::SignerIdle);
                }
                let waits = cosign_after.map_or(0, |d| {
                    self.actions_in(d.as_millis() as u64 + COMMIT_MARGIN_MS)
                });
                if waits > 0 {
                    self.quiet.retain(|_, until| *until > seq);
                    self.quiet.insert(draft.signer.clone(), seq + 1 + waits);
                }
                self.schedule_ack(contract, seq, waits);
            }
        }
        Some(Planned {
            seq,
            signer: draft.signer,
            op: draft.op,
            expect: draft.expect,
            needs,
            summary: draft.summary,
            controller,
            cosign_after,
            after: draft.after,
        })
    }

    /// Bookkeeping after a valid draft executed on the model.
    fn record(&mut self, draft: &Draft) {
        match &draft.op {
            Op::Appropriate { to, .. } | Op::Allocate { to, .. } => {
                self.raised.insert(to.clone());
            }
            Op::ReturnFunds { .. } => {
                let parent = match self.model.entity(&draft.signer) {
                    Some(e) if e.kind == EntityKind::Department => e.parent.clone(),
                    _ => Some(self.treasury.clone()),
                };
                self.raised.extend(parent);
            }
            _ => {}
        }
        match &draft.then {
            Bookkeeping::Nothing => {}
            Bookkeeping::Awarded(contract, plan, seq) => {
                self.contract_seq.insert(plan.department.clone(), *seq);
                self.active.insert(contract.clone(), plan.clone());
            }
            Bookkeeping::Stage(contract, Some(next)) => {
                if let Some(p) = self.active.get_mut(contract) {
                    p.stage = *next;
                }
            }
            Bookkeeping::Stage(contract, None) => {
                self.active.remove(contract);
            }
            Bookkeeping::Amended(contract) => {
                if let Some(p) = self.active.get_mut(contract) {
                    p.amend = false;
                }
            }
        }
    }

    /// The transaction the model executes for `op`: the signer's next nonce
    /// and, under each key of the signer (and, `with_controller`, of the
    /// controller a control rule asks for), a signature the model takes as
    /// valid. The model checks the ledger's rules, not signatures; the
    /// runner signs for real.
    fn model_tx(
        &self,
        signer: &EntityId,
        op: &Op,
        with_controller: bool,
    ) -> Result<(SignedTx, Verdict), TxError> {
        let e = self
            .model
            .entity(signer)
            .ok_or_else(|| TxError::UnknownSigner {
                signer: signer.clone(),
            })?;
        let controller = self
            .model
            .control_rule_for(signer, op)
            .filter(|_| with_controller)
            .and_then(|rule| self.model.entity(&rule.controller));
        let mut keys: Vec<PublicKey> = e
            .keys
            .iter()
            .chain(controller.iter().flat_map(|c| &c.keys))
            .copied()
            .collect();
        keys.sort();
        keys.dedup();
        let tx = SignedTx {
            body: TxBody {
                chain_id: self.model.chain_id().to_owned(),
                signer: signer.clone(),
                nonce: e.nonce + 1,
                op: op.clone(),
            },
            signatures: keys
                .into_iter()
                .map(|key| TxSignature {
                    key,
                    signature: Signature([0; 64]),
                })
                .collect(),
        };
        let verdict = Verdict { valid: true };
        Ok((tx, verdict))
    }

    fn probe(&self, signer: &EntityId, op: &Op, with_controller: bool) -> Result<(), TxError> {
        let (tx, verdict) = self.model_tx(signer, op, with_controller)?;
        self.model.begin_block().apply_tx(&tx, Some(verdict))
    }

    pub(super) fn apply(&mut self, signer: &EntityId, op: &Op) -> Result<(), TxError> {
        let (tx, verdict) = self.model_tx(signer, op, true)?;
        let mut exec = self.model.begin_block();
        exec.apply_tx(&tx, Some(verdict))?;
        let outcome = exec.finish();
        self.model.commit(outcome);
        Ok(())
    }
}
