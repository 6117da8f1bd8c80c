//! The benchmark's world and workload, decided before any node runs: pure
//! functions of a department count, a mix, a count and a seed. No I/O, no
//! clock.
//!
//! The world ([`World`]) is one treasury (Bộ Tài chính), a few ministries,
//! many spending departments (the signers that carry most of the load) and
//! vendors, all with one budget line. [`plan`] turns it into transactions:
//!
//! - the *setup*, in phases that must each be committed before the next is
//!   sent (a node checks a signer's next transaction against its committed
//!   state, so budget that another signer gives must be on chain first): the
//!   treasury appropriates to every ministry, the ministries allocate to
//!   their departments, and every department awards
//!   [`SETUP_CONTRACTS_PER_DEPARTMENT`] contracts;
//! - the *load*, the measured transactions in submission order: payments
//!   and delivery confirmations by departments against their setup
//!   contracts, new awards by departments, and allocations by ministries, in
//!   the proportions of a [`Mix`].
//!
//! The load is drawn first and the setup sized from it: each setup contract
//! is worth what the load pays on it plus a base, each department receives
//! its setup contracts plus what it awards during the load plus a reserve,
//! and each ministry receives what its departments get plus what it
//! allocates during the load plus a reserve. So every transaction of the
//! load is valid whatever order the signers' transactions are interleaved
//! in: no load transaction depends on another signer's load transaction,
//! only on the setup and on its own signer's earlier nonces.
//!
//! Each signer is pinned to one validator (its index among the load's
//! signers, modulo the validators), so its nonces reach that node in order.

use std::collections::BTreeMap;
use std::fmt;

use genesis::EntityTemplate;
use ledger::crypto::SigningKey;
use ledger::tx::{EntityKind, Op, SignedTx, TxBody};
use ledger::{Amount, ContractId, EntityId, Hash, LineCode, Year};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The chain id of a bench network.
pub const CHAIN_ID: &str = "minhbach-bench";
/// The treasury's id, as in the devnet story.
pub const TREASURY: &str = "BTC";
/// Ministries in the world, or fewer if there are fewer departments.
pub const MINISTRIES_MAX: usize = 8;
/// Vendors in the world.
pub const VENDORS: usize = 64;
/// Most departments: their ids have five digits.
pub const DEPARTMENTS_MAX: usize = 99_999;
/// Departments signing the load unless told otherwise: as many distinct
/// keys as a treasury's spending units, so that signature batches see as
/// few repeated keys as they will in production.
pub const DEPARTMENTS_DEFAULT: usize = 10_000;
/// Contracts each department awards during the setup; the load pays on them.
pub const SETUP_CONTRACTS_PER_DEPARTMENT: usize = 4;
/// Most load transactions in one plan.
pub const LOAD_TXS_MAX: usize = 2_000_000;
/// The one budget line everyone spends from (chi thường xuyên).
pub const LINE: &str = "CHI.TX";

/// A payment's amount: 5 to 50 million đồng.
const PAY_VND: (u64, u64) = (5_000_000, 50_000_000);
/// A load award's amount: 100 million to 2 billion đồng.
const AWARD_VND: (u64, u64) = (100_000_000, 2_000_000_000);
/// A load allocation's amount: 1 to 10 billion đồng.
const ALLOCATE_VND: (u64, u64) = (1_000_000_000, 10_000_000_000);
/// What a setup contract is worth beyond what the load pays on it.
const CONTRACT_BASE_VND: u64 = 2_000_000_000;
/// What each department and ministry keeps unspent at the end of the load.
const RESERVE_VND: u64 = 10_000_000_000;
/// Amounts are whole thousands of đồng.
const ROUND_VND: u64 = 1_000;

// The whole chain's money fits in an amount with room to spare: every load
// amount is counted once at each level, and the setup adds its bases.
const _: () = assert!(
    (LOAD_TXS_MAX as u128) * (ALLOCATE_VND.1 as u128)
        + (DEPARTMENTS_MAX as u128)
            * ((SETUP_CONTRACTS_PER_DEPARTMENT as u128) * (CONTRACT_BASE_VND as u128)
                + 2 * RESERVE_VND as u128)
        < (u64::MAX as u128) / 16
);
const _: () = assert!(PAY_VND.1 <= AWARD_VND.0 && AWARD_VND.1 <= ALLOCATE_VND.1);
const _: () = assert!(MINISTRIES_MAX <= 99 && VENDORS <= 9_999);

