//! The transaction file: a transaction on its way from the official who
//! prepares it to the officials who sign it and the node that records it.
//!
//! ```json
//! {
//!   "format": "minhbach-tx/1",
//!   "chain_id": "minhbach-vn-2027",
//!   "signer": "BYT-BVBM",
//!   "nonce": 7,
//!   "op": {"type": "pay", "contract": "C-17", "amount": "1250000000", ...},
//!   "body": "<hex of the canonical encoding of the transaction body>",
//!   "signatures": [{"key": "<64 hex digits>", "signature": "<128 hex digits>"}]
//! }
//! ```
//!
//! `body` is what is signed and what the node receives; `chain_id`,
//! `signer`, `nonce` and `op` are the same facts for people to read. A file
//! whose readable fields say anything else than its body is refused whole,
//! since either could have been edited. The signatures are ordered by key,
//! as in the signed transaction, at most one per key. The file holds no
//! secret: it can be mailed, copied to a USB stick, or printed.

use std::path::Path;

use ledger::codec::{self, TX_BYTES_MAX};
use ledger::tx::{TxSignature, SIGNATURES_MAX};
use ledger::{PublicKey, SignedTx, TxBody};
use serde_json::{Map, Value};

/// The format this version writes and reads.
pub const FORMAT: &str = "minhbach-tx/1";

/// The largest file read: a transaction is at most 64 KiB, in hex twice that,
/// plus its readable copy and signatures.
const FILE_BYTES_MAX: u64 = 1024 * 1024;

/// The fields of a transaction file, in the order written.
const FIELDS: [&str; 7] = [
    "format",
    "chain_id",
    "signer",
    "nonce",
    "op",
    "body",
    "signatures",
];

/// Why a transaction file is refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It could not be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// It is not in a format this version reads.
    #[error("{0}")]
    UnknownFormat(String),
    /// It is not a well-formed transaction file.
    #[error("not a transaction file: {0}")]
    Malformed(String),
    /// Its readable fields say something else than its body.
    #[error(
        "its readable {field} disagrees with its body, which is what is signed: {detail}; \
         the file was edited or damaged, so nothing in it is trusted"
    )]
    Disagrees {
        /// The readable field.
        field: &'static str,
        /// What each says.
        detail: String,
    },
}

/// A transaction and the signatures it has collected so far (perhaps none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxFile {
    /// The body, and the signatures ordered by key.
    pub tx: SignedTx,
}

impl TxFile {
    /// A file for `body`, signed by no one yet.
    pub fn unsigned(body: TxBody) -> TxFile {
        TxFile {
            tx: SignedTx {
                body,
                signatures: Vec::new(),
            },
        }
    }

    /// The file as pretty JSON, fields in the order of the format.
    pub fn to_json(&self) -> String {
        let body = &self.tx.body;
        let values = [
            Value::from(FORMAT).to_string(),
            Value::from(body.chain_id.as_str()).to_string(),
            Value::from(body.signer.as_str()).to_string(),
            body.nonce.to_string(),
            // Straight from the operation, so its fields keep their order.
            serde_json::to_string_pretty(&body.op).expect("an operation serialises"),
            Value::from(to_hex(&codec::encode(body))).to_string(),
            serde_json::to_string_pretty(&self.tx.signatures).expect("signatures serialise"),
        ];
        let mut out = String::from("{\n");
        for (i, (name, value)) in FIELDS.iter().zip(values).enumerate() {
            // JSON text holds no raw newline inside a string, so this only
            // indents nested lines.
            let value = value.replace('\n', "\n  ");
            let comma = if i + 1 < FIELDS.len() { "," } else { "" };
            out.push_str(&format!("  \"{name}\": {value}{comma}\n"));
        }
        out.push_str("}\n");
        out
    }

