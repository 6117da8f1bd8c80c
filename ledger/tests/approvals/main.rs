//! Approvals, end to end through execution: entities whose keys are k of n,
//! the form of a transaction's signatures, key sets, the treasury's
//! time-locked changes of another entity's keys, and the expenditure control
//! rules under which a large payment or award also needs a controller.
//!
//! Every case submits transactions to `State::check_tx` and to blocks
//! (`TestChain::commit`, which runs `State::execute_block` with batched
//! signature checks); a refused transaction must change nothing at all. The
//! expected outcomes are written from the rules, not read back from the
//! ledger: which keys sign for whom at which height, which amounts need
//! which controller.
//!
//! `kofn`: thresholds and the form of signatures. `keysets`: the key sets
//! `register-entity` and `set-keys` take. `rotation`: the rotation delay,
//! pending changes and `cancel-keys`. `control`: control rules. `acks`: the
//! vendor's acknowledgements of payments.
//! `properties` and `sequences`: the invariants over generated cases — no
//! operation takes effect without its signer's threshold, no controlled
//! payment or award without its controller's, no pending key signs before
//! its delay.

mod acks;
mod control;
mod helpers;
mod keysets;
mod kofn;
mod model;
mod properties;
mod rotation;
mod sequences;