/// What contracts are for.
const TITLES: &[&str] = &[
    "Mua sắm máy tính và thiết bị văn phòng",
    "Sửa chữa, cải tạo trụ sở làm việc",
    "Dịch vụ bảo trì hệ thống điều hòa",
    "Phần mềm quản lý hồ sơ điện tử",
    "Cung ứng vật tư tiêu hao",
    "Đào tạo, bồi dưỡng cán bộ",
    "Thuê đường truyền dữ liệu",
    "In ấn tài liệu, biểu mẫu",
];

/// An operation the load sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A department pays on one of its setup contracts.
    Pay,
    /// A department awards a new contract.
    Award,
    /// A ministry allocates to one of its departments.
    Allocate,
    /// A department confirms a delivery on one of its setup contracts.
    ConfirmDelivery,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Pay,
        Kind::Award,
        Kind::Allocate,
        Kind::ConfirmDelivery,
    ];

    /// The operation's name in SPEC §2, as written in `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pay => "pay",
            Kind::Award => "award",
            Kind::Allocate => "allocate",
            Kind::ConfirmDelivery => "confirm-delivery",
        }
    }
}

/// Relative weights of the operations in the load, e.g.
/// `pay=80,award=10,allocate=10`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    weights: BTreeMap<Kind, u32>,
}

/// Largest weight in a mix.
pub const MIX_WEIGHT_MAX: u32 = 1_000_000;

/// Why a `--mix` is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MixError {
    /// Nothing was given.
    #[error("the mix is empty; give weights such as pay=80,award=10,allocate=10")]
    Empty,
    /// An item is not `OP=WEIGHT`.
    #[error("{0:?} is not OP=WEIGHT, such as pay=80")]
    NotPair(String),
    /// The operation is not one the bench sends.
    #[error(
        "{0:?} is not an operation the bench sends; use pay, award, allocate or confirm-delivery"
    )]
    UnknownOp(String),
    /// The weight is not a number in range.
    #[error("the weight {weight:?} of {op} is not a whole number from 0 to {MIX_WEIGHT_MAX}")]
    BadWeight {
        /// The operation.
        op: &'static str,
        /// What was written.
        weight: String,
    },
    /// The same operation twice.
    #[error("{0} is given twice")]
    Repeated(&'static str),
    /// Every weight is zero.
    #[error("every weight is 0; at least one must be above 0")]
    AllZero,
}

impl Mix {
    /// Parses `OP=WEIGHT[,OP=WEIGHT...]`; operations not named weigh 0.
    pub fn parse(s: &str) -> Result<Mix, MixError> {
        if s.trim().is_empty() {
            return Err(MixError::Empty);
        }
        let mut weights = BTreeMap::new();
        for item in s.split(',') {
            let Some((op, weight)) = item.split_once('=') else {
                return Err(MixError::NotPair(item.trim().to_owned()));
            };
            let op = op.trim();
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.name() == op)
                .ok_or_else(|| MixError::UnknownOp(op.to_owned()))?;
            let bad = || MixError::BadWeight {
                op: kind.name(),
                weight: weight.trim().to_owned(),
            };
            let w: u32 = weight.trim().parse().map_err(|_| bad())?;
            if w > MIX_WEIGHT_MAX {
                return Err(bad());
            }
            if weights.insert(kind, w).is_some() {
                return Err(MixError::Repeated(kind.name()));
            }
        }
        weights.retain(|_, w| *w > 0);
        if weights.is_empty() {
            return Err(MixError::AllZero);
        }
        Ok(Mix { weights })
    }

    fn total(&self) -> u32 {
        self.weights.values().sum()
    }

    /// The operation for a draw in `0..total`.
    fn pick(&self, mut draw: u32) -> Kind {
        for (kind, w) in &self.weights {
            if draw < *w {
                return *kind;
            }
            draw -= w;
        }
        unreachable!("a draw below the total falls on a weight")
    }
}

