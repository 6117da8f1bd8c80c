//! A chain that admits and commits the demo feed's actions the way a node
//! does, for the feed's tests: a signer's next transaction is checked
//! against the committed state (later ones wait), blocks of many
//! transactions are committed with their signers deliberately reordered,
//! and a payment the feed leaves with the node to gather signatures waits
//! aside, signed by its signer alone, until the controller's signature
//! comes (as many actions later as its wait takes at the feed's default
//! pace). What [`Needs`], [`Planned::after`] and a payment gathering
//! signatures say must come first comes first, and nothing more: a hidden
//! dependency between two signers shows up as a failed block or a refusal
//! on submission.

#![allow(dead_code)] // Each test file uses a different part.

use std::collections::BTreeMap;

use genesis::story;
use ledger::crypto::SigningKey;
use ledger::state::ControlRule;
use ledger::testkit::key;
use ledger::tx::{EntityKind, TxBody};
use ledger::{Amount, EntityId, SignedTx, State};
use tools::demo::{Expect, Feed, Needs, Planned, PACE_PER_S_DEFAULT};

/// Transactions per block in the simulated chain: many, so that what an
/// action needs is committed only because the feed said so, not because a
/// block happened to close in between.
pub const BLOCK_TXS: usize = 37;

/// The keys each entity signs with: as many as its threshold asks.
pub type Keys = BTreeMap<EntityId, Vec<SigningKey>>;

fn id(s: &str) -> EntityId {
    EntityId::new(s).unwrap()
}

/// The story's genesis state, every entity with the one key
/// [`ledger::testkit::key`] derives from its id, and no control rule.
pub fn story_state() -> (State, Keys) {
    let g = story::test_genesis();
    g.check().unwrap();
    let keys = g
        .entities
        .iter()
        .map(|e| (e.id.clone(), vec![key(e.id.as_str())]))
        .collect();
    (g.state(), keys)
}

/// The story's genesis as the devnet makes it: the treasury's decisions
/// signed by 2 of its 3 officials, and payments and awards of
/// [`story::CONTROL_FROM_VND`] or more by any ministry's department
/// co-signed by the controller.
pub fn controlled_state() -> (State, Keys) {
    let mut g = story::test_genesis();
    let officials: Vec<SigningKey> = (1..=3).map(|i| key(&format!("BTC-{i}"))).collect();
    let treasury = g
        .entities
        .iter_mut()
        .find(|e| e.kind == EntityKind::Treasury)
        .unwrap();
    let mut public: Vec<_> = officials.iter().map(SigningKey::public_key).collect();
    public.sort();
    treasury.keys = public;
    treasury.threshold = story::TREASURY_KEYS.1;
    g.control = vec![ControlRule {
        ministry: None,
        amount: Amount(story::CONTROL_FROM_VND),
        controller: id(story::CONTROLLER),
    }];
    g.check().unwrap();
    let mut keys: Keys = g
        .entities
        .iter()
        .map(|e| (e.id.clone(), vec![key(e.id.as_str())]))
        .collect();
    let signing = officials
        .into_iter()
        .take(usize::from(story::TREASURY_KEYS.1));
    keys.insert(id(story::TREASURY), signing.collect());
    (g.state(), keys)
}

/// What was submitted, refused and waited for.
#[derive(Default, Debug)]
pub struct Tally {
    /// Operations submitted, by name.
    pub ops: BTreeMap<&'static str, u64>,
    /// Deliberate mistakes refused, by code.
    pub refused: BTreeMap<&'static str, u64>,
    /// [`Needs::AllCommitted`] barriers.
    pub barriers: u64,
    /// Actions submitted or refused.
    pub actions: u64,
    /// Payments left to gather signatures.
    pub awaited: u64,
    /// Controlled payments signed by both at once.
    pub cosigned_at_once: u64,
    /// Actions that had to wait for a payment still gathering signatures.
    pub held_by_gathering: u64,
}

struct Pending {
    tx: SignedTx,
    summary: String,
    seq: u64,
}

