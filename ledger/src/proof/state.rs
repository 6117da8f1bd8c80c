//! State proofs: one state entry (a budget line's figures, an entity's keys
//! and status, a contract) at height H, or its absence, with everything an
//! auditor needs to check offline that it is what the validators' state
//! held after block H.
//!
//! A [`StateBundle`] is a versioned JSON document: the entry's key and
//! value (canonical bytes and a readable view), its path in the state map
//! to the state root of block H ([`crate::statemap::Proof`]), block H's
//! header and commit certificate, the validator-set changes from genesis,
//! and the checkpoints at or above H that witnesses cosigned, all as in a
//! transaction's [`AuditBundle`](super::AuditBundle). [`StateBundle::verify`]
//! follows the set changes from the genesis file to set(H), checks the
//! certificate, then the entry's path to the header's `state_root`.
//!
//! What a valid state proof proves: validators holding more than 2/3 of the
//! power of set(H) signed a block at height H after which the state held
//! exactly this value under this key (or nothing). The same gaps as for a
//! transaction's bundle remain (a set change left out after the last one
//! given); witnesses narrow them the same way.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::views::{first_difference, to_value};
use super::witnessed::check_witnesses;
use super::{
    check_certified, decode_strict, signed_power, trace_sets, BundleHeader, ProofError, SetChange,
    TrustAnchor, WitnessedCheckpoint, BUNDLE_BYTES_MAX, STATE_BUNDLE_FORMAT, STATE_BUNDLE_VERSION,
};
use crate::block::CommitCertificate;
use crate::codec::{self, RECORD_BYTES_MAX};
use crate::state::{StateKey, StateValue, ValidatorSlot};
use crate::statemap::Proof;
use crate::types::{EntityId, Hash, Height};

/// A state proof (format version [`STATE_BUNDLE_VERSION`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateBundle {
    /// Always [`STATE_BUNDLE_FORMAT`].
    pub format: String,
    /// Always [`STATE_BUNDLE_VERSION`].
    pub version: u32,
    /// The chain id.
    pub chain_id: String,
    /// Hash of the genesis the chain started from.
    pub genesis_hash: Hash,
    /// The entry.
    pub entry: BundleEntry,
    /// Block H, after which the state held the entry.
    pub block: StateBlock,
    /// Each height k below H where set(k+1) differs from set(k), in
    /// increasing order.
    pub validator_set_changes: Vec<SetChange>,
    /// The checkpoints at or above H that witnesses cosigned, in increasing
    /// height, each with block H's path into that history. Left out when
    /// there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<WitnessedCheckpoint>,
}

/// The entry in a state proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The canonical encoding of the state key (hex).
    #[serde(with = "super::hex_bytes")]
    pub key: Vec<u8>,
    /// The canonical encoding of its value (hex), `null` if it had none.
    #[serde(with = "hex_bytes_opt")]
    pub value: Option<Vec<u8>>,
    /// The same for people, as [`entry_view`] renders it.
    pub view: Value,
    /// The key's path in the state map.
    pub proof: Proof,
}

/// Block H in a state proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateBlock {
    /// The header, whose `state_root` the entry's path leads to.
    pub header: BundleHeader,
    /// The block's commit certificate, checked against set(H).
    pub certificate: CommitCertificate,
}

/// What a valid state proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// The key.
    pub key: StateKey,
    /// Its value after block H, `None` if it had none.
    pub value: Option<StateValue>,
    /// H.
    pub height: Height,
    /// Block H's hash.
    pub block_hash: Hash,
    /// Block H's time, ms since the epoch.
    pub time_ms: u64,
    /// The state root of block H.
    pub state_root: Hash,
    /// The voting power that signed the block's certificate.
    pub signed_power: u64,
    /// The total power of set(H).
    pub total_power: u64,
    /// How many validator-set changes were followed from genesis.
    pub set_changes: usize,
    /// The anchor's witnesses who cosigned a checkpoint holding block H.
    pub witnesses: Vec<EntityId>,
    /// Other valid cosigners, not counted.
    pub uncounted_witnesses: Vec<EntityId>,
}

/// The readable view of a state key.
pub fn key_view(key: &StateKey) -> Value {
    match key {
        StateKey::Treasury => json!({"kind": "treasury"}),
        StateKey::Entity(id) => json!({"kind": "entity", "id": id}),
        StateKey::Budget(entity, year, line) => {
            json!({"kind": "budget", "entity": entity, "year": year, "line": line})
        }
        StateKey::Contract(id) => json!({"kind": "contract", "id": id}),
        StateKey::Delivery(contract, n) => {
            json!({"kind": "delivery", "contract": contract, "n": n})
        }
        StateKey::Validators(slot) => json!({"kind": "validators", "slot": match slot {
            ValidatorSlot::Current => "current",
            ValidatorSlot::Next => "next",
        }}),
        StateKey::Node(peer) => json!({"kind": "node", "peer_id": peer}),
        StateKey::Params => json!({"kind": "params"}),
        StateKey::KeysDue(height, entity) => {
            json!({"kind": "keys_due", "height": height, "entity": entity})
        }
        StateKey::Control(ministry) => json!({"kind": "control", "ministry": ministry}),
        StateKey::Acks(contract, chunk) => {
            json!({"kind": "acks", "contract": contract, "chunk": chunk})
        }
        StateKey::YearClosed(year) => json!({"kind": "year_closed", "year": year}),
        StateKey::Upgrade => json!({"kind": "upgrade"}),
    }
}

