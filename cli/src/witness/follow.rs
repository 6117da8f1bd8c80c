//! `minhbach witness run`: following nodes and cosigning their
//! checkpoints, one round every interval.
//!
//! Each round asks every node for its latest checkpoint
//! (`GET /v1/checkpoint`) and verifies it from the genesis file alone. One
//! that does not verify is reported and never cosigned. One that extends
//! the checkpoint cosigned last (a consistency proof from the node,
//! `GET /v1/consistency?from=M&to=N`, links the two roots) is written to
//! the home as the last cosigned, then signed, logged, and handed to every
//! node (`POST /v1/cosignatures`); a node that did not take it is handed it
//! again each round. A node behind the last cosigned height is compared
//! with the cosigned history ([`super::behind`]): on it, it is waited for;
//! with another certified block at its height, it is a fork.
//!
//! A checkpoint that does not extend the last cosigned one is a split
//! view, or a node's mistake: the node's checkpoint at the cosigned height
//! (`GET /v1/checkpoints/{h}`) tells which. Another certified block there
//! is a fork: its proof is written to the home and the witness stops with
//! [`super::EXIT_FORK`]. The same block there means the node served a bad
//! proof: reported, not cosigned.
//!
//! A fork proof holds, besides that main pair, a pair at each height the
//! witness cosigned recently ([`super::recent`]) where the node's block is
//! another one too, from the newest down to the first height where the two
//! agree; the node's consistency proofs link its side's checkpoints. What
//! the node does not serve, or serves wrong, there only leaves earlier
//! pairs out: the proof is written with the main pair in any case.

use std::fs::File;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ledger::crypto::SigningKey;
use ledger::merkle::ConsistencyProof;
use ledger::proof::TrustAnchor;
use ledger::witness::{
    extends, Checkpoint, CheckpointProof, Cosignature, ForkPair, ForkProof, CHECKPOINT_BYTES_MAX,
    FORK_PROOF_BYTES_MAX,
};
use ledger::{EntityId, Height};
use serde_json::json;
use tokio::task::JoinHandle;
use tools::client::{Client, ClientError};

use super::behind::{compare, get, joined, verified, Behind};
use super::changes::same_changes;
use super::fork::{heights_text, signers_text, summary};
use super::home::{is_of, HomeError, Opened, WitnessHome, GENESIS_FILE};
use super::recent::{Recent, CONSISTENCY_BYTES_MAX};
use crate::Output;

/// A node followed, and what the witness knows of it.
struct Node {
    client: Client,
    /// The serial of the cosignature it took (or holds newer than).
    took: Option<u64>,
    /// The last problem reported of its checkpoints, said once.
    fetch_problem: Option<String>,
    /// Whether a problem of its checkpoints was met this round.
    failed_this_round: bool,
    /// The last problem reported of handing it a cosignature, said once.
    post_problem: Option<String>,
    /// The height of the last cosigned checkpoint its latest checkpoint
    /// was found to extend: it holds the cosigned history up to there.
    extends_last: Option<Height>,
    /// Its latest checkpoint, below the last cosigned height (the second),
    /// found to be of the cosigned history: not checked again.
    behind_ok: Option<(Checkpoint, Height)>,
    /// The last cosigned height at which it was reported behind and not
    /// comparable, said once for each.
    behind_warned: Option<Height>,
}

impl Node {
    fn url(&self) -> &str {
        self.client.base()
    }

    fn report(slot: &mut Option<String>, url: &str, problem: String) {
        if slot.as_deref() != Some(problem.as_str()) {
            eprintln!("warning: {url}: {problem}");
            *slot = Some(problem);
        }
    }

    fn fetch_failed(&mut self, problem: String) {
        self.failed_this_round = true;
        let url = self.client.base().to_owned();
        Node::report(&mut self.fetch_problem, &url, problem);
    }

    /// After a round with no problem of its checkpoints.
    fn fetch_ok(&mut self) {
        if self.fetch_problem.take().is_some() {
            eprintln!("{}: its checkpoints are in order again", self.url());
        }
    }
}

/// A fork found: its proof and the node that served the other side.
pub struct Found {
    proof: ForkProof,
    node: String,
    /// For a node behind: the node that served the cosigned history's
    /// block, and the last cosigned height its checkpoint is below.
    side: Option<(String, Height)>,
}

/// Whether a node's checkpoint extends the one cosigned last.
enum Linked {
    /// Yes, by this proof.
    Yes(ConsistencyProof),
    /// No, for this reason: a split view or a bad proof.
    No(String),
    /// Not known: the node did not answer.
    Unknown(ClientError),
}

