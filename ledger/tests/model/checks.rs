//! The ledger against the model: after each block the ledger's state equals
//! the model's and the SPEC §2 invariants hold on the ledger's own figures,
//! and each transaction's verdict is one the model allows.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use ledger::state::BudgetFigures;
use ledger::testkit::key;
use ledger::tx::Status;
use ledger::{Amount, EntityId, LineCode, PeerId, PublicKey, State, TxError, ValidatorSet, Year};

use crate::bookkeeping::{Model, Powers};
use crate::plan::Plan;
use crate::universe::{
    cid, eid, eref, line, peer_of, public_key, validator_label, year, DEPARTMENTS, LINES,
    MINISTRIES, MOF, PEERS, UNIVERSE, VALIDATOR_KEYS, VENDORS, YEARS,
};

pub(crate) fn powers(set: &ValidatorSet) -> Powers {
    static LABELS: LazyLock<BTreeMap<PublicKey, usize>> = LazyLock::new(|| {
        (0..VALIDATOR_KEYS)
            .map(|v| (key(&validator_label(v)).public_key(), v))
            .collect()
    });
    set.validators()
        .iter()
        .map(|v| (LABELS[&v.consensus_key], v.power))
        .collect()
}

pub(crate) fn to_u64(x: u128, what: &str) -> u64 {
    u64::try_from(x).unwrap_or_else(|_| panic!("model {what} {x} does not fit a u64"))
}

pub(crate) fn entity_index(id: &EntityId) -> usize {
    UNIVERSE
        .iter()
        .position(|d| d.id == id.as_str())
        .unwrap_or_else(|| panic!("{id} is not in the universe"))
}

pub(crate) fn year_index(y: Year) -> usize {
    YEARS
        .iter()
        .position(|x| *x == y.0)
        .expect("a year of the universe")
}

pub(crate) fn line_index(l: &LineCode) -> usize {
    LINES
        .iter()
        .position(|x| *x == l.as_str())
        .expect("a line of the universe")
}

