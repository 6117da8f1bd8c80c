//! The vote keeper: the votes of one height, by round, type and validator,
//! and the weighted tallies the rules of Algorithm 1 ask about.
//!
//! This module owns vote storage, its bound on future rounds, duplicate
//! filtering and equivocation detection. It does not check signatures (the
//! node did) or heights (the driver routes each vote to the keeper of its
//! height), and it does not decide anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::evidence::Evidence;
use crate::types::{Round, SignedVote, VoteType};

/// The outcome of adding a vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddVote<V, A, S> {
    /// Stored and counted.
    Added,
    /// The same vote was already stored; nothing changes.
    Duplicate,
    /// A different vote of the same validator, type and round was stored
    /// first. The first one stays counted; this is the evidence (reported once
    /// per validator, type and round).
    Equivocation(Box<Evidence<V, A, S>>),
    /// A further conflicting vote after evidence was already reported.
    EquivocationAgain,
    /// The vote is for a round too far ahead for this validator's budget.
    Dropped,
}

#[derive(Clone, Debug)]
struct Slot<V, A, S> {
    vote: SignedVote<V, A, S>,
    power: u64,
}

/// The votes of one type in one round.
#[derive(Clone, Debug)]
struct TypeVotes<V, A, S> {
    /// The first vote of each validator: counted for "2f+1 of any kind".
    first: BTreeMap<A, Slot<V, A, S>>,
    /// Later votes of equivocators, kept for values that a proposal of this
    /// height carries (so at most one per proposal), and one more for a value
    /// no proposal carries yet (the twin proposal it is for may arrive after
    /// it: without it, a validator that received an equivocating proposer's
    /// twin late could not count the quorum that decided it). The paper counts
    /// "2f+1 ⟨PREVOTE, h, r, id(v)⟩" per value, and a polka that an honest
    /// validator locked on may include an equivocator's vote that others
    /// received second. Without these, that polka can never be re-checked
    /// and the height livelocks (the simulator found it; CometBFT's
    /// `peerMaj23` exists for the same reason).
    extra: BTreeMap<A, Vec<Slot<V, A, S>>>,
}

