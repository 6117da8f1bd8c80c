//! Every rejection code of SPEC §2, reached through the public API: bytes
//! through `SignedTx::decode`, transactions through `State::check_tx` and a
//! committed block (`TestChain::commit`, which runs `State::execute_block`).
//!
//! Each case sets up a small chain, submits what must be refused, and checks
//! the code, the values the error carries (they must be the ones the test set
//! up, not whatever the code computed) and that the message reads well, with
//! amounts grouped by thousands. A refused transaction must change nothing:
//! the state root and height stay where they were. The validator-set cases
//! also check the set(H+2) rotation at the heights SPEC §2 gives.
//!
//! Each case is a function named after the code it must reach, in the module
//! of what it checks (`envelope`, `keys`, `arguments`, `signers`,
//! `references`, `money`, `changes`); `cases!` makes a test of each.
//!
//! `mempool_full` belongs to the node's mempool and is not reachable from the
//! ledger; here we only check that the code exists. The last test checks that
//! every other code is produced by at least one case.

mod arguments;
mod changes;
mod envelope;
mod helpers;
mod keys;
mod money;
mod references;
mod signers;

use std::collections::BTreeSet;

use ledger::error::ERROR_CODES;
use ledger::TxError;

/// One test per case, named by the code the case must reach, and
/// `ALL_CASES`.
macro_rules! cases {
    ($($group:ident::$name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let errors = $group::$name();
                assert!(!errors.is_empty());
                for e in &errors {
                    assert_eq!(e.code(), stringify!($name), "{e:?}");
                    assert!(e.to_string().starts_with(concat!(stringify!($name), ": ")), "{e}");
                }
            }
        )*

        /// Every case, to collect the codes they reach.
        const ALL_CASES: &[fn() -> Vec<TxError>] = &[$($group::$name),*];
    };
}

cases!(
    envelope::malformed,
    envelope::too_large,
    envelope::wrong_chain,
    envelope::bad_signature,
    envelope::bad_nonce,
    keys::too_many_signatures,
    keys::duplicate_signature,
    keys::foreign_signature,
    keys::threshold_not_met,
    keys::bad_threshold,
    keys::approval_required,
    arguments::bad_key,
    arguments::invalid_argument,
    arguments::overflow,
    signers::unknown_signer,
    signers::inactive,
    signers::not_authorized,
    references::unknown_entity,
    references::unknown_contract,
    references::duplicate,
    money::over_budget,
    money::over_contract,
    money::year_closed,
    changes::validator_set,
    changes::no_op,
);

/// `mempool_full` is produced by the node's mempool (a later issue), so the
/// ledger can only promise that the code exists.
#[test]
fn mempool_full_is_a_code() {
    assert!(ERROR_CODES.contains(&"mempool_full"));
    let e = TxError::MempoolFull {
        reason: "64 future nonces for MOF".into(),
    };
    assert_eq!(e.code(), "mempool_full");
}

#[test]
fn every_code_but_mempool_full_is_reached() {
    let reached: BTreeSet<&str> = ALL_CASES
        .iter()
        .flat_map(|case| case())
        .map(|e| e.code())
        .collect();
    let expected: BTreeSet<&str> = ERROR_CODES
        .iter()
        .copied()
        .filter(|c| *c != "mempool_full")
        .collect();
    assert_eq!(reached, expected);
    // The codes are the SPEC's, each once.
    assert_eq!(
        ERROR_CODES.iter().collect::<BTreeSet<_>>().len(),
        ERROR_CODES.len()
    );
}
