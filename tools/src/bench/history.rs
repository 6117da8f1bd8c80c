//! `minhbach bench --history N`: a long, valid, fully certified chain,
//! written straight into the validators' stores before they start, so that
//! the run measures a network with years of payments behind it.
//!
//! The history is the bench's own workload ([`load::plan_after`]) in rounds
//! of at most [`ROUND_TXS`] transactions, each round a setup (budget given
//! down the hierarchy, contracts awarded) and a load (payments, awards,
//! allocations, deliveries). Every round continues the signers' nonces and
//! awards contracts of its own. A share of each round ([`BUSIEST_PCT`]) is
//! signed by the first department, so that one department's history is
//! long enough to measure its pages.
//!
//! Blocks are made as a proposer makes them ([`ledger::builder`]), from
//! the signed transactions in order, at most `block_txs` transactions and
//! `block_bytes` bytes each, [`BLOCK_INTERVAL_MS`] apart. Each carries the
//! precommits of every validator, signed with the validators' own keys
//! from their homes. Validator 0's store commits them as a node commits
//! (`Store::commit_block`); every other node gets a checkpoint of it.
//!
//! The signatures made here are not verified again while the blocks are
//! made: that would double the time. `minhbach verify chain` on any of the
//! stores checks every one, with everything else.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context as _;
use ledger::block::CommitCertificate;
use ledger::builder::{build_block_with, sign_commit, BlockTemplate};
use ledger::crypto::{read_key_file, SigningKey};
use ledger::merkle::Frontier;
use ledger::state::{State, Verdict};
use ledger::store::Store;
use ledger::tx::SignedTx;
use ledger::{EntityId, Hash, Height, Year};
use node::testnet::NetworkPlan;

use super::load::{self, After, LoadSpec, Mix, World};

/// Most load transactions in one round, so that a round's plan and its
/// signatures fit in memory (about 400 MB).
pub const ROUND_TXS: usize = 1_000_000;
/// Percent of each round's load signed by the first department.
pub const BUSIEST_PCT: u32 = 1;
/// Between two blocks of the history.
pub const BLOCK_INTERVAL_MS: u64 = 1_000;

/// What to build.
#[derive(Clone, Debug)]
pub struct HistorySpec {
    /// Load transactions over all rounds (each round adds its setup).
    pub txs: u64,
    /// Most load transactions in a round ([`ROUND_TXS`] unless testing).
    pub round_txs: usize,
    /// Most transactions in a block.
    pub block_txs: usize,
    /// Most transaction bytes in a block.
    pub block_bytes: usize,
    /// Seed of the first round; round r uses `seed + r`.
    pub seed: u64,
    /// The fiscal year of the budget.
    pub year: Year,
    /// Signing threads.
    pub threads: usize,
}

impl HistorySpec {
    /// Rounds the history takes.
    pub fn rounds(&self) -> u32 {
        u32::try_from(self.txs.div_ceil(self.round_txs.max(1) as u64))
            .expect("the count is bounded")
    }

    /// Most blocks the history can take in `world`: every transaction,
    /// setups included, at `block_txs` a block, and one partly filled block
    /// more per round. The genesis is timed this many intervals back, so
    /// the last block of the history is not in the future.
    pub fn blocks_max(&self, world: &World) -> u64 {
        if self.txs == 0 {
            return 0;
        }
        let rounds = u64::from(self.rounds());
        let setup = world.entities().len() as u64
            + (world.load_signers() as u64) * load::SETUP_CONTRACTS_PER_DEPARTMENT as u64;
        (self.txs + rounds * setup).div_ceil(self.block_txs as u64) * 2 + rounds + 1
    }
}

/// What was built.
#[derive(Clone, Debug)]
pub struct Built {
    /// The last height.
    pub height: Height,
    /// Transactions committed, setups included.
    pub txs: u64,
    /// Where the run's own load starts.
    pub after: After,
    /// Seconds spent signing.
    pub signing_s: f64,
    /// Seconds spent making and committing blocks.
    pub committing_s: f64,
}

/// The genesis time of a network whose history of `spec` is to end before
/// `now_ms`.
pub fn genesis_time_ms(spec: &HistorySpec, world: &World, now_ms: u64) -> u64 {
    now_ms.saturating_sub(spec.blocks_max(world).saturating_mul(BLOCK_INTERVAL_MS))
}

