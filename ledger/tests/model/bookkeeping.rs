//! The model: plain bookkeeping from SPEC §2 of which entities exist, the
//! successful appropriations, allocations, returns, contracts and payments,
//! the validator sets with their set(H+2) rotation, and the nodes. It never
//! reads the ledger's figures.

use std::collections::BTreeMap;

use ledger::tx::EntityKind;

use crate::steps::{CPick, G};
use crate::universe::{
    validator_label, DEPARTMENTS, GENESIS_POWER, MINISTRIES, MOF, PEERS, UNIVERSE,
};

#[derive(Clone, Debug)]
pub(crate) struct MEntity {
    pub(crate) registered: bool,
    pub(crate) active: bool,
    pub(crate) parent: Option<usize>,
    pub(crate) key_label: String,
    pub(crate) rotations: u32,
    pub(crate) nonce: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct MContract {
    pub(crate) dept: usize,
    pub(crate) vendor: usize,
    pub(crate) y: usize,
    pub(crate) l: usize,
    pub(crate) amount: u64,
    pub(crate) payments: Vec<u64>,
    pub(crate) deliveries: u32,
}

pub(crate) type Powers = BTreeMap<usize, u64>;

/// Plain bookkeeping from SPEC §2. Sums are u128 so the model cannot
/// overflow where the ledger must refuse.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub(crate) ents: Vec<MEntity>,
    /// Appropriated to each (year, line, ministry).
    pub(crate) appropriated: BTreeMap<(usize, usize, usize), u128>,
    /// Allocated to each (year, line, department) by its ministry.
    pub(crate) allocated: BTreeMap<(usize, usize, usize), u128>,
    /// Returned by each (year, line, entity) to its parent.
    pub(crate) returned: BTreeMap<(usize, usize, usize), u128>,
    pub(crate) contracts: BTreeMap<usize, MContract>,
    /// set(L+1), set(L+2), and set(L+3) as this block changes it.
    pub(crate) current: Powers,
    pub(crate) next: Powers,
    pub(crate) working: Option<Powers>,
    /// Registered nodes: peer index → operator.
    pub(crate) nodes: BTreeMap<usize, usize>,
    /// Blocks committed.
    pub(crate) blocks: u64,
}

/// What a successful transaction does to the model.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    Register {
        who: usize,
        parent: Option<usize>,
    },
    SetStatus {
        who: usize,
        active: bool,
    },
    Rotate {
        who: usize,
    },
    Appropriate {
        y: usize,
        l: usize,
        to: usize,
        a: u64,
    },
    Allocate {
        y: usize,
        l: usize,
        to: usize,
        a: u64,
    },
    Return {
        y: usize,
        l: usize,
        by: usize,
        a: u64,
    },
    Award {
        c: usize,
        contract: MContract,
    },
    Amend {
        c: usize,
        a: u64,
    },
    Pay {
        c: usize,
        a: u64,
    },
    Deliver {
        c: usize,
    },
    Validators(Powers),
    Node {
        p: usize,
        operator: Option<usize>,
    },
}

impl Model {
    pub(crate) fn new(validators: usize) -> Model {
        let ents = UNIVERSE
            .iter()
            .enumerate()
            .map(|(i, d)| MEntity {
                registered: i == MOF,
                active: true,
                parent: d.parent,
                key_label: d.id.to_owned(),
                rotations: 0,
                nonce: 0,
            })
            .collect();
        let set: Powers = (0..validators).map(|v| (v, GENESIS_POWER)).collect();
        Model {
            ents,
            appropriated: BTreeMap::new(),
            allocated: BTreeMap::new(),
            returned: BTreeMap::new(),
            contracts: BTreeMap::new(),
            current: set.clone(),
            next: set,
            working: None,
            nodes: BTreeMap::new(),
            blocks: 0,
        }
    }

    pub(crate) fn kind(&self, i: usize) -> EntityKind {
        UNIVERSE[i].kind
    }

    pub(crate) fn registered(&self, i: usize) -> bool {
        self.ents[i].registered
    }

    pub(crate) fn get(
        map: &BTreeMap<(usize, usize, usize), u128>,
        y: usize,
        l: usize,
        e: usize,
    ) -> u128 {
        map.get(&(y, l, e)).copied().unwrap_or(0)
    }

    pub(crate) fn payments_where(&self, f: impl Fn(&MContract) -> bool) -> u128 {
        self.contracts
            .values()
            .filter(|c| f(c))
            .flat_map(|c| &c.payments)
            .map(|p| u128::from(*p))
            .sum()
    }

