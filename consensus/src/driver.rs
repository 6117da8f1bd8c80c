//! The driver: one validator's consensus at its current height. It turns
//! inputs (proposals, votes, timeouts, the application's answers, a new
//! height) into effects (persist, sign and broadcast, schedule, decide,
//! report evidence) by evaluating the conditions of Algorithm 1 over the
//! [`VoteKeeper`] and feeding them to [`state_machine::apply`].
//!
//! This module owns routing by height and round, the bounded buffers for
//! future rounds and the next height, the proposer check, the rebroadcast of
//! our own messages, and the rule that every signature is first authorized by
//! the [`SafetyRecord`] and then persisted. It does no I/O: it never signs,
//! sends, sleeps or writes; the node does, in the order of the effects.
//!
//! The node's side of the contract:
//! - verify every signature before an input goes in;
//! - carry out effects in order, and sync a [`Effect::PersistSafetyRecord`]
//!   before carrying out the effects that follow it;
//! - after signing (on [`Effect::SignProposal`] / [`Effect::SignVote`]),
//!   broadcast the message and feed it back in as an input;
//! - judge each proposal's validity; proposals for a later height are not
//!   buffered here (their validity can only be judged once this height's
//!   block is committed), so the node keeps them and feeds them after
//!   [`Input::NewHeight`];
//! - after [`Effect::Decide`], commit the block durably, then send
//!   [`Input::NewHeight`] with the next height's validator set.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use thiserror::Error;

use crate::config::Config;
use crate::evidence::Evidence;
use crate::safety::{SafetyError, SafetyRecord, SignStep, Signable};
use crate::state_machine::{self, Role, RoundInput, RoundOutput, RoundState, ValueAtRound};
use crate::types::{
    Height, Proposal, Round, SignedProposal, SignedVote, Step, Timeout, TimeoutKind, Validity,
    Vote, VoteType,
};
use crate::validators::ValidatorSet;
use crate::votes::{AddVote, VoteKeeper};

/// A guard against a rule that fires forever: each derived event changes the
/// state or sets a once-per-round latch, so one input needs only a handful.
const DERIVED_EVENTS_PER_INPUT_MAX: usize = 10_000;

/// Something that happened, for consensus to react to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<V, A, S> {
    /// A proposal whose signature the node verified, with the application's
    /// verdict on its value.
    Proposal {
        /// The signed proposal.
        proposal: SignedProposal<V, A, S>,
        /// `valid(v)`.
        validity: Validity,
    },
    /// A prevote or precommit whose signature the node verified.
    Vote(SignedVote<V, A, S>),
    /// The application's answer to [`Effect::GetValue`].
    ProposeValue {
        /// Height asked for.
        height: Height,
        /// Round asked for.
        round: Round,
        /// The value (block hash) to propose.
        value: V,
    },
    /// A timer scheduled by [`Effect::ScheduleTimeout`] fired.
    Timeout(Timeout),
    /// The block of the previous height is committed; start `height`.
    NewHeight {
        /// The height to start; above the current one.
        height: Height,
        /// The validators of that height.
        validators: ValidatorSet<A>,
    },
}

/// A signed message on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<V, A, S> {
    /// A proposal.
    Proposal(SignedProposal<V, A, S>),
    /// A vote.
    Vote(SignedVote<V, A, S>),
}

/// A decided height with its proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<V, A, S> {
    /// The decided height.
    pub height: Height,
    /// The round whose precommits decided.
    pub round: Round,
    /// The decided value.
    pub value: V,
    /// The proposal of `round`, which carried the value.
    pub proposal: SignedProposal<V, A, S>,
    /// Precommits for the value in `round` from 2/3+ of the power: the
    /// commit certificate.
    pub precommits: Vec<SignedVote<V, A, S>>,
}

/// What the node must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<V, A, S> {
    /// Write and sync this record before carrying out any later effect.
    PersistSafetyRecord(SafetyRecord<V, A, S>),
    /// Sign this proposal, broadcast it, and feed it back as an input.
    SignProposal(Proposal<V, A>),
    /// Sign this vote, broadcast it, and feed it back as an input.
    SignVote(Vote<V, A>),
    /// Send an already-signed message again (the network may have lost it).
    Broadcast(Message<V, A, S>),
    /// Fire `timeout` after `duration_ms`, as [`Input::Timeout`].
    ScheduleTimeout {
        /// The timer.
        timeout: Timeout,
        /// Its duration.
        duration_ms: u64,
    },
    /// Build a block and answer with [`Input::ProposeValue`] (paper `getValue()`).
    GetValue {
        /// Height to build for.
        height: Height,
        /// Round to propose in.
        round: Round,
    },
    /// The height is decided: commit the block, then send [`Input::NewHeight`].
    Decide(Box<Decision<V, A, S>>),
    /// A validator equivocated: gossip and commit this evidence.
    Evidence(Box<Evidence<V, A, S>>),
    /// The safety record refused a signature. Never expected; the node should
    /// log it loudly. Nothing was signed.
    SigningRefused(SafetyError),
}

