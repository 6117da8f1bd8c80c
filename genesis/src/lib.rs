//! The genesis file: the chain id, the currency, the genesis time, the
//! initial entities with their keys, the validators and the full nodes allowed
//! to connect from the start.
//!
//! [`Genesis::from_json`] parses and checks a file and explains what is wrong;
//! a [`Genesis`] value is always valid. Its hash is SHA-256 of its canonical
//! binary encoding, so it does not depend on the JSON's spacing or key order.
//! This crate builds the genesis [`State`]; it does not start anything.
//!
//! [`story`] holds the data of the devnet's made-up but believable public
//! sector: the treasury, ministries, departments, vendors, budget lines and
//! what the departments buy.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bincode::Encode;
use ledger::checked::has_bidi_control;
use ledger::proof::TrustAnchor;
use ledger::state::{
    check_key_set, ChainParams, ControlRule, Entity, NodeRecord, StateKey, StateValue,
    ValidatorSlot, Write, NAME_BYTES_MAX,
};
use ledger::tx::{EntityKind, Status};
use ledger::{codec, crypto, EntityId, Hash, PeerId, PublicKey, State, Validator, ValidatorSet};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod ceremony;
pub mod story;

/// How complete a genesis must be for a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completeness {
    /// A draft of the ceremony: no validator yet is allowed.
    Draft,
    /// A genesis a node starts from.
    Final,
}

/// Largest genesis file, in bytes.
pub const GENESIS_BYTES_MAX: usize = 16 * 1024 * 1024;

/// What is wrong with a genesis file.
#[derive(Debug, Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is larger than [`GENESIS_BYTES_MAX`].
    #[error("genesis is {bytes} bytes, more than the {GENESIS_BYTES_MAX} allowed")]
    TooLarge {
        /// Size.
        bytes: usize,
    },
    /// Not JSON of the expected shape.
    #[error("genesis is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A field is invalid.
    #[error("genesis {field}: {reason}")]
    Invalid {
        /// Where (`entities[3].parent`).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> GenesisError {
    GenesisError::Invalid {
        field: field.into(),
        reason: reason.to_string(),
    }
}

/// The chain's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode)]
#[serde(deny_unknown_fields)]
pub struct Currency {
    /// ISO 4217 code, e.g. `VND`.
    pub code: String,
    /// Decimal places of the minor unit (0 for VND).
    pub decimals: u8,
}

impl Default for Currency {
    fn default() -> Self {
        Currency {
            code: "VND".into(),
            decimals: 0,
        }
    }
}

/// An entity created at genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode)]
#[serde(deny_unknown_fields)]
pub struct GenesisEntity {
    /// Id.
    pub id: EntityId,
    /// Kind.
    pub kind: EntityKind,
    /// Display name.
    pub name: String,
    /// A department's ministry.
    #[serde(default)]
    pub parent: Option<EntityId>,
    /// Signing keys: 1 to 16, distinct.
    pub keys: Vec<PublicKey>,
    /// How many of `keys` must sign (1 when absent).
    #[serde(default = "one")]
    pub threshold: u8,
}

fn one() -> u8 {
    1
}

/// The rotation delay when a genesis file names none: the treasury's change
/// of another entity's keys waits this many blocks.
pub const ROTATION_DELAY_DEFAULT: u64 = 100;

pub(crate) fn rotation_delay_default() -> u64 {
    ROTATION_DELAY_DEFAULT
}

/// An entity decided on before its key exists: what a story or an operator
/// chooses, to which a network generator adds a fresh key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityTemplate {
    /// Id.
    pub id: EntityId,
    /// Kind.
    pub kind: EntityKind,
    /// Display name.
    pub name: String,
    /// A department's ministry.
    pub parent: Option<EntityId>,
}