/// The readable view of a state value. A budget line's shows what is
/// available too, computed from its figures.
pub fn value_view(value: &StateValue) -> Value {
    match value {
        StateValue::Treasury(id) => json!(id),
        StateValue::Entity(e) => to_value(e),
        StateValue::Budget(b) => {
            let mut v = to_value(b);
            v["available"] = b.available().map_or(Value::Null, |a| to_value(&a));
            v
        }
        StateValue::Contract(c) => to_value(c),
        StateValue::Delivery(d) => to_value(d),
        StateValue::Validators(set) => to_value(set),
        StateValue::Node(n) => to_value(n),
        StateValue::Params(p) => to_value(p),
        StateValue::KeysDue => json!(true),
        StateValue::Control(c) => to_value(c),
        StateValue::Acks(chunk) => json!(hex::encode(&chunk.0[..])),
        StateValue::YearClosed(h) => json!(h),
        StateValue::Upgrade(u) => to_value(u),
    }
}

/// The readable view of an entry: `{key, value}`, the value `null` for
/// none.
pub fn entry_view(key: &StateKey, value: Option<&StateValue>) -> Value {
    json!({"key": key_view(key), "value": value.map_or(Value::Null, value_view)})
}

impl BundleEntry {
    /// The entry `key` → `value` with its proof.
    pub fn new(key: &StateKey, value: Option<&StateValue>, proof: Proof) -> BundleEntry {
        BundleEntry {
            key: codec::encode(key),
            value: value.map(codec::encode),
            view: entry_view(key, value),
            proof,
        }
    }

    /// The key and value from their bytes, after checking that they go
    /// together and that the view says the same.
    pub(super) fn check(&self) -> Result<(StateKey, Option<StateValue>), ProofError> {
        let key: StateKey = codec::decode::<_, RECORD_BYTES_MAX>(&self.key).map_err(|reason| {
            ProofError::EntryUnreadable {
                what: "key",
                reason,
            }
        })?;
        let value = match &self.value {
            None => None,
            Some(bytes) => {
                let v: StateValue =
                    codec::decode::<_, RECORD_BYTES_MAX>(bytes).map_err(|reason| {
                        ProofError::EntryUnreadable {
                            what: "value",
                            reason,
                        }
                    })?;
                if !key.accepts(&v) {
                    return Err(ProofError::EntryKindMismatch);
                }
                Some(v)
            }
        };
        let proved = entry_view(&key, value.as_ref());
        let mut path = Vec::new();
        if let Some((shown, held)) = first_difference(&self.view, &proved, &mut path) {
            let words = |v: Option<&Value>| v.map_or("(absent)".into(), Value::to_string);
            return Err(ProofError::EntryViewMismatch {
                field: path.join("."),
                shown: words(shown),
                proved: words(held),
            });
        }
        Ok((key, value))
    }
}

impl BundleEntry {
    /// Checks that under `header`'s state root the key holds the value:
    /// the key and value, decoded and checked as [`BundleEntry::check`]
    /// does.
    pub(super) fn check_under(
        &self,
        header: &crate::block::Header,
    ) -> Result<(StateKey, Option<StateValue>), ProofError> {
        let (key, value) = self.check()?;
        let value_hash = value.as_ref().map(crate::state::value_hash);
        self.proof
            .verify(
                &header.state_root,
                &crate::state::key_hash(&key),
                value_hash.as_ref(),
            )
            .map_err(|reason| ProofError::StatePath {
                height: header.height,
                reason,
            })?;
        Ok((key, value))
    }
}

impl StateBundle {
    /// The proof as pretty JSON, the file format.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a state proof serialises")
    }

    /// Reads a state proof from JSON, as strictly as
    /// [`AuditBundle::decode`](super::AuditBundle::decode) reads a bundle.
    pub fn decode(bytes: &[u8]) -> Result<StateBundle, ProofError> {
        decode_strict(
            bytes,
            BUNDLE_BYTES_MAX,
            Some((STATE_BUNDLE_FORMAT, STATE_BUNDLE_VERSION)),
        )
        .map_err(|e| ProofError::from_strict(e, STATE_BUNDLE_FORMAT, STATE_BUNDLE_VERSION))
    }

    /// Checks the proof against the genesis facts, with no network.
    pub fn verify(&self, anchor: &TrustAnchor) -> Result<VerifiedEntry, ProofError> {
        self.verify_with_set(anchor).map(|(entry, _)| entry)
    }

    /// [`StateBundle::verify`], with set(H) it followed the changes to.
    pub(crate) fn verify_with_set(
        &self,
        anchor: &TrustAnchor,
    ) -> Result<(VerifiedEntry, crate::validators::ValidatorSet), ProofError> {
        ProofError::check_format(
            (&self.format, self.version),
            STATE_BUNDLE_FORMAT,
            STATE_BUNDLE_VERSION,
        )?;
        anchor.check_bundle_chain(&self.chain_id, self.genesis_hash)?;
        self.entry.check()?;
        let target = self.block.header.decode()?;
        let trusted = trace_sets(anchor, &self.validator_set_changes, target.height)?;
        check_certified(anchor, &target, &self.block.certificate, &trusted)?;
        let (key, value) = self.entry.check_under(&target)?;
        let block_hash = target.hash();
        let witnessed = check_witnesses(&self.witnesses, anchor, target.height, &block_hash)?;
        let signed_power = signed_power(&self.block.certificate, &trusted);
        let entry = VerifiedEntry {
            key,
            value,
            height: target.height,
            block_hash,
            time_ms: target.time_ms,
            state_root: target.state_root,
            signed_power,
            total_power: trusted.total_power(),
            set_changes: self.validator_set_changes.len(),
            witnesses: witnessed.counted,
            uncounted_witnesses: witnessed.uncounted,
        };
        Ok((entry, trusted))
    }
}

/// Serde for an optional byte string as lower-case hex or `null`.
mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                hex::decode(&text).map_err(|e| serde::de::Error::custom(format!("not hex: {e}")))
            })
            .transpose()
    }
}
