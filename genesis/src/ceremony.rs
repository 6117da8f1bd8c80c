//! The genesis ceremony: how operators who each keep their own keys agree
//! on one genesis file, in steps anyone can repeat and check.
//!
//! 1. Each node's operator runs `minhbach init` on its own machine, which
//!    makes the node's keys there and prints a [`JoinRequest`]: its name,
//!    role, peer id, validator public key and external addresses, and no
//!    secret.
//! 2. The coordinator starts a [`Draft`] with the treasury's public key,
//!    adds the entities (public keys only), each validator's and full node's
//!    join request, and finally fixes the genesis time ([`Draft::finalize`]).
//! 3. Every operator copies the final file into its home and may pin its
//!    hash in `config.toml`.
//!
//! The same inputs and the same time give the same file and hash, so anyone
//! holding the join requests can check the result. `minhbach testnet` and
//! `minhbach devnet` build their local networks through these functions too.

use std::path::Path;

use ledger::crypto;
use ledger::state::{ControlRule, NodeRecord, NAME_BYTES_MAX};
use ledger::tx::EntityKind;
use ledger::{EntityId, PeerId, PublicKey, Validator};
use serde::{Deserialize, Serialize};

use crate::{invalid, Completeness, Currency, Genesis, GenesisEntity, GenesisError};

/// Largest join request or draft file, in bytes.
pub const DRAFT_BYTES_MAX: usize = crate::GENESIS_BYTES_MAX;

/// Largest join request, in bytes.
pub const JOIN_BYTES_MAX: usize = 64 * 1024;

/// Most external addresses in one join request.
pub const ADDRESSES_MAX: usize = 8;

/// What a node does in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Votes on blocks; has a validator key.
    Validator,
    /// Follows the chain and serves readers.
    Full,
}

impl NodeRole {
    /// The name in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Validator => "validator",
            NodeRole::Full => "full",
        }
    }
}

/// A node's request to be part of the genesis: public facts only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The node's name, as validators are named in the genesis.
    pub name: String,
    /// Validator or full node.
    pub role: NodeRole,
    /// Its libp2p peer id, from its node key.
    pub peer_id: PeerId,
    /// Its consensus public key (validators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_key: Option<PublicKey>,
    /// Where other nodes reach it, as multiaddrs (`/dns4/NAME/tcp/PORT` or
    /// `/ip4/ADDR/tcp/PORT`), without the `/p2p/` suffix.
    pub addresses: Vec<String>,
}

/// Whether addresses on this machine only (loopback) are allowed: only for a
/// network that runs on one machine, such as the devnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loopback {
    /// A real deployment: a loopback address is a mistake.
    Refuse,
    /// A local network on one machine.
    Allow,
}

impl JoinRequest {
    /// Reads and checks a join request file.
    pub fn load(path: &Path, loopback: Loopback) -> Result<JoinRequest, GenesisError> {
        let bytes = read_bounded(path, JOIN_BYTES_MAX)?;
        JoinRequest::from_json_bytes(&bytes, loopback)
    }

    /// Parses and checks a join request.
    pub fn from_json_bytes(bytes: &[u8], loopback: Loopback) -> Result<JoinRequest, GenesisError> {
        if bytes.len() > JOIN_BYTES_MAX {
            return Err(GenesisError::TooLarge { bytes: bytes.len() });
        }
        let join: JoinRequest = serde_json::from_slice(bytes)?;
        join.check(loopback)?;
        Ok(join)
    }

    /// The request as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a join request serialises")
    }

    /// Checks the name, that the role and key agree, the key itself, and
    /// each address.
    pub fn check(&self, loopback: Loopback) -> Result<(), GenesisError> {
        check_name("join.name", &self.name)?;
        match (self.role, &self.validator_key) {
            (NodeRole::Validator, None) => {
                return Err(invalid(
                    "join.validator_key",
                    "a validator's join request needs its validator key",
                ))
            }
            (NodeRole::Validator, Some(key)) => {
                crypto::check_key(key).map_err(|e| invalid("join.validator_key", e))?
            }
            (NodeRole::Full, Some(_)) => {
                return Err(invalid(
                    "join.validator_key",
                    "a full node has no validator key",
                ))
            }
            (NodeRole::Full, None) => {}
        }
        if self.addresses.is_empty() || self.addresses.len() > ADDRESSES_MAX {
            return Err(invalid(
                "join.addresses",
                format!("must name 1 to {ADDRESSES_MAX} external addresses"),
            ));
        }
        for (i, a) in self.addresses.iter().enumerate() {
            check_external_address(a, loopback)
                .map_err(|reason| invalid(format!("join.addresses[{i}]"), reason))?;
        }
        Ok(())
    }
}