/// The effects of one input, in the order the node must carry them out.
pub type Effects<V, A, S> = Vec<Effect<V, A, S>>;

/// Why consensus cannot start.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StartError {
    /// The persisted record is inconsistent.
    #[error("safety record: {0}")]
    Record(#[from] SafetyError),
    /// The record has signatures at a later height than the node's next one:
    /// the node lost committed blocks and must sync before it may sign.
    #[error("safety record is at height {record_height}, ahead of the starting height {height}")]
    RecordAhead {
        /// Height of the record.
        record_height: Height,
        /// Height the node asked to start.
        height: Height,
    },
}

/// One validator's consensus. See the module header for the node's contract.
#[derive(Clone, Debug)]
pub struct Consensus<V, A, S> {
    config: Config,
    me: A,
    validators: ValidatorSet<A>,
    state: RoundState<V>,
    votes: VoteKeeper<V, A, S>,
    proposals: BTreeMap<Round, (SignedProposal<V, A, S>, Validity)>,
    /// A second, different proposal from a round's proposer (one that
    /// equivocated), one per round. It never counts for prevoting (the
    /// first does); it is kept so that, when the others decide its value,
    /// this validator decides it too (L49) instead of waiting for sync.
    conflicting: BTreeMap<Round, (SignedProposal<V, A, S>, Validity)>,
    next_height_votes: VecDeque<SignedVote<V, A, S>>,
    /// The highest round each validator has sent anything in, this height:
    /// tells us which earlier rounds laggards still need our votes of.
    latest_round: BTreeMap<A, Round>,
    record: SafetyRecord<V, A, S>,
    /// Nothing is signed below this height (see [`Consensus::sign_from`]).
    sign_from: Height,
    /// The height just decided, with its validators, its votes and the round
    /// it ended in, so that a conflicting vote for it that arrives after the
    /// decision is still caught as equivocation.
    last: Option<LastHeight<V, A, S>>,
}

/// What [`Consensus`] keeps of the height it last left.
#[derive(Clone, Debug)]
struct LastHeight<V, A, S> {
    height: Height,
    validators: ValidatorSet<A>,
    votes: VoteKeeper<V, A, S>,
    round: Round,
}