/// The ledger's state equals the model's, and the SPEC §2 invariants hold on
/// the ledger's own figures.
pub(crate) fn check_state(st: &State, model: &Model) {
    assert_eq!(st.height().0, model.blocks);

    // Entities.
    let mut parents: Vec<(usize, usize)> = Vec::new();
    for (i, d) in UNIVERSE.iter().enumerate() {
        let m = &model.ents[i];
        match st.entity(eref(i)) {
            None => assert!(!m.registered, "{} missing", d.id),
            Some(e) => {
                assert!(m.registered, "{} should not exist", d.id);
                assert_eq!(e.kind, d.kind, "{}", d.id);
                assert_eq!(e.parent.as_ref(), m.parent.map(eref), "{}", d.id);
                let status = if m.active {
                    Status::Active
                } else {
                    Status::Suspended
                };
                assert_eq!(e.status, status, "{}", d.id);
                assert_eq!(e.nonce, m.nonce, "{}", d.id);
                assert_eq!(e.keys, vec![public_key(&m.key_label)], "{}", d.id);
                assert_eq!(e.threshold, 1, "{}", d.id);
                assert_eq!(e.pending, None, "{}", d.id);
                if let Some(p) = &e.parent {
                    parents.push((i, entity_index(p)));
                }
            }
        }
    }
    let registered = model.ents.iter().filter(|e| e.registered).count();
    assert_eq!(st.entities().count(), registered);

    // Every figure the ledger holds is of the universe and not negative ...
    let mut figs: BTreeMap<(usize, usize, usize), BudgetFigures> = BTreeMap::new();
    for (e, y, l, b) in st.budgets() {
        assert!(
            b.available().is_some(),
            "negative available on {e} {y}/{l}: {b:?}"
        );
        figs.insert((entity_index(e), year_index(y), line_index(l)), *b);
    }
    let fig = |e: usize, y: usize, l: usize| figs.get(&(e, y, l)).copied().unwrap_or_default();
    // ... and equals what the model's bookkeeping gives.
    for (e, d) in UNIVERSE.iter().enumerate() {
        for (y, year) in YEARS.iter().enumerate() {
            for (l, line) in LINES.iter().enumerate() {
                let [r, p, c, paid] = model.figures(e, y, l);
                let expected = BudgetFigures {
                    received: Amount(to_u64(r, "received")),
                    passed_on: Amount(to_u64(p, "passed on")),
                    committed: Amount(to_u64(c, "committed")),
                    paid: Amount(to_u64(paid, "paid")),
                };
                let got = fig(e, y, l);
                assert_eq!(got, expected, "{} {year}/{line}", d.id);
            }
        }
    }

    // Contracts and deliveries.
    assert_eq!(st.contracts().count(), model.contracts.len());
    for (c, k) in &model.contracts {
        let got = st.contract(&cid(*c)).expect("contract exists");
        assert_eq!(&got.department, eref(k.dept));
        assert_eq!(&got.vendor, eref(k.vendor));
        assert_eq!((got.year, &got.line), (year(k.y), &line(k.l)));
        assert_eq!(got.amount, Amount(k.amount));
        assert_eq!(got.paid, Amount(k.payments.iter().sum()));
        assert_eq!(got.deliveries, k.deliveries);
        assert_eq!(st.deliveries(&cid(*c)).len(), k.deliveries as usize);
    }

    // SPEC §2 invariants, on the ledger's own figures and contracts.
    // (department, year, line) → (sum of amounts, sum paid); and
    // (vendor, year, line) → sum paid.
    let mut by_department: BTreeMap<(usize, usize, usize), (u128, u128)> = BTreeMap::new();
    let mut by_vendor: BTreeMap<(usize, usize, usize), u128> = BTreeMap::new();
    for c in st.contracts() {
        assert!(c.paid <= c.amount, "{} paid over its amount", c.id);
        let (y, l) = (year_index(c.year), line_index(&c.line));
        let d = by_department
            .entry((entity_index(&c.department), y, l))
            .or_default();
        d.0 += u128::from(c.amount.0);
        d.1 += u128::from(c.paid.0);
        *by_vendor
            .entry((entity_index(&c.vendor), y, l))
            .or_default() += u128::from(c.paid.0);
    }
    for y in 0..YEARS.len() {
        for l in 0..LINES.len() {
            // A department's committed is the sum of its contracts, its paid
            // the sum of its payments.
            for d in DEPARTMENTS {
                let (committed, paid) = by_department.get(&(d, y, l)).copied().unwrap_or_default();
                assert_eq!(u128::from(fig(d, y, l).committed.0), committed);
                assert_eq!(u128::from(fig(d, y, l).paid.0), paid);
                let payments = model.payments_where(|c| c.dept == d && c.y == y && c.l == l);
                assert_eq!(paid, payments);
            }
            // Vendors received exactly what departments paid them.
            for v in VENDORS {
                let paid_to = by_vendor.get(&(v, y, l)).copied().unwrap_or_default();
                assert_eq!(u128::from(fig(v, y, l).received.0), paid_to);
            }
            let vendors_received: u128 = VENDORS
                .iter()
                .map(|v| u128::from(fig(*v, y, l).received.0))
                .sum();
            let departments_paid: u128 = DEPARTMENTS
                .iter()
                .map(|d| u128::from(fig(*d, y, l).paid.0))
                .sum();
            assert_eq!(vendors_received, departments_paid);
            // A ministry's passed-on, net of returns, is what its departments hold.
            for m in MINISTRIES {
                let children: u128 = parents
                    .iter()
                    .filter(|(_, p)| *p == m)
                    .map(|(child, _)| u128::from(fig(*child, y, l).received.0))
                    .sum();
                assert_eq!(u128::from(fig(m, y, l).passed_on.0), children);
            }
            // The treasury's appropriations are all somewhere: available or
            // committed, at the treasury, a ministry or a department.
            let held: u128 = [MOF]
                .iter()
                .chain(&MINISTRIES)
                .chain(&DEPARTMENTS)
                .map(|e| {
                    let b = fig(*e, y, l);
                    u128::from(b.available().unwrap().0) + u128::from(b.committed.0)
                })
                .sum();
            assert_eq!(u128::from(fig(MOF, y, l).received.0), held);
        }
    }

    // Validator sets and nodes.
    assert_eq!(powers(st.validators()), model.current, "set(L+1)");
    assert_eq!(powers(st.next_validators()), model.next, "set(L+2)");
    let nodes: BTreeMap<PeerId, EntityId> = st
        .nodes()
        .map(|n| (n.peer_id.clone(), n.operator.clone()))
        .collect();
    let expected: BTreeMap<PeerId, EntityId> = model
        .nodes
        .iter()
        .map(|(p, o)| (peer_of(PEERS[*p]), eid(*o)))
        .collect();
    assert_eq!(nodes, expected);
}

/// Compares the ledger's verdict with the model's expectation.
pub(crate) fn check_verdict(i: usize, plan: &Plan, result: &Result<(), TxError>) {
    let what = || {
        format!(
            "step {i}: {} signed by {}",
            plan.op.name(),
            UNIVERSE[plan.signer].id
        )
    };
    let x = &plan.expect;
    match result {
        Ok(()) => assert!(
            x.codes.is_empty(),
            "{}: accepted, but the model expected one of {:?}\n{:?}",
            what(),
            x.codes,
            plan.op
        ),
        Err(e) => {
            assert!(
                x.codes.contains(e.code()),
                "{}: refused with `{e}`, but the model expected {}\n{:?}",
                what(),
                if x.codes.is_empty() {
                    "success".to_owned()
                } else {
                    format!("one of {:?}", x.codes)
                },
                plan.op
            );
            if let TxError::OverBudget {
                entity,
                year: ey,
                line: el,
                requested,
                available,
            } = e
            {
                let (me, y, l, req, avail) = x.over_budget.expect("over_budget was expected");
                assert_eq!(
                    (entity, *ey, el, *requested, *available),
                    (&eid(me), year(y), &line(l), Amount(req), Amount(avail)),
                    "{}",
                    what()
                );
            }
        }
    }
}
