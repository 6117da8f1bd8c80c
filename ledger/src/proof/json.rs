//! The bundle file: pretty JSON out, and a strict reading of JSON in that
//! refuses oversized input, other formats and versions, and any field the
//! format does not have.

use serde::Deserialize;
use serde_json::Value;

use super::views::to_value;
use super::{AuditBundle, ProofError, BUNDLE_BYTES_MAX, BUNDLE_FORMAT, BUNDLE_VERSION};

impl AuditBundle {
    /// The bundle as pretty JSON, the file format.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bundle serialises")
    }

    /// Reads a bundle from JSON, refusing input over [`BUNDLE_BYTES_MAX`],
    /// anything after the document, other formats and versions, and fields
    /// the format does not have, at any depth.
    pub fn decode(bytes: &[u8]) -> Result<AuditBundle, ProofError> {
        if bytes.len() > BUNDLE_BYTES_MAX {
            return Err(ProofError::TooLarge { bytes: bytes.len() });
        }
        let malformed = |e: serde_json::Error| ProofError::Malformed {
            reason: e.to_string(),
        };
        let input: Value = serde_json::from_slice(bytes).map_err(malformed)?;
        // Format and version first, so that a later version is named as such
        // rather than as a list of unknown fields.
        let found = |key| input.get(key).map_or("missing".into(), Value::to_string);
        if input.get("format").and_then(Value::as_str) != Some(BUNDLE_FORMAT) {
            return Err(ProofError::WrongFormat {
                found: found("format"),
            });
        }
        if input.get("version").and_then(Value::as_u64) != Some(u64::from(BUNDLE_VERSION)) {
            return Err(ProofError::UnsupportedVersion {
                found: found("version"),
            });
        }
        let bundle = AuditBundle::deserialize(&input).map_err(malformed)?;
        // Nested ledger types ignore fields they do not know; a bundle must
        // not carry anything its verifier does not check.
        if let Some(path) = unknown_field(&input, &to_value(&bundle), String::new()) {
            return Err(ProofError::UnknownField { path });
        }
        Ok(bundle)
    }
}

/// The first key of `input` that `known` (the same document as parsed and
/// written back) does not have, as a dotted path.
fn unknown_field(input: &Value, known: &Value, at: String) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match (input, known) {
        (Value::Object(a), Value::Object(b)) => {
            a.iter().find_map(|(key, value)| match b.get(key) {
                None => Some(join(key)),
                Some(k) => unknown_field(value, k, join(key)),
            })
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (value, k))| unknown_field(value, k, format!("{at}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_at_any_depth() {
        let known = json!({"a": {"b": [{"c": 1}]}});
        assert_eq!(unknown_field(&known, &known, String::new()), None);
        let input = json!({"a": {"b": [{"c": 1, "d": 2}]}});
        assert_eq!(
            unknown_field(&input, &known, String::new()).as_deref(),
            Some("a.b[0].d")
        );
    }
}
