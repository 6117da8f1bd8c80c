//! Transactions awaiting signatures: a department's payment that a control
//! rule says the controller must co-sign, or a decision of a k-of-n entity
//! that has fewer signatures than its threshold. A node keeps them outside
//! consensus and the mempool, so that the other signers can find them, add
//! their signatures and have them submitted, and so that the explorer shows
//! what waits for whom.
//!
//! Signatures offered for the same signed bytes are merged: a controller
//! may post a transaction carrying only its own signature. Once the merged
//! transaction would execute, it leaves the pool and goes to the mempool.
//! Each entry waits on the signer's next nonce; once that nonce is used, by
//! this transaction or another, the entry is gone.
//!
//! Nothing here is trusted more than a submission: every signature is
//! checked, and what is kept is bounded in number, per signer and in bytes.

use std::collections::BTreeMap;

use ledger::tx::SIGNATURES_MAX;
use ledger::{EntityId, Hash, Height, SignedTx, State, TxError};

/// Most transactions awaiting signatures on one node.
pub const AWAITING_MAX: usize = 1_024;
/// Most awaiting transactions of one signer (one per nonce can ever
/// complete, so a few are plenty).
pub const AWAITING_PER_SIGNER_MAX: usize = 4;

/// A transaction waiting for more signatures.
#[derive(Clone, Debug)]
pub struct Awaiting {
    /// Its id: SHA-256 of the bytes every signer signs.
    pub id: Hash,
    /// The transaction with the signatures gathered so far.
    pub tx: SignedTx,
    /// What it still needs: `threshold_not_met` or `approval_required`.
    pub needs: TxError,
    /// The height of the state it was first offered against.
    pub since: Height,
}

/// What became of an offered transaction.
#[derive(Clone, Debug)]
pub enum Offered {
    /// It still needs signatures; it is kept under this id.
    Waiting(Awaiting),
    /// With the signatures gathered it would execute: it is to be
    /// submitted, and has left the pool.
    Complete(SignedTx),
}

/// The id of a transaction's signed bytes, under which its signatures are
/// gathered.
pub fn awaiting_id(tx: &SignedTx) -> Hash {
    Hash::digest(&tx.body.signing_bytes())
}

/// The transactions awaiting signatures.
#[derive(Default)]
pub struct AwaitingPool {
    map: BTreeMap<Hash, Awaiting>,
}

impl AwaitingPool {
    /// Takes `tx`'s signatures: merged with those already gathered for the
    /// same bytes, the transaction either still waits (kept), would execute
    /// on `state` (returned to be submitted), or is refused for another
    /// reason (the error, nothing kept).
    pub fn offer(&mut self, tx: SignedTx, state: &State) -> Result<Offered, TxError> {
        self.prune(state);
        tx.check_form()?;
        if tx.body.chain_id != state.chain_id() {
            return Err(TxError::WrongChain {
                expected: state.chain_id().to_owned(),
                got: tx.body.chain_id.clone(),
            });
        }
        let signer = state
            .entity(&tx.body.signer)
            .ok_or_else(|| TxError::UnknownSigner {
                signer: tx.body.signer.clone(),
            })?;
        let next = signer.nonce.saturating_add(1);
        if tx.body.nonce != next {
            return Err(TxError::BadNonce {
                signer: signer.id.clone(),
                expected: next,
                got: tx.body.nonce,
            });
        }
        if !tx.verify_signatures() {
            return Err(TxError::BadSignature {
                signer: signer.id.clone(),
            });
        }
        let id = awaiting_id(&tx);
        let merged = match self.map.get(&id) {
            Some(held) => merge(&held.tx, &tx)?,
            None => tx,
        };
        match state.check_tx(&merged) {
            Ok(()) => {
                self.map.remove(&id);
                Ok(Offered::Complete(merged))
            }
            Err(needs @ (TxError::ThresholdNotMet { .. } | TxError::ApprovalRequired { .. })) => {
                // Worth signing only if, once signed, it would execute.
                state.check_tx_before_approval(&merged)?;
                let since = self.map.get(&id).map_or(state.height(), |a| a.since);
                if !self.map.contains_key(&id) {
                    self.make_room(&merged.body.signer)?;
                }
                let entry = Awaiting {
                    id,
                    tx: merged,
                    needs,
                    since,
                };
                self.map.insert(id, entry.clone());
                Ok(Offered::Waiting(entry))
            }
            Err(e) => Err(e),
        }
    }

