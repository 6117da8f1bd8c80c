//! Newtypes for the values the domain passes around: hashes, heights, amounts,
//! entity and contract ids, budget line codes, fiscal years and public keys.
//!
//! The constructors that take outside input validate it, so a value of one of
//! these types is always well formed; they, and the parsing and decoding
//! built on them, are in `checked`, next to the rejections they return.
//! Nothing here knows about execution rules.

use std::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hex text forms for a 32-byte newtype: `to_hex`, `Display` (all 64
/// digits), `Debug` (the first 12) and serialisation as a hex string.
macro_rules! hex_bytes32 {
    ($name:ident) => {
        impl $name {
            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", &self.to_hex()[..12])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
    };
}

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash, used where there is no predecessor.
    pub const ZERO: Hash = Hash([0; 32]);

    /// SHA-256 of `bytes`.
    pub fn digest(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// SHA-256 of the concatenation of `parts`.
    pub fn digest_parts(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }
}

hex_bytes32!(Hash);

/// A block height. The first block is height 1; genesis is height 0.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    Encode,
    Decode,
    Serialize,
    Deserialize,
)]
pub struct Height(pub u64);

impl Height {
    /// The height after this one.
    pub fn next(self) -> Height {
        Height(self.0 + 1)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount of money in minor units of the chain's currency.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Encode, Decode)]
pub struct Amount(pub u64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `self - other`, or `None` if it would be negative.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
}

impl fmt::Display for Amount {
    /// Groups thousands with commas: `5,000,000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        f.write_str(&out)
    }
}

// Amounts are strings in JSON: a JavaScript number loses precision above 2^53.
impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<u64>()
            .map(Amount)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a whole amount")))
    }
}

/// An id or code of the pattern `[A-Z0-9][A-Z0-9._-]{1,63}`; `new`, which
/// checks the pattern, and the parsing and decoding built on it are in
/// `checked`.
macro_rules! code_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps `s`, which the caller has checked against the pattern.
            pub(crate) fn from_checked(s: &str) -> Self {
                Self(s.to_owned())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_newtype!(
    /// An entity id such as `MOF`, `MOH.BVBM` or `V-0042`.
    EntityId
);
code_newtype!(
    /// A contract id such as `C-17`.
    ContractId
);
code_newtype!(
    /// A budget line code such as `0402-HEALTH-INFRA`.
    LineCode
);

/// A fiscal year, [`Year::FIRST`] to [`Year::LAST`].
///
/// The field is public and decoding takes any value: execution refuses a
/// transaction naming a year outside the range (see [`Year::check`]), and
/// the API's and the CLI's year parameters are parsed with [`Year::new`].
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize,
)]
pub struct Year(pub u16);

impl Year {
    /// The first fiscal year the ledger accepts. No budget this ledger records
    /// is older.
    pub const FIRST: u16 = 2000;
    /// The last fiscal year the ledger accepts: far enough ahead for
    /// multi-year plans, near enough that a mistyped year (2206 for 2026) is
    /// refused rather than recorded for good. Budget lines of a year are
    /// never removed, and the explorer's home page shows the latest year the
    /// treasury appropriated in, so one mistyped far-future year would hide
    /// the real one.
    pub const LAST: u16 = 2100;
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The 32 bytes of an ed25519 public key, as received. Whether the bytes are a
/// good key is checked where a key enters the ledger (see [`crate::crypto::check_key`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct PublicKey(pub [u8; 32]);

hex_bytes32!(PublicKey);

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Lowercase hex, 128 digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &hex::encode(self.0)[..12])
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Signature(out))
    }
}

/// A libp2p peer id, kept as its multihash bytes and shown in base58.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode)]
pub struct PeerId(Vec<u8>);

impl PeerId {
    /// Longest multihash accepted as a peer id.
    pub const BYTES_MAX: usize = 64;

    /// Wraps multihash bytes that the caller has checked are a peer id.
    pub(crate) fn from_checked_bytes(b: Vec<u8>) -> PeerId {
        PeerId(b)
    }

    /// The multihash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match libp2p_identity::PeerId::from_bytes(&self.0) {
            Ok(p) => write!(f, "{p}"),
            Err(_) => write!(f, "<invalid {}>", hex::encode(&self.0)),
        }
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for PeerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_group_thousands_and_are_strings_in_json() {
        assert_eq!(Amount(5_000_000).to_string(), "5,000,000");
        assert_eq!(Amount(999).to_string(), "999");
        assert_eq!(Amount(1000).to_string(), "1,000");
        assert_eq!(
            serde_json::to_string(&Amount(u64::MAX)).unwrap(),
            "\"18446744073709551615\""
        );
        let a: Amount = serde_json::from_str("\"9007199254740993\"").unwrap();
        assert_eq!(a, Amount(9_007_199_254_740_993));
    }
}