    /// Reads a file: the format, the body, the readable fields against the
    /// body, and the form of the signatures (not whether they verify: see
    /// [`TxFile::invalid_signatures`]).
    pub fn from_json(text: &[u8]) -> Result<TxFile, FileError> {
        let value: Value = serde_json::from_slice(text)
            .map_err(|e| FileError::Malformed(format!("not JSON ({e})")))?;
        let Value::Object(map) = value else {
            return Err(FileError::Malformed("not a JSON object".into()));
        };
        match map.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(Value::String(f)) => {
                return Err(FileError::UnknownFormat(format!(
                    "the file is in format {f:?}, which this minhbach does not read \
                     (it reads {FORMAT}); use the minhbach that wrote it"
                )))
            }
            Some(other) => {
                return Err(FileError::UnknownFormat(format!(
                    "its \"format\" is {other}, not {FORMAT:?}"
                )))
            }
            None => {
                return Err(FileError::UnknownFormat(format!(
                    "it has no \"format\": not a transaction file written by `minhbach tx \
                     ... --out` (format {FORMAT})"
                )))
            }
        }
        if let Some(extra) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(FileError::Malformed(format!(
                "unknown field {extra:?} (a {FORMAT} file has {})",
                FIELDS.join(", ")
            )));
        }
        let body = body(&map)?;
        check_readable(&map, &body)?;
        let signatures = signatures(field(&map, "signatures")?)?;
        Ok(TxFile {
            tx: SignedTx { body, signatures },
        })
    }

    /// Reads the file at `path` (see [`TxFile::from_json`]).
    pub fn load(path: &Path) -> Result<TxFile, FileError> {
        let unreadable = |reason: String| FileError::Unreadable {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
        if meta.len() > FILE_BYTES_MAX {
            return Err(unreadable(format!(
                "{} bytes, more than a transaction file holds ({FILE_BYTES_MAX})",
                meta.len()
            )));
        }
        let text = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        TxFile::from_json(&text)
    }

    /// Writes the file at `path` through a temporary file in the same
    /// folder, so that a reader never sees half of it; refuses an existing
    /// file unless `replace`.
    pub fn save(&self, path: &Path, replace: bool) -> anyhow::Result<()> {
        if !replace && path.exists() {
            anyhow::bail!(
                "{} exists; a transaction file is never overwritten (remove it or choose \
                 another --out)",
                path.display()
            );
        }
        let name = path
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("{} names no file", path.display()))?;
        let tmp = path.with_file_name(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        std::fs::write(&tmp, self.to_json())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        })
    }

    /// The keys whose signatures do not verify over the body.
    pub fn invalid_signatures(&self) -> Vec<PublicKey> {
        let message = self.tx.body.signing_bytes();
        self.tx
            .signatures
            .iter()
            .filter(|s| !ledger::crypto::verify(&s.key, &message, &s.signature))
            .map(|s| s.key)
            .collect()
    }
}

fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a Value, FileError> {
    map.get(name)
        .ok_or_else(|| FileError::Malformed(format!("it has no \"{name}\"")))
}

/// The body: hex of the canonical encoding.
fn body(map: &Map<String, Value>) -> Result<TxBody, FileError> {
    let hex = field(map, "body")?
        .as_str()
        .ok_or_else(|| FileError::Malformed("\"body\" is not a string of hex digits".into()))?;
    let bytes = from_hex(hex).map_err(|e| FileError::Malformed(format!("\"body\": {e}")))?;
    codec::decode::<TxBody, TX_BYTES_MAX>(&bytes)
        .map_err(|e| FileError::Malformed(format!("\"body\" is not a transaction body: {e}")))
}

/// Checks `chain_id`, `signer`, `nonce` and `op` against the body.
fn check_readable(map: &Map<String, Value>, body: &TxBody) -> Result<(), FileError> {
    let expected = [
        ("chain_id", Value::from(body.chain_id.as_str())),
        ("signer", Value::from(body.signer.as_str())),
        ("nonce", Value::from(body.nonce)),
    ];
    for (name, want) in expected {
        let got = field(map, name)?;
        if *got != want {
            return Err(FileError::Disagrees {
                field: name,
                detail: format!("the file says {got}, the body says {want}"),
            });
        }
    }
    let want = serde_json::to_value(&body.op).expect("an operation serialises");
    let got = field(map, "op")?;
    if *got != want {
        return Err(FileError::Disagrees {
            field: "op",
            detail: first_difference(got, &want),
        });
    }
    Ok(())
}

