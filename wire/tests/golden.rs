//! Golden vectors: the exact bytes of a signed transaction, a vote and a
//! proposal, and of what each signer signs.
//!
//! Every node, auditor and archived bundle depends on these bytes: a
//! signature made today must verify in ten years, and a transaction's hash
//! is its identity. Any change to them, meant or not, fails here first.
//!
//! The vectors were derived once from the encoders (bincode's standard
//! configuration: little-endian, integers as varints, a length before each
//! string, an index before each enum variant; see `ledger::codec`), read
//! field by field, and written down. The payment's signed bytes, for one:
//!
//! ```text
//! 0e "minhbach/tx/v1"       domain tag
//! 0f "minhbach-golden"      chain id
//! 0f "minhbach-golden"      the body: chain id,
//! 09 "DEP.ROADS"            signer,
//! 07                        nonce 7,
//! 08                        Op::Pay (the ninth operation),
//! 0a "C-2026-001"           contract,
//! fc d0121300               amount 1,250,000 (fc: a u32 follows),
//! 06 "INV-17"               reference,
//! 00                        no document hash
//! ```
//! Inputs are fixed: keys from the seeds 1, 2 and 3 (ed25519 signing is
//! deterministic), the chain id `minhbach-golden`, and the values below. If
//! a format change is intended, it is a new version of the protocol: say so
//! in the changelog of the byte layouts, then replace the vectors.

use ledger::crypto::SigningKey;
use ledger::types::{Amount, ContractId, EntityId, Hash, Height};
use ledger::{codec, Op, TxBody, Vote, VoteType};
use wire::SignedProposal;

const CHAIN: &str = "minhbach-golden";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tx() -> TxBody {
    TxBody {
        chain_id: CHAIN.into(),
        signer: EntityId::new("DEP.ROADS").unwrap(),
        nonce: 7,
        op: Op::Pay {
            contract: ContractId::new("C-2026-001").unwrap(),
            amount: Amount(1_250_000),
            reference: "INV-17".into(),
            document_hash: None,
        },
    }
}

#[test]
fn a_signed_payment_has_fixed_bytes() {
    let body = tx();
    assert_eq!(hex(&body.signing_bytes()), TX_SIGNING_BYTES);
    let signed = body.sign(&SigningKey::from_seed([1; 32]));
    assert_eq!(hex(&signed.encode()), TX_BYTES);
    assert_eq!(signed.hash().to_hex(), TX_HASH);
}

#[test]
fn a_precommit_has_fixed_bytes() {
    let block = Hash::digest(b"golden block");
    let signing = Vote::signing_bytes(CHAIN, VoteType::Precommit, Height(42), 3, Some(block));
    assert_eq!(hex(&signing), VOTE_SIGNING_BYTES);
    let vote = Vote::sign(
        &SigningKey::from_seed([2; 32]),
        CHAIN,
        VoteType::Precommit,
        Height(42),
        3,
        Some(block),
    );
    assert_eq!(hex(&codec::encode(&vote)), VOTE_BYTES);
}

#[test]
fn a_proposal_has_fixed_bytes() {
    let block = Hash::digest(b"golden block");
    let signing = SignedProposal::signing_bytes(CHAIN, Height(42), 3, &block, Some(1));
    assert_eq!(hex(&signing), PROPOSAL_SIGNING_BYTES);
    let proposal = SignedProposal::sign(
        &SigningKey::from_seed([3; 32]),
        CHAIN,
        Height(42),
        3,
        block,
        Some(1),
    );
    assert_eq!(hex(&wire::encode(&proposal)), PROPOSAL_BYTES);
}

/// A header's leading bytes, which its hash covers: the protocol version
/// comes first, so that a header of another version can never be read as
/// one of this version.
///
/// ```text
/// 01                    version 1
/// 0f "minhbach-golden"  chain id
/// 2a                    height 42
/// ```
#[test]
fn a_header_starts_with_its_protocol_version() {
    let (block, _, _) = ledger::testkit::TestChain::new(1)
        .make_block(Vec::new())
        .expect("an empty block");
    let header = ledger::Header {
        chain_id: CHAIN.into(),
        height: Height(42),
        ..block.header
    };
    assert_eq!(header.version, 1);
    let bytes = hex(&codec::encode(&header));
    assert!(bytes.starts_with(HEADER_PREFIX), "{bytes}");
    let next = ledger::Header {
        version: 2,
        ..header.clone()
    };
    assert!(hex(&codec::encode(&next)).starts_with("02"));
    assert_ne!(next.hash(), header.hash());
}

const HEADER_PREFIX: &str = "010f6d696e68626163682d676f6c64656e2a";
const TX_SIGNING_BYTES: &str = "0e6d696e68626163682f74782f76310f6d696e68626163682d676f6c64656e0f6d696e68626163682d676f6c64656e094445502e524f41445307080a432d323032362d303031fcd012130006494e562d313700";
const TX_BYTES: &str = "0f6d696e68626163682d676f6c64656e094445502e524f41445307080a432d323032362d303031fcd012130006494e562d313700018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5cc3e590a80b12e2f4ed193f40ca47bd1f97214ced5eeebdb7ae15bf8e1e604f649e6945d7e6c4dbc45baca2a7cfe9cf11d1e8177bf76a687b9ac8c1fd2d395908";
const TX_HASH: &str = "a23d453caac085b39a90ede4b5217bf1aaed95d66ccf614a339e4e3c8f0f5d6a";
const VOTE_SIGNING_BYTES: &str = "106d696e68626163682f766f74652f76310f6d696e68626163682d676f6c64656e012a03015534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d";
const VOTE_BYTES: &str = "012a03015534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39481a814aae498d29f81da01a0739f6ab1de523a319a977cce8d4e6177b034dd2417f1adaab87730171e4decaa37863efc93268ed86913b5751881476e515e690b";
const PROPOSAL_SIGNING_BYTES: &str = "146d696e68626163682f70726f706f73616c2f76310f6d696e68626163682d676f6c64656e2a035534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d0101";
const PROPOSAL_BYTES: &str = "2a035534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d0101ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d132e35c8be67219bee36a6300c4c76eee62e1ad27ac3f3f457cb0319cc72adc18c2758afc38d21f5d73593e0990e008eeb72cbe3dc8aa5daeabdb3cf5658cc402";