    /// [received, passed on, committed, paid] of (entity, year, line), from
    /// the operations that succeeded.
    pub(crate) fn figures(&self, e: usize, y: usize, l: usize) -> [u128; 4] {
        let ret = Self::get(&self.returned, y, l, e);
        match self.kind(e) {
            EntityKind::Treasury => {
                let gross: u128 = MINISTRIES
                    .iter()
                    .map(|m| Self::get(&self.appropriated, y, l, *m))
                    .sum();
                let returned: u128 = MINISTRIES
                    .iter()
                    .map(|m| Self::get(&self.returned, y, l, *m))
                    .sum();
                [gross, gross - returned, 0, 0]
            }
            EntityKind::Ministry => {
                let passed: u128 = DEPARTMENTS
                    .iter()
                    .filter(|d| self.ents[**d].registered && self.ents[**d].parent == Some(e))
                    .map(|d| {
                        Self::get(&self.allocated, y, l, *d) - Self::get(&self.returned, y, l, *d)
                    })
                    .sum();
                [Self::get(&self.appropriated, y, l, e) - ret, passed, 0, 0]
            }
            EntityKind::Department => {
                let committed: u128 = self
                    .contracts
                    .values()
                    .filter(|c| c.dept == e && c.y == y && c.l == l)
                    .map(|c| u128::from(c.amount))
                    .sum();
                let paid = self.payments_where(|c| c.dept == e && c.y == y && c.l == l);
                [
                    Self::get(&self.allocated, y, l, e) - ret,
                    0,
                    committed,
                    paid,
                ]
            }
            EntityKind::Vendor => [
                self.payments_where(|c| c.vendor == e && c.y == y && c.l == l),
                0,
                0,
                0,
            ],
            EntityKind::Observer | EntityKind::Controller => [0; 4],
        }
    }

    pub(crate) fn available(&self, e: usize, y: usize, l: usize) -> u64 {
        let [r, p, c, _] = self.figures(e, y, l);
        u64::try_from(r - p - c).expect("available fits")
    }

    pub(crate) fn working(&self) -> &Powers {
        self.working.as_ref().unwrap_or(&self.next)
    }

    /// A peer id is taken by a registered node or by a validator of set(L+1),
    /// set(L+2) or the set this block is building.
    pub(crate) fn peer_taken(&self, label: &str) -> bool {
        self.nodes.keys().any(|p| PEERS[*p] == label)
            || [&self.current, &self.next, self.working()]
                .iter()
                .any(|set| set.keys().any(|v| validator_label(*v) == label))
    }

    pub(crate) fn natural_signer(&self, g: &G) -> usize {
        match g {
            G::Rotate { who, by_self, .. } if *by_self => *who,
            G::Allocate { by: Some(by), .. } => *by,
            G::Allocate { by: None, to, .. } => self.ents[*to].parent.unwrap_or(MINISTRIES[0]),
            G::Return { by, .. } | G::Award { by, .. } => *by,
            G::Amend { c, by, .. } | G::Pay { c, by, .. } | G::Deliver { c, by } => self
                .contracts
                .get(&self.contract_id(*c))
                .map_or(*by, |k| k.dept),
            _ => MOF,
        }
    }

    pub(crate) fn contract_id(&self, pick: CPick) -> usize {
        match pick {
            CPick::Existing(n) if !self.contracts.is_empty() => {
                *self.contracts.keys().nth(n % self.contracts.len()).unwrap()
            }
            CPick::Existing(n) | CPick::Id(n) => n,
        }
    }

    pub(crate) fn next_key_label(&self, who: usize) -> String {
        format!("{}#{}", UNIVERSE[who].id, self.ents[who].rotations + 1)
    }

    pub(crate) fn apply(&mut self, signer: usize, effect: Effect) {
        self.ents[signer].nonce += 1;
        let add = |m: &mut BTreeMap<_, u128>, k, a: u64| *m.entry(k).or_insert(0) += u128::from(a);
        match effect {
            Effect::Register { who, parent } => {
                let e = &mut self.ents[who];
                assert!(!e.registered);
                e.registered = true;
                e.active = true;
                e.parent = parent;
            }
            Effect::SetStatus { who, active } => self.ents[who].active = active,
            Effect::Rotate { who } => {
                self.ents[who].key_label = self.next_key_label(who);
                self.ents[who].rotations += 1;
            }
            Effect::Appropriate { y, l, to, a } => add(&mut self.appropriated, (y, l, to), a),
            Effect::Allocate { y, l, to, a } => add(&mut self.allocated, (y, l, to), a),
            Effect::Return { y, l, by, a } => add(&mut self.returned, (y, l, by), a),
            Effect::Award { c, contract } => {
                assert!(self.contracts.insert(c, contract).is_none());
            }
            Effect::Amend { c, a } => self.contracts.get_mut(&c).unwrap().amount = a,
            Effect::Pay { c, a } => self.contracts.get_mut(&c).unwrap().payments.push(a),
            Effect::Deliver { c } => self.contracts.get_mut(&c).unwrap().deliveries += 1,
            Effect::Validators(set) => self.working = Some(set),
            Effect::Node { p, operator } => match operator {
                Some(o) => assert!(self.nodes.insert(p, o).is_none()),
                None => assert!(self.nodes.remove(&p).is_some()),
            },
        }
    }

    /// SPEC §2: set(H+2) is set(H+1) with the changes committed in block H.
    pub(crate) fn end_block(&mut self) {
        self.blocks += 1;
        self.current = self.next.clone();
        if let Some(set) = self.working.take() {
            self.next = set;
        }
    }
}
