//! The round state machine of Tendermint, Algorithm 1 of Buchman, Kwon and
//! Milosevic, "The latest gossip on BFT consensus" (arXiv:1807.04938).
//!
//! [`apply`] is a pure function `(state, input) -> (state, outputs)` with one
//! `match` on `(step, input)`; every arm names the line of Algorithm 1 it
//! implements. Inputs are *already-evaluated* conditions such as "a proposal
//! and 2f+1 prevotes for it in this round" ([`RoundInput::ProposalAndPolkaCurrent`]):
//! counting votes, checking who the proposer is and judging validity belong to
//! [`crate::driver`] and [`crate::votes`]. Outputs are requests such as "prevote
//! this" or "schedule that timer"; turning them into signed, persisted,
//! broadcast messages is the driver's job, and the node's.
//!
//! This module does not know about validators, signatures, the safety record,
//! or time.

use serde::{Deserialize, Serialize};

use crate::types::{Height, Round, Step, TimeoutKind, Validity, VoteType};

/// A value together with the round it was seen in: the paper's
/// `(lockedValue, lockedRound)` and `(validValue, validRound)` pairs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueAtRound<V> {
    /// The value.
    pub value: V,
    /// The round it was locked on, or seen valid in.
    pub round: Round,
}

/// Whether this process proposes in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `proposer(h, r) = p` (paper L14).
    Proposer,
    /// Someone else proposes (or this process is not a validator).
    NotProposer,
}

/// The state of one process at one height (paper lines 1–9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundState<V> {
    height: Height,
    round: Round,
    step: Step,
    locked: Option<ValueAtRound<V>>,
    valid: Option<ValueAtRound<V>>,
    decision: Option<V>,
    /// This round: `GetValue` was asked and its answer not yet used (L18).
    awaiting_value: bool,
    /// This round: L34 fired ("for the first time").
    prevote_timeout_scheduled: bool,
    /// This round: L36 fired ("for the first time").
    polka_value_seen: bool,
    /// This round: L47 fired ("for the first time").
    precommit_timeout_scheduled: bool,
}

impl<V: Clone + Eq> RoundState<V> {
    /// A fresh height: no lock, no valid value, not started (L2–L9).
    pub fn new(height: Height) -> Self {
        Self::restore(height, Round(0), Step::Unstarted, None, None)
    }

    /// A state resumed after a restart from a safety record: the round and
    /// step of the last thing signed, and the lock and valid value recorded.
    pub fn restore(
        height: Height,
        round: Round,
        step: Step,
        locked: Option<ValueAtRound<V>>,
        valid: Option<ValueAtRound<V>>,
    ) -> Self {
        RoundState {
            height,
            round,
            step,
            locked,
            valid,
            decision: None,
            awaiting_value: false,
            prevote_timeout_scheduled: false,
            polka_value_seen: false,
            precommit_timeout_scheduled: false,
        }
    }

    /// Current height (`h_p`).
    pub fn height(&self) -> Height {
        self.height
    }
    /// Current round (`round_p`).
    pub fn round(&self) -> Round {
        self.round
    }
    /// Current step (`step_p`).
    pub fn step(&self) -> Step {
        self.step
    }
    /// `(lockedValue_p, lockedRound_p)`, or `None` for `(nil, -1)`.
    pub fn locked(&self) -> Option<&ValueAtRound<V>> {
        self.locked.as_ref()
    }
    /// `(validValue_p, validRound_p)`, or `None` for `(nil, -1)`.
    pub fn valid(&self) -> Option<&ValueAtRound<V>> {
        self.valid.as_ref()
    }
    /// `decision_p[h_p]`.
    pub fn decision(&self) -> Option<&V> {
        self.decision.as_ref()
    }
    /// True once L34 fired in this round.
    pub fn prevote_timeout_scheduled(&self) -> bool {
        self.prevote_timeout_scheduled
    }
    /// True once L36 fired in this round.
    pub fn polka_value_seen(&self) -> bool {
        self.polka_value_seen
    }
    /// True once L47 fired in this round.
    pub fn precommit_timeout_scheduled(&self) -> bool {
        self.precommit_timeout_scheduled
    }
}

