//! The checked constructors of the domain's newtypes, and what is built on
//! them: parsing text (`from_hex`, `new`, `parse`, `FromStr`) and decoding
//! JSON and bincode. Whatever comes from outside (a form in the explorer, a
//! CLI argument, a transaction's bytes, a bundle file) goes through these, so
//! a value of a type of `types` is always well formed. A malformed value is
//! refused with `invalid_argument`, naming the field, and a key that is not a
//! curve point with `bad_key`.

use std::str::FromStr;

use bincode::de::Decoder;
use bincode::error::DecodeError;
use bincode::Decode;
use serde::{Deserialize, Deserializer};

use crate::error::TxError;
use crate::types::{ContractId, EntityId, Hash, LineCode, PeerId, PublicKey, Year};

/// `from_hex` and deserialisation from a hex string, for a 32-byte newtype.
macro_rules! checked_hex32 {
    ($name:ident, $field:literal) => {
        impl $name {
            /// Parses 64 hex digits.
            pub fn from_hex(s: &str) -> Result<$name, TxError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| TxError::InvalidArgument {
                    field: $field,
                    reason: format!("{s:?} is not 64 hex digits"),
                })?;
                Ok($name(out))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

checked_hex32!(Hash, "hash");
checked_hex32!(PublicKey, "public key");

/// Checks `[A-Z0-9][A-Z0-9._-]{1,63}`.
fn is_valid_code(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=64).contains(&b.len())
        && (b[0].is_ascii_uppercase() || b[0].is_ascii_digit())
        && b[1..].iter().all(|c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
}

/// `new`, `FromStr` and decoding from JSON and bincode, for an id or code.
macro_rules! checked_code {
    ($name:ident, $field:literal) => {
        impl $name {
            /// Validates `s` against `[A-Z0-9][A-Z0-9._-]{1,63}`.
            pub fn new(s: &str) -> Result<Self, TxError> {
                if is_valid_code(s) {
                    Ok(Self::from_checked(s))
                } else {
                    Err(TxError::InvalidArgument {
                        field: $field,
                        reason: format!("{s:?} does not match [A-Z0-9][A-Z0-9._-]{{1,63}}"),
                    })
                }
            }
        }

        impl<Ctx> Decode<Ctx> for $name {
            fn decode<D: Decoder<Context = Ctx>>(d: &mut D) -> Result<Self, DecodeError> {
                let s = String::decode(d)?;
                $name::new(&s).map_err(|e| DecodeError::OtherString(e.to_string()))
            }
        }
        bincode::impl_borrow_decode!($name);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(&s).map_err(serde::de::Error::custom)
            }
        }

        impl FromStr for $name {
            type Err = TxError;
            fn from_str(s: &str) -> Result<Self, TxError> {
                $name::new(s)
            }
        }
    };
}

checked_code!(EntityId, "entity id");
checked_code!(ContractId, "contract id");
checked_code!(LineCode, "budget line");

impl Year {
    /// Validates the range.
    pub fn new(y: u16) -> Result<Year, TxError> {
        Year(y).check()?;
        Ok(Year(y))
    }

    /// Refuses a year outside [`Year::FIRST`]`..=`[`Year::LAST`] with
    /// `invalid_argument`.
    pub fn check(self) -> Result<(), TxError> {
        if (Year::FIRST..=Year::LAST).contains(&self.0) {
            Ok(())
        } else {
            Err(TxError::InvalidArgument {
                field: "year",
                reason: format!(
                    "{} is not a fiscal year from {} to {}",
                    self.0,
                    Year::FIRST,
                    Year::LAST
                ),
            })
        }
    }
}

impl PeerId {
    /// Parses the base58 text form (`12D3KooW...`).
    pub fn parse(s: &str) -> Result<PeerId, TxError> {
        s.parse::<libp2p_identity::PeerId>()
            .map(|p| PeerId::from_checked_bytes(p.to_bytes()))
            .map_err(|_| TxError::InvalidArgument {
                field: "peer id",
                reason: format!("{s:?} is not a libp2p peer id"),
            })
    }

