//! Full re-verification of a store, from genesis to its last height: hash
//! links, transaction and evidence roots, commit certificates against the
//! right validator set, time, the transaction index, and re-execution of every
//! transaction to the same state roots. This is `minhbach verify chain`.

use thiserror::Error;

use crate::block::Block;
use crate::state::{verdicts_on_every_core, State, Verdict};
use crate::store::{involved, written_vendors, Store, StoreError, TxLocation};
use crate::types::{EntityId, Hash, Height};
use crate::validity::{check_block, ChainView, Walk};

/// The first problem found.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Block `height` is wrong.
    #[error("height {height}: {what}")]
    Bad {
        /// The first bad height (0 for genesis and metadata).
        height: Height,
        /// What is wrong.
        what: String,
    },
}

impl VerifyError {
    /// The height the problem was found at.
    pub fn height(&self) -> Height {
        match self {
            VerifyError::Store(StoreError::Corrupt { height, .. }) => *height,
            VerifyError::Store(_) => Height(0),
            VerifyError::Bad { height, .. } => *height,
        }
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Blocks checked.
    pub height: Height,
    /// Transactions re-executed.
    pub txs: u64,
    /// Hash of the last block.
    pub last_block_hash: Hash,
    /// Final state root.
    pub state_root: Hash,
}

/// Blocks read and checked ahead of the walk, at most.
const READ_AHEAD_BLOCKS: usize = 4;

/// A block read ahead of the walk, with its signatures' verdicts and what
/// is wrong with its transaction index, told once the walk has checked the
/// block itself (a rewritten block is named for what it is, not for the
/// index entries it no longer matches).
struct Read {
    block: Block,
    /// Its transactions' hashes, in order.
    hashes: Vec<Hash>,
    verdicts: Vec<Option<Verdict>>,
    index: Result<(), VerifyError>,
}

/// Reads block `h`, verifies its transactions' signatures on every core,
/// and checks its transactions' index entries: everything of the block
/// that does not depend on the state before it.
fn read_ahead(store: &Store, h: Height) -> Result<Read, VerifyError> {
    let block = store.block(h)?.ok_or_else(|| bad(h, "block missing"))?;
    let hashes = block.tx_hashes();
    let index = check_index(store, h, &hashes);
    let verdicts = verdicts_on_every_core(&block.txs);
    Ok(Read {
        block,
        hashes,
        verdicts,
        index,
    })
}

/// Checks that the transaction index places each of the transactions of
/// block `h`, whose hashes are `hashes`, in it.
fn check_index(store: &Store, h: Height, hashes: &[Hash]) -> Result<(), VerifyError> {
    for (i, hash) in hashes.iter().enumerate() {
        let want = TxLocation {
            height: h,
            index: i as u32,
        };
        // The index entry cannot know its height; name the block's.
        let found = store.tx_location(hash).map_err(|e| match e {
            StoreError::Corrupt { what, .. } => StoreError::Corrupt { height: h, what },
            e => e,
        })?;
        if found != Some(want) {
            return Err(bad(
                h,
                format!("transaction index entry for {hash} is wrong"),
            ));
        }
    }
    Ok(())
}

/// An entry the walk expects to find in the store, looked up on another
/// thread so that the walk, the one step that cannot be shared out, does
/// not wait for the store.
enum Lookup {
    /// The history of `entity` lists transaction `index` of the block,
    /// whose hash is `hash`.
    History {
        entity: EntityId,
        index: u32,
        hash: Hash,
    },
    /// The summaries hold `value` under `key`, an entry written once.
    Summary { key: Vec<u8>, value: Vec<u8> },
}

/// Looks up each block's [`Lookup`]s as the walk sends them, until it
/// stops sending or one is not found.
fn check_lookups(
    store: &Store,
    blocks: std::sync::mpsc::Receiver<(Height, Vec<Lookup>)>,
) -> Result<(), VerifyError> {
    for (h, lookups) in blocks {
        for lookup in lookups {
            match lookup {
                Lookup::History {
                    entity,
                    index,
                    hash,
                } => {
                    let location = TxLocation { height: h, index };
                    if store.history_entry(&entity, location)? != Some(hash) {
                        return Err(bad(
                            h,
                            format!("the history of {entity} lacks transaction {index}"),
                        ));
                    }
                }
                Lookup::Summary { key, value } => {
                    let stored =
                        crate::summary::SummaryRead::get(store, &key).map_err(|e| bad(h, e.0))?;
                    if stored.as_ref() != Some(&value) {
                        return Err(summaries_differ(h, &key));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Of two problems found, the one at the lower height.
fn first_of(a: VerifyError, b: VerifyError) -> VerifyError {
    if b.height() < a.height() {
        b
    } else {
        a
    }
}

fn bad(height: Height, what: impl Into<String>) -> VerifyError {
    VerifyError::Bad {
        height,
        what: what.into(),
    }
}

/// Re-verifies `store` from `genesis` (the state built from the genesis file,
/// whose hash is `genesis_hash` and time `genesis_time_ms`). `progress` is
/// called after each block.
pub fn verify_store(
    store: &Store,
    genesis: &State,
    genesis_hash: Hash,
    genesis_time_ms: u64,
    mut progress: impl FnMut(Height),
) -> Result<VerifyReport, VerifyError> {
    let g = Height(0);
    let meta = store.meta()?.ok_or_else(|| bad(g, "the store is empty"))?;
    if meta.chain_id != genesis.chain_id() || meta.genesis_hash != genesis_hash {
        return Err(bad(
            g,
            format!(
                "the store is for chain {:?} with genesis {}, not {:?} with genesis {genesis_hash}",
                meta.chain_id,
                meta.genesis_hash,
                genesis.chain_id()
            ),
        ));
    }
    let mut walk = Walk::genesis(genesis.clone(), genesis_hash, genesis_time_ms);
    let mut txs: u64 = 0;
    let mut history_entries: u64 = 0;
    let mut set_changes: Vec<Height> = Vec::new();
    // The readers' summaries, recomputed block by block, to hold against
    // the stored ones: a doctored figure on the explorer fails here too.
    let check_summaries = store.summaries_complete()?;
    let mut summaries = std::collections::BTreeMap::new();
    // Entries written once are checked as they are computed, and counted.
    let mut written_once: u64 = 0;
    // The history tree, grown here block by block, to hold every stored
    // subtree against: a doctored one would make proofs that fail.
    let mut history = crate::merkle::Frontier::default();
    let last_height = meta.height;
    let ahead = |h: Height| read_ahead(store, h);
    std::thread::scope(|scope| {
        // Blocks are read, their signatures verified and their index entries
        // checked on other threads, ahead of the state: none of it depends
        // on the state they are executed on (a transaction whose signer
        // the state does not know is refused by execution before its
        // verdict is looked at).
        let (sender, blocks) = std::sync::mpsc::sync_channel(READ_AHEAD_BLOCKS);
        scope.spawn(move || {
            for n in 1..=last_height.0 {
                let read = ahead(Height(n));
                let failed = read.is_err();
                // The receiver is gone once the walk has failed.
                if sender.send(read).is_err() || failed {
                    break;
                }
            }
        });
        // The store entries the walk expects, looked up on a thread of
        // their own.
        let (lookups, expected) = std::sync::mpsc::sync_channel(READ_AHEAD_BLOCKS);
        let checker = scope.spawn(move || check_lookups(store, expected));
        let walked = (|| {
            for n in 1..=last_height.0 {
                let h = Height(n);
                let Read {
                    block,
                    hashes,
                    verdicts,
                    index,
                } = blocks
                    .recv()
                    .map_err(|_| bad(h, "the block reader stopped"))??;
                // The one rule every validator judged the block by.
                let outcome =
                    check_block(&walk, &block, verdicts).map_err(|e| bad(h, e.to_string()))?;
                let state = &walk.state;
                let cert = store
                    .cert(h)?
                    .ok_or_else(|| bad(h, "commit certificate missing"))?;
                cert.verify(state.chain_id(), h, &block.hash(), state.validators())
                    .map_err(|e| bad(h, format!("commit certificate: {e}")))?;
                index?;
                let mut expect = Vec::with_capacity(block.txs.len() * 3);
                let vendors = written_vendors(&outcome);
                for (i, (tx, hash)) in block.txs.iter().zip(&hashes).enumerate() {
                    for entity in involved(&tx.body.signer, &tx.body.op, &vendors, state) {
                        expect.push(Lookup::History {
                            entity,
                            index: i as u32,
                            hash: *hash,
                        });
                        history_entries += 1;
                    }
                }
                if block.header.validators_hash != block.header.next_validators_hash {
                    set_changes.push(h);
                }
                txs += block.txs.len() as u64;
                if check_summaries {
                    let params = crate::summary::FlagParams::default();
                    let changes = crate::summary::changes_hashed(
                        &block,
                        &hashes,
                        &walk.state,
                        &summaries,
                        &params,
                    )
                    .map_err(|e| bad(h, e.0))?;
                    let (once, held): (Vec<_>, Vec<_>) = changes
                        .into_iter()
                        .partition(|(k, _)| crate::summary::written_once(k));
                    for (key, value) in once {
                        let value = value.ok_or_else(|| summaries_differ(h, &key))?;
                        expect.push(Lookup::Summary { key, value });
                        written_once += 1;
                    }
                    crate::summary::apply(&mut summaries, held);
                }
                for (subtree, root) in
                    crate::history::completed(&mut history, crate::history::leaf(&block.hash()))
                {
                    if crate::history::Subtrees::subtree(store, subtree)? != root {
                        return Err(bad(
                            h,
                            format!(
                                "the stored history tree differs from the chain's at subtree {}/{}",
                                subtree.level, subtree.index
                            ),
                        ));
                    }
                }
                walk.advance(&block, outcome);
                // The checker is gone once a lookup has failed.
                if lookups.send((h, expect)).is_err() {
                    break;
                }
                progress(h);
            }
            Ok::<_, VerifyError>(())
        })();
        drop(lookups);
        let checked = checker.join().expect("looking up entries does not panic");
        match (walked, checked) {
            (Err(a), Err(b)) => Err(first_of(a, b)),
            (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        }
    })?;
    let state = &walk.state;
    let prev_hash = walk.last_hash();
    let last = meta.height;
    if meta.last_block_hash != prev_hash {
        return Err(bad(
            last,
            "the recorded last block hash does not match the chain",
        ));
    }
    if meta.state_root != state.root() {
        return Err(bad(
            last,
            "the recorded state root does not match re-execution",
        ));
    }
    let stored_changes = store.set_change_heights(last.next())?;
    if stored_changes != set_changes {
        return Err(bad(
            last,
            format!(
                "the index of validator-set changes lists heights {stored_changes:?}, the headers give {set_changes:?}"
            ),
        ));
    }
    let stored_history = store.history_len()?;
    if stored_history != history_entries {
        return Err(bad(
            last,
            format!("the history holds {stored_history} entries, the chain accounts for {history_entries}"),
        ));
    }
    if let Some(first) = store.state_differs(state)? {
        return Err(bad(
            last,
            format!("the stored state differs from re-execution at {first}"),
        ));
    }
    if check_summaries {
        compare_summaries(store, last, &summaries, written_once)?;
    }
    Ok(VerifyReport {
        height: last,
        txs,
        last_block_hash: prev_hash,
        state_root: state.root(),
    })
}

fn summaries_differ(h: Height, key: &[u8]) -> VerifyError {
    bad(
        h,
        format!(
            "the stored summaries differ from the chain's at {:?}",
            String::from_utf8_lossy(key)
        ),
    )
}

/// Holds the stored summaries against the ones computed from the chain, in
/// one pass over the store in key order: `computed`, and `written_once`
/// entries already found in the store as they were computed, which must be
/// all the store holds of that kind.
fn compare_summaries(
    store: &Store,
    last: Height,
    computed: &std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    written_once: u64,
) -> Result<(), VerifyError> {
    let mut expected = computed.iter().peekable();
    let mut stored_once: u64 = 0;
    let mut differ: Option<Vec<u8>> = None;
    crate::summary::SummaryRead::scan(store, &[], &mut |k, v| {
        if crate::summary::written_once(k) {
            stored_once += 1;
            return true;
        }
        match expected.next() {
            Some((ek, ev)) if ek.as_slice() == k && ev.as_slice() == v => true,
            Some((ek, _)) => {
                differ = Some(ek.as_slice().min(k).to_vec());
                false
            }
            None => {
                differ = Some(k.to_vec());
                false
            }
        }
    })
    .map_err(|e| bad(last, e.0))?;
    if let Some(k) = differ.or_else(|| expected.next().map(|(k, _)| k.clone())) {
        return Err(summaries_differ(last, &k));
    }
    if stored_once != written_once {
        return Err(bad(
            last,
            format!(
                "the stored summaries hold {stored_once} entries of contracts' transactions, \
                 the chain accounts for {written_once}"
            ),
        ));
    }
    Ok(())
}