/// Builds the history of `spec` into the stores of `plan`'s nodes (the
/// validators, and the full node that carries the readers' explorer),
/// whose stores must not exist yet. `keys` are the world's signing keys.
pub fn build(
    plan: &NetworkPlan,
    world: &World,
    keys: &BTreeMap<EntityId, SigningKey>,
    spec: &HistorySpec,
) -> anyhow::Result<Built> {
    let homes: Vec<node::home::Home> = plan.validators().map(|n| n.home()).collect();
    let first = homes.first().context("a network has a validator")?;
    let genesis = first.genesis()?;
    let validator_keys = homes
        .iter()
        .map(|h| read_key_file(&h.validator_key_path()))
        .collect::<Result<Vec<_>, _>>()?;
    let (store, state) = first.open_store(&genesis)?;
    anyhow::ensure!(
        state.height() == Height(0),
        "the store of {} already holds blocks",
        first.root().display()
    );
    let mut chain = Chain {
        state,
        keys: validator_keys,
        last_hash: genesis.hash(),
        last_time_ms: genesis.genesis_time_ms,
        history: Frontier::default(),
        last_cert: None,
    };

    let mut after = After {
        busiest_pct: BUSIEST_PCT,
        ..After::default()
    };
    let mut built = Built {
        height: Height(0),
        txs: 0,
        after: After::default(),
        signing_s: 0.0,
        committing_s: 0.0,
    };
    let mut left = spec.txs;
    while left > 0 {
        let round_txs = left.min(spec.round_txs.max(1) as u64);
        left -= round_txs;
        let load_spec = LoadSpec {
            txs: round_txs as usize,
            mix: Mix::default(),
            seed: spec.seed.wrapping_add(u64::from(after.round)),
            validators: 1,
            year: spec.year,
        };
        let signing = Instant::now();
        let round = after.round;
        let planned = load::plan_after(world, &genesis.chain_id, &load_spec, after);
        let bodies = planned.bodies();
        let signed = load::sign_each(&bodies, keys, spec.threads, |tx| {
            let len = tx.encode().len();
            (tx, len)
        });
        drop(bodies);
        built.txs += signed.len() as u64;
        built.signing_s += signing.elapsed().as_secs_f64();
        after = After {
            round: round + 1,
            nonces: planned.next_nonces,
            busiest_pct: BUSIEST_PCT,
        };

        let committing = Instant::now();
        let mut block: Vec<SignedTx> = Vec::new();
        let mut bytes = 0;
        for (tx, len) in signed {
            if !block.is_empty()
                && (block.len() == spec.block_txs || bytes + len > spec.block_bytes)
            {
                chain.commit(&store, std::mem::take(&mut block))?;
                bytes = 0;
            }
            block.push(tx);
            bytes += len;
        }
        chain.commit(&store, block)?;
        built.committing_s += committing.elapsed().as_secs_f64();
        eprintln!(
            "bench: history round {}: {} transactions to height {} ({:.0} s signing, {:.0} s \
             committing so far)",
            round + 1,
            round_txs,
            chain.state.height().0,
            built.signing_s,
            built.committing_s
        );
    }
    built.height = chain.state.height();
    built.after = after;
    let copies: Vec<node::home::Home> = plan
        .nodes
        .iter()
        .map(|n| n.home())
        .filter(|h| h.root() != first.root())
        .collect();
    for home in &copies {
        let dir = home.data_dir();
        if dir.is_dir() {
            std::fs::remove_dir(&dir).with_context(|| format!("{} is not empty", dir.display()))?;
        }
        store
            .checkpoint(&dir)
            .with_context(|| format!("cannot copy the store to {}", dir.display()))?;
    }
    Ok(built)
}

/// The chain as the history is written: the state, and what the next
/// block's header needs.
struct Chain {
    state: State,
    /// The validators' consensus keys.
    keys: Vec<SigningKey>,
    last_hash: Hash,
    last_time_ms: u64,
    history: Frontier,
    last_cert: Option<CommitCertificate>,
}