impl Default for Mix {
    fn default() -> Mix {
        Mix::parse("pay=80,award=10,allocate=10").expect("the default mix parses")
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .weights
            .iter()
            .map(|(k, w)| format!("{}={w}", k.name()))
            .collect();
        f.write_str(&items.join(","))
    }
}

/// For clap: a [`Mix`] or the reason it is refused.
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    Mix::parse(s).map_err(|e| e.to_string())
}

/// The bench's entities.
#[derive(Clone, Debug)]
pub struct World {
    treasury: EntityId,
    ministries: Vec<EntityId>,
    /// Each with the index of its ministry.
    departments: Vec<(EntityId, usize)>,
    vendors: Vec<EntityId>,
}

fn id(s: &str) -> EntityId {
    EntityId::new(s).expect("the bench's ids follow the id pattern")
}

impl World {
    /// A world of `departments` departments (1 to [`DEPARTMENTS_MAX`]),
    /// spread over up to [`MINISTRIES_MAX`] ministries, and [`VENDORS`]
    /// vendors.
    pub fn new(departments: usize) -> World {
        assert!(
            (1..=DEPARTMENTS_MAX).contains(&departments),
            "1 to {DEPARTMENTS_MAX} departments"
        );
        let ministries = departments.min(MINISTRIES_MAX);
        World {
            treasury: id(TREASURY),
            ministries: (1..=ministries)
                .map(|m| id(&format!("BO-{m:02}")))
                .collect(),
            departments: (0..departments)
                .map(|d| {
                    let m = d % ministries;
                    (id(&format!("BO-{:02}.DV-{:05}", m + 1, d + 1)), m)
                })
                .collect(),
            vendors: (1..=VENDORS).map(|v| id(&format!("NCC-{v:04}"))).collect(),
        }
    }

    /// The genesis entities, in genesis order: treasury, ministries,
    /// departments, vendors.
    pub fn entities(&self) -> Vec<EntityTemplate> {
        let t = |id: &EntityId, kind, name: String, parent: Option<EntityId>| EntityTemplate {
            id: id.clone(),
            kind,
            name,
            parent,
        };
        let mut out = vec![t(
            &self.treasury,
            EntityKind::Treasury,
            "Bộ Tài chính".into(),
            None,
        )];
        for (i, m) in self.ministries.iter().enumerate() {
            let name = format!("Bộ thử nghiệm {:02}", i + 1);
            out.push(t(m, EntityKind::Ministry, name, None));
        }
        for (i, (d, m)) in self.departments.iter().enumerate() {
            let name = format!(
                "Đơn vị dự toán {:05} thuộc Bộ thử nghiệm {:02}",
                i + 1,
                m + 1
            );
            let parent = Some(self.ministries[*m].clone());
            out.push(t(d, EntityKind::Department, name, parent));
        }
        for (i, v) in self.vendors.iter().enumerate() {
            let name = format!("Công ty TNHH Cung ứng thử nghiệm {:04}", i + 1);
            out.push(t(v, EntityKind::Vendor, name, None));
        }
        out
    }

    /// Signers of the load: the ministries, then the departments.
    pub fn load_signers(&self) -> usize {
        self.ministries.len() + self.departments.len()
    }

    /// The first department and its ministry: the department that
    /// `--history` gives the longest history.
    pub fn busiest(&self) -> (&EntityId, &EntityId) {
        let (d, m) = &self.departments[0];
        (&self.ministries[*m], d)
    }

    /// The first department's first contract, awarded by the setup of a
    /// chain's first plan.
    pub fn busiest_contract(&self) -> ContractId {
        setup_contract(0, 0, 0)
    }

