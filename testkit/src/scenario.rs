//! Stories of spending as data: who signs what, in order. A story does not
//! say how it is told: a [`crate::NodeFixture`] commits it in process, and a
//! network of real nodes takes it over HTTP.

use ledger::Op;

use crate::ops;

/// One transaction of a story: its signer and operation.
#[derive(Clone, Debug)]
pub struct Step {
    /// The signing entity's id.
    pub signer: String,
    /// What it signs.
    pub op: Op,
}

/// A story, each step committed before the next.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The budget line of [`Scenario::payment`].
pub const PAYMENT_LINE: &str = "YTE.DTPT";
/// The fiscal year of [`Scenario::payment`].
pub const PAYMENT_YEAR: u16 = 2026;

impl Scenario {
    /// From an appropriation to a payment, with the devnet story's entities
    /// ([`crate::story_genesis`]):
    /// - the treasury (`BTC`) appropriates 5,000,000,000 ₫ to Bộ Y tế
    ///   (`BYT`) on line `YTE.DTPT` of 2026;
    /// - Bộ Y tế allocates 3,000,000,000 ₫ of it to Bệnh viện Bạch Mai
    ///   (`BYT-BVBM`);
    /// - Bạch Mai awards `contract`, 1,200,000,000 ₫ for an MRI scanner, to
    ///   Công ty TNHH Thiết bị Y tế Sông Hồng (`V-0001`);
    /// - and pays 400,000,000 ₫ of it (reference `HĐ-07/2026`).
    pub fn payment(contract: &str) -> Scenario {
        let (year, line) = (PAYMENT_YEAR, PAYMENT_LINE);
        Scenario {
            steps: vec![
                step("BTC", ops::appropriate(year, line, "BYT", 5_000_000_000)),
                step("BYT", ops::allocate(year, line, "BYT-BVBM", 3_000_000_000)),
                step(
                    "BYT-BVBM",
                    ops::award(
                        contract,
                        year,
                        line,
                        "V-0001",
                        1_200_000_000,
                        "Máy chụp cộng hưởng từ",
                    ),
                ),
                step("BYT-BVBM", ops::pay(contract, 400_000_000, "HĐ-07/2026")),
            ],
        }
    }
}

fn step(signer: &str, op: Op) -> Step {
    Step {
        signer: signer.into(),
        op,
    }
}
