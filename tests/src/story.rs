//! The spending story the explorer tests tell on a real network, from an
//! appropriation to a payment, each step committed before the next:
//! - the treasury (`BTC`) appropriates 5,000,000,000 ₫ to Bộ Y tế (`BYT`)
//!   on line `YTE.DTPT` of 2026;
//! - Bộ Y tế allocates 3,000,000,000 ₫ of it to Bệnh viện Bạch Mai
//!   (`BYT-BVBM`);
//! - Bạch Mai awards a 1,200,000,000 ₫ contract for an MRI scanner to
//!   Công ty TNHH Thiết bị Y tế Sông Hồng (`V-0001`);
//! - and pays 400,000,000 ₫ of it (reference `HĐ-07/2026`).
//!
//! [`crate::html::assert_story_home`] checks the home page it leaves.

use std::time::Duration;

use ledger::testkit::id;
use ledger::{Amount, ContractId, LineCode, Op, Year};

use crate::cluster::Cluster;

/// The payment that ends the story.
pub struct Payment {
    /// Its transaction hash (hex).
    pub hash: String,
    /// The height of its block.
    pub height: u64,
}

/// Tells the story through node `via` with contract id `contract`, waiting
/// at most `wait` for each step to commit there.
pub fn appropriate_to_payment(c: &Cluster, via: usize, contract: &str, wait: Duration) -> Payment {
    let year = Year(2026);
    let line = LineCode::new("YTE.DTPT").expect("a line code");
    let contract = ContractId::new(contract).expect("a contract id");
    let commit = |signer: &str, op: Op| {
        let tx = c.sign_next(via, signer, op);
        let hash = c.submit(via, &tx).expect("accepted");
        c.wait_committed(via, &hash, wait)
    };
    commit(
        "BTC",
        Op::Appropriate {
            year,
            line: line.clone(),
            to: id("BYT"),
            amount: Amount(5_000_000_000),
            legal_ref: "Nghị quyết 01/2026/QH15".into(),
        },
    );
    commit(
        "BYT",
        Op::Allocate {
            year,
            line: line.clone(),
            to: id("BYT-BVBM"),
            amount: Amount(3_000_000_000),
        },
    );
    commit(
        "BYT-BVBM",
        Op::Award {
            contract: contract.clone(),
            year,
            line,
            vendor: id("V-0001"),
            amount: Amount(1_200_000_000),
            title: "Máy chụp cộng hưởng từ".into(),
            document_hash: None,
        },
    );
    let pay = commit(
        "BYT-BVBM",
        Op::Pay {
            contract,
            amount: Amount(400_000_000),
            reference: "HĐ-07/2026".into(),
            document_hash: None,
        },
    );
    Payment {
        hash: pay["hash"].as_str().expect("a hash").to_owned(),
        height: pay["height"].as_u64().expect("a height"),
    }
}