    /// Validates multihash bytes.
    pub fn from_bytes(b: &[u8]) -> Result<PeerId, TxError> {
        if b.len() > Self::BYTES_MAX {
            return Err(TxError::InvalidArgument {
                field: "peer id",
                reason: format!("{} bytes is longer than {}", b.len(), Self::BYTES_MAX),
            });
        }
        libp2p_identity::PeerId::from_bytes(b)
            .map(|p| PeerId::from_checked_bytes(p.to_bytes()))
            .map_err(|_| TxError::InvalidArgument {
                field: "peer id",
                reason: "bytes are not a libp2p peer id".into(),
            })
    }

    /// The peer id of an ed25519 node key.
    pub fn from_ed25519(key: &PublicKey) -> Result<PeerId, TxError> {
        let pk = libp2p_identity::ed25519::PublicKey::try_from_bytes(&key.0).map_err(|_| {
            TxError::BadKey {
                key: *key,
                reason: "not a curve point",
            }
        })?;
        Ok(PeerId::from_checked_bytes(
            libp2p_identity::PublicKey::from(pk).to_peer_id().to_bytes(),
        ))
    }
}

impl<Ctx> Decode<Ctx> for PeerId {
    fn decode<D: Decoder<Context = Ctx>>(d: &mut D) -> Result<Self, DecodeError> {
        let b = Vec::<u8>::decode(d)?;
        PeerId::from_bytes(&b).map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(PeerId);

impl<'de> Deserialize<'de> for PeerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PeerId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A bounded UTF-8 text field (names, titles, references, notes).
pub fn check_text(field: &'static str, s: &str, bytes_max: usize) -> Result<(), TxError> {
    if s.len() > bytes_max {
        return Err(TxError::InvalidArgument {
            field,
            reason: format!("{} bytes is longer than the {bytes_max} allowed", s.len()),
        });
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(TxError::InvalidArgument {
            field,
            reason: "contains control characters".into(),
        });
    }
    if has_bidi_control(s) {
        return Err(TxError::InvalidArgument {
            field,
            reason: "contains bidirectional control characters, which can make one name \
                     look like another"
                .into(),
        });
    }
    Ok(())
}

/// Whether `s` holds a character that reorders the text around it: the
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the
/// left-to-right and right-to-left marks (U+200E, U+200F) and the Arabic
/// letter mark (U+061C). Shown in a name, such a character can make
/// "C-71" read as "C-17".
pub fn has_bidi_control(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_reorders_itself_is_refused_and_vietnamese_is_not() {
        assert!(check_text("name", "Bệnh viện Bạch Mai – Đợt 1", 200).is_ok());
        for bad in [
            "C-\u{202E}71",
            "\u{2066}x\u{2069}",
            "a\u{200F}b",
            "\u{061C}",
            "\u{202A}x",
        ] {
            match check_text("name", bad, 200) {
                Err(TxError::InvalidArgument { field, reason }) => {
                    assert_eq!(field, "name");
                    assert!(reason.contains("bidirectional"), "{reason}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn ids_follow_the_pattern() {
        for ok in ["MOF", "MOH.BVBM", "V-0042", "0402-HEALTH-INFRA", "A_"] {
            assert!(EntityId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "M", "moh", "-MOH", "MOH BV", "Bộ", &"A".repeat(65)] {
            assert!(EntityId::new(bad).is_err(), "{bad}");
        }
        assert!(EntityId::new(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn hashes_and_keys_are_hex_text() {
        let h = Hash::digest(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{h:?}"), "ba7816bf8f01");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        let k = PublicKey([7; 32]);
        assert_eq!(PublicKey::from_hex(&k.to_string()).unwrap(), k);
        assert!(matches!(
            PublicKey::from_hex("07"),
            Err(TxError::InvalidArgument {
                field: "public key",
                ..
            })
        ));
        assert!(matches!(
            Hash::from_hex("zz"),
            Err(TxError::InvalidArgument { field: "hash", .. })
        ));
    }
}
