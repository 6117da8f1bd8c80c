//! What the model expects of each step: the signer and operation it makes
//! concrete, the codes that may refuse it (with the figures, for
//! over_budget), and its effect if it succeeds; and the transaction as
//! that signer signs it, or spoils it.

use std::collections::BTreeSet;

use ledger::testkit::CHAIN_ID;
use ledger::tx::{EntityKind, Status};
use ledger::{Amount, Op, SignedTx, TxBody};

use crate::bookkeeping::{Effect, MContract, Model, Powers};
use crate::steps::{Amt, Env, RegVariant, Step, G};
use crate::universe::{
    cid, eid, line, peer_of, public_key, signing_key, validator_label, year, BAD_KEY, MOF, PEERS,
    UNIVERSE,
};

/// What the model expects of a transaction.
#[derive(Debug, Default)]
pub(crate) struct Expect {
    /// Codes that may refuse it; empty if it must succeed.
    pub(crate) codes: BTreeSet<&'static str>,
    /// (entity, year, line, requested, available) if over_budget may refuse it.
    pub(crate) over_budget: Option<(usize, usize, usize, u64, u64)>,
}

impl Expect {
    pub(crate) fn refuse_if(&mut self, cond: bool, code: &'static str) {
        if cond {
            self.codes.insert(code);
        }
    }
}

/// A step made concrete: who signs what, and what the model expects.
pub(crate) struct Plan {
    pub(crate) signer: usize,
    pub(crate) op: Op,
    pub(crate) expect: Expect,
    pub(crate) effect: Effect,
}

pub(crate) fn resolve(amt: Amt, lo: u64, hi: u64) -> u64 {
    match amt {
        Amt::Abs(x) => x,
        Amt::Pct(p) => (u128::from(hi) * u128::from(p) / 100) as u64,
        Amt::Hi(d) => hi.saturating_add_signed(i64::from(d)),
        Amt::Lo(d) => lo.saturating_add_signed(i64::from(d)),
        Amt::Zero => 0,
        Amt::Max => u64::MAX,
    }
}

/// SPEC §2: the power present in both sets must be more than 2/3 of the old
/// total and more than 2/3 of the new.
pub(crate) fn carries_over(old: &Powers, new: &Powers) -> bool {
    let carried: u128 = old
        .iter()
        .filter_map(|(v, p)| new.get(v).map(|q| u128::from(*p.min(q))))
        .sum();
    let old_total: u128 = old.values().map(|p| u128::from(*p)).sum();
    let new_total: u128 = new.values().map(|p| u128::from(*p)).sum();
    3 * carried > 2 * old_total && 3 * carried > 2 * new_total
}

