//! The parsers of `minhbach tx`'s flag values: ids, budget lines, fiscal
//! years, amounts, hashes and documents, keys, peer ids and durations. Each
//! error is a sentence; clap puts the flag and the value in front of it and
//! exits with code 2.

use std::time::Duration;

use ledger::crypto::check_key;
use ledger::{Amount, ContractId, EntityId, Hash, LineCode, PeerId, PublicKey, Year};

const ID_SHAPE: &str =
    "expected 2 to 64 of A-Z, 0-9, '.', '_' and '-', starting with a capital letter or a digit";

pub(crate) fn parse_entity_id(s: &str) -> Result<EntityId, String> {
    EntityId::new(s).map_err(|_| ID_SHAPE.to_owned())
}

pub(crate) fn parse_contract_id(s: &str) -> Result<ContractId, String> {
    ContractId::new(s).map_err(|_| ID_SHAPE.to_owned())
}

pub(super) fn parse_line(s: &str) -> Result<LineCode, String> {
    LineCode::new(s).map_err(|_| ID_SHAPE.to_owned())
}

pub(crate) fn parse_year(s: &str) -> Result<Year, String> {
    s.parse::<u16>()
        .ok()
        .and_then(|y| Year::new(y).ok())
        .ok_or_else(|| {
            format!(
                "expected a fiscal year from {} to {}",
                Year::FIRST,
                Year::LAST
            )
        })
}

pub(super) fn parse_hash(s: &str) -> Result<Hash, String> {
    Hash::from_hex(s).map_err(|_| "expected 64 hex digits (a SHA-256)".to_owned())
}

/// A public key: 64 hex digits that decode to a usable ed25519 key. The
/// node checks keys too; checking here saves a round trip and a nonce.
pub(super) fn parse_public_key(s: &str) -> Result<PublicKey, String> {
    let key = PublicKey::from_hex(s)
        .map_err(|_| "expected 64 hex digits (an ed25519 public key)".to_owned())?;
    check_key(&key).map_err(|e| match e {
        ledger::TxError::BadKey { reason, .. } => format!("not a usable ed25519 key: {reason}"),
        e => e.to_string(),
    })?;
    Ok(key)
}

pub(super) fn parse_peer_id(s: &str) -> Result<PeerId, String> {
    PeerId::parse(s).map_err(|_| "expected a libp2p peer id such as 12D3KooW...".to_owned())
}

/// SHA-256 of a file's contents, read in pieces so large scans are fine.
pub(super) fn hash_file(s: &str) -> Result<Hash, String> {
    use sha2::Digest as _;
    let mut file = std::fs::File::open(s).map_err(|e| e.to_string())?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
    Ok(Hash(hasher.finalize().into()))
}

/// Whole minor units: `1000000`, or grouped by threes with dots
/// (`1.000.000`, as written in Vietnamese) or commas (`1,000,000`). A
/// separator is never a decimal point: `1.5` is refused.
pub fn parse_amount(s: &str) -> Result<Amount, String> {
    const SHAPE: &str = "expected whole minor units, such as 1000000, 1.000.000 or 1,000,000";
    let digits = match s.chars().find(|c| matches!(c, '.' | ',')) {
        None => s.to_owned(),
        Some(sep) => {
            let groups: Vec<&str> = s.split(sep).collect();
            let first_ok = (1..=3).contains(&groups[0].len());
            if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
                return Err(SHAPE.to_owned());
            }
            groups.concat()
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SHAPE.to_owned());
    }
    digits
        .parse::<u64>()
        .map(Amount)
        .map_err(|_| format!("larger than the largest amount, {}", Amount(u64::MAX)))
}

/// Seconds (`60`), or a duration such as `90s` or `2m`.
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    match s.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(s).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use ledger::crypto::SigningKey;

    use super::*;

    #[test]
    fn amounts_accept_plain_and_grouped_digits() {
        for (text, n) in [
            ("0", 0),
            ("300000", 300_000),
            ("1.000.000", 1_000_000),
            ("1,000,000", 1_000_000),
            ("12.345", 12_345),
            ("999", 999),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(parse_amount(text), Ok(Amount(n)), "{text}");
        }
        for bad in [
            "",
            "1.5",
            "1,00",
            "1.000,000",
            "1.000.00",
            "1000.000",
            ".000",
            "-5",
            "+5",
            "1 000",
            "5đ",
            "18446744073709551616",
            "١٢٣",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_seconds_or_humantime() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn public_keys_must_be_usable() {
        let good = SigningKey::from_seed([3; 32]).public_key();
        assert_eq!(parse_public_key(&good.to_hex()), Ok(good));
        // The identity point: well-formed hex, but small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = parse_public_key(&hex::encode(identity)).unwrap_err();
        assert!(err.contains("small order"), "{err}");
        assert!(parse_public_key("abcd").is_err());
    }
}
