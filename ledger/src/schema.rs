//! OpenAPI schemas (`utoipa`) for the ledger's newtypes, which serialise by
//! hand: hashes and keys as lowercase hex, amounts as decimal strings, ids
//! as codes, peer ids in base58. Only with the `openapi` feature, which the
//! node turns on to describe its JSON API; the enums derive theirs where
//! they are defined.
//!
//! Each schema states the same rule as the type's constructor, so a value
//! the ledger serialises always validates against it.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::types::{
    Amount, ContractId, EntityId, Hash, Height, LineCode, PeerId, PublicKey, Signature, Year,
};

fn string(pattern: &str, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .examples([example])
        .into()
}

fn integer(minimum: u64, maximum: Option<u64>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(minimum as f64))
        .maximum(maximum.map(|m| m as f64))
        .description(Some(description))
        .into()
}

/// One schema per newtype: `(type, schema body)`.
macro_rules! schema {
    ($name:ty, $body:expr) => {
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }
        impl ToSchema for $name {}
    };
}

/// The pattern of [`EntityId`], [`ContractId`] and [`LineCode`].
pub const CODE_PATTERN: &str = "^[A-Z0-9][A-Z0-9._-]{1,63}$";

schema!(
    Hash,
    string(
        "^[0-9a-f]{64}$",
        "A SHA-256 digest: 64 lowercase hex digits.",
        "9f2c4e1a7b3d5f60817263544536271809fa0b1c2d3e4f5061728394a5b6c7d8"
    )
);
schema!(
    PublicKey,
    string(
        "^[0-9a-f]{64}$",
        "An ed25519 public key: 64 lowercase hex digits.",
        "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
    )
);
schema!(
    Signature,
    string(
        "^[0-9a-f]{128}$",
        "An ed25519 signature: 128 lowercase hex digits.",
        &"ab".repeat(64)
    )
);
schema!(
    Amount,
    string(
        "^[0-9]{1,20}$",
        "Money in whole minor units (đồng), as a decimal string so that no \
         JSON reader rounds it.",
        "300000000"
    )
);
schema!(EntityId, string(CODE_PATTERN, "An entity id.", "BYT-BVBM"));
schema!(ContractId, string(CODE_PATTERN, "A contract id.", "C-17"));
schema!(
    LineCode,
    string(CODE_PATTERN, "A budget line code.", "YTE.DTPT")
);
schema!(
    PeerId,
    string(
        "^[1-9A-HJ-NP-Za-km-z]{1,128}$",
        "A libp2p peer id, base58.",
        "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
    )
);
schema!(Height, integer(0, None, "A block height; genesis is 0."));
schema!(
    Year,
    integer(
        u64::from(Year::FIRST),
        Some(u64::from(Year::LAST)),
        "A fiscal year."
    )
);
