//! Tests of `Consensus` at its boundary: inputs in, effects out, with one
//! helper to build the cluster and one to pick effects. The restart tests
//! take the safety record from the effects, as the node would persist it.

use consensus::{
    Config, Consensus, Effect, Height, Input, Proposal, Round, SafetyRecord, Signed, StartError,
    Step, Timeout, TimeoutKind, Validator, ValidatorSet, Validity, Vote, VoteType,
};

type C = Consensus<u64, u8, ()>;
type Fx = Vec<Effect<u64, u8, ()>>;

const H: Height = Height(1);

fn set() -> ValidatorSet<u8> {
    ValidatorSet::new((0..4).map(|a| Validator {
        address: a,
        power: 1,
    }))
    .unwrap()
}

/// A validator that is not the proposer of (H, 0) or (H, 1).
fn follower() -> u8 {
    let s = set();
    (0..4)
        .find(|a| s.proposer(H, Round(0)) != a && s.proposer(H, Round(1)) != a)
        .unwrap()
}

fn start(me: u8, record: Option<SafetyRecord<u64, u8, ()>>) -> (C, Fx) {
    C::new(Config::default(), me, H, set(), record).expect("starts")
}

fn proposal(round: u32, value: u64, pol_round: Option<u32>) -> Input<u64, u8, ()> {
    Input::Proposal {
        proposal: Signed {
            message: Proposal {
                height: H,
                round: Round(round),
                value,
                pol_round: pol_round.map(Round),
                proposer: *set().proposer(H, Round(round)),
            },
            signature: (),
        },
        validity: Validity::Valid,
    }
}

fn vote(t: VoteType, round: u32, value: Option<u64>, who: u8) -> Input<u64, u8, ()> {
    Input::Vote(Signed {
        message: Vote {
            vote_type: t,
            height: H,
            round: Round(round),
            value,
            validator: who,
        },
        signature: (),
    })
}

fn signed_votes(fx: &Fx) -> Vec<Vote<u64, u8>> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SignVote(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn last_record(fx: &Fx) -> Option<SafetyRecord<u64, u8, ()>> {
    fx.iter().rev().find_map(|e| match e {
        Effect::PersistSafetyRecord(r) => Some(r.clone()),
        _ => None,
    })
}

/// Every signature is preceded by a persist of a record that contains it.
fn assert_persist_before_sign(fx: &Fx) {
    let mut persisted: Option<SafetyRecord<u64, u8, ()>> = None;
    for e in fx {
        match e {
            Effect::PersistSafetyRecord(r) => persisted = Some(r.clone()),
            Effect::SignVote(v) => {
                let r = persisted.as_ref().expect("persist before sign");
                assert!(r.signed().contains(&consensus::Signable::Vote(v.clone())));
            }
            Effect::SignProposal(p) => {
                let r = persisted.as_ref().expect("persist before sign");
                assert!(r
                    .signed()
                    .contains(&consensus::Signable::Proposal(p.clone())));
            }
            _ => {}
        }
    }
}

/// Drives `me` to prevote and precommit `value` in round 0; returns the
/// effects of the whole run.
fn lock_on(c: &mut C, me: u8, value: u64) -> Fx {
    let mut fx = c.handle(proposal(0, value, None));
    for who in (0..4).filter(|w| *w != me).take(3) {
        fx.extend(c.handle(vote(VoteType::Prevote, 0, Some(value), who)));
    }
    fx
}

#[test]
fn happy_path_prevotes_precommits_and_decides() {
    let me = follower();
    let (mut c, fx) = start(me, None);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::ScheduleTimeout {
            timeout: Timeout {
                kind: TimeoutKind::Propose,
                ..
            },
            duration_ms: 3_000
        }
    )));
    let fx = lock_on(&mut c, me, 42);
    assert_persist_before_sign(&fx);
    let votes = signed_votes(&fx);
    assert_eq!(votes.len(), 2);
    assert_eq!(
        (votes[0].vote_type, votes[0].value),
        (VoteType::Prevote, Some(42))
    );
    assert_eq!(
        (votes[1].vote_type, votes[1].value),
        (VoteType::Precommit, Some(42))
    );
    assert_eq!(c.state().locked().map(|l| l.value), Some(42));
    let mut fx = Vec::new();
    for who in (0..4).filter(|w| *w != me).take(3) {
        fx.extend(c.handle(vote(VoteType::Precommit, 0, Some(42), who)));
    }
    let decided: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Decide(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].value, 42);
    assert_eq!(decided[0].precommits.len(), 3);
    assert_eq!(c.step(), Step::Commit);
    // The node commits, then starts the next height.
    let fx = c.handle(Input::NewHeight {
        height: Height(2),
        validators: set(),
    });
    assert_eq!(c.height(), Height(2));
    assert!(!fx.is_empty());
}