fn check_name(field: &str, name: &str) -> Result<(), GenesisError> {
    if name.trim().is_empty() || name.len() > NAME_BYTES_MAX || name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be 1 to {NAME_BYTES_MAX} bytes of printable text"),
        ));
    }
    Ok(())
}

/// Checks an external address: `/ip4/A/tcp/P`, `/ip6/A/tcp/P`,
/// `/dns4/NAME/tcp/P` or `/dns6/NAME/tcp/P`, not unspecified, and not on
/// loopback unless allowed.
pub fn check_external_address(addr: &str, loopback: Loopback) -> Result<(), String> {
    let parts: Vec<&str> = addr.split('/').collect();
    let shape = format!(
        "{addr:?} is not /ip4/ADDR/tcp/PORT, /ip6/ADDR/tcp/PORT, /dns4/NAME/tcp/PORT or \
         /dns6/NAME/tcp/PORT"
    );
    let [empty, proto, host, tcp, port] = parts.as_slice() else {
        return Err(shape);
    };
    if !empty.is_empty() || *tcp != "tcp" || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(shape);
    }
    let is_loopback = match *proto {
        "ip4" => {
            let ip: std::net::Ipv4Addr = host.parse().map_err(|_| shape.clone())?;
            if ip.is_unspecified() {
                return Err(format!("{addr:?} is not an address others can reach"));
            }
            ip.is_loopback()
        }
        "ip6" => {
            let ip: std::net::Ipv6Addr = host.parse().map_err(|_| shape.clone())?;
            if ip.is_unspecified() {
                return Err(format!("{addr:?} is not an address others can reach"));
            }
            ip.is_loopback()
        }
        "dns4" | "dns6" => {
            let ok = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return Err(format!("{addr:?}: {host:?} is not a DNS name"));
            }
            host.eq_ignore_ascii_case("localhost")
        }
        _ => return Err(shape),
    };
    if is_loopback && loopback == Loopback::Refuse {
        return Err(format!(
            "{addr:?} is a loopback address, which other machines cannot reach"
        ));
    }
    Ok(())
}

/// A genesis under construction: everything but the time, possibly with no
/// validator yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// Always `true`: tells a draft from a final genesis file.
    pub draft: bool,
    /// Chain id.
    pub chain_id: String,
    /// Currency.
    pub currency: Currency,
    /// The entities, the treasury first.
    pub entities: Vec<GenesisEntity>,
    /// The validators, in the order added.
    pub validators: Vec<Validator>,
    /// The full nodes allowed to connect.
    pub nodes: Vec<NodeRecord>,
    /// Blocks the treasury's change of another entity's keys waits.
    #[serde(default = "crate::rotation_delay_default")]
    pub rotation_delay: u64,
    /// Expenditure control rules in force from the start.
    #[serde(default)]
    pub control: Vec<ControlRule>,
}

impl Draft {
    /// A draft with its treasury, which holds `treasury_key`.
    pub fn new(
        chain_id: &str,
        currency: Currency,
        treasury: EntityId,
        treasury_name: &str,
        treasury_key: PublicKey,
    ) -> Result<Draft, GenesisError> {
        let draft = Draft {
            draft: true,
            chain_id: chain_id.into(),
            currency,
            entities: vec![GenesisEntity {
                id: treasury,
                kind: EntityKind::Treasury,
                name: treasury_name.into(),
                parent: None,
                keys: vec![treasury_key],
                threshold: 1,
            }],
            validators: Vec::new(),
            nodes: Vec::new(),
            rotation_delay: crate::ROTATION_DELAY_DEFAULT,
            control: Vec::new(),
        };
        draft.check()?;
        Ok(draft)
    }

