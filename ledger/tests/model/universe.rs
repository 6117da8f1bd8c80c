//! The small universe the generated operations draw from: the entities
//! (their kinds and parents, and whether the setup block registers them),
//! fiscal years, budget lines, contract ids, validator keys and node peer
//! ids, as indexes and as the ledger's values.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use ledger::crypto::SigningKey;
use ledger::testkit::key;
use ledger::tx::EntityKind;
use ledger::{ContractId, EntityId, LineCode, PeerId, PublicKey, Year};

pub(crate) const YEARS: [u16; 2] = [2026, 2027];
pub(crate) const LINES: [&str; 2] = ["0402-HEALTH", "0501-EDU"];
pub(crate) const CONTRACTS: usize = 6;
/// Validator keys `validator-0` .. `validator-5`; genesis uses the first n.
pub(crate) const VALIDATOR_KEYS: usize = 6;
pub(crate) const GENESIS_POWER: u64 = 10;
/// Node peer ids: two nodes of their own, and validator-0's peer id, which a
/// node may never take.
pub(crate) const PEERS: [&str; 3] = ["node-0", "node-1", "validator-0"];

pub(crate) struct Def {
    pub(crate) id: &'static str,
    pub(crate) kind: EntityKind,
    pub(crate) parent: Option<usize>,
    /// Registered by the setup block.
    pub(crate) setup: bool,
}

pub(crate) const fn def(
    id: &'static str,
    kind: EntityKind,
    parent: Option<usize>,
    setup: bool,
) -> Def {
    Def {
        id,
        kind,
        parent,
        setup,
    }
}

pub(crate) const MOF: usize = 0;
pub(crate) const GHOST: usize = 12;
pub(crate) const UNIVERSE: [Def; 13] = [
    def("MOF", EntityKind::Treasury, None, true),
    def("MOH", EntityKind::Ministry, None, true),
    def("MOET", EntityKind::Ministry, None, true),
    def("MOT", EntityKind::Ministry, None, false),
    def("MOH.A", EntityKind::Department, Some(1), true),
    def("MOH.B", EntityKind::Department, Some(1), true),
    def("MOET.A", EntityKind::Department, Some(2), true),
    def("MOT.A", EntityKind::Department, Some(3), false),
    def("V-1", EntityKind::Vendor, None, true),
    def("V-2", EntityKind::Vendor, None, true),
    def("V-3", EntityKind::Vendor, None, false),
    def("AUDIT", EntityKind::Observer, None, false),
    // Never registered (registration ops never pick it).
    def("GHOST", EntityKind::Vendor, None, false),
];
pub(crate) const MINISTRIES: [usize; 3] = [1, 2, 3];
pub(crate) const DEPARTMENTS: [usize; 4] = [4, 5, 6, 7];
pub(crate) const VENDORS: [usize; 3] = [8, 9, 10];
/// What generated steps usually pick: mostly the entities the setup made.
pub(crate) const MINISTRY_PICKS: [usize; 5] = [1, 1, 2, 2, 3];
pub(crate) const DEPARTMENT_PICKS: [usize; 7] = [4, 4, 5, 5, 6, 6, 7];
pub(crate) const VENDOR_PICKS: [usize; 5] = [8, 8, 9, 9, 10];
pub(crate) const HOLDER_PICKS: [usize; 7] = [1, 2, 3, 4, 5, 6, 7];

/// The identity point: a canonical encoding of a point of small order.
pub(crate) const BAD_KEY: PublicKey = PublicKey({
    let mut b = [0u8; 32];
    b[0] = 1;
    b
});

pub(crate) static ENTITY_IDS: LazyLock<Vec<EntityId>> = LazyLock::new(|| {
    UNIVERSE
        .iter()
        .map(|d| EntityId::new(d.id).unwrap())
        .collect()
});
pub(crate) static LINE_CODES: LazyLock<Vec<LineCode>> =
    LazyLock::new(|| LINES.iter().map(|l| LineCode::new(l).unwrap()).collect());

pub(crate) fn eref(i: usize) -> &'static EntityId {
    &ENTITY_IDS[i]
}

pub(crate) fn eid(i: usize) -> EntityId {
    eref(i).clone()
}

pub(crate) fn year(y: usize) -> Year {
    Year::new(YEARS[y]).unwrap()
}

pub(crate) fn line(l: usize) -> LineCode {
    LINE_CODES[l].clone()
}

pub(crate) fn cid(c: usize) -> ContractId {
    ContractId::new(&format!("C-{c}")).unwrap()
}

pub(crate) fn validator_label(v: usize) -> String {
    format!("validator-{v}")
}

thread_local! {
    static KEYS: RefCell<HashMap<String, &'static SigningKey>> = RefCell::new(HashMap::new());
    static PEER_IDS: RefCell<HashMap<String, PeerId>> = RefCell::new(HashMap::new());
}

/// `testkit::key(label)`, derived once per thread. Deriving a key costs a
/// scalar multiplication and the same few labels are used all the time; the
/// labels are few (entity ids with a rotation count, validator and node
/// names), so leaking them is bounded.
pub(crate) fn signing_key(label: &str) -> &'static SigningKey {
    KEYS.with(|keys| {
        if let Some(k) = keys.borrow().get(label) {
            return *k;
        }
        let k: &'static SigningKey = Box::leak(Box::new(key(label)));
        keys.borrow_mut().insert(label.to_owned(), k);
        k
    })
}

pub(crate) fn public_key(label: &str) -> PublicKey {
    signing_key(label).public_key()
}

pub(crate) fn peer_of(label: &str) -> PeerId {
    PEER_IDS.with(|peers| {
        if let Some(p) = peers.borrow().get(label) {
            return p.clone();
        }
        let p = PeerId::from_ed25519(&public_key(label)).unwrap();
        peers.borrow_mut().insert(label.to_owned(), p.clone());
        p
    })
}