#[test]
fn restart_resends_the_same_votes_and_signs_nothing_conflicting() {
    let me = follower();
    let (mut c, _) = start(me, None);
    let fx = c.handle(proposal(0, 42, None));
    let record = last_record(&fx).expect("prevote persisted");
    // Crash. Restart from the record: the same prevote is signed again, byte
    // for byte, and the machine resumes in the prevote step of round 0.
    let (mut c, fx) = start(me, Some(record));
    assert_persist_before_sign(&fx);
    let votes = signed_votes(&fx);
    assert_eq!(votes.len(), 1);
    assert_eq!(
        (votes[0].vote_type, votes[0].round, votes[0].value),
        (VoteType::Prevote, Round(0), Some(42))
    );
    assert_eq!((c.round(), c.step()), (Round(0), Step::Prevote));
    // Another proposal for round 0 (an equivocating proposer) changes nothing.
    let fx = c.handle(proposal(0, 43, None));
    assert!(signed_votes(&fx).is_empty());
    // Neither does the propose timeout of round 0.
    let fx = c.handle(Input::Timeout(Timeout {
        kind: TimeoutKind::Propose,
        height: H,
        round: Round(0),
    }));
    assert!(signed_votes(&fx).is_empty());
}

#[test]
fn restart_keeps_the_lock_across_rounds() {
    let me = follower();
    let (mut c, _) = start(me, None);
    let fx = lock_on(&mut c, me, 42);
    let record = last_record(&fx).expect("precommit persisted");
    assert_eq!(
        record.locked().map(|l| (l.value, l.round)),
        Some((42, Round(0)))
    );
    // Every validator restarts; ours resumes locked on 42.
    let (mut c, fx) = start(me, Some(record));
    assert_eq!(c.state().locked().map(|l| l.value), Some(42));
    assert!(signed_votes(&fx)
        .iter()
        .any(|v| v.vote_type == VoteType::Precommit && v.value == Some(42)));
    // Round 0 ends without a decision; round 1 brings a fresh value 7.
    let mut fx = Vec::new();
    for who in 0..4 {
        fx.extend(c.handle(vote(VoteType::Precommit, 0, None, who)));
    }
    fx.extend(c.handle(Input::Timeout(Timeout {
        kind: TimeoutKind::Precommit,
        height: H,
        round: Round(0),
    })));
    assert_eq!(c.round(), Round(1));
    let fx = c.handle(proposal(1, 7, None));
    let votes = signed_votes(&fx);
    assert_eq!(votes.len(), 1);
    assert_eq!(
        (votes[0].round, votes[0].value),
        (Round(1), None),
        "a locked validator prevotes nil for a fresh value, even after a restart"
    );
}

