//! The validator-set changes a checkpoint lists. A checkpoint's set is
//! traced from genesis through the changes the node lists with it, so a
//! witness cosigning a checkpoint above the last one it cosigned requires
//! the same changes below that one, and the change made at its height, if
//! any: no change left out, none added.

use ledger::proof::SetChange;
use ledger::witness::CheckpointProof;

/// Whether `new`, above `last`, lists the validator-set changes `last`
/// lists, and no others, below `last`'s height, and a change at that height
/// exactly when block `last` names another set for the next height: the
/// sets are traced from genesis through the changes a node lists, so one
/// left out or added would trace another set than the chain's. A change is
/// told by its block and the set it names, not by which precommits certify
/// it, as nodes may hold different ones.
pub fn same_changes(last: &CheckpointProof, new: &CheckpointProof) -> Result<(), String> {
    let l = last.checkpoint.height;
    let at = |c: &SetChange| c.header.view.height;
    let same = |a: &SetChange, b: &SetChange| {
        a.header.bytes == b.header.bytes && a.next_validators == b.next_validators
    };
    let below: Vec<&SetChange> = new
        .validator_set_changes
        .iter()
        .filter(|c| at(c) < l)
        .collect();
    let kept = &last.validator_set_changes;
    if below.len() != kept.len() || below.iter().zip(kept).any(|(a, b)| !same(a, b)) {
        return Err(format!(
            "its validator-set changes below height {l} are not those of the checkpoint \
             cosigned there ({} listed, {} expected)",
            below.len(),
            kept.len()
        ));
    }
    let header = last
        .header()
        .map_err(|e| format!("the header cosigned at height {l} cannot be read ({e})"))?;
    let changed = header.next_validators_hash != header.validators_hash;
    let listed = new.validator_set_changes.iter().any(|c| at(c) == l);
    if changed != listed {
        return Err(if changed {
            format!("it leaves out the validator-set change of block {l}")
        } else {
            format!("it lists a validator-set change at height {l}, where block {l} made none")
        });
    }
    Ok(())
}