    /// Reads and checks a draft file; a final genesis is refused, naming
    /// what it is.
    pub fn load(path: &Path) -> Result<Draft, GenesisError> {
        let bytes = read_bounded(path, DRAFT_BYTES_MAX)?;
        Draft::from_json_bytes(&bytes)
    }

    /// Parses and checks a draft.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Draft, GenesisError> {
        if bytes.len() > DRAFT_BYTES_MAX {
            return Err(GenesisError::TooLarge { bytes: bytes.len() });
        }
        let value: serde_json::Value = serde_json::from_slice(bytes)?;
        if value.get("genesis_time").is_some() {
            return Err(invalid(
                "genesis_time",
                "this genesis is final; a final genesis is not changed",
            ));
        }
        let draft: Draft = serde_json::from_value(value)?;
        if !draft.draft {
            return Err(invalid("draft", "must be true in a draft"));
        }
        draft.check()?;
        Ok(draft)
    }

    /// The draft as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a draft serialises")
    }

    /// Adds an entity: refused if its id is taken, its key is bad, a
    /// department names no ministry of the draft, or it is a second
    /// treasury. The draft is unchanged when refused.
    pub fn add_entity(&mut self, entity: GenesisEntity) -> Result<(), GenesisError> {
        if self.entities.iter().any(|e| e.id == entity.id) {
            return Err(invalid(
                "entity.id",
                format!("{} is already in the genesis", entity.id),
            ));
        }
        self.try_change(|d| d.entities.push(entity))
    }

    /// Adds entities in order, as [`Draft::add_entity`] adds each, checking
    /// the draft once at the end rather than after each: how a network
    /// of thousands of entities is generated without checking every key
    /// thousands of times. The draft is unchanged when one is refused.
    pub fn add_entities(
        &mut self,
        entities: impl IntoIterator<Item = GenesisEntity>,
    ) -> Result<(), GenesisError> {
        let mut ids: std::collections::BTreeSet<EntityId> =
            self.entities.iter().map(|e| e.id.clone()).collect();
        let mut added = Vec::new();
        for entity in entities {
            if !ids.insert(entity.id.clone()) {
                return Err(invalid(
                    "entity.id",
                    format!("{} is already in the genesis", entity.id),
                ));
            }
            added.push(entity);
        }
        self.try_change(|d| d.entities.extend(added))
    }

    /// Gives entity `id` these keys and threshold (for a k-of-n entity,
    /// such as a treasury whose decisions need two of three officials).
    pub fn set_keys(
        &mut self,
        id: &EntityId,
        keys: Vec<PublicKey>,
        threshold: u8,
    ) -> Result<(), GenesisError> {
        let Some(at) = self.entities.iter().position(|e| e.id == *id) else {
            return Err(invalid("entity.id", format!("{id} is not in the genesis")));
        };
        self.try_change(|d| {
            d.entities[at].keys = keys;
            d.entities[at].threshold = threshold;
        })
    }

    /// Sets how many blocks the treasury's change of another entity's keys
    /// waits before it takes effect.
    pub fn set_rotation_delay(&mut self, blocks: u64) -> Result<(), GenesisError> {
        self.try_change(|d| d.rotation_delay = blocks)
    }

    /// Adds an expenditure control rule; its ministry and controller must
    /// already be in the genesis.
    pub fn add_control(&mut self, rule: ControlRule) -> Result<(), GenesisError> {
        self.try_change(|d| d.control.push(rule))
    }

    /// Adds a validator from its join request, with `power`.
    pub fn add_validator(
        &mut self,
        join: &JoinRequest,
        power: u64,
        loopback: Loopback,
    ) -> Result<(), GenesisError> {
        join.check(loopback)?;
        let Some(key) = join.validator_key else {
            return Err(invalid(
                "join.role",
                format!(
                    "{} asks to join as a {} node",
                    join.name,
                    join.role.as_str()
                ),
            ));
        };
        self.check_new_peer(join)?;
        if self.validators.iter().any(|v| v.name == join.name) {
            return Err(invalid(
                "join.name",
                format!(
                    "a validator named {:?} is already in the genesis",
                    join.name
                ),
            ));
        }
        if self.validators.iter().any(|v| v.consensus_key == key) {
            return Err(invalid(
                "join.validator_key",
                format!("{key} is already a validator's key"),
            ));
        }
        if power == 0 {
            return Err(invalid("power", "must be at least 1"));
        }
        let validator = Validator {
            name: join.name.clone(),
            consensus_key: key,
            peer_id: join.peer_id.clone(),
            power,
        };
        self.try_change(|d| d.validators.push(validator))
    }

    /// Adds a full node from its join request, run by entity `operator`.
    pub fn add_node(
        &mut self,
        join: &JoinRequest,
        operator: EntityId,
        loopback: Loopback,
    ) -> Result<(), GenesisError> {
        join.check(loopback)?;
        if join.role != NodeRole::Full {
            return Err(invalid(
                "join.role",
                format!(
                    "{} asks to join as a {} node; add it with add-validator",
                    join.name,
                    join.role.as_str()
                ),
            ));
        }
        self.check_new_peer(join)?;
        if !self.entities.iter().any(|e| e.id == operator) {
            return Err(invalid(
                "entity",
                format!("{operator} is not an entity of the genesis"),
            ));
        }
        let record = NodeRecord {
            peer_id: join.peer_id.clone(),
            operator,
        };
        self.try_change(|d| d.nodes.push(record))
    }

    /// The final genesis at `genesis_time_ms`, checked as a node checks it.
    pub fn finalize(&self, genesis_time_ms: u64) -> Result<Genesis, GenesisError> {
        let genesis = self.as_genesis(genesis_time_ms);
        genesis.check()?;
        Ok(genesis)
    }

    fn check_new_peer(&self, join: &JoinRequest) -> Result<(), GenesisError> {
        let taken = self.validators.iter().any(|v| v.peer_id == join.peer_id)
            || self.nodes.iter().any(|n| n.peer_id == join.peer_id);
        if taken {
            return Err(invalid(
                "join.peer_id",
                format!("{} is already in the genesis", join.peer_id),
            ));
        }
        Ok(())
    }

    /// Applies `change` to a copy and keeps it only if the copy passes.
    fn try_change(&mut self, change: impl FnOnce(&mut Draft)) -> Result<(), GenesisError> {
        let mut next = self.clone();
        change(&mut next);
        next.check()?;
        *self = next;
        Ok(())
    }

    fn check(&self) -> Result<(), GenesisError> {
        self.as_genesis(0).check_rules(Completeness::Draft)
    }

    fn as_genesis(&self, genesis_time_ms: u64) -> Genesis {
        Genesis {
            chain_id: self.chain_id.clone(),
            genesis_time_ms,
            currency: self.currency.clone(),
            entities: self.entities.clone(),
            validators: self.validators.clone(),
            nodes: self.nodes.clone(),
            rotation_delay: self.rotation_delay,
            control: self.control.clone(),
        }
    }
}

fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, GenesisError> {
    let io = |source| GenesisError::Io {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > max as u64 {
        return Err(GenesisError::TooLarge {
            bytes: usize::try_from(len).unwrap_or(usize::MAX),
        });
    }
    std::fs::read(path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::testkit::key;

    fn join(name: &str, role: NodeRole, address: &str) -> JoinRequest {
        JoinRequest {
            name: name.into(),
            role,
            peer_id: PeerId::from_ed25519(&key(&format!("{name} node")).public_key()).unwrap(),
            validator_key: (role == NodeRole::Validator)
                .then(|| key(&format!("{name} validator")).public_key()),
            addresses: vec![address.into()],
        }
    }

    fn draft() -> Draft {
        Draft::new(
            "minhbach-test",
            Currency::default(),
            EntityId::new("BTC").unwrap(),
            "Bộ Tài chính",
            key("BTC").public_key(),
        )
        .unwrap()
    }

    fn entity(id: &str, kind: EntityKind, parent: Option<&str>) -> GenesisEntity {
        GenesisEntity {
            id: EntityId::new(id).unwrap(),
            kind,
            name: format!("{id} name"),
            parent: parent.map(|p| EntityId::new(p).unwrap()),
            keys: vec![key(id).public_key()],
            threshold: 1,
        }
    }

    fn field(e: GenesisError) -> String {
        match e {
            GenesisError::Invalid { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn addresses_others_can_reach_are_accepted_and_the_rest_named() {
        let ok = [
            "/ip4/10.0.0.7/tcp/26656",
            "/ip6/2001:db8::7/tcp/26656",
            "/dns4/v1.bo-tai-chinh.test/tcp/26656",
            "/dns6/v1.example/tcp/1",
        ];
        for a in ok {
            assert_eq!(check_external_address(a, Loopback::Refuse), Ok(()), "{a}");
        }
        let refused = [
            ("/ip4/127.0.0.1/tcp/26656", "loopback"),
            ("/ip6/::1/tcp/26656", "loopback"),
            ("/dns4/localhost/tcp/26656", "loopback"),
            ("/ip4/0.0.0.0/tcp/26656", "reach"),
            ("/ip4/10.0.0.7/tcp/0", "is not /ip4"),
            ("/ip4/10.0.0.7/udp/26656", "is not /ip4"),
            ("/ip4/10.0.0.7/tcp/26656/p2p/x", "is not /ip4"),
            ("/dnsaddr/x/tcp/1", "is not /ip4"),
            ("/dns4/bad_name/tcp/1", "not a DNS name"),
            ("10.0.0.7:26656", "is not /ip4"),
        ];
        for (a, why) in refused {
            let err = check_external_address(a, Loopback::Refuse).unwrap_err();
            assert!(err.contains(why), "{a}: {err}");
        }
        assert_eq!(
            check_external_address("/ip4/127.0.0.1/tcp/26656", Loopback::Allow),
            Ok(())
        );
    }

    #[test]
    fn a_ceremony_gives_the_genesis_its_inputs_describe() {
        let mut d = draft();
        d.add_entity(entity("BYT", EntityKind::Ministry, None))
            .unwrap();
        d.add_entity(entity("BYT-BVBM", EntityKind::Department, Some("BYT")))
            .unwrap();
        // Adding them at once is the same step.
        let mut at_once = draft();
        at_once
            .add_entities([
                entity("BYT", EntityKind::Ministry, None),
                entity("BYT-BVBM", EntityKind::Department, Some("BYT")),
            ])
            .unwrap();
        assert_eq!(at_once, d);
        for n in ["v1", "v2"] {
            let j = join(n, NodeRole::Validator, "/dns4/v.example/tcp/26656");
            d.add_validator(&j, 10, Loopback::Refuse).unwrap();
        }
        let full = join("full-1", NodeRole::Full, "/ip4/10.0.0.9/tcp/26656");
        d.add_node(&full, EntityId::new("BTC").unwrap(), Loopback::Refuse)
            .unwrap();
        let g = d.finalize(1_767_225_600_000).unwrap();
        assert_eq!(g.validators.len(), 2);
        assert_eq!(g.validators[1].name, "v2");
        assert_eq!(
            g.validators[1].consensus_key,
            key("v2 validator").public_key()
        );
        assert_eq!(g.nodes[0].peer_id, full.peer_id);
        assert_eq!(g.entities.len(), 3);
        // The same steps again give the same file and hash.
        let again = Draft::from_json_bytes(d.to_json().as_bytes()).unwrap();
        assert_eq!(again, d);
        assert_eq!(again.finalize(1_767_225_600_000).unwrap().hash(), g.hash());
        // And the file a node reads back is that genesis.
        assert_eq!(Genesis::from_json(&g.to_json()).unwrap(), g);
    }

    #[test]
    fn each_bad_step_is_refused_naming_its_field_and_changes_nothing() {
        let mut d = draft();
        let v1 = join("v1", NodeRole::Validator, "/ip4/10.0.0.1/tcp/26656");
        d.add_validator(&v1, 10, Loopback::Refuse).unwrap();
        let before = d.clone();

        type Step<'a> = Box<dyn Fn(&mut Draft) -> Result<(), GenesisError> + 'a>;
        let cases: Vec<(Step<'_>, &str)> = vec![
            (
                Box::new(|d| d.add_entity(entity("BTC", EntityKind::Ministry, None))),
                "entity.id",
            ),
            (
                Box::new(|d| d.add_entity(entity("XX", EntityKind::Department, None))),
                "entities[1].parent",
            ),
            (
                Box::new(|d| d.add_entity(entity("XX", EntityKind::Department, Some("NONE")))),
                "entities[1].parent",
            ),
            (
                Box::new(|d| d.add_entity(entity("T2", EntityKind::Treasury, None))),
                "entities",
            ),
            (
                Box::new(|d| {
                    let mut e = entity("XX", EntityKind::Ministry, None);
                    e.keys = vec![PublicKey([0; 32])];
                    d.add_entity(e)
                }),
                "entities[1].keys",
            ),
            (
                Box::new(|d| {
                    d.add_entities([
                        entity("XX", EntityKind::Ministry, None),
                        entity("XX", EntityKind::Ministry, None),
                    ])
                }),
                "entity.id",
            ),
            (
                Box::new(|d| {
                    d.add_entities([
                        entity("XX", EntityKind::Ministry, None),
                        entity("XX-1", EntityKind::Department, Some("NONE")),
                    ])
                }),
                "entities[2].parent",
            ),
            (
                Box::new(|d| {
                    let j = join("v1", NodeRole::Validator, "/ip4/10.0.0.1/tcp/26656");
                    d.add_validator(&j, 10, Loopback::Refuse)
                }),
                "join.peer_id",
            ),
            (
                Box::new(|d| {
                    let mut j = join("v2", NodeRole::Validator, "/ip4/10.0.0.2/tcp/26656");
                    j.validator_key = v1.validator_key;
                    d.add_validator(&j, 10, Loopback::Refuse)
                }),
                "join.validator_key",
            ),
            (
                Box::new(|d| {
                    let mut j = join("v2", NodeRole::Validator, "/ip4/10.0.0.2/tcp/26656");
                    j.validator_key = Some(PublicKey([0; 32]));
                    d.add_validator(&j, 10, Loopback::Refuse)
                }),
                "join.validator_key",
            ),
            (
                Box::new(|d| {
                    let j = join("v2", NodeRole::Validator, "/ip4/127.0.0.1/tcp/26656");
                    d.add_validator(&j, 10, Loopback::Refuse)
                }),
                "join.addresses[0]",
            ),
            (
                Box::new(|d| {
                    let j = join("f", NodeRole::Full, "/ip4/10.0.0.3/tcp/26656");
                    d.add_validator(&j, 10, Loopback::Refuse)
                }),
                "join.role",
            ),
            (
                Box::new(|d| {
                    let j = join("f", NodeRole::Full, "/ip4/10.0.0.3/tcp/26656");
                    d.add_node(&j, EntityId::new("NOBODY").unwrap(), Loopback::Refuse)
                }),
                "entity",
            ),
        ];
        for (step, expected) in cases {
            let err = step(&mut d).unwrap_err();
            assert_eq!(field(err), expected);
            assert_eq!(d, before, "a refused step changed the draft");
        }
    }

    #[test]
    fn a_final_genesis_is_not_a_draft_and_a_draft_needs_a_validator_to_end() {
        let d = draft();
        let err = d.finalize(1).unwrap_err();
        assert_eq!(field(err), "validators");
        let mut d = d;
        let v = join("v1", NodeRole::Validator, "/ip4/10.0.0.1/tcp/1");
        d.add_validator(&v, 10, Loopback::Refuse).unwrap();
        let g = d.finalize(1).unwrap();
        let err = Draft::from_json_bytes(g.to_json().as_bytes()).unwrap_err();
        assert_eq!(field(err), "genesis_time");
    }

    #[test]
    fn a_join_request_reads_back_and_refuses_what_it_should() {
        let v = join("v1", NodeRole::Validator, "/dns4/v1.example/tcp/26656");
        let back = JoinRequest::from_json_bytes(v.to_json().as_bytes(), Loopback::Refuse).unwrap();
        assert_eq!(back, v);
        let bad_peer = v
            .to_json()
            .replace(&v.peer_id.to_string(), "12D3KooWnotapeer");
        assert!(JoinRequest::from_json_bytes(bad_peer.as_bytes(), Loopback::Refuse).is_err());
        let mut no_key = v.clone();
        no_key.validator_key = None;
        assert_eq!(
            field(no_key.check(Loopback::Refuse).unwrap_err()),
            "join.validator_key"
        );
        let extra = v.to_json().replacen('{', "{\"secret\": 1,", 1);
        assert!(JoinRequest::from_json_bytes(extra.as_bytes(), Loopback::Refuse).is_err());
    }
}
