//! Where the state's entries sit in the authenticated map
//! ([`crate::statemap`]): a key at the hash of its canonical encoding, holding
//! the hash of its value's, each hash domain-separated.

use std::collections::BTreeMap;

use super::{State, StateKey, StateValue};
use crate::codec;
use crate::types::Hash;

/// Where a state entry's key sits in the map: the hash of its encoding.
pub fn key_hash(key: &StateKey) -> Hash {
    key_hash_of_encoding(&codec::encode(key))
}

/// [`key_hash`] of a key already encoded.
pub(crate) fn key_hash_of_encoding(bytes: &[u8]) -> Hash {
    Hash::digest_parts(&[b"minhbach/state-key/v1\0", bytes])
}

/// What the map holds for a state entry's value: the hash of its encoding.
pub fn value_hash(value: &StateValue) -> Hash {
    Hash::digest_parts(&[b"minhbach/state-value/v1\0", &codec::encode(value)])
}

/// Every entry of `state` as the map holds it: key hash → value hash.
pub fn hashed_entries(state: &State) -> BTreeMap<Hash, Hash> {
    state
        .entries()
        .map(|(k, v)| (key_hash(k), value_hash(v)))
        .collect()
}
