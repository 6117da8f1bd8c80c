//! What an operator watches, computed without clocks or I/O: the
//! validators that did not sign a block, the share of voting power a node
//! is connected to, and an estimate of the clock offset to its peers. The
//! loop (`driver`) feeds these and exports them as metrics (see
//! docs/node.md, "Metrics and health").

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use ledger::validators::VALIDATORS_MAX;
use ledger::{CommitCertificate, Hash, PublicKey, Validator, ValidatorSet, VoteType};

/// Messages per validator whose clock offset is kept: the estimate is
/// their median.
pub const CLOCK_SAMPLES_PER_VALIDATOR: usize = 32;
/// A validator heard from less recently than this (by the receiving
/// node's clock) counts no more in [`ClockOffsets::overall`].
pub const CLOCK_SAMPLES_FRESH_MS: u64 = 120_000;

/// Distinct precommits remembered per height, beyond which more are not:
/// a few rounds' worth of every validator's.
pub const PRECOMMITS_SEEN_PER_HEIGHT_MAX: usize = 4 * VALIDATORS_MAX;

/// The validators of `set` (the set that decided the certificate's height)
/// with no precommit for the certified block in `cert`, and none that
/// `also_signed` vouches for, in the set's order.
///
/// A certificate holds the precommits its maker had when it decided: just
/// over 2/3 of the power, not everyone. So a validator whose precommit
/// comes last is missing from the certificate while it signs every block;
/// `also_signed` takes the precommits for the block that reached this node
/// by other ways (late, after the decision), so that only a validator that
/// did not sign (down, cut off, or too slow to sign before the next block)
/// is counted.
pub fn missed_signatures<'a>(
    cert: &CommitCertificate,
    set: &'a ValidatorSet,
    also_signed: impl Fn(&PublicKey) -> bool,
) -> Vec<&'a Validator> {
    let signed: HashSet<&PublicKey> = cert
        .precommits
        .iter()
        .filter(|v| {
            v.vote_type == VoteType::Precommit
                && v.height == cert.height
                && v.round == cert.round
                && v.block_hash == Some(cert.block_hash)
        })
        .map(|v| &v.validator)
        .collect();
    set.validators()
        .iter()
        .filter(|v| !signed.contains(&v.consensus_key) && !also_signed(&v.consensus_key))
        .collect()
}

/// Precommits for a block this node received (or signed) at recent
/// heights, whether or not they made it into a certificate: what
/// [`missed_signatures`] takes besides the certificate. Bounded by
/// [`PRECOMMITS_SEEN_PER_HEIGHT_MAX`] per height; the loop forgets the
/// heights below the one just committed.
#[derive(Debug, Default)]
pub struct PrecommitsSeen {
    by_height: BTreeMap<u64, HashSet<(PublicKey, Hash)>>,
}

impl PrecommitsSeen {
    /// `validator` precommitted `block` at `height`.
    pub fn note(&mut self, height: u64, validator: PublicKey, block: Hash) {
        let seen = self.by_height.entry(height).or_default();
        if seen.len() < PRECOMMITS_SEEN_PER_HEIGHT_MAX {
            seen.insert((validator, block));
        }
    }

    /// Whether `validator`'s precommit for `block` at `height` was noted.
    pub fn saw(&self, height: u64, validator: &PublicKey, block: &Hash) -> bool {
        self.by_height
            .get(&height)
            .is_some_and(|s| s.contains(&(*validator, *block)))
    }

    /// Forgets the heights below `height`.
    pub fn forget_below(&mut self, height: u64) {
        self.by_height = self.by_height.split_off(&height);
    }

    /// Precommits remembered, over all heights.
    pub fn len(&self) -> usize {
        self.by_height.values().map(HashSet::len).sum()
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_height.is_empty()
    }
}