/// A payment gathering signatures: complete once the controller signs.
struct Gathered {
    /// Signed by the signer and the controller, as the node merges it.
    tx: SignedTx,
    summary: String,
    seq: u64,
    /// The action count at which the controller signs.
    release_at: u64,
}

/// A chain that admits and commits like a node. See the module
/// documentation.
pub struct Chain {
    pub state: State,
    keys: Keys,
    pending: Vec<Pending>,
    gathering: Vec<Gathered>,
}

impl Chain {
    pub fn new((state, keys): (State, Keys)) -> Chain {
        Chain {
            state,
            keys,
            pending: Vec::new(),
            gathering: Vec::new(),
        }
    }

    fn pending_of(&self, signer: &EntityId) -> u64 {
        self.pending
            .iter()
            .filter(|p| p.tx.body.signer == *signer)
            .count() as u64
    }

    fn body(&self, p: &Planned) -> TxBody {
        let nonce = self.state.next_nonce(&p.signer).unwrap() + self.pending_of(&p.signer);
        TxBody {
            chain_id: self.state.chain_id().into(),
            signer: p.signer.clone(),
            nonce,
            op: p.op.clone(),
        }
    }

    /// The keys of the signer and, `with_controller`, of the controller.
    fn signing(&self, p: &Planned, with_controller: bool) -> Vec<&SigningKey> {
        let controller = p.controller.as_ref().filter(|_| with_controller);
        std::iter::once(&p.signer)
            .chain(controller)
            .flat_map(|e| &self.keys[e])
            .collect()
    }

