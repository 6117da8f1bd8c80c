//! Keys, key files and signatures.
//!
//! Keys are generated and messages signed with `ed25519-dalek`. Whether a
//! signature is valid is decided by one rule on every node, ZIP-215, checked
//! with `ed25519-zebra`, whose single and batch verification agree by
//! construction. `ed25519-dalek`'s own `verify_batch` is cofactorless and
//! randomised per batch, so it is deliberately never used for validity.
//!
//! Keys that are not the canonical encoding of a point, or that have small
//! order, are refused by [`check_key`] wherever a key enters the ledger.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::TxError;
use crate::types::{PublicKey, Signature};

/// Refuses a key that is not the canonical encoding of a curve point, or is a
/// point of small order (which would let anyone forge signatures for it).
pub fn check_key(key: &PublicKey) -> Result<(), TxError> {
    let Some(point) = CompressedEdwardsY(key.0).decompress() else {
        return Err(TxError::BadKey {
            key: *key,
            reason: "not a curve point",
        });
    };
    if point.compress().to_bytes() != key.0 {
        return Err(TxError::BadKey {
            key: *key,
            reason: "not the canonical encoding of its point",
        });
    }
    if point.is_small_order() {
        return Err(TxError::BadKey {
            key: *key,
            reason: "a point of small order",
        });
    }
    Ok(())
}

/// Verifies one signature under ZIP-215.
pub fn verify(key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
    let Ok(vk) = ed25519_zebra::VerificationKey::try_from(key.0) else {
        return false;
    };
    vk.verify(&ed25519_zebra::Signature::from_bytes(&signature.0), message)
        .is_ok()
}

/// Verifies many signatures at once under ZIP-215, the same rule as
/// [`verify`]. Returns one verdict per item; when the batch as a whole fails,
/// each item is checked alone so that the bad ones are named.
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> Vec<bool> {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for (key, message, signature) in items {
        batch.queue((
            ed25519_zebra::VerificationKeyBytes::from(key.0),
            ed25519_zebra::Signature::from_bytes(&signature.0),
            message,
        ));
    }
    // The random coefficients only make forging a passing batch infeasible;
    // the verdict does not depend on them.
    if batch.verify(rand::rngs::OsRng).is_ok() {
        return vec![true; items.len()];
    }
    items.iter().map(|(k, m, s)| verify(k, m, s)).collect()
}

/// A signing key held in memory.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key with this 32-byte secret seed.
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }

    /// The secret seed, for writing a key file or deriving the node's
    /// libp2p identity from its key file. Never log or send it.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({:?})", self.public_key())
    }
}

/// Why a key file could not be read or written.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// The file could not be read or created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error("{path}: mode {mode:o} lets others read this key; run `chmod 600 {path}`")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The contents are not a key file.
    #[error("{path}: not an ed25519 key file: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The JSON form of a key file: `{"type": "ed25519", "public_key", "secret_key"}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    r#type: String,
    public_key: String,
    secret_key: String,
}

/// Writes `key` to a new file at `path` with mode 0600. Refuses to overwrite.
pub fn write_key_file(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let json = KeyFileJson {
        r#type: "ed25519".into(),
        public_key: key.public_key().to_hex(),
        secret_key: hex::encode(key.seed()),
    };
    let mut text = serde_json::to_string_pretty(&json).expect("key file JSON");
    text.push('\n');
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(())
}

/// Reads a key file, refusing one that group or others can read, and one whose
/// public key does not match its secret.
pub fn read_key_file(path: &Path) -> Result<SigningKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let invalid = |reason: String| KeyFileError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    let text = fs::read_to_string(path).map_err(io)?;
    if text.len() > 4096 {
        return Err(invalid(format!("{} bytes is too long", text.len())));
    }
    let json: KeyFileJson = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if json.r#type != "ed25519" {
        return Err(invalid(format!(
            "type {:?} is not \"ed25519\"",
            json.r#type
        )));
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(&json.secret_key, &mut seed)
        .map_err(|_| invalid("secret_key is not 64 hex digits".into()))?;
    let key = SigningKey::from_seed(seed);
    if key.public_key().to_hex() != json.public_key.to_ascii_lowercase() {
        return Err(invalid("public_key does not belong to secret_key".into()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = SigningKey::generate();
        write_key_file(&path, &key).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_key_file(&path).unwrap().public_key(), key.public_key());
        assert!(write_key_file(&path, &key).is_err(), "must not overwrite");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_key_file(&path),
            Err(KeyFileError::Exposed { mode: 0o644, .. })
        ));
    }

    #[test]
    fn bad_keys_are_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            check_key(&PublicKey(identity)).unwrap_err().code(),
            "bad_key"
        );
        // y = p (non-canonical encoding of y = 0, a small-order point).
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(check_key(&PublicKey(p)).is_err());
        // y = p + 1: the non-canonical encoding of the identity.
        let mut p1 = p;
        p1[0] = 0xee;
        assert!(check_key(&PublicKey(p1)).is_err());
        assert!(check_key(&SigningKey::generate().public_key()).is_ok());
    }
}
