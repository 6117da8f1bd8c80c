//! The spending story the explorer tests tell on a real network:
//! [`testkit::Scenario::payment`], from an appropriation to a payment, each
//! step committed before the next, submitted over HTTP.
//!
//! [`crate::html::assert_story_home`] checks the home page it leaves.

use std::time::Duration;

use testkit::Scenario;

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
    let mut last = None;
    for step in Scenario::payment(contract).steps {
        let tx = c.sign_next(via, &step.signer, step.op);
        let hash = c.submit(via, &tx).expect("accepted");
        last = Some(c.wait_committed(via, &hash, wait));
    }
    let pay = last.expect("the story has steps");
    Payment {
        hash: pay["hash"].as_str().expect("a hash").to_owned(),
        height: pay["height"].as_u64().expect("a height"),
    }
}