impl Model {
    pub(crate) fn plan(&self, step: &Step) -> Plan {
        let s = step.signer.unwrap_or_else(|| self.natural_signer(&step.g));
        // The envelope first: a transaction that is not properly signed by an
        // active signer with its next nonce is refused for that, whatever its
        // operation would have done.
        let mut envelope = Expect::default();
        envelope.refuse_if(step.env == Env::WrongChain, "wrong_chain");
        if !self.registered(s) {
            envelope.refuse_if(true, "unknown_signer");
        } else {
            // A key the signer does not hold is foreign to it, however well
            // it signs; a signature that does not verify is bad.
            envelope.refuse_if(step.env == Env::WrongKey, "foreign_signature");
            envelope.refuse_if(step.env == Env::ForgedSignature, "bad_signature");
            envelope.refuse_if(!self.ents[s].active, "inactive");
            envelope.refuse_if(
                matches!(step.env, Env::NonceAhead | Env::NonceBehind),
                "bad_nonce",
            );
        }
        let mut x = Expect::default();
        let not_treasury = s != MOF;
        let (op, effect) = match step.g {
            G::Register { who, variant } => {
                let d = &UNIVERSE[who];
                let (kind, parent) = match variant {
                    RegVariant::Normal | RegVariant::BadKey => (d.kind, d.parent),
                    RegVariant::Parent(p) => (d.kind, Some(p)),
                    RegVariant::NoParent => (d.kind, None),
                    RegVariant::AsTreasury => (EntityKind::Treasury, d.parent),
                };
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(kind == EntityKind::Treasury, "invalid_argument");
                x.refuse_if(self.registered(who), "duplicate");
                x.refuse_if(matches!(variant, RegVariant::BadKey), "bad_key");
                match (kind, parent) {
                    (EntityKind::Department, None) => x.refuse_if(true, "invalid_argument"),
                    (EntityKind::Department, Some(p)) if !self.registered(p) => {
                        x.refuse_if(true, "unknown_entity")
                    }
                    (EntityKind::Department, Some(p)) => {
                        x.refuse_if(self.kind(p) != EntityKind::Ministry, "invalid_argument")
                    }
                    (_, Some(_)) => x.refuse_if(true, "invalid_argument"),
                    (_, None) => {}
                }
                let public_key = if matches!(variant, RegVariant::BadKey) {
                    BAD_KEY
                } else {
                    public_key(d.id)
                };
                let op = Op::RegisterEntity {
                    id: eid(who),
                    kind,
                    name: format!("Đơn vị {}", d.id),
                    parent: parent.map(eid),
                    keys: vec![public_key],
                    threshold: 1,
                };
                (op, Effect::Register { who, parent })
            }
            G::SetStatus { who, active } => {
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(!self.registered(who), "unknown_entity");
                x.refuse_if(who == MOF, "invalid_argument");
                // Setting the status an entity already has changes nothing.
                x.refuse_if(
                    self.registered(who) && self.ents[who].active == active,
                    "no_op",
                );
                let status = if active {
                    Status::Active
                } else {
                    Status::Suspended
                };
                let op = Op::SetStatus {
                    entity: eid(who),
                    status,
                };
                (op, Effect::SetStatus { who, active })
            }
            G::Rotate { who, bad, same, .. } => {
                x.refuse_if(not_treasury && s != who, "not_authorized");
                x.refuse_if(!self.registered(who), "unknown_entity");
                x.refuse_if(bad, "bad_key");
                x.refuse_if(same && !bad, "no_op");
                let public_key = if bad {
                    BAD_KEY
                } else if same {
                    public_key(&self.ents[who].key_label)
                } else {
                    public_key(&self.next_key_label(who))
                };
                let op = Op::RotateKey {
                    entity: eid(who),
                    public_key,
                };
                (op, Effect::Rotate { who })
            }
            G::Appropriate { y, l, to, amt } => {
                let a = resolve(amt, 0, 5_000);
                x.refuse_if(not_treasury, "not_authorized");
                if !self.registered(to) {
                    x.codes.insert("unknown_entity");
                } else {
                    x.refuse_if(self.kind(to) != EntityKind::Ministry, "invalid_argument");
                    x.refuse_if(!self.ents[to].active, "inactive");
                }
                x.refuse_if(a == 0, "invalid_argument");
                let gross = self.figures(MOF, y, l)[0];
                x.refuse_if(gross + u128::from(a) > u128::from(u64::MAX), "overflow");
                let op = Op::Appropriate {
                    year: year(y),
                    line: line(l),
                    to: eid(to),
                    amount: Amount(a),
                    legal_ref: "QĐ-17/2026/NQ-QH".into(),
                };
                (op, Effect::Appropriate { y, l, to, a })
            }
            G::Allocate { y, l, to, amt, .. } => {
                let avail = self.available(s, y, l);
                let a = resolve(amt, 0, avail);
                x.refuse_if(self.kind(s) != EntityKind::Ministry, "not_authorized");
                if !self.registered(to) {
                    x.codes.insert("unknown_entity");
                } else {
                    let own =
                        self.kind(to) == EntityKind::Department && self.ents[to].parent == Some(s);
                    x.refuse_if(!own, "not_authorized");
                    x.refuse_if(!self.ents[to].active, "inactive");
                }
                x.refuse_if(a == 0, "invalid_argument");
                self.over_budget(&mut x, s, y, l, a, avail);
                let op = Op::Allocate {
                    year: year(y),
                    line: line(l),
                    to: eid(to),
                    amount: Amount(a),
                };
                (op, Effect::Allocate { y, l, to, a })
            }
            G::Return { y, l, amt, .. } => {
                let avail = self.available(s, y, l);
                let a = resolve(amt, 0, avail);
                let holds = matches!(self.kind(s), EntityKind::Ministry | EntityKind::Department);
                x.refuse_if(!holds, "not_authorized");
                x.refuse_if(a == 0, "invalid_argument");
                self.over_budget(&mut x, s, y, l, a, avail);
                let op = Op::ReturnFunds {
                    year: year(y),
                    line: line(l),
                    amount: Amount(a),
                };
                (op, Effect::Return { y, l, by: s, a })
            }
            G::Award {
                c,
                y,
                l,
                vendor,
                amt,
                ..
            } => {
                let avail = self.available(s, y, l);
                let a = resolve(amt, 0, avail);
                x.refuse_if(self.kind(s) != EntityKind::Department, "not_authorized");
                x.refuse_if(self.contracts.contains_key(&c), "duplicate");
                if !self.registered(vendor) {
                    x.codes.insert("unknown_entity");
                } else {
                    x.refuse_if(self.kind(vendor) != EntityKind::Vendor, "invalid_argument");
                    x.refuse_if(!self.ents[vendor].active, "inactive");
                }
                x.refuse_if(a == 0, "invalid_argument");
                self.over_budget(&mut x, s, y, l, a, avail);
                let op = Op::Award {
                    contract: cid(c),
                    year: year(y),
                    line: line(l),
                    vendor: eid(vendor),
                    amount: Amount(a),
                    title: "Gói thầu xây lắp".into(),
                    document_hash: None,
                };
                let contract = MContract {
                    dept: s,
                    vendor,
                    y,
                    l,
                    amount: a,
                    payments: Vec::new(),
                    deliveries: 0,
                };
                (op, Effect::Award { c, contract })
            }
            G::Amend { c, amt, .. } => {
                let c = self.contract_id(c);
                let a = match self.contracts.get(&c) {
                    None => {
                        x.codes.insert("unknown_contract");
                        resolve(amt, 0, 1_000)
                    }
                    Some(k) => {
                        let paid: u64 = k.payments.iter().sum();
                        let avail = self.available(k.dept, k.y, k.l);
                        let a = resolve(amt, paid, k.amount + avail);
                        x.refuse_if(s != k.dept, "not_authorized");
                        x.refuse_if(a < paid, "over_contract");
                        // The same amount and no document: nothing to record.
                        x.refuse_if(a == k.amount, "no_op");
                        if a > k.amount {
                            self.over_budget(&mut x, k.dept, k.y, k.l, a - k.amount, avail);
                        }
                        a
                    }
                };
                let op = Op::AmendContract {
                    contract: cid(c),
                    amount: Amount(a),
                    reason: "Điều chỉnh khối lượng".into(),
                    document_hash: None,
                };
                (op, Effect::Amend { c, a })
            }
            G::Pay { c, amt, .. } => {
                let c = self.contract_id(c);
                let a = match self.contracts.get(&c) {
                    None => {
                        x.codes.insert("unknown_contract");
                        resolve(amt, 0, 1_000)
                    }
                    Some(k) => {
                        let unpaid = k.amount - k.payments.iter().sum::<u64>();
                        let a = resolve(amt, 0, unpaid);
                        x.refuse_if(s != k.dept, "not_authorized");
                        x.refuse_if(a == 0, "invalid_argument");
                        x.refuse_if(a > unpaid, "over_contract");
                        x.refuse_if(!self.ents[k.vendor].active, "inactive");
                        a
                    }
                };
                let op = Op::Pay {
                    contract: cid(c),
                    amount: Amount(a),
                    reference: "UNC-0001".into(),
                    document_hash: None,
                };
                (op, Effect::Pay { c, a })
            }
            G::Deliver { c, .. } => {
                let c = self.contract_id(c);
                match self.contracts.get(&c) {
                    None => x.refuse_if(true, "unknown_contract"),
                    Some(k) => x.refuse_if(s != k.dept, "not_authorized"),
                }
                let op = Op::ConfirmDelivery {
                    contract: cid(c),
                    milestone: "Nghiệm thu".into(),
                    note: String::new(),
                };
                (op, Effect::Deliver { c })
            }
            G::AddValidator { v, power } => {
                let mut new = self.working().clone();
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(power == 0, "invalid_argument");
                x.refuse_if(new.contains_key(&v), "duplicate");
                x.refuse_if(self.peer_taken(&validator_label(v)), "duplicate");
                new.insert(v, power);
                x.refuse_if(!carries_over(&self.next, &new), "validator_set");
                let label = validator_label(v);
                let op = Op::AddValidator {
                    name: label.clone(),
                    consensus_key: public_key(&label),
                    peer_id: peer_of(&label),
                    power,
                };
                (op, Effect::Validators(new))
            }
            G::RemoveValidator { v } => {
                let mut new = self.working().clone();
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(new.remove(&v).is_none(), "unknown_entity");
                x.refuse_if(new.is_empty(), "validator_set");
                x.refuse_if(!carries_over(&self.next, &new), "validator_set");
                let op = Op::RemoveValidator {
                    consensus_key: public_key(&validator_label(v)),
                };
                (op, Effect::Validators(new))
            }
            G::RegisterNode { p, operator } => {
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(!self.registered(operator), "unknown_entity");
                x.refuse_if(self.peer_taken(PEERS[p]), "duplicate");
                let op = Op::RegisterNode {
                    peer_id: peer_of(PEERS[p]),
                    operator: eid(operator),
                };
                let effect = Effect::Node {
                    p,
                    operator: Some(operator),
                };
                (op, effect)
            }
            G::RemoveNode { p } => {
                x.refuse_if(not_treasury, "not_authorized");
                x.refuse_if(!self.nodes.contains_key(&p), "unknown_entity");
                let op = Op::RemoveNode {
                    peer_id: peer_of(PEERS[p]),
                };
                (op, Effect::Node { p, operator: None })
            }
        };
        Plan {
            signer: s,
            op,
            expect: if envelope.codes.is_empty() {
                x
            } else {
                envelope
            },
            effect,
        }
    }