impl EntityTemplate {
    /// The genesis entity with this signing key.
    pub fn with_key(&self, public_key: PublicKey) -> GenesisEntity {
        GenesisEntity {
            id: self.id.clone(),
            kind: self.kind,
            name: self.name.clone(),
            parent: self.parent.clone(),
            keys: vec![public_key],
            threshold: 1,
        }
    }
}

/// The file as JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisJson {
    chain_id: String,
    genesis_time: String,
    #[serde(default)]
    currency: Currency,
    entities: Vec<GenesisEntity>,
    validators: Vec<Validator>,
    #[serde(default)]
    nodes: Vec<NodeRecord>,
    #[serde(default = "rotation_delay_default")]
    rotation_delay: u64,
    #[serde(default)]
    control: Vec<ControlRule>,
}

/// A checked genesis.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
pub struct Genesis {
    /// Chain id.
    pub chain_id: String,
    /// Genesis time, ms since the Unix epoch. Block 1 must be later.
    pub genesis_time_ms: u64,
    /// Currency.
    pub currency: Currency,
    /// Initial entities, in file order.
    pub entities: Vec<GenesisEntity>,
    /// Initial validators, set(1) and set(2).
    pub validators: Vec<Validator>,
    /// Full nodes allowed to connect.
    pub nodes: Vec<NodeRecord>,
    /// Blocks the treasury's change of another entity's keys waits.
    pub rotation_delay: u64,
    /// Expenditure control rules in force from the start.
    pub control: Vec<ControlRule>,
}

fn check_chain_id(id: &str) -> Result<(), GenesisError> {
    let b = id.as_bytes();
    let ok = (2..=50).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !ok {
        return Err(invalid(
            "chain_id",
            format!("{id:?} does not match [a-z0-9][a-z0-9-]{{1,49}}"),
        ));
    }
    Ok(())
}

impl Genesis {
    /// Reads and checks a genesis file.
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let bytes = std::fs::read(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Genesis::from_json_bytes(&bytes)
    }