impl<V, A, S> Consensus<V, A, S>
where
    V: Clone + Ord,
    A: Clone + Ord,
    S: Clone + Eq,
{
    /// Starts (or, with the persisted `record`, resumes) at `height`.
    /// `me` need not be in `validators`: a non-member follows but never signs.
    /// After a restart at the record's height, the machine resumes at the
    /// round and step it last signed, with the recorded lock and valid value,
    /// and signs the same message again (it may never have left).
    pub fn new(
        config: Config,
        me: A,
        height: Height,
        validators: ValidatorSet<A>,
        record: Option<SafetyRecord<V, A, S>>,
    ) -> Result<(Self, Effects<V, A, S>), StartError> {
        config.assert_sane();
        let record = record.unwrap_or_else(|| SafetyRecord::new(height));
        record.check_consistent()?;
        if record.height() > height {
            return Err(StartError::RecordAhead {
                record_height: record.height(),
                height,
            });
        }
        let mut c = Consensus {
            votes: VoteKeeper::new(config.future_rounds_per_validator_max),
            config,
            me,
            validators,
            state: RoundState::new(height),
            proposals: BTreeMap::new(),
            conflicting: BTreeMap::new(),
            next_height_votes: VecDeque::new(),
            latest_round: BTreeMap::new(),
            record,
            sign_from: Height(0),
            last: None,
        };
        let mut fx = Vec::new();
        match c.record.last_signed().cloned() {
            Some(last) if last.height() == height => c.resume(last, &mut fx),
            _ => c.run(c.new_round(Round(0)), &mut fx),
        }
        c.drive(&mut fx);
        Ok((c, fx))
    }

    /// Reacts to one input; returns the effects to carry out, in order.
    pub fn handle(&mut self, input: Input<V, A, S>) -> Vec<Effect<V, A, S>> {
        let mut fx = Vec::new();
        match input {
            Input::Vote(vote) => self.on_vote(vote, &mut fx),
            Input::Proposal { proposal, validity } => self.on_proposal(proposal, validity),
            Input::ProposeValue {
                height,
                round,
                value,
            } => {
                if height == self.height() {
                    self.run(RoundInput::ProposeValue { round, value }, &mut fx);
                }
            }
            Input::Timeout(timeout) => self.on_timeout(timeout, &mut fx),
            Input::NewHeight { height, validators } => {
                self.on_new_height(height, validators, &mut fx)
            }
        }
        self.drive(&mut fx);
        fx
    }

    /// The current height.
    pub fn height(&self) -> Height {
        self.state.height()
    }
    /// The current round.
    pub fn round(&self) -> Round {
        self.state.round()
    }
    /// The current step.
    pub fn step(&self) -> Step {
        self.state.step()
    }
    /// The full round state (lock, valid value, decision).
    pub fn state(&self) -> &RoundState<V> {
        &self.state
    }
    /// The validators of the current height.
    pub fn validators(&self) -> &ValidatorSet<A> {
        &self.validators
    }
    /// The safety record as last handed out for persistence.
    pub fn record(&self) -> &SafetyRecord<V, A, S> {
        &self.record
    }
    /// Signs nothing at heights below `height` from now on: this validator
    /// follows those heights like a non-member. A validator restored from
    /// a backup may have signed there before (its record is older than
    /// its signatures), so it sits them out rather than risk signing twice.
    pub fn sign_from(&mut self, height: Height) {
        self.sign_from = height;
    }
    /// The height signing starts at (0 unless [`Consensus::sign_from`] raised it).
    pub fn signs_from(&self) -> Height {
        self.sign_from
    }
    /// The votes of the current height, for inspection.
    pub fn votes(&self) -> &VoteKeeper<V, A, S> {
        &self.votes
    }
    /// This process's identity.
    pub fn me(&self) -> &A {
        &self.me
    }

    fn resume(&mut self, last: Signable<V, A>, fx: &mut Vec<Effect<V, A, S>>) {
        debug_assert!(self.record.last_signed() == Some(&last));
        let (height, round) = (last.height(), last.round());
        let step = match last.step() {
            SignStep::Propose => Step::Propose,
            SignStep::Prevote => Step::Prevote,
            SignStep::Precommit => Step::Precommit,
        };
        self.state = RoundState::restore(
            height,
            round,
            step,
            self.record.locked().cloned(),
            self.record.valid().cloned(),
        );
        // The polka behind the valid value, so a re-proposal can be justified.
        for vote in self.record.valid_polka().to_vec() {
            self.on_vote(vote, fx);
        }
        // The record was synced before the crash; persisting it again keeps
        // the rule "every signature follows a persist" without exceptions.
        // Every recorded signature of the height is sent again, byte for
        // byte: the network may have lost any of them.
        fx.push(Effect::PersistSafetyRecord(self.record.clone()));
        for item in self.record.signed() {
            fx.push(match item.clone() {
                Signable::Proposal(p) => Effect::SignProposal(p),
                Signable::Vote(v) => Effect::SignVote(v),
            });
        }
        if step == Step::Propose {
            self.schedule(TimeoutKind::Propose, round, fx);
        }
        self.schedule(TimeoutKind::Rebroadcast, round, fx);
    }

    fn on_vote(&mut self, vote: SignedVote<V, A, S>, fx: &mut Vec<Effect<V, A, S>>) {
        let height = self.height();
        let vote_height = vote.message.height;
        if vote_height < height {
            self.on_last_height_vote(vote, fx);
            return;
        }
        if vote_height > height {
            let room = self.next_height_votes.len() < self.config.future_height_votes_max;
            if vote_height == height.next() && room && !self.next_height_votes.contains(&vote) {
                self.next_height_votes.push_back(vote);
            }
            return;
        }
        let Some(power) = self.validators.power_of(&vote.message.validator) else {
            return;
        };
        self.note_round(&vote.message.validator, vote.message.round);
        let (proposals, conflicting) = (&self.proposals, &self.conflicting);
        let proposed = |v: &V| {
            proposals
                .values()
                .chain(conflicting.values())
                .any(|(p, _)| p.message.value == *v)
        };
        if let AddVote::Equivocation(evidence) = self.votes.add(vote, power, self.round(), proposed)
        {
            fx.push(Effect::Evidence(evidence));
        }
    }

    /// A vote for the height just left: kept (within the same bounds as a
    /// current height's) only to catch a validator that signed two votes for
    /// one step of it; the first conflict is evidence.
    fn on_last_height_vote(&mut self, vote: SignedVote<V, A, S>, fx: &mut Vec<Effect<V, A, S>>) {
        let Some(last) = self.last.as_mut() else {
            return;
        };
        if vote.message.height != last.height {
            return;
        }
        let Some(power) = last.validators.power_of(&vote.message.validator) else {
            return;
        };
        if let AddVote::Equivocation(evidence) = last.votes.add(vote, power, last.round, |_| false)
        {
            fx.push(Effect::Evidence(evidence));
        }
    }

    fn on_proposal(&mut self, proposal: SignedProposal<V, A, S>, validity: Validity) {
        let p = &proposal.message;
        let well_formed = p.height == self.height()
            && p.proposer == *self.validators.proposer(p.height, p.round)
            && !matches!(p.pol_round, Some(vr) if vr >= p.round);
        if !well_formed {
            return;
        }
        // One proposal per round: the first one received counts. A second,
        // different one is kept aside, for deciding only.
        if let Some((first, _)) = self.proposals.get(&p.round) {
            if first.message.value != p.value && !self.conflicting.contains_key(&p.round) {
                self.conflicting.insert(p.round, (proposal, validity));
            }
            return;
        }
        let round = p.round;
        if round > self.round() {
            let future: Vec<Round> = self
                .proposals
                .range(self.round().next()..)
                .map(|(r, _)| *r)
                .collect();
            if future.len() >= self.config.future_round_proposals_max {
                let lowest = future[0];
                if round < lowest {
                    return;
                }
                self.proposals.remove(&lowest);
                self.conflicting.remove(&lowest);
            }
        }
        let proposer = proposal.message.proposer.clone();
        self.proposals.insert(round, (proposal, validity));
        self.note_round(&proposer, round);
    }

    fn note_round(&mut self, validator: &A, round: Round) {
        let latest = self.latest_round.entry(validator.clone()).or_insert(round);
        *latest = (*latest).max(round);
    }

    fn on_timeout(&mut self, timeout: Timeout, fx: &mut Vec<Effect<V, A, S>>) {
        if timeout.height != self.height() {
            return;
        }
        let round = timeout.round;
        match timeout.kind {
            TimeoutKind::Propose => self.run(RoundInput::TimeoutPropose(round), fx),
            TimeoutKind::Prevote => self.run(RoundInput::TimeoutPrevote(round), fx),
            TimeoutKind::Precommit => self.run(RoundInput::TimeoutPrecommit(round), fx),
            TimeoutKind::Rebroadcast => {
                if round == self.round() && self.step() != Step::Commit {
                    self.rebroadcast(fx);
                    self.schedule(TimeoutKind::Rebroadcast, round, fx);
                }
            }
        }
    }

    /// Sends again our own proposal of this round (with the prevotes that
    /// justify its proof-of-lock round) and our own votes of this round, of
    /// the rounds we hold a lock or valid value from, and of the rounds that
    /// lagging validators are still in (they may need our votes to leave).
    fn rebroadcast(&self, fx: &mut Vec<Effect<V, A, S>>) {
        let round = self.round();
        if let Some((proposal, _)) = self.proposals.get(&round) {
            if proposal.message.proposer == self.me {
                fx.push(Effect::Broadcast(Message::Proposal(proposal.clone())));
                if let Some(vr) = proposal.message.pol_round {
                    let polka =
                        self.votes
                            .votes_for(vr, VoteType::Prevote, Some(&proposal.message.value));
                    fx.extend(
                        polka
                            .into_iter()
                            .map(|v| Effect::Broadcast(Message::Vote(v))),
                    );
                }
            }
        }
        let mut rounds = BTreeSet::from([round]);
        rounds.extend(self.state.locked().map(|l| l.round));
        rounds.extend(self.state.valid().map(|v| v.round));
        rounds.extend(self.latest_round.values().filter(|r| **r < round));
        for r in rounds {
            for t in [VoteType::Prevote, VoteType::Precommit] {
                if let Some(v) = self.votes.vote_of(r, t, &self.me) {
                    fx.push(Effect::Broadcast(Message::Vote(v.clone())));
                }
            }
        }
    }

    fn on_new_height(
        &mut self,
        height: Height,
        validators: ValidatorSet<A>,
        fx: &mut Vec<Effect<V, A, S>>,
    ) {
        if height <= self.height() {
            return;
        }
        let left = LastHeight {
            height: self.height(),
            validators: std::mem::replace(&mut self.validators, validators),
            votes: std::mem::replace(
                &mut self.votes,
                VoteKeeper::new(self.config.future_rounds_per_validator_max),
            ),
            round: self.round(),
        };
        // Only the height right before the new one is watched.
        self.last = (left.height.next() == height).then_some(left);
        self.state = RoundState::new(height);
        self.proposals.clear();
        self.conflicting.clear();
        self.latest_round.clear();
        let buffered = std::mem::take(&mut self.next_height_votes);
        self.run(self.new_round(Round(0)), fx); // L10 / L54
        for vote in buffered {
            self.on_vote(vote, fx);
        }
    }

    fn new_round(&self, round: Round) -> RoundInput<V> {
        let role = if *self.validators.proposer(self.height(), round) == self.me {
            Role::Proposer
        } else {
            Role::NotProposer
        };
        RoundInput::NewRound { round, role }
    }

    fn schedule(&self, kind: TimeoutKind, round: Round, fx: &mut Vec<Effect<V, A, S>>) {
        fx.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                kind,
                height: self.height(),
                round,
            },
            duration_ms: self.config.timeout_ms(kind, round),
        });
    }

    /// Evaluates rules until none applies.
    fn drive(&mut self, fx: &mut Vec<Effect<V, A, S>>) {
        for _ in 0..DERIVED_EVENTS_PER_INPUT_MAX {
            let Some(event) = self.next_event() else {
                return;
            };
            self.run(event, fx);
        }
        panic!("a rule of the state machine keeps firing: {DERIVED_EVENTS_PER_INPUT_MAX} events for one input");
    }

    /// Applies one input and carries out its outputs (a new round is applied
    /// at once, so no input ever sees a half-started round).
    fn run(&mut self, input: RoundInput<V>, fx: &mut Vec<Effect<V, A, S>>) {
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            let (state, outputs) = state_machine::apply(self.state.clone(), input);
            self.state = state;
            for output in outputs {
                match output {
                    RoundOutput::NewRound(round) => queue.push_back(self.new_round(round)),
                    RoundOutput::GetValue(round) => fx.push(Effect::GetValue {
                        height: self.height(),
                        round,
                    }),
                    RoundOutput::Proposal {
                        round,
                        value,
                        pol_round,
                    } => {
                        let proposal = Proposal {
                            height: self.height(),
                            round,
                            value,
                            pol_round,
                            proposer: self.me.clone(),
                        };
                        self.sign(Signable::Proposal(proposal), None, fx);
                    }
                    RoundOutput::Vote {
                        vote_type,
                        round,
                        value,
                        polka_round,
                    } => {
                        let vote = Vote {
                            vote_type,
                            height: self.height(),
                            round,
                            value,
                            validator: self.me.clone(),
                        };
                        self.sign(Signable::Vote(vote), polka_round, fx);
                    }
                    RoundOutput::ScheduleTimeout(kind, round) => self.schedule(kind, round, fx),
                    RoundOutput::Decide { round, value } => fx.push(self.decision(round, value)),
                }
            }
        }
    }

    /// Authorizes with the safety record, then asks to persist, then to sign.
    fn sign(
        &mut self,
        item: Signable<V, A>,
        polka_round: Option<Round>,
        fx: &mut Vec<Effect<V, A, S>>,
    ) {
        if !self.validators.contains(&self.me) {
            return; // A follower observes; it has nothing to sign with.
        }
        if self.height() < self.sign_from {
            return; // Held back: it may have signed here before a restore.
        }
        let locked: Option<ValueAtRound<V>> = self.state.locked().cloned();
        let valid = self.state.valid().cloned();
        let valid_polka = valid.as_ref().map_or_else(Vec::new, |v| {
            self.votes
                .votes_for(v.round, VoteType::Prevote, Some(&v.value))
        });
        match self
            .record
            .authorize(item.clone(), polka_round, locked, valid, valid_polka)
        {
            Ok(()) => {
                fx.push(Effect::PersistSafetyRecord(self.record.clone()));
                fx.push(match item {
                    Signable::Proposal(p) => Effect::SignProposal(p),
                    Signable::Vote(v) => Effect::SignVote(v),
                });
            }
            Err(refusal) => fx.push(Effect::SigningRefused(refusal)),
        }
    }

    fn decision(&self, round: Round, value: V) -> Effect<V, A, S> {
        let (proposal, _) = [self.proposals.get(&round), self.conflicting.get(&round)]
            .into_iter()
            .flatten()
            .find(|(p, _)| p.message.value == value)
            .expect("L49 fires only on a stored proposal");
        let precommits = self
            .votes
            .votes_for(round, VoteType::Precommit, Some(&value));
        let power: u64 = precommits
            .iter()
            .filter_map(|v| self.validators.power_of(&v.message.validator))
            .sum();
        assert!(
            self.validators.is_quorum(power),
            "decided without a quorum of precommits"
        );
        Effect::Decide(Box::new(Decision {
            height: self.height(),
            round,
            value,
            proposal: proposal.clone(),
            precommits,
        }))
    }

    /// The next rule of Algorithm 1 whose condition holds, as an input for
    /// [`state_machine::apply`]. Each returned event changes the state or sets
    /// a once-per-round latch, so [`Self::drive`] terminates.
    fn next_event(&self) -> Option<RoundInput<V>> {
        let step = self.step();
        if matches!(step, Step::Unstarted | Step::Commit) {
            return None;
        }
        let set = &self.validators;
        let round = self.round();
        let quorum = |power: u64| set.is_quorum(power);

        // L49: a proposal of any round with 2f+1 precommits for its value.
        for (r, (p, validity)) in self.proposals.iter().chain(&self.conflicting) {
            let value = &p.message.value;
            if validity.is_valid()
                && quorum(self.votes.power_for(*r, VoteType::Precommit, Some(value)))
            {
                return Some(RoundInput::ProposalAndPrecommitValue {
                    round: *r,
                    value: value.clone(),
                });
            }
        }

        // L55: f+1 senders in a later round; jump to the highest such round.
        let mut later: BTreeSet<Round> = self.votes.rounds_above(round).collect();
        later.extend(self.proposals.range(round.next()..).map(|(r, _)| *r));
        for r in later.into_iter().rev() {
            let mut senders = self.votes.voters(r);
            if let Some((p, _)) = self.proposals.get(&r) {
                let proposer = &p.message.proposer;
                senders.insert(proposer.clone(), set.power_of(proposer).unwrap_or(0));
            }
            if set.is_one_third_plus(senders.values().sum()) {
                return Some(RoundInput::SkipRound(r));
            }
        }

        let proposal = self.proposals.get(&round).map(|(p, v)| (&p.message, *v));
        match step {
            Step::Propose => {
                if let Some((p, validity)) = proposal {
                    match p.pol_round {
                        // L22
                        None => {
                            return Some(RoundInput::Proposal {
                                value: p.value.clone(),
                                validity,
                            })
                        }
                        // L28
                        Some(vr)
                            if quorum(self.votes.power_for(
                                vr,
                                VoteType::Prevote,
                                Some(&p.value),
                            )) =>
                        {
                            return Some(RoundInput::ProposalAndPolkaPrevious {
                                value: p.value.clone(),
                                validity,
                                pol_round: vr,
                            })
                        }
                        Some(_) => {}
                    }
                }
            }
            Step::Prevote | Step::Precommit => {
                // L36
                if let Some((p, validity)) = proposal {
                    if !self.state.polka_value_seen()
                        && validity.is_valid()
                        && quorum(
                            self.votes
                                .power_for(round, VoteType::Prevote, Some(&p.value)),
                        )
                    {
                        return Some(RoundInput::ProposalAndPolkaCurrent {
                            value: p.value.clone(),
                        });
                    }
                }
                if step == Step::Prevote {
                    // L44
                    if quorum(self.votes.power_for(round, VoteType::Prevote, None)) {
                        return Some(RoundInput::PolkaNil);
                    }
                    // L34
                    if !self.state.prevote_timeout_scheduled()
                        && quorum(self.votes.power_any(round, VoteType::Prevote))
                    {
                        return Some(RoundInput::PolkaAny);
                    }
                }
            }
            Step::Unstarted | Step::Commit => unreachable!("returned above"),
        }
        // L47
        if !self.state.precommit_timeout_scheduled()
            && quorum(self.votes.power_any(round, VoteType::Precommit))
        {
            return Some(RoundInput::PrecommitAny);
        }
        None
    }
}
