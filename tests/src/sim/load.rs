//! The transaction load: the treasury's appropriations, submitted to a
//! running node and again until committed, and the spare node's joining
//! and leaving the validator set.

use ledger::{Op, SignedTx, TxBody};
use rand::Rng;

use super::{
    node_peer, Sim, CHAIN_ID, LOAD_PENDING_MAX, RESUBMIT_AFTER_MS, STUCK_AFTER_SUBMISSIONS,
};

impl Sim {
    /// Submits transactions of the load to a running node: appropriations
    /// by the treasury, and once the spare node runs, its joining and
    /// leaving the validator set.
    pub(super) fn load(&mut self) {
        let committed = self.check.treasury_next_nonce();
        self.pending.retain(|n, _| *n >= committed);
        if self.next_nonce < committed {
            self.next_nonce = committed;
        }
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].core.is_some())
            .collect();
        if live.is_empty() {
            return;
        }
        for _ in 0..self.rng.gen_range(0..4) {
            if self.pending.len() >= LOAD_PENDING_MAX {
                break;
            }
            let op = self.next_op();
            let tx = TxBody {
                chain_id: CHAIN_ID.into(),
                signer: ledger::EntityId::new("MOF").expect("an id"),
                nonce: self.next_nonce,
                op,
            }
            .sign(&self.treasury);
            self.pending.insert(self.next_nonce, (tx, 0, 0));
            self.next_nonce += 1;
        }
        // A transaction the chain refused (its operation no longer fits the
        // state) would hold up every later nonce: its nonce gets an
        // appropriation instead.
        if let Some((&nonce, (_, _, sent))) = self.pending.iter().next() {
            if *sent >= STUCK_AFTER_SUBMISSIONS {
                let op = self.appropriation();
                let tx = TxBody {
                    chain_id: CHAIN_ID.into(),
                    signer: ledger::EntityId::new("MOF").expect("an id"),
                    nonce,
                    op,
                }
                .sign(&self.treasury);
                self.pending.insert(nonce, (tx, 0, 0));
            }
        }
        let now = self.now();
        let due: Vec<SignedTx> = self
            .pending
            .values_mut()
            .filter(|(_, at, _)| *at == 0 || now >= at + RESUBMIT_AFTER_MS)
            .map(|(tx, at, sent)| {
                *at = now.max(1);
                *sent += 1;
                tx.clone()
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let i = live[self.rng.gen_range(0..live.len())];
        if let Some(shared) = self.nodes[i].shared.clone() {
            let _ = shared.admit_batch(due);
            self.after(i);
        }
    }

    /// The next operation of the load: mostly appropriations; with set
    /// changes, the spare node is taken off the registered nodes, added as
    /// a validator, removed, and registered again, in a cycle.
    fn next_op(&mut self) -> Op {
        if let Some(op) = self.upgrade_op(self.next_nonce) {
            return op;
        }
        let spare = self.scenario.validators;
        if self.scenario.set_changes {
            let (peer_id, _) = node_peer(&format!("sim/node/{spare}"));
            let key = self.nodes[spare].key.public_key();
            let treasury = ledger::EntityId::new("MOF").expect("an id");
            match self.next_nonce % 16 {
                3 => return Op::RemoveNode { peer_id },
                5 => {
                    return Op::AddValidator {
                        name: self.nodes[spare].name.clone(),
                        consensus_key: key,
                        peer_id,
                        power: 10,
                    }
                }
                11 => return Op::RemoveValidator { consensus_key: key },
                13 => {
                    return Op::RegisterNode {
                        peer_id,
                        operator: treasury,
                    }
                }
                _ => {}
            }
        }
        self.appropriation()
    }

    fn appropriation(&mut self) -> Op {
        Op::Appropriate {
            year: ledger::Year(2026),
            line: ledger::LineCode::new("SIM.1").expect("a line"),
            to: ledger::EntityId::new("BYT").expect("an id"),
            amount: ledger::Amount(self.rng.gen_range(1..1_000)),
            legal_ref: "Nghị quyết 01/2026/QH15".into(),
        }
    }
}
