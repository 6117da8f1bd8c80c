//! Generated steps: an operation over the universe, who signs it, how its
//! envelope is spoiled if at all, and whether it starts a block; with the
//! proptest strategies that make them, weighted toward the boundaries.

use proptest::prelude::*;

use crate::universe::{
    CONTRACTS, DEPARTMENT_PICKS, GHOST, HOLDER_PICKS, MINISTRY_PICKS, PEERS, UNIVERSE,
    VALIDATOR_KEYS, VENDOR_PICKS,
};

/// An amount, resolved against the model when the step runs, so that the
/// boundaries (exactly what is available, one more, one less) come up often.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Amt {
    Abs(u64),
    /// Percent of the upper bound.
    Pct(u8),
    /// Upper bound plus −1, 0 or 1.
    Hi(i8),
    /// Lower bound plus −1, 0 or 1.
    Lo(i8),
    Zero,
    Max,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum RegVariant {
    Normal,
    /// Registers with this universe entity as parent instead.
    Parent(usize),
    NoParent,
    AsTreasury,
    BadKey,
}

#[derive(Clone, Debug)]
pub(crate) enum G {
    Register {
        who: usize,
        variant: RegVariant,
    },
    SetStatus {
        who: usize,
        active: bool,
    },
    Rotate {
        who: usize,
        by_self: bool,
        bad: bool,
        /// To the key the entity already holds.
        same: bool,
    },
    Appropriate {
        y: usize,
        l: usize,
        to: usize,
        amt: Amt,
    },
    /// `by: None` is the department's own ministry.
    Allocate {
        y: usize,
        l: usize,
        by: Option<usize>,
        to: usize,
        amt: Amt,
    },
    Return {
        y: usize,
        l: usize,
        by: usize,
        amt: Amt,
    },
    Award {
        c: usize,
        y: usize,
        l: usize,
        by: usize,
        vendor: usize,
        amt: Amt,
    },
    Amend {
        c: CPick,
        by: usize,
        amt: Amt,
    },
    Pay {
        c: CPick,
        by: usize,
        amt: Amt,
    },
    Deliver {
        c: CPick,
        by: usize,
    },
    AddValidator {
        v: usize,
        power: u64,
    },
    RemoveValidator {
        v: usize,
    },
    RegisterNode {
        p: usize,
        operator: usize,
    },
    RemoveNode {
        p: usize,
    },
}

/// Which contract an operation on contracts names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CPick {
    /// The n-th existing contract (modulo how many exist), or `C-n` if none do.
    Existing(usize),
    /// `C-n`, whether or not it exists.
    Id(usize),
}

/// How the envelope is spoiled, if at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Env {
    Ok,
    /// Signed by a key the signer does not hold.
    WrongKey,
    /// Signed by the signer's key, but over other bytes.
    ForgedSignature,
    NonceAhead,
    NonceBehind,
    WrongChain,
}

#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) g: G,
    /// Signs instead of the operation's natural signer.
    pub(crate) signer: Option<usize>,
    pub(crate) env: Env,
    /// Starts a new block.
    pub(crate) new_block: bool,
}

pub(crate) fn amt() -> impl Strategy<Value = Amt> {
    prop_oneof![
        4 => (1u8..=100).prop_map(Amt::Pct),
        3 => (-1i8..=1).prop_map(Amt::Hi),
        2 => (1u64..=3_000).prop_map(Amt::Abs),
        1 => (-1i8..=1).prop_map(Amt::Lo),
        1 => Just(Amt::Zero),
    ]
}

pub(crate) fn appropriation() -> impl Strategy<Value = Amt> {
    prop_oneof![
        12 => (1u64..=10_000).prop_map(Amt::Abs),
        1 => Just(Amt::Zero),
        1 => Just(Amt::Max),
    ]
}

/// Mostly one of `usual`, sometimes any entity of the universe.
pub(crate) fn pick(usual: &'static [usize]) -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => prop::sample::select(usual),
        1 => 0..UNIVERSE.len(),
    ]
}

pub(crate) fn cpick() -> impl Strategy<Value = CPick> {
    prop_oneof![
        6 => (0..CONTRACTS).prop_map(CPick::Existing),
        1 => (0..CONTRACTS).prop_map(CPick::Id),
    ]
}

