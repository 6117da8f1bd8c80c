//! The state's listings of one kind of entry (entities, budgets,
//! contracts) read that kind's range of the map: they give exactly the
//! entries of the kind that a pass over the whole map finds.

use ledger::state::{StateKey, StateValue};

use crate::helpers::Fixture;

#[test]
fn listings_of_one_kind_equal_a_pass_over_every_entry() {
    let f = Fixture::with_blocks(6);
    let state = &f.chain.state;
    let entries: Vec<(StateKey, StateValue)> = state
        .entries()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let entities: Vec<_> = entries
        .iter()
        .filter_map(|(_, v)| match v {
            StateValue::Entity(e) => Some(e.id.clone()),
            _ => None,
        })
        .collect();
    let budgets: Vec<_> = entries
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (StateKey::Budget(e, y, l), StateValue::Budget(b)) => {
                Some((e.clone(), *y, l.clone(), *b))
            }
            _ => None,
        })
        .collect();
    let contracts: Vec<_> = entries
        .iter()
        .filter_map(|(_, v)| match v {
            StateValue::Contract(c) => Some(c.id.clone()),
            _ => None,
        })
        .collect();
    // The fixture has entries of every one of these kinds, and of kinds
    // before and after them.
    assert!(entities.len() > 1 && budgets.len() > 1 && contracts.len() > 1);
    assert!(entries.len() > entities.len() + budgets.len() + contracts.len());

    let listed: Vec<_> = state.entities().map(|e| e.id.clone()).collect();
    assert_eq!(listed, entities);
    let listed: Vec<_> = state
        .budgets()
        .map(|(e, y, l, b)| (e.clone(), y, l.clone(), *b))
        .collect();
    assert_eq!(listed, budgets);
    let listed: Vec<_> = state.contracts().map(|c| c.id.clone()).collect();
    assert_eq!(listed, contracts);
}
