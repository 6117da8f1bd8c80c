//! A model of who may act, for `sequences`: each entity's keys (as labels),
//! threshold, pending change and status, the control rules and the height.
//! It is written from the rules of approvals and never reads the ledger: for
//! each generated step it says which code must refuse it, or that it must
//! commit, and what it changes.

use std::collections::{BTreeMap, BTreeSet};

use ledger::testkit::{id, CHAIN_ID};
use ledger::tx::{EntityKind, Status};
use ledger::{Amount, Op, SignedTx, TxBody};

use crate::helpers::{pk, sk};

pub(crate) const MOF: usize = 0;
pub(crate) const MOH: usize = 1;
pub(crate) const MOET: usize = 2;
pub(crate) const DEPARTMENTS: [usize; 3] = [3, 4, 5];
pub(crate) const CONTROLLERS: [usize; 2] = [7, 8];
/// Entities that sign something in the sequences (all but the vendor).
pub(crate) const ACTORS: [usize; 8] = [0, 1, 2, 3, 4, 5, 7, 8];
/// The amounts the control rules take.
pub(crate) const RULE_AMOUNTS: [u64; 3] = [100, 1_000, 5_000];

/// An entity of the universe: id, kind, parent, keys after the setup,
/// threshold.
pub(crate) type Def = (
    &'static str,
    EntityKind,
    Option<usize>,
    &'static [&'static str],
    u8,
);

pub(crate) const UNIVERSE: [Def; 9] = [
    (
        "MOF",
        EntityKind::Treasury,
        None,
        &["MOF-1", "MOF-2", "MOF-3"],
        2,
    ),
    ("MOH", EntityKind::Ministry, None, &["MOH"], 1),
    ("MOET", EntityKind::Ministry, None, &["MOET"], 1),
    (
        "MOH.A",
        EntityKind::Department,
        Some(MOH),
        &["A-1", "A-2", "A-3"],
        2,
    ),
    // MOH.B holds one of KBNN's keys.
    (
        "MOH.B",
        EntityKind::Department,
        Some(MOH),
        &["B-1", "KB-2"],
        1,
    ),
    ("MOET.A", EntityKind::Department, Some(MOET), &["MOET.A"], 1),
    ("V-1", EntityKind::Vendor, None, &["V-1"], 1),
    ("KBNN", EntityKind::Controller, None, &["KB-1", "KB-2"], 2),
    ("KBTW", EntityKind::Controller, None, &["KBTW"], 1),
];

/// The labels `set-keys` draws from for entity `e`: its first keys and
/// three of its own.
pub(crate) fn key_pool(e: usize) -> Vec<String> {
    let (who, _, _, keys, _) = UNIVERSE[e];
    let mut pool: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    pool.extend((1..=3).map(|i| format!("{who}~{i}")));
    pool
}

pub(crate) type Labels = BTreeSet<String>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MPending {
    pub(crate) keys: Labels,
    pub(crate) threshold: u8,
    pub(crate) set_at: u64,
    pub(crate) effective: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct MEntity {
    pub(crate) keys: Labels,
    pub(crate) threshold: u8,
    pub(crate) pending: Option<MPending>,
    pub(crate) active: bool,
    pub(crate) nonce: u64,
    /// Keys it held once and holds no more.
    pub(crate) former: Labels,
}

/// A step's operation, over the universe's indexes.
#[derive(Clone, Debug)]
pub(crate) enum G {
    Award {
        by: usize,
        amt: Amt,
    },
    Pay {
        by: usize,
        amt: Amt,
    },
    SetKeysOwn {
        who: usize,
        keys: [bool; 5],
        threshold: u8,
    },
    SetKeysByTreasury {
        who: usize,
        keys: [bool; 5],
        threshold: u8,
    },
    /// Of the entity with a pending change `pick` (modulo how many have
    /// one), or of `pick` itself if none has.
    Cancel {
        pick: usize,
        by_treasury: bool,
    },
    SetControl {
        ministry: Option<usize>,
        amount: usize,
        controller: usize,
    },
    RemoveControl {
        ministry: Option<usize>,
    },
    SetStatus {
        controller: usize,
        active: bool,
    },
}

/// An amount relative to the rule that covers the signer (1,000 if none).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Amt {
    Below,
    At,
    Above,
    Small(u64),
}