/// The witness while it runs.
pub struct Follower {
    home: WitnessHome,
    id: EntityId,
    key: SigningKey,
    anchor: TrustAnchor,
    output: Output,
    /// The checkpoint cosigned last, as written in the home.
    last: Option<CheckpointProof>,
    /// Those cosigned before it, as written in the home.
    recent: Recent,
    /// The cosignature of `last`, handed to the nodes.
    latest: Option<Cosignature>,
    /// Counts the cosignatures made since the start.
    serial: u64,
    /// The node that served `last`, since the start.
    last_from: Option<String>,
    _lock: File,
}

impl Follower {
    /// The follower of an opened home. A state whose cosignature is not the
    /// log's last (the process stopped between the two) is signed again.
    pub fn new(home: WitnessHome, opened: Opened, output: Output) -> Result<Follower, HomeError> {
        let Opened {
            config,
            key,
            anchor,
            last,
            recent,
            logged,
            lock,
            ..
        } = opened;
        let mut follower = Follower {
            home,
            id: config.id,
            key,
            anchor,
            output,
            last: None,
            recent,
            latest: None,
            serial: 0,
            last_from: None,
            _lock: lock,
        };
        if let Some(last) = last {
            let public = follower.key.public_key();
            match logged.filter(|c| is_of(c, &last.checkpoint, &public)) {
                Some(c) => {
                    follower.last = Some(last);
                    follower.latest = Some(c);
                    follower.serial = 1;
                }
                None => follower.sign(last, None)?,
            }
        }
        Ok(follower)
    }

    /// Height of the checkpoint cosigned last.
    pub fn last_height(&self) -> Option<Height> {
        self.last.as_ref().map(|p| p.checkpoint.height)
    }