    pub(crate) fn over_budget(
        &self,
        x: &mut Expect,
        e: usize,
        y: usize,
        l: usize,
        a: u64,
        avail: u64,
    ) {
        if a > avail {
            x.codes.insert("over_budget");
            x.over_budget = Some((e, y, l, a, avail));
        }
    }

    /// Signs the plan's op as its signer would (or spoils it as `env` says).
    pub(crate) fn sign(&self, plan: &Plan, env: Env) -> SignedTx {
        let e = &self.ents[plan.signer];
        let next = e.nonce + 1;
        let nonce = match env {
            Env::NonceAhead => next + 1,
            Env::NonceBehind => next - 1,
            _ => next,
        };
        let key_label = match env {
            Env::WrongKey => "WRONG-KEY",
            _ => &e.key_label,
        };
        let chain_id = match env {
            Env::WrongChain => "another-chain",
            _ => CHAIN_ID,
        };
        let body = TxBody {
            chain_id: chain_id.into(),
            signer: eid(plan.signer),
            nonce,
            op: plan.op.clone(),
        };
        let mut tx = body.clone().sign(signing_key(key_label));
        if env == Env::ForgedSignature {
            // The same key's signature over another nonce.
            let other = TxBody {
                nonce: nonce.wrapping_add(1_000),
                ..body
            };
            tx.signatures[0].signature = other.sign(signing_key(key_label)).signatures[0].signature;
        }
        tx
    }
}
