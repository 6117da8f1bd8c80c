//! The one canonical binary encoding: bincode 2.0.1, little-endian, with
//! variable-length integers, and always a size limit.
//!
//! Without a limit a forged length prefix makes bincode allocate until the
//! process aborts, so every decode goes through [`decode`], which also refuses
//! trailing bytes and any input that does not re-encode to the same bytes
//! (non-minimal varints, for one). The byte layout is in docs/byte-layouts.md.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use bincode::{Decode, Encode};

use crate::error::TxError;

/// Largest encoded transaction.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Largest encoded block (header, transactions, evidence and last commit).
pub const BLOCK_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Largest encoded commit certificate.
pub const CERT_BYTES_MAX: usize = 512 * 1024;
/// Largest encoded value of any other kind (state records, votes, headers).
pub const RECORD_BYTES_MAX: usize = 1024 * 1024;

const _: () = assert!(TX_BYTES_MAX < BLOCK_BYTES_MAX);
const _: () = assert!(CERT_BYTES_MAX < BLOCK_BYTES_MAX);

type Config<const LIMIT: usize> = Configuration<LittleEndian, Varint, Limit<LIMIT>>;

/// The configuration, with `LIMIT` bytes as the most a decode may claim.
const fn config<const LIMIT: usize>() -> Config<LIMIT> {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<LIMIT>()
}

/// Encodes `value` canonically.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding writes into a Vec and cannot fail for our types; a failure is a
    // programming error (a type whose Encode impl refuses its own value).
    bincode::encode_to_vec(value, config::<BLOCK_BYTES_MAX>()).expect("encoding into a Vec")
}

/// The length of `value`'s canonical encoding, without writing it.
pub fn encoded_len<T: Encode>(value: &T) -> usize {
    let mut encoder = bincode::enc::EncoderImpl::new(
        bincode::enc::write::SizeWriter::default(),
        config::<BLOCK_BYTES_MAX>(),
    );
    value
        .encode(&mut encoder)
        .expect("counting bytes cannot fail");
    encoder.into_writer().bytes_written
}

/// SHA-256 of `value`'s canonical encoding: the same as
/// `Hash::digest(&encode(value))`, encoded into a buffer the thread keeps,
/// so that hashing a transaction allocates nothing.
pub fn digest<T: Encode>(value: &T) -> crate::types::Hash {
    use sha2::Digest;
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        bincode::encode_into_std_write(value, buf, config::<BLOCK_BYTES_MAX>())
            .expect("encoding into a Vec cannot fail");
        let hash = crate::types::Hash(sha2::Sha256::digest(buf.as_slice()).into());
        // Keep a transaction's worth, not the largest value ever hashed.
        if buf.capacity() > TX_BYTES_MAX {
            *buf = Vec::new();
        }
        hash
    })
}

/// Decodes a canonical encoding of at most `LIMIT` bytes.
///
/// Refuses input over the limit, trailing bytes, and anything that does not
/// re-encode to exactly the same bytes.
pub fn decode<T: Encode + Decode<()>, const LIMIT: usize>(bytes: &[u8]) -> Result<T, TxError> {
    if bytes.len() > LIMIT {
        return Err(TxError::TooLarge {
            bytes: bytes.len(),
            bytes_max: LIMIT,
        });
    }
    let (value, read): (T, usize) =
        bincode::decode_from_slice(bytes, config::<LIMIT>()).map_err(|e| TxError::Malformed {
            // bincode's Display is its Debug form; our own decoders' messages
            // (an id that breaks the pattern, say) read better unwrapped.
            reason: describe(e),
        })?;
    if read != bytes.len() {
        return Err(TxError::Malformed {
            reason: format!("{} trailing bytes after the value", bytes.len() - read),
        });
    }
    if encode(&value) != bytes {
        return Err(TxError::Malformed {
            reason: "not the canonical encoding".into(),
        });
    }
    Ok(value)
}

/// A sentence for a decode error; bincode's own Display is its Debug form.
fn describe(e: bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as E;
    match e {
        E::OtherString(reason) => reason,
        E::UnexpectedEnd { additional } => {
            format!("input ends early ({additional} more bytes needed)")
        }
        E::LimitExceeded => "a length prefix claims more bytes than allowed".into(),
        E::UnexpectedVariant {
            type_name, found, ..
        } => {
            format!(
                "{found} is not a variant of {}",
                type_name.rsplit("::").next().unwrap_or(type_name)
            )
        }
        E::InvalidBooleanValue(b) => format!("{b} is not a boolean (0 or 1)"),
        E::Utf8 { .. } => "text is not valid UTF-8".into(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_trailing_bytes_and_non_minimal_varints() {
        let bytes = encode(&5u64);
        assert_eq!(bytes, vec![5]);
        assert_eq!(decode::<u64, 16>(&bytes).unwrap(), 5);
        assert!(matches!(
            decode::<u64, 16>(&[5, 0]),
            Err(TxError::Malformed { .. })
        ));
        // 5 written as a u16 varint (marker 251) is not minimal.
        assert!(matches!(
            decode::<u64, 16>(&[251, 5, 0]),
            Err(TxError::Malformed { .. })
        ));
    }

    #[test]
    fn decode_errors_read_as_sentences() {
        let short = decode::<(u64, u64), 16>(&[5]).unwrap_err().to_string();
        assert_eq!(short, "malformed: input ends early (1 more bytes needed)");
        let bad_bool = decode::<bool, 16>(&[7]).unwrap_err().to_string();
        assert_eq!(bad_bool, "malformed: 7 is not a boolean (0 or 1)");
        let bad_text = decode::<String, 16>(&[2, 0xff, 0xfe])
            .unwrap_err()
            .to_string();
        assert_eq!(bad_text, "malformed: text is not valid UTF-8");
    }

    #[test]
    fn refuses_forged_length_prefix_without_allocating() {
        // A Vec<u8> claiming u64::MAX elements.
        let mut bytes = vec![253];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode::<Vec<u8>, 1024>(&bytes).is_err());
        assert!(matches!(
            decode::<Vec<u8>, 4>(&[0; 5]),
            Err(TxError::TooLarge {
                bytes: 5,
                bytes_max: 4
            })
        ));
    }

    #[test]
    fn digest_is_the_hash_of_the_encoding() {
        use sha2::Digest;
        let values: Vec<(u64, String, Vec<[u8; 32]>)> = vec![
            (0, String::new(), vec![]),
            (300, "Bệnh viện".into(), vec![[7; 32]; 3]),
            (u64::MAX, "x".repeat(200), vec![[1; 32]; 40]),
        ];
        for v in &values {
            let expected: [u8; 32] = sha2::Sha256::digest(encode(v)).into();
            assert_eq!(digest(v).0, expected);
        }
    }
}