    fn departments_of(&self, m: usize) -> Vec<usize> {
        (0..self.departments.len())
            .filter(|d| self.departments[*d].1 == m)
            .collect()
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Transactions in the load, at most [`LOAD_TXS_MAX`].
    pub txs: usize,
    /// Their operations' proportions.
    pub mix: Mix,
    /// Seed of every choice.
    pub seed: u64,
    /// Validators the signers are pinned to, at least one.
    pub validators: usize,
    /// The fiscal year of the budget line.
    pub year: Year,
}

/// A load transaction and the validator its signer is pinned to.
#[derive(Clone, Debug)]
pub struct Planned {
    /// What to sign.
    pub body: TxBody,
    /// Index of the validator it is sent to.
    pub validator: usize,
}

/// The setup and the load.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Setup phases, in order; each must be committed before the next is sent,
    /// and none holds more than [`SETUP_NONCES_PER_SIGNER`] transactions of
    /// one signer.
    pub setup: Vec<Vec<TxBody>>,
    /// The measured transactions, in submission order.
    pub load: Vec<Planned>,
    /// Each signer's next nonce after the setup and the load: where the
    /// chain's next plan starts ([`After::nonces`]).
    pub next_nonces: BTreeMap<EntityId, u64>,
}

impl Plan {
    /// Every transaction of the plan in the order a chain commits them:
    /// the setup's phases, then the load.
    pub fn bodies(&self) -> Vec<&TxBody> {
        self.setup
            .iter()
            .flatten()
            .chain(self.load.iter().map(|p| &p.body))
            .collect()
    }
}

/// Where a plan starts: on a fresh chain ([`After::default`]), or after the
/// plans of a history already committed (`minhbach bench --history`).
#[derive(Clone, Debug, Default)]
pub struct After {
    /// The plan's number on its chain, 0 for the first. Contracts awarded by
    /// plans other than the first carry it in their ids, so that no two
    /// plans of one chain award the same contract.
    pub round: u32,
    /// Each signer's next nonce; 1 for a signer not listed.
    pub nonces: BTreeMap<EntityId, u64>,
    /// Percent (0 to 100) of the load's draws that fall on the first
    /// department, so that one department's history is long; 0 spreads
    /// them evenly.
    pub busiest_pct: u32,
}

#[derive(Clone, Copy)]
enum Signer {
    Ministry(usize),
    Department(usize),
}

fn draw(rng: &mut StdRng, (lo, hi): (u64, u64)) -> u64 {
    rng.gen_range(lo / ROUND_VND..=hi / ROUND_VND) * ROUND_VND
}

/// A contract's id: `HD-{department}-{suffix}` in the first plan of a
/// chain, `HD-{department}-R{round}-{suffix}` in the later ones.
fn contract_id(d: usize, round: u32, suffix: &str) -> ContractId {
    let id = match round {
        0 => format!("HD-{:04}-{suffix}", d + 1),
        r => format!("HD-{:04}-R{r}-{suffix}", d + 1),
    };
    ContractId::new(&id).expect("a valid contract id")
}

fn setup_contract(d: usize, round: u32, k: usize) -> ContractId {
    contract_id(d, round, &(k + 1).to_string())
}

fn document(parts: &[&[u8]]) -> Option<Hash> {
    Some(Hash::digest_parts(parts))
}

/// Hands out each signer's nonces in order, from its next one (1 on a fresh
/// genesis).
struct Nonces {
    chain_id: String,
    next: BTreeMap<EntityId, u64>,
}

impl Nonces {
    fn body(&mut self, signer: &EntityId, op: Op) -> TxBody {
        let nonce = self.next.entry(signer.clone()).or_insert(1);
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            signer: signer.clone(),
            nonce: *nonce,
            op,
        };
        *nonce += 1;
        body
    }
}

/// The setup and load for `world` on a fresh chain `chain_id`. See the
/// module documentation.
pub fn plan(world: &World, chain_id: &str, spec: &LoadSpec) -> Plan {
    plan_after(world, chain_id, spec, After::default())
}

