//! Red flags: patterns in the ledger's own data that deserve a journalist's
//! question. They are raised from the ledger's summaries of the whole
//! history ([`ledger::summary`]), so none ages out, and each keeps a stable
//! id. This module reads them once per committed height and keeps them,
//! longer when reading them is slow ([`FLAGS_KEPT_FOR`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger::store::Store;
pub use ledger::summary::flags::*;
use ledger::summary::read;
use ledger::{Height, State};

/// The flags standing at one height.
pub struct Standing {
    /// The height they stand at.
    pub height: Height,
    /// The flags.
    pub flags: Vec<Flag>,
}

impl std::ops::Deref for Standing {
    type Target = [Flag];

    fn deref(&self) -> &[Flag] {
        &self.flags
    }
}

/// The newest `n` of `flags`, newest first: what a feed or a contract's
/// page shows, so that it reads no more of them than that.
pub fn newest<'a>(flags: impl Iterator<Item = &'a Flag>, n: usize) -> Vec<&'a Flag> {
    let mut v: Vec<&Flag> = flags.collect();
    v.sort_by_key(|f| std::cmp::Reverse(f.height()));
    v.truncate(n);
    v
}

/// Reading the flags takes longer than this only on a long history: a
/// million payments unacknowledged past their wait take about a second.
pub const FLAGS_SLOW: Duration = Duration::from_millis(100);

/// Flags that took [`FLAGS_SLOW`] or more to read are kept, whatever
/// heights commit meanwhile, for this many times as long as they took:
/// reading them then costs the node at most a tenth of its time, and the
/// pages say the height they stand at. Quicker reads are made once a
/// height.
pub const FLAGS_KEPT_FOR: u32 = 10;

/// The flags of the last height read, and what reading them cost.
#[derive(Default)]
pub struct FlagCache(Mutex<Option<Kept>>);

struct Kept {
    flags: Arc<Standing>,
    read_at: Instant,
    took: Duration,
}

impl Kept {
    fn serves(&self, now: Height) -> bool {
        self.flags.height == now
            || (self.took >= FLAGS_SLOW && self.read_at.elapsed() < self.took * FLAGS_KEPT_FOR)
    }
}

impl FlagCache {
    /// The flags standing at `state`'s height, read from the summaries
    /// once per height, or those of an earlier height while they are kept
    /// ([`FLAGS_KEPT_FOR`]).
    pub fn get(
        &self,
        store: &Store,
        state: &State,
        params: &FlagParams,
    ) -> Result<Arc<Standing>, ledger::summary::SummaryError> {
        let now = state.height();
        let mut cache = self.0.lock().expect("flag cache lock");
        if let Some(kept) = cache.as_ref().filter(|k| k.serves(now)) {
            return Ok(kept.flags.clone());
        }
        let started = Instant::now();
        let flags = Arc::new(Standing {
            height: now,
            flags: read::flags(store, state, now, params)?,
        });
        *cache = Some(Kept {
            flags: flags.clone(),
            read_at: Instant::now(),
            took: started.elapsed(),
        });
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(height: u64, took: Duration) -> Kept {
        Kept {
            flags: Arc::new(Standing {
                height: Height(height),
                flags: Vec::new(),
            }),
            read_at: Instant::now(),
            took,
        }
    }

    #[test]
    fn quick_reads_are_made_again_each_height_and_slow_ones_kept_for_a_while() {
        let quick = kept(5, FLAGS_SLOW / 10);
        assert!(quick.serves(Height(5)));
        assert!(
            !quick.serves(Height(6)),
            "a quick read is made once a height"
        );
        let slow = kept(5, Duration::from_secs(1));
        assert!(slow.serves(Height(5)));
        assert!(slow.serves(Height(9)), "kept ten times as long as it took");
        let stale = Kept {
            read_at: Instant::now() - Duration::from_secs(11),
            ..kept(5, Duration::from_secs(1))
        };
        assert!(stale.serves(Height(5)));
        assert!(!stale.serves(Height(6)), "read again once that has passed");
    }
}