/// Where two operations' JSON first differ, in words.
fn first_difference(got: &Value, want: &Value) -> String {
    if let (Value::Object(g), Value::Object(w)) = (got, want) {
        let mut names: Vec<&String> = g.keys().chain(w.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            match (g.get(name), w.get(name)) {
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => {
                    return format!("its {name} is {a} in the file, {b} in the body")
                }
                (Some(_), None) => return format!("the file has {name}, the body does not"),
                (None, _) => return format!("the file has no {name}, the body does"),
            }
        }
    }
    format!("the file says {got}, the body says {want}")
}

/// The signatures: ordered by key, one per key, at most [`SIGNATURES_MAX`].
fn signatures(value: &Value) -> Result<Vec<TxSignature>, FileError> {
    let bad = |m: String| FileError::Malformed(format!("\"signatures\": {m}"));
    let list = value.as_array().ok_or_else(|| bad("not a list".into()))?;
    if list.len() > SIGNATURES_MAX {
        return Err(bad(format!(
            "{} signatures, more than a transaction carries ({SIGNATURES_MAX})",
            list.len()
        )));
    }
    let mut out: Vec<TxSignature> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let entry = item
            .as_object()
            .filter(|o| o.len() == 2)
            .ok_or_else(|| bad(format!("[{i}] is not {{\"key\", \"signature\"}}")))?;
        let text = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("[{i}] has no \"{name}\" string")))
        };
        let key = PublicKey::from_hex(text("key")?).map_err(|e| bad(format!("[{i}].key: {e}")))?;
        let bytes =
            from_hex(text("signature")?).map_err(|e| bad(format!("[{i}].signature: {e}")))?;
        let signature = ledger::Signature(
            bytes
                .try_into()
                .map_err(|_| bad(format!("[{i}].signature is not 128 hex digits")))?,
        );
        if let Some(last) = out.last() {
            if last.key == key {
                return Err(bad(format!("key {key} signed twice")));
            }
            if last.key > key {
                return Err(bad("not ordered by key".into()));
            }
        }
        out.push(TxSignature { key, signature });
    }
    Ok(out)
}

/// Lowercase hex.
pub(super) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Bytes from hex digits, either case.
pub(super) fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("an odd number of hex digits".into());
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!("{:?} is not a hex digit", c as char)),
    };
    s.as_bytes()
        .chunks(2)
        .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use ledger::crypto::SigningKey;
    use ledger::testkit::id;
    use ledger::tx::Op;

    use super::*;

    fn file(keys: &[u8]) -> TxFile {
        let body = TxBody {
            chain_id: "minhbach-test".into(),
            signer: id("BTC"),
            nonce: 4,
            op: Op::CancelKeys { entity: id("BYT") },
        };
        let keys: Vec<SigningKey> = keys
            .iter()
            .map(|s| SigningKey::from_seed([*s; 32]))
            .collect();
        TxFile {
            tx: body.sign_all(&keys.iter().collect::<Vec<_>>()),
        }
    }

    #[test]
    fn a_file_reads_back_as_written() {
        for seeds in [&[][..], &[1], &[3, 1, 2]] {
            let f = file(seeds);
            let read = TxFile::from_json(f.to_json().as_bytes()).unwrap();
            assert_eq!(read, f, "{seeds:?}");
            assert!(read.invalid_signatures().is_empty());
        }
        let text = file(&[1]).to_json();
        assert!(
            text.starts_with("{\n  \"format\": \"minhbach-tx/1\",\n  \"chain_id\""),
            "{text}"
        );
    }

    #[test]
    fn signatures_out_of_key_order_or_twice_or_unknown_fields_are_refused() {
        let f = file(&[1, 2]);
        let mut v: Value = serde_json::from_str(&f.to_json()).unwrap();
        let list = v["signatures"].as_array_mut().unwrap();
        list.swap(0, 1);
        let err = TxFile::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("not ordered by key"), "{err}");
        let list = v["signatures"].as_array_mut().unwrap();
        list[0] = list[1].clone();
        let err = TxFile::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("signed twice"), "{err}");

        let mut v: Value = serde_json::from_str(&f.to_json()).unwrap();
        v["note"] = "hello".into();
        let err = TxFile::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("unknown field \"note\""), "{err}");
        let err = TxFile::from_json(b"[1]").unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert_eq!(to_hex(&[0x0f, 0xa0]), "0fa0");
        assert_eq!(from_hex("0FA0").unwrap(), [0x0f, 0xa0]);
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
        assert!(from_hex("é0").is_err());
    }
}