/// (year, line), mostly the two the setup funded.
pub(crate) fn year_line() -> impl Strategy<Value = (usize, usize)> + Clone {
    prop_oneof![
        5 => Just((0, 0)),
        3 => Just((1, 1)),
        1 => Just((0, 1)),
        1 => Just((1, 0)),
    ]
}

pub(crate) fn op_strategy(chain_ops: bool) -> BoxedStrategy<G> {
    let yl = year_line();
    let c = 0..CONTRACTS;
    let variant = prop_oneof![
        8 => Just(RegVariant::Normal),
        1 => (0..UNIVERSE.len()).prop_map(RegVariant::Parent),
        1 => Just(RegVariant::NoParent),
        1 => Just(RegVariant::AsTreasury),
        1 => Just(RegVariant::BadKey),
    ];
    let budget = prop_oneof![
        1 => ((0..GHOST), variant).prop_map(|(who, variant)| G::Register { who, variant }),
        1 => ((0..UNIVERSE.len()), prop::bool::weighted(0.6))
            .prop_map(|(who, active)| G::SetStatus { who, active }),
        1 => (
            (0..UNIVERSE.len()),
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2)
        )
            .prop_map(|(who, by_self, bad, same)| G::Rotate {
                who,
                by_self,
                bad,
                same
            }),
        3 => (yl.clone(), pick(&MINISTRY_PICKS), appropriation())
            .prop_map(|((y, l), to, amt)| G::Appropriate { y, l, to, amt }),
        4 => (
            yl.clone(),
            prop_oneof![6 => Just(None), 1 => pick(&MINISTRY_PICKS).prop_map(Some)],
            pick(&DEPARTMENT_PICKS),
            amt(),
        )
            .prop_map(|((y, l), by, to, amt)| G::Allocate { y, l, by, to, amt }),
        2 => (yl.clone(), pick(&HOLDER_PICKS), amt())
            .prop_map(|((y, l), by, amt)| G::Return { y, l, by, amt }),
        5 => (c, yl, pick(&DEPARTMENT_PICKS), pick(&VENDOR_PICKS), amt())
            .prop_map(|(c, (y, l), by, vendor, amt)| G::Award { c, y, l, by, vendor, amt }),
        2 => (cpick(), pick(&DEPARTMENT_PICKS), amt())
            .prop_map(|(c, by, amt)| G::Amend { c, by, amt }),
        4 => (cpick(), pick(&DEPARTMENT_PICKS), amt())
            .prop_map(|(c, by, amt)| G::Pay { c, by, amt }),
        1 => (cpick(), pick(&DEPARTMENT_PICKS)).prop_map(|(c, by)| G::Deliver { c, by }),
    ];
    if !chain_ops {
        return budget.boxed();
    }
    let chain = prop_oneof![
        2 => ((0..VALIDATOR_KEYS), prop_oneof![1 => Just(0u64), 8 => 1u64..=12])
            .prop_map(|(v, power)| G::AddValidator { v, power }),
        2 => (0..VALIDATOR_KEYS).prop_map(|v| G::RemoveValidator { v }),
        1 => ((0..PEERS.len()), (0..UNIVERSE.len()))
            .prop_map(|(p, operator)| G::RegisterNode { p, operator }),
        1 => (0..PEERS.len()).prop_map(|p| G::RemoveNode { p }),
    ];
    prop_oneof![4 => budget, 1 => chain].boxed()
}

pub(crate) fn step_strategy(chain_ops: bool) -> impl Strategy<Value = Step> {
    (
        op_strategy(chain_ops),
        prop_oneof![15 => Just(None), 1 => (0..UNIVERSE.len()).prop_map(Some)],
        prop_oneof![
            36 => Just(Env::Ok),
            1 => Just(Env::WrongKey),
            1 => Just(Env::ForgedSignature),
            1 => Just(Env::NonceAhead),
            1 => Just(Env::NonceBehind),
            1 => Just(Env::WrongChain),
        ],
        prop::bool::weighted(0.4),
    )
        .prop_map(|(g, signer, env, new_block)| Step {
            g,
            signer,
            env,
            new_block,
        })
}