/// A key beside the signer's and the controller's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extra {
    None,
    /// One of the signer's pending keys.
    Pending,
    /// A key the signer held before.
    Former,
    /// A key nobody holds.
    Stranger,
    /// A key of a ministry.
    Ministry,
}

/// Which keys sign: the signer's current keys by position, a controller's
/// current keys by position, and one more.
#[derive(Clone, Debug)]
pub(crate) struct Sigs {
    pub(crate) own: [bool; 6],
    pub(crate) controller: Option<(usize, [bool; 3])>,
    pub(crate) extra: Extra,
}

/// What a step does to the model if the ledger commits it.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    None,
    Keys {
        who: usize,
        keys: Labels,
        threshold: u8,
    },
    Pending {
        who: usize,
        pending: MPending,
    },
    Cancel {
        who: usize,
    },
    Rule {
        ministry: Option<usize>,
        rule: Option<(u64, usize)>,
    },
    Status {
        who: usize,
        active: bool,
    },
    Award,
}

/// A step made concrete.
pub(crate) struct Plan {
    pub(crate) signer: usize,
    pub(crate) op: Op,
    pub(crate) labels: Vec<String>,
    /// `None` if it must commit.
    pub(crate) refusal: Option<&'static str>,
    pub(crate) effect: Effect,
    /// Keys of the signer that signed, and of the controller the operation
    /// needs (with its threshold and status), as the rules count them.
    pub(crate) own: usize,
    pub(crate) approval: Option<(usize, u8, bool)>,
    /// Whether a key only pending for the signer (and not the controller's)
    /// signed.
    pub(crate) pending_signed: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub(crate) ents: Vec<MEntity>,
    pub(crate) rules: BTreeMap<Option<usize>, (u64, usize)>,
    pub(crate) delay: u64,
    /// The height of the block being built.
    pub(crate) height: u64,
    pub(crate) awards: u64,
}

fn labels(keys: &[&str]) -> Labels {
    keys.iter().map(|k| k.to_string()).collect()
}

impl Model {
    /// The model after the setup of `sequences`: at `height`, MOF has signed
    /// `mof_nonce` transactions, the ministries one each per department and
    /// each department one award.
    pub(crate) fn new(delay: u64, height: u64, mof_nonce: u64) -> Model {
        let ents = UNIVERSE
            .iter()
            .enumerate()
            .map(|(i, (_, kind, _, keys, threshold))| MEntity {
                keys: labels(keys),
                threshold: *threshold,
                pending: None,
                active: true,
                nonce: match (i, kind) {
                    (MOF, _) => mof_nonce,
                    (MOH, _) => 2,
                    (MOET, _) | (_, EntityKind::Department) => 1,
                    _ => 0,
                },
                former: if i == MOF {
                    labels(&["MOF"])
                } else {
                    Labels::new()
                },
            })
            .collect();
        Model {
            ents,
            rules: BTreeMap::new(),
            delay,
            height,
            awards: 0,
        }
    }

    /// Starts block `h`: the pending changes due at it take effect.
    pub(crate) fn begin_block(&mut self, h: u64) {
        self.height = h;
        for e in &mut self.ents {
            if e.pending.as_ref().is_some_and(|p| p.effective <= h) {
                let p = e.pending.take().unwrap();
                set(e, p.keys, p.threshold);
            }
        }
    }

    /// The rule that covers a `pay` or `award` of `amount` by department
    /// `by`, if one does.
    fn rule_for(&self, by: usize) -> Option<(u64, usize, Option<usize>)> {
        let ministry = UNIVERSE[by].2;
        [ministry, None]
            .into_iter()
            .find_map(|m| self.rules.get(&m).map(|(a, c)| (*a, *c, m)))
    }

    fn resolve(&self, by: usize, amt: Amt) -> u64 {
        let r = self.rule_for(by).map_or(1_000, |(a, ..)| a);
        match amt {
            Amt::Below => r - 1,
            Amt::At => r,
            Amt::Above => r + 1,
            Amt::Small(x) => x,
        }
    }

