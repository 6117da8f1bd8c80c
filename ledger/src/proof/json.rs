//! The bundle file: pretty JSON out, and a strict reading of JSON in that
//! refuses oversized input, other formats and versions, and any field the
//! format does not have.

use serde::de::DeserializeOwned;
use serde::Serialize;
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
        decode_strict(
            bytes,
            BUNDLE_BYTES_MAX,
            Some((BUNDLE_FORMAT, BUNDLE_VERSION)),
        )
        .map_err(|e| ProofError::from_strict(e, BUNDLE_FORMAT, BUNDLE_VERSION))
    }
}

impl ProofError {
    /// The error for a document [`decode_strict`]
    /// refused, read as `format` version `supported`.
    pub(crate) fn from_strict(e: Strict, format: &'static str, supported: u32) -> ProofError {
        match e {
            Strict::TooLarge { bytes } => ProofError::TooLarge { bytes },
            Strict::Malformed(reason) => ProofError::Malformed { format, reason },
            Strict::WrongFormat(found) => ProofError::WrongFormat { format, found },
            Strict::UnsupportedVersion(found) => ProofError::UnsupportedVersion {
                format,
                supported,
                found,
            },
            Strict::UnknownField(path) => ProofError::UnknownField { path },
        }
    }
}

/// Why [`decode_strict`] refused a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Strict {
    /// Over the size allowed.
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// Not JSON of the type's shape.
    Malformed(String),
    /// The `format` field is missing or different (the value found).
    WrongFormat(String),
    /// Another `version` (the value found).
    UnsupportedVersion(String),
    /// A field the type does not have (its dotted path).
    UnknownField(String),
}

/// Reads a `T` from JSON: refuses input over `max` bytes, anything after
/// the document, a `format` and `version` other than `format` gives (when
/// given; checked first, so that a later version is named as such rather
/// than as a list of unknown fields), and fields `T` does not have, at any
/// depth: a document must not carry anything its verifier does not check.
pub(crate) fn decode_strict<T: DeserializeOwned + Serialize>(
    bytes: &[u8],
    max: usize,
    format: Option<(&str, u32)>,
) -> Result<T, Strict> {
    if bytes.len() > max {
        return Err(Strict::TooLarge { bytes: bytes.len() });
    }
    let malformed = |e: serde_json::Error| Strict::Malformed(e.to_string());
    let input: Value = serde_json::from_slice(bytes).map_err(malformed)?;
    if let Some((format, version)) = format {
        let found = |key| input.get(key).map_or("missing".into(), Value::to_string);
        if input.get("format").and_then(Value::as_str) != Some(format) {
            return Err(Strict::WrongFormat(found("format")));
        }
        if input.get("version").and_then(Value::as_u64) != Some(u64::from(version)) {
            return Err(Strict::UnsupportedVersion(found("version")));
        }
    }
    let value = T::deserialize(&input).map_err(malformed)?;
    // Nested ledger types ignore fields they do not know.
    if let Some(path) = unknown_field(&input, &to_value(&value), String::new()) {
        return Err(Strict::UnknownField(path));
    }
    Ok(value)
}

/// The first key of `input` that `known` (the same document as parsed and
/// written back) does not have, as a dotted path; a key whose value is an
/// empty list is not one.
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
                // An empty list carries nothing, and is how a list the
                // format leaves out when empty may still be written.
                None if value.as_array().is_some_and(Vec::is_empty) => None,
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
        // An empty list, as a list left out when empty may be written.
        let input = json!({"a": {"b": [{"c": 1}]}, "e": []});
        assert_eq!(unknown_field(&input, &known, String::new()), None);
        let input = json!({"a": {"b": [{"c": 1}]}, "e": [1]});
        assert_eq!(
            unknown_field(&input, &known, String::new()).as_deref(),
            Some("e")
        );
    }
}
