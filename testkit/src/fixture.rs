//! A node's shared state over a real store, for tests of what reads it.

use std::sync::Arc;

use genesis::Genesis;
use ledger::store::Store;
use ledger::{Block, Hash, SignedTx};
use node::mempool::MempoolLimits;
use node::shared::{Shared, SharedParts};
use tempfile::TempDir;

use crate::scenario::Scenario;
use crate::{key, TestChain};

/// A chain committed block by block into a RocksDB store in a temporary
/// folder, and the node's [`Shared`] over it: the store, the state after
/// the last block, an empty mempool with the default limits, nothing
/// gossiped (no loop runs) and a metrics recorder of its own. Committing
/// here updates what `shared` shows, as a node's commits do.
pub struct NodeFixture {
    /// What the API, the explorer and the exports read.
    pub shared: Arc<Shared>,
    /// The chain: its state, and signing with derived keys.
    pub chain: TestChain,
    _dir: TempDir,
}

impl NodeFixture {
    /// A node named `name` at the genesis, whose validators sign with
    /// `key(their name)` (as [`crate::GenesisBuilder`] makes them).
    pub fn new(name: &str, genesis: Genesis) -> NodeFixture {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = Store::open(&dir.path().join("db")).expect("a new store opens");
        let state = store
            .init(&genesis.state(), genesis.hash())
            .expect("a new store takes the genesis");
        let keys = genesis.validators.iter().map(|v| key(&v.name)).collect();
        let chain =
            TestChain::from_genesis(state.clone(), genesis.hash(), genesis.genesis_time_ms, keys);
        let shared = Arc::new(Shared::new(SharedParts {
            name: name.into(),
            node_id: format!("{name}-node"),
            genesis,
            store,
            state,
            mempool: MempoolLimits::default(),
            gossip: tokio::sync::mpsc::channel(16).0,
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
                .build_recorder()
                .handle(),
        }));
        NodeFixture {
            shared,
            chain,
            _dir: dir,
        }
    }

    /// Signs `op` as `signer` with its next nonce, counting `pending` of its
    /// transactions not yet committed.
    pub fn tx(&self, signer: &str, pending: u64, op: ledger::Op) -> SignedTx {
        self.chain.tx(signer, pending, op)
    }

    /// Commits `txs` as the next block, into the store and the state the
    /// readers see; panics naming a transaction the ledger refuses.
    pub fn commit(&mut self, txs: Vec<SignedTx>) -> Block {
        let (block, cert, outcome) = self
            .chain
            .make_block(txs)
            .unwrap_or_else(|(i, e)| panic!("transaction {i} of the block is refused: {e}"));
        self.shared
            .store
            .commit_block(&block, &cert, &outcome, &self.chain.state)
            .expect("the store takes the block");
        self.chain.advance(&block, cert, outcome);
        *self.shared.state.write().expect("state lock") = self.chain.state.clone();
        block
    }

    /// Commits each step of `scenario` in a block of its own; the steps'
    /// transaction hashes, in order.
    pub fn tell(&mut self, scenario: &Scenario) -> Vec<Hash> {
        scenario
            .steps
            .iter()
            .map(|step| {
                let tx = self.tx(&step.signer, 0, step.op.clone());
                let hash = tx.hash();
                self.commit(vec![tx]);
                hash
            })
            .collect()
    }

    /// The height of the last block.
    pub fn height(&self) -> u64 {
        self.chain.state.height().0
    }
}