    pub(crate) fn plan(&self, g: &G, sigs: &Sigs) -> Plan {
        let mut refusal: Option<&'static str> = None;
        let mut covered: Option<(u64, usize)> = None;
        let key_set = |who: usize, mask: &[bool; 5]| -> (Vec<String>, Labels) {
            let chosen: Vec<String> = key_pool(who)
                .into_iter()
                .zip(mask)
                .filter(|(_, m)| **m)
                .map(|(k, _)| k)
                .collect();
            (chosen.clone(), chosen.into_iter().collect())
        };
        let well_formed =
            |keys: &Labels, t: u8| !keys.is_empty() && t >= 1 && usize::from(t) <= keys.len();
        let (signer, op, effect) = match *g {
            G::Award { by, amt } => {
                let a = self.resolve(by, amt);
                covered = self
                    .rule_for(by)
                    .filter(|(r, ..)| a >= *r)
                    .map(|(r, c, _)| (r, c));
                let contract = format!("N-{}", self.awards);
                (by, crate::helpers::award(&contract, a), Effect::Award)
            }
            G::Pay { by, amt } => {
                let a = self.resolve(by, amt);
                covered = self
                    .rule_for(by)
                    .filter(|(r, ..)| a >= *r)
                    .map(|(r, c, _)| (r, c));
                let contract = format!("C-{}", UNIVERSE[by].0);
                (by, crate::helpers::pay(&contract, a), Effect::None)
            }
            G::SetKeysOwn {
                who,
                keys,
                threshold,
            }
            | G::SetKeysByTreasury {
                who,
                keys,
                threshold,
            } => {
                let by_treasury = matches!(g, G::SetKeysByTreasury { .. }) && who != MOF;
                let (list, set) = key_set(who, &keys);
                let e = &self.ents[who];
                let effect = if !well_formed(&set, threshold) {
                    refusal = Some("bad_threshold");
                    Effect::None
                } else if !by_treasury || self.delay == 0 {
                    if e.keys == set && e.threshold == threshold {
                        refusal = Some("no_op");
                    }
                    Effect::Keys {
                        who,
                        keys: set,
                        threshold,
                    }
                } else {
                    let pending = MPending {
                        keys: set,
                        threshold,
                        set_at: self.height,
                        effective: self.height + self.delay,
                    };
                    let same = e
                        .pending
                        .as_ref()
                        .is_some_and(|p| p.keys == pending.keys && p.threshold == threshold);
                    if same {
                        refusal = Some("no_op");
                    }
                    Effect::Pending { who, pending }
                };
                let op = Op::SetKeys {
                    entity: id(UNIVERSE[who].0),
                    keys: list.iter().map(|l| pk(l)).collect(),
                    threshold,
                };
                (if by_treasury { MOF } else { who }, op, effect)
            }
            G::Cancel { pick, by_treasury } => {
                let pending: Vec<usize> = (1..self.ents.len())
                    .filter(|e| self.ents[*e].pending.is_some())
                    .collect();
                let who = match pending.len() {
                    0 => pick,
                    n => pending[pick % n],
                };
                if self.ents[who].pending.is_none() {
                    refusal = Some("no_op");
                }
                let op = Op::CancelKeys {
                    entity: id(UNIVERSE[who].0),
                };
                (
                    if by_treasury { MOF } else { who },
                    op,
                    Effect::Cancel { who },
                )
            }
            G::SetControl {
                ministry,
                amount,
                controller,
            } => {
                let rule = (RULE_AMOUNTS[amount], controller);
                if !self.ents[controller].active {
                    refusal = Some("inactive");
                } else if self.rules.get(&ministry) == Some(&rule) {
                    refusal = Some("no_op");
                }
                let op = Op::SetControl {
                    ministry: ministry.map(|m| id(UNIVERSE[m].0)),
                    amount: Amount(rule.0),
                    controller: id(UNIVERSE[controller].0),
                };
                (
                    MOF,
                    op,
                    Effect::Rule {
                        ministry,
                        rule: Some(rule),
                    },
                )
            }
            G::RemoveControl { ministry } => {
                if !self.rules.contains_key(&ministry) {
                    refusal = Some("no_op");
                }
                let op = Op::RemoveControl {
                    ministry: ministry.map(|m| id(UNIVERSE[m].0)),
                };
                (
                    MOF,
                    op,
                    Effect::Rule {
                        ministry,
                        rule: None,
                    },
                )
            }
            G::SetStatus { controller, active } => {
                if self.ents[controller].active == active {
                    refusal = Some("no_op");
                }
                let status = if active {
                    Status::Active
                } else {
                    Status::Suspended
                };
                let op = Op::SetStatus {
                    entity: id(UNIVERSE[controller].0),
                    status,
                };
                (
                    MOF,
                    op,
                    Effect::Status {
                        who: controller,
                        active,
                    },
                )
            }
        };

        // The keys that sign.
        let s = &self.ents[signer];
        let mut signing: Labels = s
            .keys
            .iter()
            .zip(sigs.own)
            .filter(|(_, on)| *on)
            .map(|(k, _)| k.clone())
            .collect();
        if let Some((c, mask)) = sigs.controller {
            signing.extend(
                self.ents[c]
                    .keys
                    .iter()
                    .zip(mask)
                    .filter(|(_, on)| *on)
                    .map(|(k, _)| k.clone()),
            );
        }
        let pending_only = |k: &String| !s.keys.contains(k);
        let extra = match sigs.extra {
            Extra::None => None,
            Extra::Pending => s
                .pending
                .as_ref()
                .and_then(|p| p.keys.iter().find(|k| pending_only(k)).cloned()),
            Extra::Former => s.former.iter().find(|k| pending_only(k)).cloned(),
            Extra::Stranger => Some("STRANGER".to_owned()),
            Extra::Ministry => Some(if signer == MOH { "MOET" } else { "MOH" }.to_owned()),
        };
        signing.extend(extra);

        // Authorization, in the order of the rules: form, foreign keys, the
        // signer's threshold, the controller's status and threshold; then
        // the signer's status; then the operation.
        let controller = covered.map(|(_, c)| &self.ents[c]);
        let own = signing.iter().filter(|k| s.keys.contains(*k)).count();
        let approving = signing
            .iter()
            .filter(|k| !s.keys.contains(*k) && controller.is_some_and(|c| c.keys.contains(*k)))
            .count();
        let foreign = own + approving < signing.len();
        let auth = if signing.is_empty() {
            Some("malformed")
        } else if foreign {
            Some("foreign_signature")
        } else if own < usize::from(s.threshold) {
            Some("threshold_not_met")
        } else if controller.is_some_and(|c| !c.active) {
            Some("inactive")
        } else if controller.is_some_and(|c| approving < usize::from(c.threshold)) {
            Some("approval_required")
        } else if !s.active {
            Some("inactive")
        } else {
            None
        };
        // A key only pending for the signer, signing as the signer's.
        let pending_signed = s.pending.as_ref().is_some_and(|p| {
            signing.iter().any(|k| {
                p.keys.contains(k)
                    && !s.keys.contains(k)
                    && !controller.is_some_and(|c| c.keys.contains(k))
            })
        });
        Plan {
            signer,
            op,
            labels: signing.into_iter().collect(),
            refusal: auth.or(refusal),
            effect,
            own,
            approval: controller.map(|c| (approving, c.threshold, c.active)),
            pending_signed,
        }
    }