/// The share of `set`'s total power held by the validators `connected`
/// says this node is connected to, plus its own (`me`) if it is one of
/// them: 0 to 1. Below 2/3 no height can be decided among them.
pub fn connected_power_share(
    set: &ValidatorSet,
    me: Option<&PublicKey>,
    mut connected: impl FnMut(&Validator) -> bool,
) -> f64 {
    let total = set.total_power();
    if total == 0 {
        return 0.0;
    }
    let reached: u64 = set
        .validators()
        .iter()
        .filter(|v| me == Some(&v.consensus_key) || connected(v))
        .map(|v| v.power)
        .sum();
    reached as f64 / total as f64
}

/// One validator's recent offsets.
#[derive(Debug)]
struct PeerClock {
    name: String,
    /// Sent time minus received time, in milliseconds, newest last.
    samples: VecDeque<i64>,
    /// When its last message was received, by this node's clock.
    last_ms: u64,
}

/// An estimate of how far peers' clocks are from this node's, from the
/// time each validator writes in its own proposals and votes (`sent_ms`)
/// and the time this node received them.
///
/// A sample is `sent_ms − received_ms`: the peer's clock minus this one,
/// less the message's one-way delay (network, gossip hops, queues). So a
/// positive estimate means the peer's clock is ahead of this node's; the
/// delay biases every estimate downwards by a few milliseconds on a LAN,
/// tens on a WAN, and it cannot tell which of two clocks is wrong. Each
/// validator's estimate is the median of its last
/// [`CLOCK_SAMPLES_PER_VALIDATOR`] messages, so a few late or re-sent
/// messages do not move it.
#[derive(Debug, Default)]
pub struct ClockOffsets {
    peers: HashMap<PublicKey, PeerClock>,
}

impl ClockOffsets {
    /// Records a message signed by `key` (named `name`), stamped `sent_ms`
    /// by its sender and received at `received_ms` here; returns that
    /// validator's estimate, in milliseconds.
    pub fn record(&mut self, key: PublicKey, name: &str, sent_ms: u64, received_ms: u64) -> i64 {
        let offset = i128::from(sent_ms) - i128::from(received_ms);
        let offset = offset.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let peer = self.peers.entry(key).or_insert_with(|| PeerClock {
            name: name.to_owned(),
            samples: VecDeque::with_capacity(CLOCK_SAMPLES_PER_VALIDATOR),
            last_ms: received_ms,
        });
        if peer.name != name {
            peer.name = name.to_owned();
        }
        if peer.samples.len() == CLOCK_SAMPLES_PER_VALIDATOR {
            peer.samples.pop_front();
        }
        peer.samples.push_back(offset);
        peer.last_ms = peer.last_ms.max(received_ms);
        median(peer.samples.iter().copied().collect()).expect("a sample was just added")
    }

    /// The estimate for the validator of `key`, in milliseconds, and its
    /// name.
    pub fn estimate(&self, key: &PublicKey) -> Option<(&str, i64)> {
        let peer = self.peers.get(key)?;
        Some((&peer.name, median(peer.samples.iter().copied().collect())?))
    }

    /// The offset of the network's clocks from this one, in milliseconds:
    /// the median of the estimates of the validators heard from within
    /// [`CLOCK_SAMPLES_FRESH_MS`] of `now_ms`. Positive: this node's clock
    /// is behind most of its peers'. `None` if none was heard from.
    pub fn overall(&self, now_ms: u64) -> Option<i64> {
        let fresh = self
            .peers
            .values()
            .filter(|p| now_ms.saturating_sub(p.last_ms) <= CLOCK_SAMPLES_FRESH_MS)
            .filter_map(|p| median(p.samples.iter().copied().collect()))
            .collect();
        median(fresh)
    }

    /// Forgets the validators `keep` refuses (those no longer in a set).
    pub fn retain(&mut self, mut keep: impl FnMut(&PublicKey) -> bool) {
        self.peers.retain(|k, _| keep(k));
    }