#[test]
fn a_polka_after_the_lock_unlocks() {
    let me = follower();
    let (mut c, _) = start(me, None);
    lock_on(&mut c, me, 42);
    for who in 0..4 {
        c.handle(vote(VoteType::Precommit, 0, None, who));
    }
    c.handle(Input::Timeout(Timeout {
        kind: TimeoutKind::Precommit,
        height: H,
        round: Round(0),
    }));
    // Round 1: 7 gets a polka (without us) but no decision; round 2
    // re-proposes 7 with proof-of-lock round 1 ≥ our lock round 0.
    for who in (0..4).filter(|w| *w != me) {
        c.handle(vote(VoteType::Prevote, 1, Some(7), who));
    }
    c.handle(Input::Timeout(Timeout {
        kind: TimeoutKind::Propose,
        height: H,
        round: Round(1),
    }));
    for who in 0..4 {
        c.handle(vote(VoteType::Precommit, 1, None, who));
    }
    c.handle(Input::Timeout(Timeout {
        kind: TimeoutKind::Precommit,
        height: H,
        round: Round(1),
    }));
    assert_eq!(c.round(), Round(2));
    let fx = c.handle(proposal(2, 7, Some(1)));
    assert_persist_before_sign(&fx);
    let votes = signed_votes(&fx);
    assert_eq!((votes[0].round, votes[0].value), (Round(2), Some(7)));
}

#[test]
fn records_that_cannot_be_trusted_are_refused_at_start() {
    let me = follower();
    let (mut c, _) = start(me, None);
    let record = last_record(&c.handle(proposal(0, 42, None))).unwrap();
    // The record is ahead of the node's committed state: the node lost blocks.
    let err = C::new(Config::default(), me, Height(0), set(), Some(record)).unwrap_err();
    assert_eq!(
        err,
        StartError::RecordAhead {
            record_height: H,
            height: Height(0)
        }
    );
    // A record for an older height is simply superseded.
    let record = c.record().clone();
    let (c2, _) = C::new(Config::default(), me, Height(5), set(), Some(record)).unwrap();
    assert_eq!(
        (c2.height(), c2.round(), c2.step()),
        (Height(5), Round(0), Step::Propose)
    );
}

#[test]
fn a_non_member_follows_but_never_signs() {
    let (mut c, fx) = C::new(Config::default(), 99, H, set(), None).unwrap();
    let mut all = fx;
    all.extend(c.handle(proposal(0, 42, None)));
    for who in 0..3 {
        all.extend(c.handle(vote(VoteType::Prevote, 0, Some(42), who)));
        all.extend(c.handle(vote(VoteType::Precommit, 0, Some(42), who)));
    }
    assert!(signed_votes(&all).is_empty());
    assert!(!all
        .iter()
        .any(|e| matches!(e, Effect::PersistSafetyRecord(_))));
    assert!(
        all.iter().any(|e| matches!(e, Effect::Decide(_))),
        "it still sees the decision"
    );
}

/// A validator held back below a height (one restored from a backup) signs
/// nothing there, persists nothing, still follows the decision, and signs
/// again from that height on.
#[test]
fn a_validator_held_back_signs_nothing_below_the_height_then_signs_again() {
    let me = follower();
    let (mut c, _) = start(me, None);
    c.sign_from(Height(u64::MAX));
    c.sign_from(Height(2));
    assert_eq!(c.signs_from(), Height(2));
    let mut all = c.handle(proposal(0, 42, None));
    for who in (0..4).filter(|w| *w != me) {
        all.extend(c.handle(vote(VoteType::Prevote, 0, Some(42), who)));
        all.extend(c.handle(vote(VoteType::Precommit, 0, Some(42), who)));
    }
    assert!(signed_votes(&all).is_empty(), "{all:?}");
    assert!(!all
        .iter()
        .any(|e| matches!(e, Effect::PersistSafetyRecord(_) | Effect::SignProposal(_))));
    assert!(all.iter().any(|e| matches!(e, Effect::Decide(_))));
    let fx = c.handle(Input::NewHeight {
        height: Height(2),
        validators: set(),
    });
    let mut all = fx;
    let proposer = *set().proposer(Height(2), Round(0));
    if proposer != me {
        all.extend(c.handle(Input::Proposal {
            proposal: Signed {
                message: Proposal {
                    height: Height(2),
                    round: Round(0),
                    value: 7,
                    pol_round: None,
                    proposer,
                },
                signature: (),
            },
            validity: Validity::Valid,
        }));
    } else {
        all.extend(c.handle(Input::ProposeValue {
            height: Height(2),
            round: Round(0),
            value: 7,
        }));
    }
    assert_persist_before_sign(&all);
    let signed_something = all
        .iter()
        .any(|e| matches!(e, Effect::SignVote(_) | Effect::SignProposal(_)));
    assert!(
        signed_something,
        "it signs at the height it was held to: {all:?}"
    );
}