    /// Follows `clients` until a fork is found ([`super::EXIT_FORK`]) or
    /// the home cannot be written (an error). Ctrl-C is the caller's.
    pub async fn run(mut self, clients: Vec<Client>, interval: Duration) -> anyhow::Result<u8> {
        let mut nodes: Vec<Node> = clients
            .into_iter()
            .map(|client| Node {
                client,
                took: None,
                fetch_problem: None,
                failed_this_round: false,
                post_problem: None,
                extends_last: None,
                behind_ok: None,
                behind_warned: None,
            })
            .collect();
        let urls: Vec<&str> = nodes.iter().map(Node::url).collect();
        let from = match self.last_height() {
            Some(h) => format!("the last cosigned checkpoint is at height {h}"),
            None => "it has cosigned nothing yet".into(),
        };
        eprintln!(
            "witness {} following {}; {from}; Ctrl-C to stop",
            self.id,
            urls.join(", ")
        );
        loop {
            if let Some(found) = self.round(&mut nodes).await? {
                return Ok(self.report(found)?);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// One round: every node's latest checkpoint, then the latest
    /// cosignature to the nodes that lack it.
    async fn round(&mut self, nodes: &mut [Node]) -> Result<Option<Found>, HomeError> {
        let fetches: Vec<_> = nodes
            .iter()
            .map(|n| get(&n.client, "/v1/checkpoint".into(), CHECKPOINT_BYTES_MAX))
            .collect();
        for (i, fetch) in fetches.into_iter().enumerate() {
            let answer = joined(fetch).await;
            let sides = self.sides(nodes);
            let node = &mut nodes[i];
            node.failed_this_round = false;
            if let Some(found) = self.consider(node, answer, sides).await? {
                return Ok(Some(found));
            }
            if !node.failed_this_round {
                node.fetch_ok();
            }
        }
        self.hand_out(nodes).await;
        Ok(None)
    }

    /// A checkpoint proof from its bytes, verified from the genesis file.
    fn check(&self, bytes: &[u8]) -> Result<CheckpointProof, String> {
        verified(&self.anchor, bytes)
    }

    /// The nodes holding the cosigned history up to the last cosigned
    /// height, to compare a node behind with: the one that served it
    /// first, then those whose latest checkpoint was found to extend it.
    fn sides(&self, nodes: &[Node]) -> Vec<Client> {
        let Some(l) = self.last_height() else {
            return Vec::new();
        };
        let from = self.last_from.as_deref();
        let mut sides: Vec<&Node> = nodes
            .iter()
            .filter(|n| n.extends_last == Some(l) || Some(n.url()) == from)
            .collect();
        sides.sort_by_key(|n| Some(n.url()) != from);
        sides.into_iter().map(|n| n.client.clone()).collect()
    }

    /// What to do with a node's answer to `GET /v1/checkpoint`.
    async fn consider(
        &mut self,
        node: &mut Node,
        answer: Result<Vec<u8>, ClientError>,
        sides: Vec<Client>,
    ) -> Result<Option<Found>, HomeError> {
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(e) => {
                node.fetch_failed(format!("{e}; asking again next round"));
                return Ok(None);
            }
        };
        let proof = match self.check(&bytes) {
            Ok(proof) => proof,
            Err(problem) => {
                node.fetch_failed(format!("its checkpoint {problem}; not cosigned"));
                return Ok(None);
            }
        };
        let Some(last) = &self.last else {
            self.sign(proof, None)?;
            self.signed_from(node);
            return Ok(None);
        };
        let (old, new) = (&last.checkpoint, &proof.checkpoint);
        if new == old {
            node.extends_last = Some(old.height);
            return Ok(None);
        }
        if new.height < old.height {
            return Ok(self.behind(node, proof, &sides).await);
        }
        let why = if new.height == old.height {
            format!("another block at height {}", new.height)
        } else {
            match self.linked(node, old, new).await {
                Linked::Yes(link) => {
                    if let Err(problem) = same_changes(last, &proof) {
                        node.fetch_failed(format!(
                            "its checkpoint at height {} extends the one cosigned at height                              {}, but {problem}; not cosigned",
                            new.height, old.height
                        ));
                        return Ok(None);
                    }
                    self.sign(proof, Some(link))?;
                    self.signed_from(node);
                    return Ok(None);
                }
                Linked::Unknown(e) => {
                    node.fetch_failed(format!("{e}; height {} not cosigned yet", new.height));
                    return Ok(None);
                }
                Linked::No(why) => why,
            }
        };
        Ok(self.split_view(node, new.height, why).await)
    }

    /// After cosigning `node`'s checkpoint.
    fn signed_from(&mut self, node: &mut Node) {
        node.extends_last = self.last_height();
        self.last_from = Some(node.url().to_owned());
    }

    /// A node's latest checkpoint `mine`, below the last cosigned: compared
    /// with the checkpoint kept at its height if there is one, otherwise
    /// with the cosigned history as `sides` serve it. Consistent, it is
    /// waited for; another certified block is a fork; not comparable, it is
    /// reported once for each last cosigned height.
    async fn behind(
        &self,
        node: &mut Node,
        mine: CheckpointProof,
        sides: &[Client],
    ) -> Option<Found> {
        let last = self.last.as_ref()?;
        let (n, l) = (mine.checkpoint.height, last.checkpoint.height);
        let checked = (mine.checkpoint.clone(), l);
        if node.behind_ok.as_ref() == Some(&checked) {
            return None;
        }
        let kept = self
            .recent
            .earlier()
            .iter()
            .find(|r| r.proof.checkpoint.height == n);
        let compared = match kept {
            Some(kept) if kept.proof.checkpoint.block_hash == mine.checkpoint.block_hash => {
                Behind::Consistent
            }
            Some(kept) => {
                let earlier = self.earlier_pairs(node, &mine).await;
                return Some(Found {
                    proof: ForkProof::new(kept.proof.clone(), mine).with_earlier(earlier),
                    node: node.url().to_owned(),
                    side: None,
                });
            }
            // Without a node to compare with (just started), next round.
            None if sides.is_empty() => return None,
            None => compare(&self.anchor, last, &mine, sides).await,
        };
        match compared {
            Behind::Consistent => {
                node.behind_ok = Some(checked);
                node.behind_warned = None;
                None
            }
            Behind::Fork { side, at } => Some(Found {
                proof: ForkProof::new(*at, mine),
                node: node.url().to_owned(),
                side: Some((side, l)),
            }),
            Behind::Unchecked(why) => {
                if node.behind_warned != Some(l) {
                    eprintln!(
                        "warning: {}: its latest checkpoint is at height {n}, {} below the                          last cosigned, at {l}, and whether it is of the cosigned history                          could not be checked: {why}; checking again each round",
                        node.url(),
                        l.0 - n.0
                    );
                    node.behind_warned = Some(l);
                }
                None
            }
        }
    }

    /// Whether the node proves that `new` extends `old`.
    async fn linked(&self, node: &Node, old: &Checkpoint, new: &Checkpoint) -> Linked {
        let path = format!("/v1/consistency?from={}&to={}", old.height, new.height);
        match joined(get(&node.client, path, CONSISTENCY_BYTES_MAX)).await {
            Err(e @ (ClientError::Unreachable { .. } | ClientError::Tls { .. })) => {
                Linked::Unknown(e)
            }
            Err(e) => Linked::No(format!("no consistency proof ({e})")),
            Ok(bytes) => match serde_json::from_slice::<ConsistencyProof>(&bytes) {
                Err(e) => Linked::No(format!("a consistency proof that cannot be read ({e})")),
                Ok(p) if extends(old, new, Some(&p)) => Linked::Yes(p),
                Ok(_) => Linked::No(format!(
                    "a consistency proof that does not link the root at {} to the root at {}",
                    old.height, new.height
                )),
            },
        }
    }

    /// A checkpoint at `height` that does not extend the last cosigned one
    /// (`why`): a fork if the node's block at the cosigned height is
    /// another, certified one; a bad proof if it is the same.
    async fn split_view(&self, node: &mut Node, height: Height, why: String) -> Option<Found> {
        // Without a cosigned checkpoint there is nothing to split from.
        let last = self.last.as_ref()?;
        let at = last.checkpoint.height;
        let path = format!("/v1/checkpoints/{at}");
        let answer = joined(get(&node.client, path, CHECKPOINT_BYTES_MAX)).await;
        let other = answer
            .map_err(|e| e.to_string())
            .and_then(|bytes| self.check(&bytes));
        let other = match other {
            Ok(other) if other.checkpoint.height == at => other,
            Ok(other) => {
                node.fetch_failed(format!(
                    "asked for its checkpoint at height {at}, it answered height {}; \
                     height {height} not cosigned",
                    other.checkpoint.height
                ));
                return None;
            }
            Err(e) => {
                node.fetch_failed(format!(
                    "its checkpoint at height {height} does not extend the one cosigned at \
                     height {at} ({why}), and its checkpoint at {at} could not be checked: {e}; \
                     not cosigned"
                ));
                return None;
            }
        };
        if other.checkpoint.block_hash != last.checkpoint.block_hash {
            let earlier = self.earlier_pairs(node, &other).await;
            return Some(Found {
                proof: ForkProof::new(last.clone(), other).with_earlier(earlier),
                node: node.url().to_owned(),
                side: None,
            });
        }
        node.fetch_failed(format!(
            "served height {height} with {why}, yet it holds the block cosigned at height {at}: \
             a bad proof from the node; not cosigned"
        ));
        None
    }

    /// The pairs below the main one, `other` the node's checkpoint at the
    /// last cosigned height: at each height cosigned before, from the
    /// newest down, the node's checkpoint if it is another block, linked by
    /// the node's consistency proof to its checkpoint of the pair above.
    /// Stops at the first height where the node has the block cosigned (the
    /// histories agree there and below) and at the first answer that is
    /// missing or does not check out. In increasing height.
    async fn earlier_pairs(&self, node: &Node, other: &CheckpointProof) -> Vec<ForkPair> {
        let mut pairs = Vec::new();
        let mut next = other.checkpoint.clone();
        let below = self.recent.earlier().iter().rev();
        for retained in below.filter(|r| r.proof.checkpoint.height < other.checkpoint.height) {
            let h = retained.proof.checkpoint.height;
            let path = format!("/v1/checkpoints/{h}");
            let Ok(bytes) = joined(get(&node.client, path, CHECKPOINT_BYTES_MAX)).await else {
                break;
            };
            let Ok(theirs) = self.check(&bytes) else {
                break;
            };
            if theirs.checkpoint.height != h
                || theirs.checkpoint.block_hash == retained.proof.checkpoint.block_hash
            {
                break;
            }
            let path = format!("/v1/consistency?from={h}&to={}", next.height);
            let Ok(bytes) = joined(get(&node.client, path, CONSISTENCY_BYTES_MAX)).await else {
                break;
            };
            let Ok(link) = serde_json::from_slice::<ConsistencyProof>(&bytes) else {
                break;
            };
            if !extends(&theirs.checkpoint, &next, Some(&link)) {
                break;
            }
            next = theirs.checkpoint.clone();
            pairs.push(ForkPair {
                cosigned: retained.proof.clone(),
                cosigned_link: retained.link.clone(),
                other: theirs,
                other_link: link,
            });
        }
        pairs.reverse();
        pairs
    }

    /// Cosigns `proof`, linked by `link` from the last cosigned (none for
    /// the first): the checkpoints cosigned before and then the last
    /// cosigned are written to the home, then it is signed and logged.
    fn sign(
        &mut self,
        proof: CheckpointProof,
        link: Option<ConsistencyProof>,
    ) -> Result<(), HomeError> {
        let recent = match (&self.last, link) {
            (Some(last), Some(link)) => {
                assert!(
                    proof.checkpoint.height > last.checkpoint.height,
                    "a witness never cosigns below or at what it cosigned"
                );
                let recent = self.recent.after(last.clone(), link);
                self.home.save_recent(&recent)?;
                recent
            }
            (Some(_), None) => {
                unreachable!("a checkpoint after the last is cosigned with its link")
            }
            (None, _) => self.recent.clone(),
        };
        self.home.save_state(&proof)?;
        let c = Cosignature::sign(&self.key, self.id.clone(), &proof.checkpoint, now_ms());
        self.home.log(&c)?;
        self.print(&c, &proof.checkpoint);
        self.last = Some(proof);
        self.recent = recent;
        self.latest = Some(c);
        self.serial += 1;
        Ok(())
    }

    /// One line on stdout per cosignature. A closed stdout does not stop
    /// the witness.
    fn print(&self, c: &Cosignature, checkpoint: &Checkpoint) {
        let line = match self.output {
            Output::Json => serde_json::to_string(c).expect("a cosignature serialises"),
            Output::Table | Output::Csv => format!(
                "cosigned  height {}  block {}  root {}",
                c.height, checkpoint.block_hash, c.history_root
            ),
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }

    /// Hands the latest cosignature to every node that has not taken it.
    async fn hand_out(&self, nodes: &mut [Node]) {
        let Some(c) = &self.latest else {
            return;
        };
        let body = serde_json::to_value(c).expect("a cosignature serialises");
        let posts: Vec<Option<JoinHandle<_>>> = nodes
            .iter()
            .map(|n| {
                (n.took != Some(self.serial)).then(|| {
                    let (client, body) = (n.client.clone(), body.clone());
                    tokio::task::spawn_blocking(move || client.post("/v1/cosignatures", &body))
                })
            })
            .collect();
        for (node, post) in nodes.iter_mut().zip(posts) {
            let Some(post) = post else {
                continue;
            };
            match joined(post).await {
                Ok(_) => {}
                // It holds this one or a newer one: nothing to hand it.
                Err(ClientError::Rejected { code, .. }) if code == "not_newer" => {}
                Err(e) => {
                    let url = node.url().to_owned();
                    Node::report(
                        &mut node.post_problem,
                        &url,
                        format!(
                            "did not take the cosignature of height {} ({e}); handing it \
                             again next round",
                            c.height
                        ),
                    );
                    continue;
                }
            }
            node.took = Some(self.serial);
            if node.post_problem.take().is_some() {
                eprintln!(
                    "{}: took the cosignature of height {}",
                    node.url(),
                    c.height
                );
            }
        }
    }

    /// Writes the fork proof, says what it proves, and ends the run.
    fn report(&self, mut found: Found) -> Result<u8, HomeError> {
        let proof = &mut found.proof;
        // The lowest pairs leave a proof a verifier would not read whole.
        while !proof.earlier.is_empty() && proof.to_json().len() >= FORK_PROOF_BYTES_MAX {
            proof.earlier.remove(0);
        }
        // Each pair was checked on its own; should they not hold together,
        // the main pair still proves the fork.
        if !proof.earlier.is_empty() && proof.verify(&self.anchor).is_err() {
            proof.earlier.clear();
        }
        let path = self.home.save_fork_proof(&found.proof)?;
        let genesis = self.home.path(GENESIS_FILE);
        match found.proof.verify(&self.anchor) {
            Ok(fork) => {
                let first = match &found.side {
                    None => format!("this witness cosigned block {}", fork.cosigned),
                    Some((side, l)) => format!(
                        "{side} serves block {}, of the history this witness cosigned up to \
                         height {l}",
                        fork.cosigned
                    ),
                };
                eprintln!(
                    "FORK at height {h}: {first}, and {node} serves block {b} at the same \
                     height; both are certified. The two histories differ at {heights}. \
                     Validators whose keys certified blocks of both: {who}.\nThe fork proof is \
                     in {file}; anyone can check it with `minhbach verify fork {file} \
                     --genesis {genesis}`. The witness has stopped and cosigns nothing more of \
                     this chain.",
                    h = fork.height,
                    b = fork.other,
                    node = found.node,
                    heights = heights_text(&fork),
                    who = signers_text(&fork),
                    file = path.display(),
                    genesis = genesis.display(),
                );
                if self.output == Output::Json {
                    let mut v = summary(self.anchor.chain_id(), &fork);
                    v["file"] = json!(path.display().to_string());
                    v["node"] = json!(found.node);
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{v}").and_then(|()| out.flush());
                }
            }
            // Both sides verified on their own: this is not expected.
            Err(e) => eprintln!(
                "FORK: {} serves another block at height {} than the one cosigned; the proof \
                 in {} does not verify ({e})",
                found.node,
                found.proof.cosigned.checkpoint.height,
                path.display()
            ),
        }
        Ok(super::EXIT_FORK)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