    /// Refuses a new entry of `signer` when the pool, or the signer's share
    /// of it, is full.
    fn make_room(&self, signer: &EntityId) -> Result<(), TxError> {
        if self.map.len() >= AWAITING_MAX {
            return Err(TxError::MempoolFull {
                reason: format!("{AWAITING_MAX} transactions already await signatures here"),
            });
        }
        let mine = self
            .map
            .values()
            .filter(|a| a.tx.body.signer == *signer)
            .count();
        if mine >= AWAITING_PER_SIGNER_MAX {
            return Err(TxError::MempoolFull {
                reason: format!(
                    "{signer} already has {AWAITING_PER_SIGNER_MAX} transactions awaiting signatures"
                ),
            });
        }
        Ok(())
    }

    /// Drops the entries whose nonce `state` shows used.
    pub fn prune(&mut self, state: &State) {
        self.map.retain(|_, a| {
            state
                .entity(&a.tx.body.signer)
                .is_some_and(|e| e.nonce < a.tx.body.nonce)
        });
    }

    /// The entries still current on `state`, oldest first.
    pub fn list(&self, state: &State) -> Vec<&Awaiting> {
        let mut out: Vec<&Awaiting> = self
            .map
            .values()
            .filter(|a| {
                state
                    .entity(&a.tx.body.signer)
                    .is_some_and(|e| e.nonce < a.tx.body.nonce)
            })
            .collect();
        out.sort_by_key(|a| (a.since, a.id));
        out
    }

    /// The entry with this id.
    pub fn get(&self, id: &Hash) -> Option<&Awaiting> {
        self.map.get(id)
    }