    /// The transaction of `plan`, with the signer's next nonce.
    pub(crate) fn sign(&self, plan: &Plan) -> SignedTx {
        let keys: Vec<_> = plan.labels.iter().map(|l| sk(l)).collect();
        TxBody {
            chain_id: CHAIN_ID.into(),
            signer: id(UNIVERSE[plan.signer].0),
            nonce: self.ents[plan.signer].nonce + 1,
            op: plan.op.clone(),
        }
        .sign_all(&keys)
    }

    /// Records a committed step.
    pub(crate) fn apply(&mut self, plan: Plan) {
        self.ents[plan.signer].nonce += 1;
        match plan.effect {
            Effect::None => {}
            Effect::Award => self.awards += 1,
            Effect::Keys {
                who,
                keys,
                threshold,
            } => set(&mut self.ents[who], keys, threshold),
            Effect::Pending { who, pending } => self.ents[who].pending = Some(pending),
            Effect::Cancel { who } => self.ents[who].pending = None,
            Effect::Rule {
                ministry,
                rule: Some(rule),
            } => {
                self.rules.insert(ministry, rule);
            }
            Effect::Rule {
                ministry,
                rule: None,
            } => {
                self.rules.remove(&ministry);
            }
            Effect::Status { who, active } => self.ents[who].active = active,
        }
    }
}

/// Gives `e` new keys, remembering the ones it gives up.
fn set(e: &mut MEntity, keys: Labels, threshold: u8) {
    let gone: Vec<String> = e.keys.difference(&keys).cloned().collect();
    e.former.extend(gone);
    for k in &keys {
        e.former.remove(k);
    }
    e.keys = keys;
    e.threshold = threshold;
}