/// The setup and load for `world` on chain `chain_id`, after the plans
/// that `after` describes.
pub fn plan_after(world: &World, chain_id: &str, spec: &LoadSpec, after: After) -> Plan {
    assert!(spec.txs <= LOAD_TXS_MAX, "at most {LOAD_TXS_MAX} load txs");
    assert!(spec.validators > 0, "at least one validator");
    const K: usize = SETUP_CONTRACTS_PER_DEPARTMENT;
    let line = LineCode::new(LINE).expect("a valid line code");
    let year = spec.year;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let departments = world.departments.len();
    let mut paid = vec![[0u64; K]; departments];
    let mut awarded = vec![0u64; departments];
    let mut allocated = vec![0u64; world.ministries.len()];
    let mut awards = vec![0u32; departments];
    let mut deliveries = vec![[0u32; K]; departments];
    let departments_of: Vec<Vec<usize>> = (0..world.ministries.len())
        .map(|m| world.departments_of(m))
        .collect();

    let mut ops: Vec<(Signer, Op)> = Vec::with_capacity(spec.txs);
    let round = after.round;
    for n in 0..spec.txs {
        let busiest = after.busiest_pct > 0 && rng.gen_range(0..100) < after.busiest_pct;
        let d = if busiest {
            0
        } else {
            rng.gen_range(0..departments)
        };
        let k = rng.gen_range(0..K);
        let (d_id, _) = &world.departments[d];
        let op = match spec.mix.pick(rng.gen_range(0..spec.mix.total())) {
            Kind::Pay => {
                let amount = draw(&mut rng, PAY_VND);
                paid[d][k] += amount;
                let reference = format!("Hóa đơn {:08}/{}", n + 1, year.0);
                let contract = setup_contract(d, round, k);
                let document_hash = document(&[contract.as_str().as_bytes(), reference.as_bytes()]);
                (
                    Signer::Department(d),
                    Op::Pay {
                        contract,
                        amount: Amount(amount),
                        reference,
                        document_hash,
                    },
                )
            }
            Kind::Award => {
                let amount = draw(&mut rng, AWARD_VND);
                awarded[d] += amount;
                awards[d] += 1;
                let contract = contract_id(d, round, &format!("M{:07}", awards[d]));
                let title = TITLES[rng.gen_range(0..TITLES.len())].to_owned();
                let document_hash = document(&[contract.as_str().as_bytes(), title.as_bytes()]);
                (
                    Signer::Department(d),
                    Op::Award {
                        contract,
                        year,
                        line: line.clone(),
                        vendor: world.vendors[rng.gen_range(0..world.vendors.len())].clone(),
                        amount: Amount(amount),
                        title,
                        document_hash,
                    },
                )
            }
            Kind::Allocate => {
                let m = world.departments[d].1;
                let to = departments_of[m][rng.gen_range(0..departments_of[m].len())];
                let amount = draw(&mut rng, ALLOCATE_VND);
                allocated[m] += amount;
                (
                    Signer::Ministry(m),
                    Op::Allocate {
                        year,
                        line: line.clone(),
                        to: world.departments[to].0.clone(),
                        amount: Amount(amount),
                    },
                )
            }
            Kind::ConfirmDelivery => {
                deliveries[d][k] += 1;
                (
                    Signer::Department(d),
                    Op::ConfirmDelivery {
                        contract: setup_contract(d, round, k),
                        milestone: format!("Nghiệm thu đợt {}", deliveries[d][k]),
                        note: format!("{d_id} xác nhận đã nhận hàng, đủ số lượng"),
                    },
                )
            }
        };
        ops.push(op);
    }

    // The setup, sized from the load.
    let contract_vnd = |d: usize, k: usize| paid[d][k] + CONTRACT_BASE_VND;
    let department_vnd: Vec<u64> = (0..departments)
        .map(|d| (0..K).map(|k| contract_vnd(d, k)).sum::<u64>() + awarded[d] + RESERVE_VND)
        .collect();
    let ministry_vnd: Vec<u64> = (0..world.ministries.len())
        .map(|m| {
            departments_of[m]
                .iter()
                .map(|d| department_vnd[*d])
                .sum::<u64>()
                + allocated[m]
                + RESERVE_VND
        })
        .collect();

    let mut nonces = Nonces {
        chain_id: chain_id.to_owned(),
        next: after.nonces,
    };
    let appropriations = world
        .ministries
        .iter()
        .zip(&ministry_vnd)
        .enumerate()
        .map(|(m, (to, amount))| {
            let op = Op::Appropriate {
                year,
                line: line.clone(),
                to: to.clone(),
                amount: Amount(*amount),
                legal_ref: format!("Quyết định {:03}/QĐ-BTC năm {}", m + 1, year.0),
            };
            nonces.body(&world.treasury, op)
        })
        .collect();
    let allocations = world
        .departments
        .iter()
        .zip(&department_vnd)
        .map(|((d, m), amount)| {
            let op = Op::Allocate {
                year,
                line: line.clone(),
                to: d.clone(),
                amount: Amount(*amount),
            };
            nonces.body(&world.ministries[*m], op)
        })
        .collect();
    let mut contracts = Vec::with_capacity(departments * K);
    for (d, (d_id, _)) in world.departments.iter().enumerate() {
        for k in 0..K {
            let contract = setup_contract(d, round, k);
            let title = TITLES[(d + k) % TITLES.len()].to_owned();
            let document_hash = document(&[contract.as_str().as_bytes(), title.as_bytes()]);
            let op = Op::Award {
                contract,
                year,
                line: line.clone(),
                vendor: world.vendors[(d * K + k) % world.vendors.len()].clone(),
                amount: Amount(contract_vnd(d, k)),
                title,
                document_hash,
            };
            contracts.push(nonces.body(d_id, op));
        }
    }

    let ministries = world.ministries.len();
    let load = ops
        .into_iter()
        .map(|(signer, op)| {
            let (id, index) = match signer {
                Signer::Ministry(m) => (&world.ministries[m], m),
                Signer::Department(d) => (&world.departments[d].0, ministries + d),
            };
            Planned {
                body: nonces.body(id, op),
                validator: index % spec.validators,
            }
        })
        .collect();
    Plan {
        setup: [appropriations, allocations, contracts]
            .into_iter()
            .flat_map(|phase| rounds(phase, SETUP_NONCES_PER_SIGNER))
            .collect(),
        load,
        next_nonces: nonces.next,
    }
}