#[test]
fn equivocation_yields_evidence_once() {
    let (mut c, _) = start(follower(), None);
    let mut fx = c.handle(vote(VoteType::Prevote, 0, Some(1), 2));
    fx.extend(c.handle(vote(VoteType::Prevote, 0, None, 2)));
    fx.extend(c.handle(vote(VoteType::Prevote, 0, Some(3), 2)));
    let evidence: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Evidence(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(evidence.len(), 1);
    assert_eq!(*evidence[0].validator(), 2);
    assert_eq!(evidence[0].round(), Round(0));
}

#[test]
fn timeouts_grow_with_the_round() {
    let me = follower();
    let (mut c, _) = start(me, None);
    let mut fx = Vec::new();
    for who in 0..4 {
        fx.extend(c.handle(vote(VoteType::Precommit, 3, None, who)));
    }
    // f+1 messages of round 3 pull us there (L55); 2f+1 precommits start the timer.
    assert_eq!(c.round(), Round(3));
    let durations: Vec<(TimeoutKind, u64)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleTimeout {
                timeout,
                duration_ms,
            } => Some((timeout.kind, *duration_ms)),
            _ => None,
        })
        .collect();
    assert!(
        durations.contains(&(TimeoutKind::Propose, 3_000 + 3 * 500)),
        "{durations:?}"
    );
    assert!(
        durations.contains(&(TimeoutKind::Precommit, 1_000 + 3 * 500)),
        "{durations:?}"
    );
}

fn untimely(round: u32, value: u64) -> Input<u64, u8, ()> {
    match proposal(round, value, None) {
        Input::Proposal { proposal, .. } => Input::Proposal {
            proposal,
            validity: Validity::Untimely,
        },
        _ => unreachable!(),
    }
}

#[test]
fn an_untimely_value_is_prevoted_nil_but_decided_on_a_quorum_of_precommits() {
    // This validator's clock is off: it finds the proposal untimely and
    // prevotes nil, but the three others precommit it, and it must decide
    // it rather than wait for block sync.
    let me = follower();
    let (mut c, _) = start(me, None);
    let fx = c.handle(untimely(0, 7));
    let prevotes = signed_votes(&fx);
    assert_eq!(prevotes.len(), 1);
    assert_eq!(prevotes[0].value, None, "an untimely value is not prevoted");
    let mut fx = Fx::new();
    for who in (0..4).filter(|w| *w != me) {
        fx.extend(c.handle(vote(VoteType::Precommit, 0, Some(7), who)));
    }
    let decided: Vec<u64> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Decide(d) => Some(d.value),
            _ => None,
        })
        .collect();
    assert_eq!(decided, vec![7]);
}

fn decided(fx: &Fx) -> Vec<u64> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Decide(d) => Some(d.value),
            _ => None,
        })
        .collect()
}

#[test]
fn a_twin_proposal_the_others_decide_is_decided_here_too() {
    // The round's proposer equivocates: this validator receives 7 first and
    // prevotes it, then the twin 8, which the three others precommit. It
    // decides 8 on their quorum, without waiting for block sync.
    let me = follower();
    let (mut c, _) = start(me, None);
    let fx = c.handle(proposal(0, 7, None));
    let prevotes = signed_votes(&fx);
    assert_eq!(prevotes.len(), 1);
    assert_eq!(prevotes[0].value, Some(7), "the first proposal counts");
    let fx = c.handle(proposal(0, 8, None));
    assert!(
        signed_votes(&fx).is_empty(),
        "a twin is not voted on: {fx:?}"
    );
    let mut fx = Fx::new();
    for who in (0..4).filter(|w| *w != me) {
        fx.extend(c.handle(vote(VoteType::Precommit, 0, Some(8), who)));
    }
    assert_eq!(decided(&fx), vec![8]);
    let decision = fx.iter().find_map(|e| match e {
        Effect::Decide(d) => Some(d),
        _ => None,
    });
    assert_eq!(decision.unwrap().proposal.message.value, 8);
}