    /// How many entries are held, current or not yet pruned.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if none are held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// `held` with `more`'s signatures added (a key's newer signature replaces
/// its older one; both are over the same bytes and were checked).
fn merge(held: &SignedTx, more: &SignedTx) -> Result<SignedTx, TxError> {
    let mut out = held.clone();
    for s in &more.signatures {
        out.put_signature(*s);
    }
    if out.signatures.len() > SIGNATURES_MAX {
        return Err(TxError::TooManySignatures {
            count: out.signatures.len(),
            max: SIGNATURES_MAX,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::testkit::key;
    use ledger::tx::TxBody;
    use ledger::Op;
    use testkit::GenesisBuilder;

    fn pay(amount: u64) -> Op {
        testkit::ops::pay("C-1", amount, "INV-1")
    }

    /// A chain where MOH.BVBM has a contract C-1 of 9 tỷ with V-1, paid
    /// nothing yet, and payments and awards of 5 tỷ or more need KBNN (2 of
    /// 2).
    fn chain() -> (State, ledger::testkit::TestChain) {
        let g = GenesisBuilder::new("minhbach-test")
            .entity(
                "MOF",
                ledger::tx::EntityKind::Treasury,
                "Bộ Tài chính",
                None,
            )
            .entity("MOH", ledger::tx::EntityKind::Ministry, "Bộ Y tế", None)
            .entity(
                "MOH.BVBM",
                ledger::tx::EntityKind::Department,
                "Bệnh viện Bạch Mai",
                Some("MOH"),
            )
            .entity("V-1", ledger::tx::EntityKind::Vendor, "Công ty A", None)
            .entity(
                "KBNN",
                ledger::tx::EntityKind::Controller,
                "Kho bạc Nhà nước",
                None,
            )
            .keys("KBNN", &["KBNN-1", "KBNN-2"], 2)
            .control(Some("MOH"), 5_000_000_000, "KBNN")
            .build();
        let mut chain = ledger::testkit::TestChain::from_genesis(
            g.state(),
            g.hash(),
            ledger::testkit::GENESIS_TIME_MS,
            vec![key("validator-0")],
        );
        let ops = [
            (
                "MOF",
                testkit::ops::appropriate(2026, "YTE.DTPT", "MOH", 20_000_000_000),
            ),
            (
                "MOH",
                testkit::ops::allocate(2026, "YTE.DTPT", "MOH.BVBM", 20_000_000_000),
            ),
        ];
        for (i, (signer, op)) in ops.into_iter().enumerate() {
            let tx = chain.tx(signer, 0, op);
            chain
                .commit(vec![tx])
                .unwrap_or_else(|e| panic!("setup {i}: {e:?}"));
        }
        // The award itself is controlled: the department and both keys.
        let award = testkit::ops::award("C-1", 2026, "YTE.DTPT", "V-1", 9_000_000_000, "Máy thở");
        let tx = TxBody {
            chain_id: chain.state.chain_id().to_owned(),
            signer: "MOH.BVBM".parse().unwrap(),
            nonce: 1,
            op: award,
        }
        .sign_all(&[&key("MOH.BVBM"), &key("KBNN-1"), &key("KBNN-2")]);
        chain.commit(vec![tx]).unwrap();
        (chain.state.clone(), chain)
    }

    fn body(state: &State, amount: u64) -> TxBody {
        TxBody {
            chain_id: state.chain_id().to_owned(),
            signer: "MOH.BVBM".parse().unwrap(),
            nonce: 2,
            op: pay(amount),
        }
    }

    #[test]
    fn signatures_gather_until_the_payment_would_execute() {
        let (state, _) = chain();
        let mut pool = AwaitingPool::default();
        let dept = body(&state, 6_000_000_000).sign(&key("MOH.BVBM"));
        let Offered::Waiting(w) = pool.offer(dept.clone(), &state).unwrap() else {
            panic!("the department alone does not suffice for 6 tỷ");
        };
        assert_eq!(w.needs.code(), "approval_required");
        assert_eq!(w.id, awaiting_id(&dept));
        // One controller key of two: still waiting, three signatures held.
        let first = body(&state, 6_000_000_000).sign(&key("KBNN-1"));
        let Offered::Waiting(w) = pool.offer(first, &state).unwrap() else {
            panic!("one of the controller's two keys does not suffice");
        };
        assert_eq!(w.tx.signatures.len(), 2);
        assert_eq!(pool.list(&state).len(), 1);
        // The second: complete, out of the pool, and it executes.
        let second = body(&state, 6_000_000_000).sign(&key("KBNN-2"));
        let Offered::Complete(tx) = pool.offer(second, &state).unwrap() else {
            panic!("both controller keys and the department suffice");
        };
        assert_eq!(tx.signatures.len(), 3);
        assert!(state.check_tx(&tx).is_ok());
        assert!(pool.is_empty());
    }

    #[test]
    fn anything_but_missing_signatures_is_refused_and_nothing_kept() {
        let (state, _) = chain();
        let mut pool = AwaitingPool::default();
        // Over what the contract owes: refused as a submission would be.
        let over = body(&state, 9_500_000_000).sign(&key("MOH.BVBM"));
        let err = pool.offer(over, &state).unwrap_err();
        assert_eq!(
            err.code(),
            "over_contract",
            "not worth the controller's signature"
        );
        let mut bad = body(&state, 6_000_000_000).sign(&key("MOH.BVBM"));
        bad.signatures[0].signature.0[0] ^= 1;
        assert_eq!(pool.offer(bad, &state).unwrap_err().code(), "bad_signature");
        let mut stale = body(&state, 6_000_000_000);
        stale.nonce = 1;
        let stale = stale.sign(&key("MOH.BVBM"));
        assert_eq!(pool.offer(stale, &state).unwrap_err().code(), "bad_nonce");
        let stranger = body(&state, 6_000_000_000).sign(&key("V-1"));
        assert_eq!(
            pool.offer(stranger, &state).unwrap_err().code(),
            "foreign_signature"
        );
        assert!(pool.is_empty());
    }

    #[test]
    fn an_entry_goes_once_its_nonce_is_used_and_signers_are_bounded() {
        let (state, mut chain) = chain();
        let mut pool = AwaitingPool::default();
        let dept = body(&state, 6_000_000_000).sign(&key("MOH.BVBM"));
        assert!(matches!(
            pool.offer(dept, &state).unwrap(),
            Offered::Waiting(_)
        ));
        // The department uses nonce 2 for a small payment instead.
        let small = chain.tx("MOH.BVBM", 0, pay(1_000_000));
        chain.commit(vec![small]).unwrap();
        assert!(pool.list(&chain.state).is_empty());
        pool.prune(&chain.state);
        assert!(pool.is_empty());
        // A signer's share: different payments on one nonce, each waiting.
        let state = chain.state.clone();
        for i in 0..AWAITING_PER_SIGNER_MAX as u64 {
            let mut b = body(&state, 6_000_000_000 + i);
            b.nonce = 3;
            let r = pool.offer(b.sign(&key("MOH.BVBM")), &state).unwrap();
            assert!(matches!(r, Offered::Waiting(_)));
        }
        let mut b = body(&state, 7_000_000_000);
        b.nonce = 3;
        let err = pool.offer(b.sign(&key("MOH.BVBM")), &state).unwrap_err();
        assert_eq!(err.code(), "mempool_full");
    }
}