impl<V, A, S> Default for TypeVotes<V, A, S> {
    fn default() -> Self {
        TypeVotes {
            first: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl<V: PartialEq, A: Ord, S> TypeVotes<V, A, S> {
    /// Every stored vote for `value`, at most one per validator.
    fn for_value<'a>(
        &'a self,
        value: Option<&'a V>,
    ) -> impl Iterator<Item = &'a Slot<V, A, S>> + 'a {
        let firsts = self
            .first
            .values()
            .filter(move |s| s.vote.message.value.as_ref() == value);
        let extras = self.extra.values().filter_map(move |slots| {
            slots
                .iter()
                .find(|s| s.vote.message.value.as_ref() == value)
        });
        firsts.chain(extras)
    }
}

#[derive(Clone, Debug)]
struct RoundVotes<V, A, S> {
    prevotes: TypeVotes<V, A, S>,
    precommits: TypeVotes<V, A, S>,
}

impl<V, A, S> Default for RoundVotes<V, A, S> {
    fn default() -> Self {
        RoundVotes {
            prevotes: TypeVotes::default(),
            precommits: TypeVotes::default(),
        }
    }
}

impl<V, A: Ord, S> RoundVotes<V, A, S> {
    fn of(&self, vote_type: VoteType) -> &TypeVotes<V, A, S> {
        match vote_type {
            VoteType::Prevote => &self.prevotes,
            VoteType::Precommit => &self.precommits,
        }
    }
    fn of_mut(&mut self, vote_type: VoteType) -> &mut TypeVotes<V, A, S> {
        match vote_type {
            VoteType::Prevote => &mut self.prevotes,
            VoteType::Precommit => &mut self.precommits,
        }
    }
    fn has(&self, validator: &A) -> bool {
        self.prevotes.first.contains_key(validator) || self.precommits.first.contains_key(validator)
    }
    fn remove(&mut self, validator: &A) {
        for t in [&mut self.prevotes, &mut self.precommits] {
            t.first.remove(validator);
            t.extra.remove(validator);
        }
    }
}

/// All votes of one height. One vote per (round, type, validator) is
/// counted towards "2f+1 of any kind": the first one received. Towards
/// "2f+1 for value v", an equivocator's later vote for `v` also counts when
/// `v` is proposed at this height.
#[derive(Clone, Debug)]
pub struct VoteKeeper<V, A, S> {
    rounds: BTreeMap<Round, RoundVotes<V, A, S>>,
    equivocations: BTreeSet<(A, Round, VoteType)>,
    future_rounds_per_validator_max: usize,
}

impl<V: Ord + Clone, A: Ord + Clone, S: Clone> VoteKeeper<V, A, S> {
    /// An empty keeper.
    pub fn new(future_rounds_per_validator_max: usize) -> Self {
        assert!(future_rounds_per_validator_max >= 1);
        VoteKeeper {
            rounds: BTreeMap::new(),
            equivocations: BTreeSet::new(),
            future_rounds_per_validator_max,
        }
    }

    /// Adds a vote of a member with `power`, while we are in `current_round`.
    /// Of the rounds above `current_round`, each validator keeps only its
    /// highest `future_rounds_per_validator_max`. `proposed(v)` says whether
    /// a proposal of this height carries `v`: only such values (and one
    /// other) are kept from an equivocator's second and later votes.
    pub fn add(
        &mut self,
        vote: SignedVote<V, A, S>,
        power: u64,
        current_round: Round,
        proposed: impl Fn(&V) -> bool,
    ) -> AddVote<V, A, S> {
        let round = vote.message.round;
        let validator = vote.message.validator.clone();
        if round > current_round && !self.make_room(&validator, round, current_round) {
            return AddVote::Dropped;
        }
        let vote_type = vote.message.vote_type;
        let votes = self.rounds.entry(round).or_default().of_mut(vote_type);
        let Some(first) = votes.first.get(&validator) else {
            votes.first.insert(validator, Slot { vote, power });
            return AddVote::Added;
        };
        if first.vote.message == vote.message {
            return AddVote::Duplicate;
        }
        let first = first.vote.clone();
        let extra = votes.extra.entry(validator.clone()).or_default();
        let known = extra.iter().any(|s| s.vote.message == vote.message);
        let unproposed = |s: &Slot<V, A, S>| !s.vote.message.value.as_ref().is_some_and(&proposed);
        let keep = match vote.message.value.as_ref() {
            None => false,
            Some(v) => proposed(v) || !extra.iter().any(unproposed),
        };
        if !known && keep {
            extra.push(Slot {
                vote: vote.clone(),
                power,
            });
        }
        if !self.equivocations.insert((validator, round, vote_type)) {
            return AddVote::EquivocationAgain;
        }
        let evidence = Evidence::new(first, vote)
            .expect("same validator, type, height and round; different value");
        AddVote::Equivocation(Box::new(evidence))
    }

    /// Ensures `validator` may hold votes in future `round`; false to drop.
    fn make_room(&mut self, validator: &A, round: Round, current_round: Round) -> bool {
        let held: Vec<Round> = self
            .rounds
            .range(current_round.next()..)
            .filter(|(_, rv)| rv.has(validator))
            .map(|(r, _)| *r)
            .collect();
        if held.contains(&round) || held.len() < self.future_rounds_per_validator_max {
            return true;
        }
        let lowest = held[0];
        if round < lowest {
            return false;
        }
        self.rounds
            .get_mut(&lowest)
            .expect("listed above")
            .remove(validator);
        true
    }

    /// Total power of `vote_type` votes in `round` for `value` (`None` = nil),
    /// each validator counted once.
    pub fn power_for(&self, round: Round, vote_type: VoteType, value: Option<&V>) -> u64 {
        self.of(round, vote_type)
            .map_or(0, |t| t.for_value(value).map(|s| s.power).sum())
    }

    /// Total power of `vote_type` votes in `round`, whatever the value, each
    /// validator counted once.
    pub fn power_any(&self, round: Round, vote_type: VoteType) -> u64 {
        self.of(round, vote_type)
            .map_or(0, |t| t.first.values().map(|s| s.power).sum())
    }

    /// The validators with any vote in `round`, with their power.
    pub fn voters(&self, round: Round) -> BTreeMap<A, u64> {
        let mut voters = BTreeMap::new();
        for t in [VoteType::Prevote, VoteType::Precommit] {
            for s in self.of(round, t).into_iter().flat_map(|t| t.first.values()) {
                voters.insert(s.vote.message.validator.clone(), s.power);
            }
        }
        voters
    }

    /// The rounds above `round` that hold any vote, in ascending order.
    pub fn rounds_above(&self, round: Round) -> impl DoubleEndedIterator<Item = Round> + '_ {
        self.rounds.range(round.next()..).map(|(r, _)| *r)
    }

    /// The stored `vote_type` votes of `round` for `value`, one per validator.
    pub fn votes_for(
        &self,
        round: Round,
        vote_type: VoteType,
        value: Option<&V>,
    ) -> Vec<SignedVote<V, A, S>> {
        self.of(round, vote_type).map_or_else(Vec::new, |t| {
            t.for_value(value).map(|s| s.vote.clone()).collect()
        })
    }

    /// The first vote of `validator`, if any.
    pub fn vote_of(
        &self,
        round: Round,
        vote_type: VoteType,
        validator: &A,
    ) -> Option<&SignedVote<V, A, S>> {
        self.of(round, vote_type)
            .and_then(|t| t.first.get(validator))
            .map(|s| &s.vote)
    }

    fn of(&self, round: Round, vote_type: VoteType) -> Option<&TypeVotes<V, A, S>> {
        self.rounds.get(&round).map(|rv| rv.of(vote_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Height, Signed, Vote};

    fn v(t: VoteType, r: u32, value: Option<u8>, who: u8) -> SignedVote<u8, u8, ()> {
        Signed {
            message: Vote {
                vote_type: t,
                height: Height(1),
                round: Round(r),
                value,
                validator: who,
            },
            signature: (),
        }
    }

    impl VoteKeeper<u8, u8, ()> {
        /// In these tests only value 2 is proposed.
        fn add_(
            &mut self,
            vote: SignedVote<u8, u8, ()>,
            power: u64,
            cur: Round,
        ) -> AddVote<u8, u8, ()> {
            self.add(vote, power, cur, |v| *v == 2)
        }
    }

    #[test]
    fn tallies_are_weighted_and_first_vote_wins() {
        let mut k = VoteKeeper::new(2);
        let cur = Round(0);
        assert_eq!(
            k.add_(v(VoteType::Prevote, 0, Some(1), 1), 3, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add_(v(VoteType::Prevote, 0, Some(1), 2), 5, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add_(v(VoteType::Prevote, 0, None, 3), 1, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add_(v(VoteType::Prevote, 0, Some(1), 2), 5, cur),
            AddVote::Duplicate
        );
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, Some(&1)), 8);
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, None), 1);
        assert_eq!(k.power_any(Round(0), VoteType::Prevote), 9);
        assert_eq!(k.power_any(Round(0), VoteType::Precommit), 0);
        // Equivocation: reported once, the first vote stays counted.
        let AddVote::Equivocation(e) = k.add_(v(VoteType::Prevote, 0, Some(2), 1), 3, cur) else {
            panic!("expected evidence");
        };
        assert_eq!(e.validator(), &1);
        assert_eq!(
            k.add_(v(VoteType::Prevote, 0, None, 1), 3, cur),
            AddVote::EquivocationAgain
        );
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, Some(&1)), 8);
        assert_eq!(k.power_any(Round(0), VoteType::Prevote), 9);
        // Validator 1's second vote was for the proposed value 2: it counts for
        // 2 as well (per-value tallies, as in the paper), its nil vote does not.
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, Some(&2)), 3);
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, None), 1);
        assert_eq!(k.votes_for(Round(0), VoteType::Prevote, Some(&2)).len(), 1);
    }

    #[test]
    fn of_an_equivocator_s_votes_for_unproposed_values_one_is_kept() {
        let mut k = VoteKeeper::new(2);
        let cur = Round(0);
        assert_eq!(
            k.add_(v(VoteType::Precommit, 0, Some(1), 1), 1, cur),
            AddVote::Added
        );
        assert!(matches!(
            k.add_(v(VoteType::Precommit, 0, Some(3), 1), 1, cur),
            AddVote::Equivocation(_)
        ));
        for x in 4..50 {
            assert_eq!(
                k.add_(v(VoteType::Precommit, 0, Some(x), 1), 1, cur),
                AddVote::EquivocationAgain
            );
        }
        // The first unproposed value is kept (its proposal may come later),
        // the others are not.
        assert_eq!(k.power_for(Round(0), VoteType::Precommit, Some(&3)), 1);
        for x in 4..50 {
            assert_eq!(k.power_for(Round(0), VoteType::Precommit, Some(&x)), 0);
        }
        assert_eq!(k.power_any(Round(0), VoteType::Precommit), 1);
        // A vote for a proposed value is kept beside it.
        k.add_(v(VoteType::Precommit, 0, Some(2), 1), 1, cur);
        assert_eq!(k.power_for(Round(0), VoteType::Precommit, Some(&2)), 1);
    }

    #[test]
    fn future_rounds_are_bounded_per_validator_keeping_the_highest() {
        let mut k = VoteKeeper::new(2);
        let cur = Round(1);
        assert_eq!(
            k.add_(v(VoteType::Prevote, 5, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add_(v(VoteType::Prevote, 7, None, 1), 1, cur),
            AddVote::Added
        );
        // A lower future round than both held: dropped.
        assert_eq!(
            k.add_(v(VoteType::Prevote, 3, None, 1), 1, cur),
            AddVote::Dropped
        );
        // A higher one evicts round 5.
        assert_eq!(
            k.add_(v(VoteType::Prevote, 9, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(k.power_any(Round(5), VoteType::Prevote), 0);
        assert_eq!(
            k.rounds_above(cur)
                .filter(|r| !k.voters(*r).is_empty())
                .count(),
            2
        );
        // Rounds at or below ours are never limited; other validators have their own budget.
        assert_eq!(
            k.add_(v(VoteType::Prevote, 0, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add_(v(VoteType::Prevote, 3, None, 2), 1, cur),
            AddVote::Added
        );
        // A second vote in a round already held needs no room.
        assert_eq!(
            k.add_(v(VoteType::Precommit, 9, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(k.voters(Round(9)).len(), 1);
    }
}
