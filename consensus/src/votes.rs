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

#[derive(Clone, Debug)]
struct RoundVotes<V, A, S> {
    prevotes: BTreeMap<A, Slot<V, A, S>>,
    precommits: BTreeMap<A, Slot<V, A, S>>,
}

impl<V, A, S> Default for RoundVotes<V, A, S> {
    fn default() -> Self {
        RoundVotes {
            prevotes: BTreeMap::new(),
            precommits: BTreeMap::new(),
        }
    }
}

impl<V, A: Ord, S> RoundVotes<V, A, S> {
    fn of(&self, vote_type: VoteType) -> &BTreeMap<A, Slot<V, A, S>> {
        match vote_type {
            VoteType::Prevote => &self.prevotes,
            VoteType::Precommit => &self.precommits,
        }
    }
    fn of_mut(&mut self, vote_type: VoteType) -> &mut BTreeMap<A, Slot<V, A, S>> {
        match vote_type {
            VoteType::Prevote => &mut self.prevotes,
            VoteType::Precommit => &mut self.precommits,
        }
    }
    fn has(&self, validator: &A) -> bool {
        self.prevotes.contains_key(validator) || self.precommits.contains_key(validator)
    }
}

/// All votes of one height. At most one vote per (round, type, validator) is
/// counted: the first one received.
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
    /// highest `future_rounds_per_validator_max`.
    pub fn add(
        &mut self,
        vote: SignedVote<V, A, S>,
        power: u64,
        current_round: Round,
    ) -> AddVote<V, A, S> {
        let round = vote.message.round;
        let validator = vote.message.validator.clone();
        if round > current_round && !self.make_room(&validator, round, current_round) {
            return AddVote::Dropped;
        }
        let vote_type = vote.message.vote_type;
        let slots = self.rounds.entry(round).or_default().of_mut(vote_type);
        match slots.get(&validator) {
            None => {
                slots.insert(validator, Slot { vote, power });
                AddVote::Added
            }
            Some(first) if first.vote.message == vote.message => AddVote::Duplicate,
            Some(first) => {
                if !self.equivocations.insert((validator, round, vote_type)) {
                    return AddVote::EquivocationAgain;
                }
                let evidence = Evidence::new(first.vote.clone(), vote)
                    .expect("same validator, type, height and round; different value");
                AddVote::Equivocation(Box::new(evidence))
            }
        }
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
        let rv = self.rounds.get_mut(&lowest).expect("listed above");
        rv.prevotes.remove(validator);
        rv.precommits.remove(validator);
        true
    }

    /// Total power of `vote_type` votes in `round` for `value` (`None` = nil).
    pub fn power_for(&self, round: Round, vote_type: VoteType, value: Option<&V>) -> u64 {
        self.slots(round, vote_type)
            .filter(|s| s.vote.message.value.as_ref() == value)
            .map(|s| s.power)
            .sum()
    }

    /// Total power of `vote_type` votes in `round`, whatever the value.
    pub fn power_any(&self, round: Round, vote_type: VoteType) -> u64 {
        self.slots(round, vote_type).map(|s| s.power).sum()
    }

    /// The validators with any vote in `round`, with their power.
    pub fn voters(&self, round: Round) -> BTreeMap<A, u64> {
        let mut voters = BTreeMap::new();
        for t in [VoteType::Prevote, VoteType::Precommit] {
            for s in self.slots(round, t) {
                voters.insert(s.vote.message.validator.clone(), s.power);
            }
        }
        voters
    }

    /// The rounds above `round` that hold any vote, in ascending order.
    pub fn rounds_above(&self, round: Round) -> impl DoubleEndedIterator<Item = Round> + '_ {
        self.rounds.range(round.next()..).map(|(r, _)| *r)
    }

    /// The stored `vote_type` votes of `round` for `value`.
    pub fn votes_for(
        &self,
        round: Round,
        vote_type: VoteType,
        value: Option<&V>,
    ) -> Vec<SignedVote<V, A, S>> {
        self.slots(round, vote_type)
            .filter(|s| s.vote.message.value.as_ref() == value)
            .map(|s| s.vote.clone())
            .collect()
    }

    /// The counted vote of `validator`, if any.
    pub fn vote_of(
        &self,
        round: Round,
        vote_type: VoteType,
        validator: &A,
    ) -> Option<&SignedVote<V, A, S>> {
        self.rounds
            .get(&round)
            .and_then(|rv| rv.of(vote_type).get(validator))
            .map(|s| &s.vote)
    }

    fn slots(&self, round: Round, vote_type: VoteType) -> impl Iterator<Item = &Slot<V, A, S>> {
        self.rounds
            .get(&round)
            .into_iter()
            .flat_map(move |rv| rv.of(vote_type).values())
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

    #[test]
    fn tallies_are_weighted_and_first_vote_wins() {
        let mut k = VoteKeeper::new(2);
        let cur = Round(0);
        assert_eq!(
            k.add(v(VoteType::Prevote, 0, Some(1), 1), 3, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add(v(VoteType::Prevote, 0, Some(1), 2), 5, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add(v(VoteType::Prevote, 0, None, 3), 1, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add(v(VoteType::Prevote, 0, Some(1), 2), 5, cur),
            AddVote::Duplicate
        );
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, Some(&1)), 8);
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, None), 1);
        assert_eq!(k.power_any(Round(0), VoteType::Prevote), 9);
        assert_eq!(k.power_any(Round(0), VoteType::Precommit), 0);
        // Equivocation: reported once, the first vote stays counted.
        let AddVote::Equivocation(e) = k.add(v(VoteType::Prevote, 0, Some(2), 1), 3, cur) else {
            panic!("expected evidence");
        };
        assert_eq!(e.validator(), &1);
        assert_eq!(
            k.add(v(VoteType::Prevote, 0, None, 1), 3, cur),
            AddVote::EquivocationAgain
        );
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, Some(&1)), 8);
        assert_eq!(k.power_for(Round(0), VoteType::Prevote, Some(&2)), 0);
    }

    #[test]
    fn future_rounds_are_bounded_per_validator_keeping_the_highest() {
        let mut k = VoteKeeper::new(2);
        let cur = Round(1);
        assert_eq!(
            k.add(v(VoteType::Prevote, 5, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add(v(VoteType::Prevote, 7, None, 1), 1, cur),
            AddVote::Added
        );
        // A lower future round than both held: dropped.
        assert_eq!(
            k.add(v(VoteType::Prevote, 3, None, 1), 1, cur),
            AddVote::Dropped
        );
        // A higher one evicts round 5.
        assert_eq!(
            k.add(v(VoteType::Prevote, 9, None, 1), 1, cur),
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
            k.add(v(VoteType::Prevote, 0, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(
            k.add(v(VoteType::Prevote, 3, None, 2), 1, cur),
            AddVote::Added
        );
        // A second vote in a round already held needs no room.
        assert_eq!(
            k.add(v(VoteType::Precommit, 9, None, 1), 1, cur),
            AddVote::Added
        );
        assert_eq!(k.voters(Round(9)).len(), 1);
    }
}