/// A condition that the driver found true, fed to [`apply`].
/// Proposals named here come from `proposer(h_p, round)`; the driver checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundInput<V> {
    /// `StartRound(round)` (L11), from L10, L54, L56 or L67.
    NewRound {
        /// The round to start.
        round: Round,
        /// Whether we propose in it.
        role: Role,
    },
    /// The application's answer to `getValue()` (L18).
    ProposeValue {
        /// The round the value was asked for.
        round: Round,
        /// The value to propose.
        value: V,
    },
    /// L22: `⟨PROPOSAL, h_p, round_p, v, −1⟩`.
    Proposal {
        /// `v`.
        value: V,
        /// `valid(v)`.
        validity: Validity,
    },
    /// L28: `⟨PROPOSAL, h_p, round_p, v, vr⟩` and 2f+1 `⟨PREVOTE, h_p, vr, id(v)⟩`, `0 ≤ vr < round_p`.
    ProposalAndPolkaPrevious {
        /// `v`.
        value: V,
        /// `valid(v)`.
        validity: Validity,
        /// `vr`.
        pol_round: Round,
    },
    /// L34: 2f+1 `⟨PREVOTE, h_p, round_p, ∗⟩`.
    PolkaAny,
    /// L36: the proposal of `round_p`, valid, and 2f+1 `⟨PREVOTE, h_p, round_p, id(v)⟩`.
    ProposalAndPolkaCurrent {
        /// `v`.
        value: V,
    },
    /// L44: 2f+1 `⟨PREVOTE, h_p, round_p, nil⟩`.
    PolkaNil,
    /// L47: 2f+1 `⟨PRECOMMIT, h_p, round_p, ∗⟩`.
    PrecommitAny,
    /// L49: the proposal of some round `r`, valid, and 2f+1 `⟨PRECOMMIT, h_p, r, id(v)⟩`.
    ProposalAndPrecommitValue {
        /// `r`.
        round: Round,
        /// `v`.
        value: V,
    },
    /// L55: f+1 messages of `round > round_p`.
    SkipRound(Round),
    /// L57: `OnTimeoutPropose(h_p, round)`.
    TimeoutPropose(Round),
    /// L61: `OnTimeoutPrevote(h_p, round)`.
    TimeoutPrevote(Round),
    /// L65: `OnTimeoutPrecommit(h_p, round)`.
    TimeoutPrecommit(Round),
}

/// What [`apply`] asks the driver to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundOutput<V> {
    /// Start `round` (L56, L67): the driver works out the role and feeds
    /// [`RoundInput::NewRound`] back.
    NewRound(Round),
    /// Ask the application for a fresh value (L18, `getValue()`).
    GetValue(Round),
    /// Propose (L19).
    Proposal {
        /// The round.
        round: Round,
        /// The value.
        value: V,
        /// `validRound_p`, `None` for −1.
        pol_round: Option<Round>,
    },
    /// Cast a vote.
    Vote {
        /// Prevote or precommit.
        vote_type: VoteType,
        /// The round.
        round: Round,
        /// The value, `None` for nil.
        value: Option<V>,
        /// For a prevote for a value other than the locked one: the round of
        /// the polka that justifies unlocking (L29, `lockedRound_p ≤ vr`).
        /// The safety record checks it.
        polka_round: Option<Round>,
    },
    /// Schedule a timer.
    ScheduleTimeout(TimeoutKind, Round),
    /// `decision_p[h_p] = v` (L51).
    Decide {
        /// The round of the deciding precommits.
        round: Round,
        /// The decided value.
        value: V,
    },
}