/// Most transactions of one signer in one setup phase: a node holds at
/// most this many of a signer's nonces beyond its committed one, so a
/// ministry allocating to thousands of departments does so over several
/// phases.
pub const SETUP_NONCES_PER_SIGNER: usize = node::mempool::FUTURE_NONCES_PER_SIGNER_MAX as usize;

/// Splits `phase` into rounds, each to be committed before the next, in
/// which no signer has more than `per_signer` transactions; each signer's
/// transactions keep their order.
fn rounds(phase: Vec<TxBody>, per_signer: usize) -> Vec<Vec<TxBody>> {
    let mut seen: BTreeMap<EntityId, usize> = BTreeMap::new();
    let mut out: Vec<Vec<TxBody>> = Vec::new();
    for body in phase {
        let k = seen.entry(body.signer.clone()).or_default();
        let round = *k / per_signer;
        *k += 1;
        if out.len() <= round {
            out.resize_with(round + 1, Vec::new);
        }
        out[round].push(body);
    }
    out
}

/// A signed transaction as it is sent: its canonical bytes and its hash.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The encoded signed transaction.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`.
    pub hash: Hash,
}

/// Signs every body with its signer's key, on `threads` threads; the result
/// is in the order of `bodies`.
///
/// Panics if a signer has no key: the plan only uses the world's entities,
/// whose keys the caller loaded.
pub fn sign_all(
    bodies: &[&TxBody],
    keys: &BTreeMap<EntityId, SigningKey>,
    threads: usize,
) -> Vec<Signed> {
    sign_each(bodies, keys, threads, |tx| {
        let bytes = tx.encode();
        let hash = Hash::digest(&bytes);
        Signed { bytes, hash }
    })
}

/// Signs every body as [`sign_all`] does and hands each signed transaction
/// to `then`, on the signing threads; the results are in the order of
/// `bodies`.
pub fn sign_each<T: Send>(
    bodies: &[&TxBody],
    keys: &BTreeMap<EntityId, SigningKey>,
    threads: usize,
    then: impl Fn(SignedTx) -> T + Sync,
) -> Vec<T> {
    let sign = |body: &TxBody| {
        let key = keys
            .get(&body.signer)
            .unwrap_or_else(|| panic!("no key for {}", body.signer));
        then(body.clone().sign(key))
    };
    let chunk = bodies.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(|b| sign(b)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a signing thread does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests;
