//! Genesis files for tests, every key derived from its label.

use genesis::{Currency, Genesis, GenesisEntity};
use ledger::tx::EntityKind;
use ledger::{PeerId, Validator};

use crate::{id, key, GENESIS_TIME_MS};

/// A genesis with validators `validator-0`, `validator-1`, … (power 10,
/// keys `key("validator-i")`) and the entities added, each with
/// `key(its id)`.
pub struct GenesisBuilder {
    genesis: Genesis,
}

impl GenesisBuilder {
    /// A genesis of `chain_id` at [`GENESIS_TIME_MS`] with one validator
    /// and no entity yet.
    pub fn new(chain_id: &str) -> GenesisBuilder {
        GenesisBuilder {
            genesis: Genesis {
                chain_id: chain_id.into(),
                genesis_time_ms: GENESIS_TIME_MS,
                currency: Currency::default(),
                entities: Vec::new(),
                validators: Vec::new(),
                nodes: Vec::new(),
                rotation_delay: genesis::ROTATION_DELAY_DEFAULT,
                control: Vec::new(),
            },
        }
        .validators(1)
    }

    /// `n` validators instead.
    pub fn validators(mut self, n: usize) -> GenesisBuilder {
        self.genesis.validators = (0..n)
            .map(|i| {
                let name = format!("validator-{i}");
                let public = key(&name).public_key();
                Validator {
                    name,
                    consensus_key: public,
                    peer_id: PeerId::from_ed25519(&public).expect("a derived key is valid"),
                    power: 10,
                }
            })
            .collect();
        self
    }

    /// Adds an entity.
    pub fn entity(
        mut self,
        entity: &str,
        kind: EntityKind,
        name: &str,
        parent: Option<&str>,
    ) -> GenesisBuilder {
        self.genesis.entities.push(GenesisEntity {
            id: id(entity),
            kind,
            name: name.into(),
            parent: parent.map(id),
            keys: vec![key(entity).public_key()],
            threshold: 1,
        });
        self
    }

    /// Gives `entity` the keys derived from `labels` and `threshold`.
    pub fn keys(mut self, entity: &str, labels: &[&str], threshold: u8) -> GenesisBuilder {
        let e = self
            .genesis
            .entities
            .iter_mut()
            .find(|e| e.id == id(entity))
            .expect("the entity was added");
        e.keys = labels.iter().map(|l| key(l).public_key()).collect();
        e.threshold = threshold;
        self
    }

    /// Sets how many blocks the treasury's change of another entity's keys
    /// waits.
    pub fn rotation_delay(mut self, blocks: u64) -> GenesisBuilder {
        self.genesis.rotation_delay = blocks;
        self
    }

    /// Adds an expenditure control rule.
    pub fn control(
        mut self,
        ministry: Option<&str>,
        amount: u64,
        controller: &str,
    ) -> GenesisBuilder {
        self.genesis.control.push(ledger::state::ControlRule {
            ministry: ministry.map(id),
            amount: ledger::Amount(amount),
            controller: id(controller),
        });
        self
    }

    /// The genesis, checked as a node would check its file.
    pub fn build(self) -> Genesis {
        self.genesis
            .check()
            .expect("a test genesis passes the checks of a genesis file");
        self.genesis
    }
}