fn vote<V>(vote_type: VoteType, round: Round, value: Option<V>) -> RoundOutput<V> {
    RoundOutput::Vote {
        vote_type,
        round,
        value,
        polka_round: None,
    }
}

/// One step of Algorithm 1. Inputs that do not apply in the current step (or
/// that fired already this round) leave the state unchanged and output nothing.
pub fn apply<V: Clone + Eq>(
    state: RoundState<V>,
    input: RoundInput<V>,
) -> (RoundState<V>, Vec<RoundOutput<V>>) {
    use RoundInput as I;
    use Step as S;
    let mut s = state;
    let mut out = Vec::new();
    let r = s.round;
    match (s.step, input) {
        // Nothing changes a decided height but the driver starting the next one.
        (S::Commit, _) => {}

        // L11: StartRound(round). From Unstarted (L10, L54) any round; later only forward.
        (step, I::NewRound { round, role }) if step == S::Unstarted || round > r => {
            s.round = round;
            s.step = S::Propose;
            s.awaiting_value = false;
            s.prevote_timeout_scheduled = false;
            s.polka_value_seen = false;
            s.precommit_timeout_scheduled = false;
            if role == Role::Proposer {
                match &s.valid {
                    // L15–L16, L19: re-propose the valid value with its round.
                    Some(valid) => out.push(RoundOutput::Proposal {
                        round,
                        value: valid.value.clone(),
                        pol_round: Some(valid.round),
                    }),
                    // L18: getValue(); the answer comes back as ProposeValue.
                    None => {
                        s.awaiting_value = true;
                        out.push(RoundOutput::GetValue(round));
                    }
                }
            }
            // L21. Also scheduled for the proposer: if the application never
            // answers getValue(), the round must still end.
            out.push(RoundOutput::ScheduleTimeout(TimeoutKind::Propose, round));
            out.push(RoundOutput::ScheduleTimeout(
                TimeoutKind::Rebroadcast,
                round,
            ));
        }
        (_, I::NewRound { .. }) => {}

        // L18–L19: the application produced the value; propose it with vr = −1.
        (S::Propose, I::ProposeValue { round, value }) if round == r && s.awaiting_value => {
            s.awaiting_value = false;
            out.push(RoundOutput::Proposal {
                round,
                value,
                pol_round: None,
            });
        }
        (_, I::ProposeValue { .. }) => {}

        // L22–L27: fresh proposal.
        (S::Propose, I::Proposal { value, validity }) => {
            let unlocked = match &s.locked {
                None => true,
                Some(locked) => locked.value == value,
            };
            // L23; a value judged untimely here is not prevoted fresh.
            let prevote = (validity.is_timely_valid() && unlocked).then_some(value);
            out.push(vote(VoteType::Prevote, r, prevote)); // L24 / L26
            s.step = S::Prevote; // L27
        }

        // L28–L33: re-proposal of a value with a polka in round vr < round_p.
        (
            S::Propose,
            I::ProposalAndPolkaPrevious {
                value,
                validity,
                pol_round,
            },
        ) if pol_round < r => {
            // L29: lockedRound_p ≤ vr ∨ lockedValue_p = v
            let (unlocked, polka_round) = match &s.locked {
                None => (true, None),
                Some(locked) if locked.value == value => (true, None),
                Some(locked) => (locked.round <= pol_round, Some(pol_round)),
            };
            if validity.is_valid() && unlocked {
                // L30
                out.push(RoundOutput::Vote {
                    vote_type: VoteType::Prevote,
                    round: r,
                    value: Some(value),
                    polka_round,
                });
            } else {
                out.push(vote(VoteType::Prevote, r, None)); // L32
            }
            s.step = S::Prevote; // L33
        }

        // L34–L35: 2f+1 prevotes of any kind, first time: start the prevote timer.
        (S::Prevote, I::PolkaAny) if !s.prevote_timeout_scheduled => {
            s.prevote_timeout_scheduled = true;
            out.push(RoundOutput::ScheduleTimeout(TimeoutKind::Prevote, r));
        }

        // L36–L43 with step = prevote: lock, precommit, remember as valid.
        (S::Prevote, I::ProposalAndPolkaCurrent { value }) if !s.polka_value_seen => {
            s.polka_value_seen = true;
            s.locked = Some(ValueAtRound {
                value: value.clone(),
                round: r,
            }); // L38–L39
            s.valid = Some(ValueAtRound {
                value: value.clone(),
                round: r,
            }); // L42–L43
            out.push(vote(VoteType::Precommit, r, Some(value))); // L40
            s.step = S::Precommit; // L41
        }
        // L36, L42–L43 with step = precommit: only remember the valid value.
        (S::Precommit, I::ProposalAndPolkaCurrent { value }) if !s.polka_value_seen => {
            s.polka_value_seen = true;
            s.valid = Some(ValueAtRound { value, round: r });
        }

        // L44–L46: polka for nil.
        (S::Prevote, I::PolkaNil) => {
            out.push(vote(VoteType::Precommit, r, None)); // L45
            s.step = S::Precommit; // L46
        }

        // L47–L48: 2f+1 precommits of any kind, first time: start the precommit timer.
        (S::Unstarted | S::Propose | S::Prevote | S::Precommit, I::PrecommitAny)
            if !s.precommit_timeout_scheduled =>
        {
            s.precommit_timeout_scheduled = true;
            out.push(RoundOutput::ScheduleTimeout(TimeoutKind::Precommit, r));
        }

        // L49–L54: decide, in any round and any step. The driver starts the next
        // height (L52–L54) once the node has committed the block.
        (_, I::ProposalAndPrecommitValue { round, value }) => {
            s.decision = Some(value.clone());
            s.step = S::Commit;
            out.push(RoundOutput::Decide { round, value });
        }

        // L55–L56: f+1 messages from a later round.
        (_, I::SkipRound(round)) if round > r => out.push(RoundOutput::NewRound(round)),

        // L57–L60
        (S::Propose, I::TimeoutPropose(round)) if round == r => {
            out.push(vote(VoteType::Prevote, r, None));
            s.step = S::Prevote;
        }
        // L61–L64
        (S::Prevote, I::TimeoutPrevote(round)) if round == r => {
            out.push(vote(VoteType::Precommit, r, None));
            s.step = S::Precommit;
        }
        // L65–L67: any step of this round.
        (S::Propose | S::Prevote | S::Precommit, I::TimeoutPrecommit(round)) if round == r => {
            out.push(RoundOutput::NewRound(r.next()));
        }

        // Everything else: the rule's "while" condition does not hold.
        _ => {}
    }
    (s, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    type St = RoundState<u8>;

    fn started(round: u32, role: Role) -> (St, Vec<RoundOutput<u8>>) {
        apply(
            St::new(Height(1)),
            RoundInput::NewRound {
                round: Round(round),
                role,
            },
        )
    }

    fn prevote(round: u32, value: Option<u8>, polka_round: Option<u32>) -> RoundOutput<u8> {
        RoundOutput::Vote {
            vote_type: VoteType::Prevote,
            round: Round(round),
            value,
            polka_round: polka_round.map(Round),
        }
    }

    fn precommit(round: u32, value: Option<u8>) -> RoundOutput<u8> {
        RoundOutput::Vote {
            vote_type: VoteType::Precommit,
            round: Round(round),
            value,
            polka_round: None,
        }
    }

    #[test]
    fn start_round_as_proposer_asks_for_a_value_then_proposes_it() {
        let (s, out) = started(0, Role::Proposer);
        assert_eq!(s.step(), Step::Propose);
        assert_eq!(out[0], RoundOutput::GetValue(Round(0)));
        let (s, out) = apply(
            s,
            RoundInput::ProposeValue {
                round: Round(0),
                value: 7,
            },
        );
        assert_eq!(
            out,
            vec![RoundOutput::Proposal {
                round: Round(0),
                value: 7,
                pol_round: None
            }]
        );
        // A second answer is ignored: one proposal per round.
        let (_, out) = apply(
            s,
            RoundInput::ProposeValue {
                round: Round(0),
                value: 8,
            },
        );
        assert!(out.is_empty());
    }

    #[test]
    fn proposer_with_valid_value_reproposes_it() {
        let s = St::restore(
            Height(1),
            Round(2),
            Step::Precommit,
            None,
            Some(ValueAtRound {
                value: 9,
                round: Round(2),
            }),
        );
        let (_, out) = apply(
            s,
            RoundInput::NewRound {
                round: Round(3),
                role: Role::Proposer,
            },
        );
        assert_eq!(
            out[0],
            RoundOutput::Proposal {
                round: Round(3),
                value: 9,
                pol_round: Some(Round(2))
            }
        );
    }

    #[test]
    fn l22_prevotes_valid_value_and_nil_for_invalid() {
        let (s, _) = started(0, Role::NotProposer);
        let (s1, out) = apply(
            s.clone(),
            RoundInput::Proposal {
                value: 5,
                validity: Validity::Valid,
            },
        );
        assert_eq!(out, vec![prevote(0, Some(5), None)]);
        assert_eq!(s1.step(), Step::Prevote);
        let (_, out) = apply(
            s,
            RoundInput::Proposal {
                value: 5,
                validity: Validity::Invalid,
            },
        );
        assert_eq!(out, vec![prevote(0, None, None)]);
    }

    #[test]
    fn l22_prevotes_nil_for_an_untimely_value() {
        let (s, _) = started(0, Role::NotProposer);
        let (s1, out) = apply(
            s,
            RoundInput::Proposal {
                value: 5,
                validity: Validity::Untimely,
            },
        );
        assert_eq!(out, vec![prevote(0, None, None)]);
        assert_eq!(s1.step(), Step::Prevote);
    }

    #[test]
    fn locked_process_prevotes_nil_for_other_fresh_value() {
        let locked = Some(ValueAtRound {
            value: 1,
            round: Round(0),
        });
        let s = St::restore(Height(1), Round(0), Step::Precommit, locked, None);
        let (s, _) = apply(
            s,
            RoundInput::NewRound {
                round: Round(1),
                role: Role::NotProposer,
            },
        );
        // L23: lockedValue ≠ v and lockedRound ≠ −1 → nil.
        let (_, out) = apply(
            s.clone(),
            RoundInput::Proposal {
                value: 2,
                validity: Validity::Valid,
            },
        );
        assert_eq!(out, vec![prevote(1, None, None)]);
        // Its own locked value it prevotes.
        let (_, out) = apply(
            s,
            RoundInput::Proposal {
                value: 1,
                validity: Validity::Valid,
            },
        );
        assert_eq!(out, vec![prevote(1, Some(1), None)]);
    }

    #[test]
    fn l28_unlocks_only_on_a_polka_not_older_than_the_lock() {
        let locked = Some(ValueAtRound {
            value: 1,
            round: Round(2),
        });
        let s = St::restore(Height(1), Round(3), Step::Precommit, locked, None);
        let (s, _) = apply(
            s,
            RoundInput::NewRound {
                round: Round(4),
                role: Role::NotProposer,
            },
        );
        let reproposal = |vr: u32| RoundInput::ProposalAndPolkaPrevious {
            value: 2,
            validity: Validity::Valid,
            pol_round: Round(vr),
        };
        // vr = 1 < lockedRound = 2: keep the lock, prevote nil.
        let (_, out) = apply(s.clone(), reproposal(1));
        assert_eq!(out, vec![prevote(4, None, None)]);
        // vr = 2 = lockedRound: the polka is at least as recent: prevote v.
        let (_, out) = apply(s.clone(), reproposal(2));
        assert_eq!(out, vec![prevote(4, Some(2), Some(2))]);
        // vr = 3 > lockedRound.
        let (_, out) = apply(s.clone(), reproposal(3));
        assert_eq!(out, vec![prevote(4, Some(2), Some(3))]);
        // vr must be below the current round; otherwise ignored.
        let (s2, out) = apply(s, reproposal(4));
        assert!(out.is_empty());
        assert_eq!(s2.step(), Step::Propose);
    }

    #[test]
    fn l36_locks_and_precommits_once() {
        let (s, _) = started(0, Role::NotProposer);
        let (s, _) = apply(
            s,
            RoundInput::Proposal {
                value: 4,
                validity: Validity::Valid,
            },
        );
        let (s, out) = apply(s, RoundInput::ProposalAndPolkaCurrent { value: 4 });
        assert_eq!(out, vec![precommit(0, Some(4))]);
        assert_eq!(
            s.locked(),
            Some(&ValueAtRound {
                value: 4,
                round: Round(0)
            })
        );
        assert_eq!(s.valid(), s.locked());
        assert_eq!(s.step(), Step::Precommit);
        let (_, out) = apply(s, RoundInput::ProposalAndPolkaCurrent { value: 4 });
        assert!(out.is_empty());
    }

    #[test]
    fn l36_in_precommit_step_updates_valid_but_not_lock() {
        let (s, _) = started(0, Role::NotProposer);
        let (s, _) = apply(s, RoundInput::TimeoutPropose(Round(0)));
        let (s, out) = apply(s, RoundInput::TimeoutPrevote(Round(0)));
        assert_eq!(out, vec![precommit(0, None)]);
        let (s, out) = apply(s, RoundInput::ProposalAndPolkaCurrent { value: 3 });
        assert!(out.is_empty());
        assert_eq!(s.locked(), None);
        assert_eq!(
            s.valid(),
            Some(&ValueAtRound {
                value: 3,
                round: Round(0)
            })
        );
    }

    #[test]
    fn timeouts_only_fire_in_their_round_and_step() {
        let (s, _) = started(1, Role::NotProposer);
        let (s, out) = apply(s, RoundInput::TimeoutPropose(Round(0)));
        assert!(out.is_empty(), "stale round");
        let (s, out) = apply(s, RoundInput::TimeoutPrevote(Round(1)));
        assert!(out.is_empty(), "wrong step");
        let (s, out) = apply(s, RoundInput::TimeoutPropose(Round(1)));
        assert_eq!(out, vec![prevote(1, None, None)]);
        let (s, out) = apply(s, RoundInput::TimeoutPrecommit(Round(1)));
        assert_eq!(out, vec![RoundOutput::NewRound(Round(2))]);
        let (_, out) = apply(s, RoundInput::PrecommitAny);
        assert_eq!(
            out,
            vec![RoundOutput::ScheduleTimeout(
                TimeoutKind::Precommit,
                Round(1)
            )]
        );
    }

    #[test]
    fn decide_then_ignore_everything() {
        let (s, _) = started(0, Role::NotProposer);
        let (s, out) = apply(
            s,
            RoundInput::ProposalAndPrecommitValue {
                round: Round(3),
                value: 6,
            },
        );
        assert_eq!(
            out,
            vec![RoundOutput::Decide {
                round: Round(3),
                value: 6
            }]
        );
        assert_eq!(s.step(), Step::Commit);
        assert_eq!(s.decision(), Some(&6));
        let (_, out) = apply(s, RoundInput::SkipRound(Round(9)));
        assert!(out.is_empty());
    }

    #[test]
    fn skip_round_only_forward() {
        let (s, _) = started(2, Role::NotProposer);
        let (s, out) = apply(s, RoundInput::SkipRound(Round(2)));
        assert!(out.is_empty());
        let (_, out) = apply(s, RoundInput::SkipRound(Round(5)));
        assert_eq!(out, vec![RoundOutput::NewRound(Round(5))]);
    }
}
