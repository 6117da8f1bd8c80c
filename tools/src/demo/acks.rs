//! The vendors' side of the story: each acknowledges the payments it
//! receives (`acknowledge-payment`) a few seconds after each one, except
//! about one payment in [`UNACKNOWLEDGED_ONE_IN`], which its vendor never
//! acknowledges, so that the explorer has a realistic
//! `unacknowledged-payment` flag to show once such a payment is 1,000 blocks
//! old.

use ledger::tx::{Op, Status};
use ledger::{ContractId, Hash};
use rand::Rng;

use super::{
    name, Bookkeeping, Draft, Expect, Feed, PendingAck, ACK_AFTER_MS_MAX, ACK_AFTER_MS_MIN,
    UNACKNOWLEDGED_ONE_IN,
};

/// Whether the vendor never acknowledges payment `payment` (0 for the
/// first) of `contract` on the chain `chain_id`: about one in
/// [`UNACKNOWLEDGED_ONE_IN`]. Decided by the payment alone, not by the
/// feed's seed, so that a feed resumed on the same chain leaves the same
/// payments unacknowledged and acknowledges the others it finds.
pub fn never_acknowledged(chain_id: &str, contract: &ContractId, payment: u32) -> bool {
    let h = Hash::digest(format!("{chain_id}\n{contract}\n{payment}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.0[..8]);
    u64::from_le_bytes(first) % UNACKNOWLEDGED_ONE_IN == 0
}

impl Feed {
    /// On a chain that ran before: the committed payments still
    /// unacknowledged whose vendors acknowledge them (the feed that made
    /// them stopped before they did).
    pub(super) fn resume_acks(&mut self) {
        let chain = self.model.chain_id().to_owned();
        let mut found = Vec::new();
        for c in self.model.contracts() {
            let vendor_active = self
                .model
                .entity(&c.vendor)
                .is_some_and(|v| v.status == Status::Active);
            if !vendor_active {
                continue;
            }
            for n in 0..c.payments {
                let open = self.model.acknowledged(&c.id, n) == Some(false);
                if open && !never_acknowledged(&chain, &c.id, n) {
                    found.push((c.id.clone(), n));
                }
            }
        }
        for (contract, payment) in found {
            let due = self.ack_gap();
            self.acks.push(PendingAck {
                due,
                contract,
                payment,
                after: None,
            });
        }
    }

    /// After the payment planned as action `seq` (the contract's latest in
    /// the model): its acknowledgement a few actions later, `extra` more if
    /// the payment waits for signatures first; or none, for the payments
    /// never acknowledged.
    pub(super) fn schedule_ack(&mut self, contract: &ContractId, seq: u64, extra: u64) {
        let Some(payments) = self.model.contract(contract).map(|c| c.payments) else {
            return;
        };
        let Some(payment) = payments.checked_sub(1) else {
            return;
        };
        if never_acknowledged(self.model.chain_id(), contract, payment) {
            return;
        }
        let gap = self.ack_gap();
        self.acks.push(PendingAck {
            due: seq + 1 + gap + extra,
            contract: contract.clone(),
            payment,
            after: Some(seq),
        });
    }

    /// Actions between a payment and its acknowledgement, at the pace.
    fn ack_gap(&mut self) -> u64 {
        let ms = self.rng.gen_range(ACK_AFTER_MS_MIN..=ACK_AFTER_MS_MAX);
        self.actions_in(ms).max(1)
    }

    /// The earliest acknowledgement that is due, if any.
    pub(super) fn draft_ack(&mut self) -> Option<Draft> {
        let at = self
            .acks
            .iter()
            .enumerate()
            .filter(|(_, a)| a.due <= self.actions)
            .min_by_key(|(_, a)| a.due)
            .map(|(i, _)| i)?;
        let ack = self.acks.remove(at);
        let c = self.model.contract(&ack.contract)?;
        Some(Draft {
            summary: format!(
                "{} acknowledges payment {} on {}",
                name(&c.vendor),
                ack.payment + 1,
                ack.contract
            ),
            signer: c.vendor.clone(),
            op: Op::AcknowledgePayment {
                contract: ack.contract,
                payment: ack.payment,
            },
            expect: Expect::Accepted,
            then: Bookkeeping::Nothing,
            after: ack.after,
            unapproved: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_one_payment_in_ten_is_never_acknowledged_and_always_the_same() {
        let contract = |i: u32| ContractId::new(&format!("HD-BYT-BVBM-2026-{i:04}")).unwrap();
        let mut never = 0;
        let total = 3_000;
        for i in 0..total / 3 {
            for n in 0..3 {
                let once = never_acknowledged("minhbach-devnet", &contract(i), n);
                assert_eq!(
                    once,
                    never_acknowledged("minhbach-devnet", &contract(i), n),
                    "decided by the payment alone"
                );
                never += u64::from(once);
            }
        }
        let expected = total as u64 / UNACKNOWLEDGED_ONE_IN;
        assert!(
            never > expected * 2 / 3 && never < expected * 4 / 3,
            "{never} of {total}"
        );
        // Another chain makes other choices.
        let differ = (0..300)
            .filter(|i| {
                never_acknowledged("a", &contract(*i), 0)
                    != never_acknowledged("b", &contract(*i), 0)
            })
            .count();
        assert!(differ > 0);
    }
}
