//! A witness's cosignature: its signature over a checkpoint's chain id,
//! height and history root, with the time it cosigned. Bundles carry it as
//! the witness posted it.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::crypto;
use crate::types::{EntityId, Hash, Height, PublicKey, Signature};

/// Domain tag that starts the signed bytes of every cosignature.
pub const COSIGNATURE_DOMAIN_TAG: &str = "minhbach/cosignature/v1";

/// A witness's signature over a checkpoint's chain id, height and history
/// root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cosignature {
    /// The witness: an entity of kind `observer`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub witness: EntityId,
    /// The witness's key, which signed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key: PublicKey,
    /// The chain id.
    pub chain_id: String,
    /// The checkpoint's height.
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub height: Height,
    /// The checkpoint's history root.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub history_root: Hash,
    /// When the witness cosigned, ms since the epoch, by its clock.
    pub time_ms: u64,
    /// Signature over [`signing_bytes`].
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signature: Signature,
}

/// The bytes a witness signs: tag, chain id, height, history root and the
/// time of cosigning.
pub fn signing_bytes(chain_id: &str, height: Height, history_root: &Hash, time_ms: u64) -> Vec<u8> {
    codec::encode(&(
        COSIGNATURE_DOMAIN_TAG,
        chain_id,
        height,
        history_root,
        time_ms,
    ))
}

impl Cosignature {
    /// Whether the signature verifies under `key` (not whether the key is
    /// a witness's: that is the reader's list of witnesses).
    pub fn verify(&self) -> bool {
        let bytes = signing_bytes(
            &self.chain_id,
            self.height,
            &self.history_root,
            self.time_ms,
        );
        crypto::verify(&self.key, &bytes, &self.signature)
    }
}