    /// Commits everything pending as one block, signers in the reverse
    /// order of their first transaction (each signer's own order kept), so
    /// that an action that silently relied on another signer's pending one
    /// fails.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut signers: Vec<EntityId> = Vec::new();
        for p in &self.pending {
            if !signers.contains(&p.tx.body.signer) {
                signers.push(p.tx.body.signer.clone());
            }
        }
        signers.reverse();
        let mut block: Vec<Pending> = Vec::new();
        let mut pending = std::mem::take(&mut self.pending);
        for s in &signers {
            let (mine, rest): (Vec<Pending>, Vec<Pending>) =
                pending.into_iter().partition(|p| p.tx.body.signer == *s);
            block.extend(mine);
            pending = rest;
        }
        let txs: Vec<SignedTx> = block.iter().map(|p| p.tx.clone()).collect();
        match self.state.execute_block(&txs) {
            Ok(outcome) => self.state.commit(outcome),
            Err((i, e)) => panic!("block refused {:?}: {e}", block[i].summary),
        }
    }

    /// The controller signs a gathering payment: the node checks the merged
    /// transaction against the committed state and admits it.
    fn release(&mut self, at: usize) {
        let g = self.gathering.remove(at);
        assert_eq!(
            self.pending_of(&g.tx.body.signer),
            0,
            "nothing of the signer went while it held the nonce: {}",
            g.summary
        );
        if let Err(e) = self.state.check_tx(&g.tx) {
            panic!("refused once co-signed {:?}: {e}", g.summary);
        }
        self.pending.push(Pending {
            tx: g.tx,
            summary: g.summary,
            seq: g.seq,
        });
        self.maybe_flush();
    }

    fn maybe_flush(&mut self) {
        if self.pending.len() >= BLOCK_TXS {
            self.flush();
        }
    }

    /// The controller signs what is due by `actions`.
    fn release_due(&mut self, actions: u64) {
        while let Some(at) = self.gathering.iter().position(|g| g.release_at <= actions) {
            self.release(at);
        }
    }

    /// Everything gathering signatures is signed and everything pending
    /// committed.
    pub fn finish(&mut self) {
        while !self.gathering.is_empty() {
            self.release(0);
        }
        self.flush();
    }

    /// Submits a planned action as the runner and a node would: waiting
    /// first for what it must.
    pub fn submit(&mut self, p: &Planned, tally: &mut Tally) {
        self.release_due(tally.actions);
        // The signer's next nonce is held by its payment gathering
        // signatures: the runner waits until the controller has signed.
        let held = |c: &Chain, f: &dyn Fn(&Gathered) -> bool| c.gathering.iter().position(f);
        if let Some(at) = held(self, &|g| g.tx.body.signer == p.signer) {
            tally.held_by_gathering += 1;
            self.release(at);
        }
        if let Some(seq) = p.after {
            assert!(seq < p.seq, "{}: follows a later action", p.summary);
            if let Some(at) = held(self, &|g| g.seq == seq) {
                tally.held_by_gathering += 1;
                self.release(at);
            }
            if self.pending.iter().any(|x| x.seq == seq) {
                self.flush();
            }
        }
        match p.needs {
            Needs::AllCommitted => {
                tally.barriers += 1;
                self.flush();
            }
            Needs::SignerIdle if self.pending_of(&p.signer) > 0 => self.flush(),
            _ => {}
        }
        let next_of_signer = self.pending_of(&p.signer) == 0;
        if let Some(wait) = p.cosign_after {
            self.gather(p, wait.as_millis() as u64, tally);
            return;
        }
        let tx = self.body(p).sign_all(&self.signing(p, true));
        match p.expect {
            Expect::Accepted => {
                if next_of_signer {
                    if let Err(e) = self.state.check_tx(&tx) {
                        panic!("refused on submission {:?}: {e}", p.summary);
                    }
                }
                if p.controller.is_some() {
                    tally.cosigned_at_once += 1;
                }
                *tally.ops.entry(p.op.name()).or_default() += 1;
                self.pending.push(Pending {
                    tx,
                    summary: p.summary.clone(),
                    seq: p.seq,
                });
                self.maybe_flush();
            }
            Expect::Refused(code) => {
                assert!(
                    next_of_signer,
                    "a mistake must be its signer's next transaction: {}",
                    p.summary
                );
                match self.state.check_tx(&tx) {
                    Err(e) => assert_eq!(e.code(), code, "{}: {e}", p.summary),
                    Ok(()) => panic!("mistake accepted: {}", p.summary),
                }
                *tally.refused.entry(code).or_default() += 1;
            }
        }
        tally.actions += 1;
    }

    /// A payment left with the node signed by its signer alone, as
    /// `POST /v1/awaiting` takes it: the signer's next nonce on the
    /// committed state, refused for want of the controller only, and
    /// valid once signed.
    fn gather(&mut self, p: &Planned, wait_ms: u64, tally: &mut Tally) {
        assert_eq!(p.expect, Expect::Accepted, "{}", p.summary);
        assert!(p.controller.is_some(), "{}", p.summary);
        assert_eq!(
            self.pending_of(&p.signer),
            0,
            "{}: left with the node, a payment is its signer's next on the committed state",
            p.summary
        );
        let body = self.body(p);
        let alone = body.clone().sign_all(&self.signing(p, false));
        match self.state.check_tx(&alone) {
            Err(e) if e.code() == "approval_required" => {}
            other => panic!("{}: alone it should need approval: {other:?}", p.summary),
        }
        if let Err(e) = self.state.check_tx_before_approval(&alone) {
            panic!("{}: not worth co-signing: {e}", p.summary);
        }
        let waits = (wait_ms as f64 / 1000.0 * PACE_PER_S_DEFAULT).ceil() as u64;
        self.gathering.push(Gathered {
            tx: body.sign_all(&self.signing(p, true)),
            summary: p.summary.clone(),
            seq: p.seq,
            release_at: tally.actions + waits,
        });
        tally.awaited += 1;
        *tally.ops.entry(p.op.name()).or_default() += 1;
        tally.actions += 1;
    }
}

/// Runs `actions` of the feed on the chain, then commits everything.
pub fn run(feed: &mut Feed, chain: &mut Chain, actions: u64, tally: &mut Tally) {
    for _ in 0..actions {
        let p = feed.next().expect("the story goes on");
        chain.submit(&p, tally);
    }
    chain.finish();
}

/// Every budget of a state, as text.
pub fn budgets(s: &State) -> Vec<String> {
    s.budgets()
        .map(|(e, y, l, b)| format!("{e} {y} {l} {b:?}"))
        .collect()
}