#[test]
fn a_twin_is_decided_on_a_quorum_that_came_before_it() {
    // The equivocating proposer precommits nil to this validator, then its
    // twin 8, which the two others precommit too; all before the twin
    // itself arrives. Its precommit for 8 must still count.
    let me = follower();
    let proposer = *set().proposer(H, Round(0));
    let (mut c, _) = start(me, None);
    c.handle(proposal(0, 7, None));
    let mut fx = c.handle(vote(VoteType::Precommit, 0, None, proposer));
    fx.extend(c.handle(vote(VoteType::Precommit, 0, Some(8), proposer)));
    for who in (0..4).filter(|w| *w != me && *w != proposer) {
        fx.extend(c.handle(vote(VoteType::Precommit, 0, Some(8), who)));
    }
    assert!(decided(&fx).is_empty(), "8 is not proposed yet: {fx:?}");
    let fx = c.handle(proposal(0, 8, None));
    assert_eq!(decided(&fx), vec![8]);
}

#[test]
fn only_one_twin_per_round_is_kept() {
    // A third different proposal for the round is dropped: a quorum for it
    // decides nothing here (block sync catches this validator up instead).
    let me = follower();
    let (mut c, _) = start(me, None);
    c.handle(proposal(0, 7, None));
    c.handle(proposal(0, 8, None));
    c.handle(proposal(0, 9, None));
    let mut fx = Fx::new();
    for who in (0..4).filter(|w| *w != me) {
        fx.extend(c.handle(vote(VoteType::Precommit, 0, Some(9), who)));
    }
    assert!(decided(&fx).is_empty(), "{fx:?}");
}

#[test]
fn an_untimely_value_with_a_polka_is_locked_on() {
    // L36: 2f+1 prevotes for the value make this validator precommit it.
    let me = follower();
    let (mut c, _) = start(me, None);
    c.handle(untimely(0, 7));
    let mut fx = Fx::new();
    for who in (0..4).filter(|w| *w != me) {
        fx.extend(c.handle(vote(VoteType::Prevote, 0, Some(7), who)));
    }
    let precommits: Vec<Option<u64>> = signed_votes(&fx)
        .into_iter()
        .filter(|v| v.vote_type == VoteType::Precommit)
        .map(|v| v.value)
        .collect();
    assert_eq!(precommits, vec![Some(7)]);
}

#[test]
fn a_conflicting_vote_for_the_height_just_decided_is_evidence() {
    // Validator `b` precommits 7, the height is decided and the next one
    // starts; then b's conflicting precommit for nil arrives.
    let me = follower();
    let (mut c, _) = start(me, None);
    c.handle(proposal(0, 7, None));
    for who in (0..4).filter(|w| *w != me) {
        c.handle(vote(VoteType::Precommit, 0, Some(7), who));
    }
    let b = (0..4).find(|w| *w != me).unwrap();
    c.handle(Input::NewHeight {
        height: H.next(),
        validators: set(),
    });
    assert_eq!(c.height(), H.next());
    let fx = c.handle(vote(VoteType::Precommit, 0, None, b));
    let evidence: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Evidence(ev) => Some((*ev.validator(), ev.height())),
            _ => None,
        })
        .collect();
    assert_eq!(evidence, vec![(b, H)]);
    // The same offence again is not reported twice; a non-member's vote
    // for that height is ignored.
    let fx = c.handle(vote(VoteType::Precommit, 0, Some(8), b));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Evidence(_))));
    let fx = c.handle(vote(VoteType::Precommit, 0, None, 200));
    assert!(fx.is_empty());
}