impl Chain {
    /// Makes the next block of `txs`, has every validator precommit it,
    /// and commits it to `store`.
    fn commit(&mut self, store: &Store, txs: Vec<SignedTx>) -> anyhow::Result<()> {
        let template = BlockTemplate {
            prev_hash: self.last_hash,
            history_root: self.history.root(),
            time_ms: self.last_time_ms + BLOCK_INTERVAL_MS,
            proposer: self.keys[self.history.size() as usize % self.keys.len()].public_key(),
            last_commit: self.last_cert.take(),
            evidence: Vec::new(),
        };
        // Signed here, by the world's keys: see the module documentation.
        let verdicts = vec![Some(Verdict { valid: true }); txs.len()];
        let (block, outcome) =
            build_block_with(&self.state, txs, verdicts, template).map_err(|(i, e)| {
                anyhow::anyhow!("transaction {i} of the history's next block: {e}")
            })?;
        let keys: Vec<&SigningKey> = self.keys.iter().collect();
        let cert = sign_commit(&block, 0, &keys);
        store.commit_block(&block, &cert, &outcome, &self.state)?;
        self.state.commit(outcome);
        self.last_hash = block.hash();
        self.history.push(ledger::history::leaf(&self.last_hash));
        self.last_time_ms = block.header.time_ms;
        self.last_cert = Some(cert);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use genesis::Currency;
    use ledger::verify::verify_store;
    use node::testnet::{self, Explorers, Ports, TestnetSpec};

    use super::*;

    #[test]
    fn a_history_in_rounds_verifies_on_every_validator_and_the_next_plan_follows_it() {
        let world = World::new(30);
        let spec = HistorySpec {
            txs: 2_500,
            round_txs: 1_000,
            block_txs: 400,
            block_bytes: 4 * 1024 * 1024,
            seed: 5,
            year: Year(2026),
            threads: 2,
        };
        let now = 1_767_225_600_000 + 86_400_000;
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net");
        let plan = testnet::generate_with(
            &TestnetSpec {
                chain_id: load::CHAIN_ID.into(),
                genesis_time_ms: genesis_time_ms(&spec, &world, now),
                currency: Currency::default(),
                validators: 3,
                full_nodes: 0,
                entities: world.entities(),
                ports: Ports::Free,
                explorers: Explorers::FullNodes,
            },
            &net,
            |_, _| {},
        )
        .unwrap();
        let keys: BTreeMap<EntityId, SigningKey> = plan
            .entities
            .iter()
            .map(|e| (e.id.clone(), read_key_file(&e.key_file).unwrap()))
            .collect();
        let built = build(&plan, &world, &keys, &spec).unwrap();

        // Three rounds of load, each with the world's setup: the treasury's
        // appropriations, the ministries' allocations and four contracts a
        // department.
        let setup =
            world.entities().len() - load::VENDORS - 1 + 30 * load::SETUP_CONTRACTS_PER_DEPARTMENT;
        assert_eq!(built.txs, 2_500 + 3 * setup as u64);
        assert_eq!(built.after.round, 3);
        // No block holds more than block_txs; the last block is not in the
        // future.
        assert!(built.height.0 >= built.txs.div_ceil(400));

        let genesis = plan.validators().next().unwrap().home().genesis().unwrap();
        let mut last = None;
        for node in plan.validators() {
            let store = node.home().open_existing_store().unwrap();
            let report = verify_store(
                &store,
                &genesis.state(),
                genesis.hash(),
                genesis.genesis_time_ms,
                |_| {},
            )
            .unwrap();
            assert_eq!(report.height, built.height);
            assert_eq!(report.txs, built.txs);
            let block = store.block(built.height).unwrap().unwrap();
            assert!(block.header.time_ms <= now);
            assert!(block.txs.len() <= 400);
            if let Some(last) = last {
                assert_eq!(report.last_block_hash, last, "the same chain everywhere");
            }
            last = Some(report.last_block_hash);
        }

        // The run's own plan continues the nonces and awards contracts of
        // its own: every transaction of it executes on the history.
        let (_, mut state) = plan
            .validators()
            .next()
            .unwrap()
            .home()
            .open_store(&genesis)
            .unwrap();
        let next = load::plan_after(
            &world,
            load::CHAIN_ID,
            &LoadSpec {
                txs: 500,
                mix: Mix::parse("pay=50,award=30,allocate=10,confirm-delivery=10").unwrap(),
                seed: 9,
                validators: 3,
                year: Year(2026),
            },
            built.after,
        );
        let bodies = next.bodies();
        let txs = load::sign_each(&bodies, &keys, 2, |tx| tx);
        let outcome = state
            .execute_block(&txs)
            .unwrap_or_else(|(i, e)| panic!("transaction {i} is refused: {e}"));
        state.commit(outcome);
    }
}