    /// Validators with samples.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// True when no validator has samples.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// The median; of an even count, the mean of the middle two (rounded
/// towards minus infinity).
fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        return Some(values[mid]);
    }
    let sum = i128::from(values[mid - 1]) + i128::from(values[mid]);
    Some(sum.div_euclid(2) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::crypto::SigningKey;
    use ledger::{Hash, Height, PeerId, Vote};

    fn key(i: u8) -> SigningKey {
        SigningKey::from_seed([i; 32])
    }

    fn set(powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            powers
                .iter()
                .enumerate()
                .map(|(i, &power)| {
                    let k = key(i as u8 + 1).public_key();
                    Validator {
                        name: format!("v{}", i + 1),
                        consensus_key: k,
                        peer_id: PeerId::from_ed25519(&k).unwrap(),
                        power,
                    }
                })
                .collect(),
        )
        .unwrap()
    }

    fn precommit(i: u8, round: u32, block: Option<Hash>) -> Vote {
        Vote::sign(&key(i), "c", VoteType::Precommit, Height(7), round, block)
    }

    fn names(vs: Vec<&Validator>) -> Vec<&str> {
        vs.into_iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn missed_signatures_are_the_set_less_the_certificate_and_late_precommits() {
        let block = Hash([9; 32]);
        let set = set(&[1, 1, 1, 1]);
        let cert = |signers: &[u8]| CommitCertificate {
            height: Height(7),
            round: 2,
            block_hash: block,
            precommits: signers
                .iter()
                .map(|&i| precommit(i, 2, Some(block)))
                .collect(),
        };
        let none = |_: &PublicKey| false;
        assert!(missed_signatures(&cert(&[1, 2, 3, 4]), &set, none).is_empty());
        assert_eq!(
            names(missed_signatures(&cert(&[1, 2, 4]), &set, none)),
            ["v3"]
        );
        let mut missing = names(missed_signatures(&cert(&[3]), &set, none));
        missing.sort_unstable();
        assert_eq!(missing, ["v1", "v2", "v4"]);
        // A precommit for nil, another block or another round is no
        // signature of this block.
        let mut odd = cert(&[1, 2]);
        odd.precommits.push(precommit(3, 2, None));
        odd.precommits.push(precommit(4, 1, Some(block)));
        odd.precommits.push(precommit(4, 2, Some(Hash([8; 32]))));
        let mut missing = names(missed_signatures(&odd, &set, none));
        missing.sort_unstable();
        assert_eq!(missing, ["v3", "v4"]);
        // A signer outside the set is not counted, and does not hide one.
        let mut stranger = cert(&[1, 2, 3]);
        stranger.precommits.push(precommit(40, 2, Some(block)));
        assert_eq!(names(missed_signatures(&stranger, &set, none)), ["v4"]);
        // A precommit that came after the decision counts as signed; one
        // for another block does not.
        let mut seen = PrecommitsSeen::default();
        seen.note(7, key(3).public_key(), block);
        seen.note(7, key(4).public_key(), Hash([8; 32]));
        seen.note(6, key(4).public_key(), block);
        let late = |k: &PublicKey| seen.saw(7, k, &block);
        assert_eq!(names(missed_signatures(&cert(&[1, 2]), &set, late)), ["v4"]);
    }

    #[test]
    fn precommits_seen_are_bounded_and_forgotten_by_height() {
        let mut seen = PrecommitsSeen::default();
        let k = key(1).public_key();
        for i in 0..(PRECOMMITS_SEEN_PER_HEIGHT_MAX + 10) {
            seen.note(5, k, Hash::digest(&i.to_le_bytes()));
        }
        seen.note(6, k, Hash([1; 32]));
        seen.note(7, k, Hash([1; 32]));
        assert_eq!(seen.len(), PRECOMMITS_SEEN_PER_HEIGHT_MAX + 2);
        seen.forget_below(6);
        assert_eq!(seen.len(), 2);
        assert!(!seen.saw(5, &k, &Hash::digest(&0usize.to_le_bytes())));
        assert!(seen.saw(6, &k, &Hash([1; 32])));
        assert!(!seen.saw(6, &k, &Hash([2; 32])));
        seen.forget_below(8);
        assert!(seen.is_empty());
    }

    #[test]
    fn connected_power_counts_peers_of_the_set_and_this_validator() {
        let set = set(&[10, 20, 30, 40]);
        let by_name =
            |names: &'static [&'static str]| move |v: &Validator| names.contains(&v.name.as_str());
        assert_eq!(connected_power_share(&set, None, by_name(&[])), 0.0);
        assert_eq!(
            connected_power_share(&set, None, by_name(&["v1", "v2", "v3", "v4"])),
            1.0
        );
        // A full node connected to v2 and v4: 60 of 100.
        let share = connected_power_share(&set, None, by_name(&["v2", "v4"]));
        assert!((share - 0.6).abs() < 1e-12, "{share}");
        // Validator v1, connected to v3 only: its own 10 and v3's 30.
        let me = key(1).public_key();
        let share = connected_power_share(&set, Some(&me), by_name(&["v3"]));
        assert!((share - 0.4).abs() < 1e-12, "{share}");
        // Its own power counts once, even if it were "connected" to itself;
        // a key outside the set adds nothing.
        let share = connected_power_share(&set, Some(&me), by_name(&["v1"]));
        assert!((share - 0.1).abs() < 1e-12, "{share}");
        let outsider = key(99).public_key();
        assert_eq!(
            connected_power_share(&set, Some(&outsider), by_name(&[])),
            0.0
        );
    }

    #[test]
    fn clock_offset_is_the_median_of_recent_messages() {
        let mut clocks = ClockOffsets::default();
        let a = key(1).public_key();
        let b = key(2).public_key();
        let c = key(3).public_key();
        // a's clock is 300 ms ahead; messages take 5 to 25 ms, and one
        // comes 4 s late (re-sent, or stuck in a queue).
        let t = 1_767_225_600_000u64;
        for (i, delay) in [5u64, 10, 25, 4_000, 7].into_iter().enumerate() {
            let received = t + 1_000 * i as u64;
            let sent = received + 300 - delay;
            clocks.record(a, "v1", sent, received);
        }
        assert_eq!(clocks.estimate(&a), Some(("v1", 290)));
        // b's clock is 2 s behind; c agrees with this node.
        for i in 0..3u64 {
            clocks.record(b, "v2", t + i * 10 - 2_000, t + i * 10 + 10);
            clocks.record(c, "v3", t + i * 10, t + i * 10 + 10);
        }
        assert_eq!(clocks.estimate(&b), Some(("v2", -2_010)));
        assert_eq!(clocks.estimate(&c), Some(("v3", -10)));
        // The network's offset is the median validator's: one bad clock
        // does not move it.
        assert_eq!(clocks.overall(t + 5_000), Some(-10));
        // Only the last samples count: a clock that is set right shows it
        // once they are newer.
        for i in 0..CLOCK_SAMPLES_PER_VALIDATOR as u64 {
            clocks.record(b, "v2", t + 100 + i, t + 100 + i);
        }
        assert_eq!(clocks.estimate(&b), Some(("v2", 0)));
        // Validators not heard from lately leave the overall figure.
        let later = t + 10_000 + CLOCK_SAMPLES_FRESH_MS;
        clocks.record(a, "v1", later + 300, later);
        assert_eq!(clocks.estimate(&a), Some(("v1", 291)));
        assert_eq!(clocks.overall(later), Some(291));
        clocks.retain(|k| *k != a);
        assert_eq!(clocks.overall(later), None);
        assert_eq!(clocks.len(), 2);
    }

    #[test]
    fn clock_offset_survives_absurd_times() {
        let mut clocks = ClockOffsets::default();
        let a = key(1).public_key();
        assert_eq!(clocks.record(a, "v1", u64::MAX, 0), i64::MAX);
        assert_eq!(clocks.record(a, "v1", 0, u64::MAX), -1);
        assert_eq!(median(vec![i64::MIN, i64::MIN + 1]), Some(i64::MIN));
        assert_eq!(median(vec![-3, 4]), Some(0));
        assert_eq!(median(vec![-3, -4]), Some(-4));
        assert_eq!(median(Vec::new()), None);
    }
}