    /// Parses and checks genesis JSON given as bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Genesis, GenesisError> {
        if bytes.len() > GENESIS_BYTES_MAX {
            return Err(GenesisError::TooLarge { bytes: bytes.len() });
        }
        let json: GenesisJson = serde_json::from_slice(bytes)?;
        Genesis::from_parsed(json)
    }

    /// Parses and checks genesis JSON.
    pub fn from_json(text: &str) -> Result<Genesis, GenesisError> {
        Genesis::from_json_bytes(text.as_bytes())
    }

    fn from_parsed(j: GenesisJson) -> Result<Genesis, GenesisError> {
        let time = humantime::parse_rfc3339(&j.genesis_time).map_err(|e| {
            invalid(
                "genesis_time",
                format!("{:?} is not an RFC 3339 UTC time: {e}", j.genesis_time),
            )
        })?;
        let genesis_time_ms = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| invalid("genesis_time", "is before 1970"))?
            .as_millis() as u64;
        let g = Genesis {
            chain_id: j.chain_id,
            genesis_time_ms,
            currency: j.currency,
            entities: j.entities,
            validators: j.validators,
            nodes: j.nodes,
            rotation_delay: j.rotation_delay,
            control: j.control,
        };
        g.check()?;
        Ok(g)
    }

    /// Checks every rule; called by the constructors.
    pub fn check(&self) -> Result<(), GenesisError> {
        self.check_rules(Completeness::Final)
    }

    /// Checks the rules a genesis must meet at `completeness`: a draft of
    /// the ceremony ([`ceremony::Draft`]) may have no validator yet.
    pub(crate) fn check_rules(&self, completeness: Completeness) -> Result<(), GenesisError> {
        check_chain_id(&self.chain_id)?;
        let c = &self.currency;
        if c.code.len() != 3 || !c.code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(
                "currency.code",
                format!("{:?} is not a three-letter ISO 4217 code", c.code),
            ));
        }
        if c.decimals > 18 {
            return Err(invalid(
                "currency.decimals",
                format!("{} is more than 18", c.decimals),
            ));
        }
        let kinds: std::collections::BTreeMap<&EntityId, EntityKind> =
            self.entities.iter().map(|e| (&e.id, e.kind)).collect();
        let mut ids = BTreeSet::new();
        let mut treasuries = 0;
        for (i, e) in self.entities.iter().enumerate() {
            let at = |f: &str| format!("entities[{i}].{f}");
            if !ids.insert(&e.id) {
                return Err(invalid(at("id"), format!("{} appears twice", e.id)));
            }
            if e.name.trim().is_empty()
                || e.name.len() > NAME_BYTES_MAX
                || e.name.chars().any(char::is_control)
                || has_bidi_control(&e.name)
            {
                return Err(invalid(
                    at("name"),
                    format!(
                        "must be 1 to {NAME_BYTES_MAX} bytes of printable text, without \
                         bidirectional controls"
                    ),
                ));
            }
            check_key_set(&e.keys, e.threshold).map_err(|err| invalid(at("keys"), err))?;
            if e.kind == EntityKind::Treasury {
                treasuries += 1;
            }
            match (&e.kind, &e.parent) {
                (EntityKind::Department, None) => {
                    return Err(invalid(
                        at("parent"),
                        "a department needs its ministry as parent",
                    ))
                }
                (EntityKind::Department, Some(p)) => match kinds.get(p) {
                    None => {
                        return Err(invalid(
                            at("parent"),
                            format!("{p} is not a genesis entity"),
                        ))
                    }
                    Some(kind) if *kind != EntityKind::Ministry => {
                        return Err(invalid(
                            at("parent"),
                            format!("{p} is a {}, not a ministry", kind.as_str()),
                        ))
                    }
                    Some(_) => {}
                },
                (_, Some(_)) => {
                    return Err(invalid(at("parent"), "only departments have a parent"))
                }
                (_, None) => {}
            }
        }
        if treasuries != 1 {
            return Err(invalid(
                "entities",
                format!("there must be exactly one treasury, found {treasuries}"),
            ));
        }
        self.check_control()?;
        for (i, v) in self.validators.iter().enumerate() {
            crypto::check_key(&v.consensus_key)
                .map_err(|err| invalid(format!("validators[{i}].consensus_key"), err))?;
            if v.name.trim().is_empty()
                || v.name.len() > NAME_BYTES_MAX
                || v.name.chars().any(char::is_control)
                || has_bidi_control(&v.name)
            {
                return Err(invalid(
                    format!("validators[{i}].name"),
                    "must be 1 to 200 bytes of printable text, without bidirectional controls",
                ));
            }
        }
        if completeness == Completeness::Final || !self.validators.is_empty() {
            ValidatorSet::new(self.validators.clone()).map_err(|e| invalid("validators", e))?;
        }
        let mut peers: BTreeSet<&PeerId> = self.validators.iter().map(|v| &v.peer_id).collect();
        for (i, n) in self.nodes.iter().enumerate() {
            if !ids.contains(&n.operator) {
                return Err(invalid(
                    format!("nodes[{i}].operator"),
                    format!("{} is not a genesis entity", n.operator),
                ));
            }
            if !peers.insert(&n.peer_id) {
                return Err(invalid(
                    format!("nodes[{i}].peer_id"),
                    format!("{} is already used", n.peer_id),
                ));
            }
        }
        Ok(())
    }

    /// Checks the control rules: each names a genesis ministry (or none, at
    /// most once each), a genesis controller and an amount above zero.
    fn check_control(&self) -> Result<(), GenesisError> {
        let kind = |id: &EntityId| self.entities.iter().find(|e| e.id == *id).map(|e| e.kind);
        let mut scopes = BTreeSet::new();
        for (i, rule) in self.control.iter().enumerate() {
            let at = |f: &str| format!("control[{i}].{f}");
            if !scopes.insert(&rule.ministry) {
                return Err(invalid(
                    at("ministry"),
                    "a second rule for the same ministry",
                ));
            }
            if let Some(m) = &rule.ministry {
                if kind(m) != Some(EntityKind::Ministry) {
                    return Err(invalid(
                        at("ministry"),
                        format!("{m} is not a genesis ministry"),
                    ));
                }
            }
            if kind(&rule.controller) != Some(EntityKind::Controller) {
                return Err(invalid(
                    at("controller"),
                    format!("{} is not a genesis controller", rule.controller),
                ));
            }
            if rule.amount.0 == 0 {
                return Err(invalid(at("amount"), "must be more than zero"));
            }
        }
        Ok(())
    }

    /// The genesis as JSON, in the file format.
    pub fn to_json(&self) -> String {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(self.genesis_time_ms);
        let j = GenesisJson {
            chain_id: self.chain_id.clone(),
            genesis_time: humantime::format_rfc3339_millis(time).to_string(),
            currency: self.currency.clone(),
            entities: self.entities.clone(),
            validators: self.validators.clone(),
            nodes: self.nodes.clone(),
            rotation_delay: self.rotation_delay,
            control: self.control.clone(),
        };
        serde_json::to_string_pretty(&j).expect("genesis serialises")
    }

    /// SHA-256 of the canonical encoding; block 1's previous hash.
    pub fn hash(&self) -> Hash {
        Hash::digest(&codec::encode(self))
    }

    /// set(1), which is also set(2).
    pub fn validator_set(&self) -> ValidatorSet {
        ValidatorSet::new(self.validators.clone()).expect("checked on construction")
    }

    /// What an offline verifier of audit bundles trusts: the chain id, this
    /// file's hash, set(1) and the witnesses (the observers) it registers.
    pub fn trust_anchor(&self) -> TrustAnchor {
        let witnesses = self
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::Observer)
            .flat_map(|e| e.keys.iter().map(|k| (e.id.clone(), *k)))
            .collect();
        TrustAnchor::new(&self.chain_id, self.hash(), self.validator_set())
            .with_witnesses(witnesses)
    }

    /// The id of the treasury.
    pub fn treasury(&self) -> &EntityId {
        &self
            .entities
            .iter()
            .find(|e| e.kind == EntityKind::Treasury)
            .expect("checked on construction")
            .id
    }

    /// The state at height 0.
    pub fn state(&self) -> State {
        let mut writes: Vec<Write> = vec![
            (
                StateKey::Treasury,
                Some(StateValue::Treasury(self.treasury().clone())),
            ),
            (
                StateKey::Params,
                Some(StateValue::Params(ChainParams {
                    rotation_delay: self.rotation_delay,
                })),
            ),
        ];
        for rule in &self.control {
            writes.push((
                StateKey::Control(rule.ministry.clone()),
                Some(StateValue::Control(rule.clone())),
            ));
        }
        for e in &self.entities {
            writes.push((
                StateKey::Entity(e.id.clone()),
                Some(StateValue::Entity(Entity {
                    id: e.id.clone(),
                    kind: e.kind,
                    name: e.name.clone(),
                    parent: e.parent.clone(),
                    keys: check_key_set(&e.keys, e.threshold).expect("checked on construction"),
                    threshold: e.threshold,
                    pending: None,
                    status: Status::Active,
                    nonce: 0,
                })),
            ));
        }
        let set = self.validator_set();
        for slot in [ValidatorSlot::Current, ValidatorSlot::Next] {
            writes.push((
                StateKey::Validators(slot),
                Some(StateValue::Validators(set.clone())),
            ));
        }
        for n in &self.nodes {
            writes.push((
                StateKey::Node(n.peer_id.clone()),
                Some(StateValue::Node(n.clone())),
            ));
        }
        State::genesis(&self.chain_id, writes)
    }
}
