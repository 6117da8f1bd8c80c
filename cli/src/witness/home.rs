//! A witness's home: what `witness init` writes and `witness run` keeps.
//!
//! ```text
//! DIR/
//!   witness.json         the witness's id and public key
//!   witness.key          its ed25519 key (mode 0600)
//!   genesis.json         the chain's genesis file: the trust anchor
//!   last-cosigned.json   the checkpoint proof it cosigned last (the state)
//!   recent-cosigned.json those it cosigned before, with their links
//!   cosigned.jsonl       every cosignature it made, one JSON line each
//!   fork-proof-H.json    a fork found at height H, if any
//!   witness.lock         held while `witness run` runs
//! ```
//!
//! `last-cosigned.json` is the one file the witness's promise rests on: it
//! is written in full (to a temporary file, synced, renamed over the old
//! one, and the folder synced) before the checkpoint is signed, so that
//! however the process ends, what it signed is never above what it will
//! find at its next start. A state file that cannot be read stops the
//! witness: starting from nothing could cosign an older or other history.
//!
//! `recent-cosigned.json` ([`super::recent`]) is written the same way, just
//! before the state: the checkpoints cosigned before the last one, for the
//! earlier pairs of a fork proof. One that cannot be read, or that does not
//! fit the state, is reported and left out, in part or in whole; a home
//! without it (made by an older witness) starts with the last cosigned
//! checkpoint alone.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use genesis::{Genesis, GenesisError};
use ledger::crypto::{read_key_file, write_key_file, KeyFileError, SigningKey};
use ledger::proof::TrustAnchor;
use ledger::tx::EntityKind;
use ledger::witness::{Checkpoint, CheckpointProof, Cosignature, ForkProof, CHECKPOINT_BYTES_MAX};
use ledger::{EntityId, Height, PublicKey};
use serde_json::{json, Value};

use super::recent::{Recent, RECENT_BYTES_MAX};

/// The witness's id and key, in `witness.json`.
pub const CONFIG_FILE: &str = "witness.json";
/// The witness's signing key.
pub const KEY_FILE: &str = "witness.key";
/// The chain's genesis file.
pub const GENESIS_FILE: &str = "genesis.json";
/// The checkpoint proof last cosigned.
pub const STATE_FILE: &str = "last-cosigned.json";
/// The checkpoint proofs cosigned before the last, with their links.
pub const RECENT_FILE: &str = "recent-cosigned.json";
/// Every cosignature made, one JSON line each.
pub const LOG_FILE: &str = "cosigned.jsonl";
/// Held by the one `witness run` of this home.
pub const LOCK_FILE: &str = "witness.lock";

/// Largest `witness.json` read.
const CONFIG_BYTES_MAX: u64 = 4096;
/// How much of the end of `cosigned.jsonl` is read to find its last line.
const LOG_TAIL_BYTES: u64 = 64 * 1024;

/// Why a witness home cannot be made or used.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// A file `init` would write is already there.
    #[error("{0} already exists: a witness home is made once, and its key is never overwritten")]
    Exists(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key file is missing, exposed or malformed.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The genesis file is missing or invalid.
    #[error("{path}: {source}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: GenesisError,
    },
    /// `witness.json` is missing or malformed.
    #[error("{path}: {reason}; is this a home made by `minhbach witness init`?")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file's key is not the one `witness.json` names.
    #[error("{key} holds key {found}, but {config} names {expected}")]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The configuration file.
        config: PathBuf,
        /// The key found.
        found: PublicKey,
        /// The key named.
        expected: PublicKey,
    },
    /// The last cosigned checkpoint cannot be read or does not verify.
    #[error(
        "{path}: {reason}. The witness does not start without it: starting afresh could \
         cosign a history older than, or other than, the one it cosigned. Restore the file \
         from a backup of this home"
    )]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another `witness run` holds this home.
    #[error("{0} is held by another `minhbach witness run` of this home")]
    Locked(PathBuf),
}

/// What `witness.json` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessConfig {
    /// The witness's entity id, registered by the treasury as an observer.
    pub id: EntityId,
    /// Its public key.
    pub public_key: PublicKey,
}

impl WitnessConfig {
    /// As the file holds it.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id.as_str(), "public_key": self.public_key.to_hex()})
    }

    /// From the file's JSON: exactly the two fields.
    pub fn from_json(bytes: &[u8]) -> Result<WitnessConfig, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let Some(fields) = value.as_object() else {
            return Err("not a JSON object".into());
        };
        if let Some(other) = fields.keys().find(|k| *k != "id" && *k != "public_key") {
            return Err(format!("unknown field {other:?}"));
        }
        let field = |name: &str| {
            fields
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("no {name} string"))
        };
        let id = EntityId::new(field("id")?).map_err(|e| format!("id: {e}"))?;
        let public_key = PublicKey::from_hex(field("public_key")?)
            .map_err(|_| "public_key: not 64 hex digits of an ed25519 key".to_owned())?;
        Ok(WitnessConfig { id, public_key })
    }
}

/// How the genesis file knows the witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// An observer with this id and key.
    Registered,
    /// No entity with this id: the treasury may register it later.
    Absent,
    /// An entity with this id, of another kind or with another key.
    Other {
        /// Its kind.
        kind: EntityKind,
        /// Whether its key is the witness's.
        same_key: bool,
    },
}

/// Whether `genesis` registers `id` as an observer holding `key`.
pub fn registration(genesis: &Genesis, id: &EntityId, key: &PublicKey) -> Registration {
    match genesis.entities.iter().find(|e| &e.id == id) {
        None => Registration::Absent,
        Some(e) if e.kind == EntityKind::Observer && e.keys.contains(key) => {
            Registration::Registered
        }
        Some(e) => Registration::Other {
            kind: e.kind,
            same_key: e.keys.contains(key),
        },
    }
}

/// A witness home, by its folder.
#[derive(Clone, Debug)]
pub struct WitnessHome {
    root: PathBuf,
}

/// An opened home: everything `witness run` needs, checked.
pub struct Opened {
    /// Id and key.
    pub config: WitnessConfig,
    /// The signing key.
    pub key: SigningKey,
    /// The genesis file.
    pub genesis: Genesis,
    /// Its trust anchor.
    pub anchor: TrustAnchor,
    /// The checkpoint proof last cosigned, verified against the anchor.
    pub last: Option<CheckpointProof>,
    /// Those cosigned before it that fit it, each linked to the next.
    pub recent: Recent,
    /// The last cosignature of the log, if it is of `last`.
    pub logged: Option<Cosignature>,
    /// Held until dropped: no other `witness run` of this home meanwhile.
    pub lock: fs::File,
}

impl WitnessHome {
    /// The home at `root`.
    pub fn new(root: &Path) -> WitnessHome {
        WitnessHome {
            root: root.to_owned(),
        }
    }

    /// The path of `name` in the home.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where the fork proof of `height` is written.
    pub fn fork_proof_path(&self, height: Height) -> PathBuf {
        self.path(&format!("fork-proof-{}.json", height.0))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HomeError + '_ {
        move |source| HomeError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Makes the home: copies `genesis_bytes` (already checked), writes
    /// `key` as its key file (mode 0600) and the configuration. Refuses a
    /// home where any of these, or a state, already is.
    pub fn init(
        &self,
        config: &WitnessConfig,
        key: &SigningKey,
        genesis_bytes: &[u8],
    ) -> Result<(), HomeError> {
        for name in [
            CONFIG_FILE,
            KEY_FILE,
            GENESIS_FILE,
            STATE_FILE,
            RECENT_FILE,
            LOG_FILE,
        ] {
            let path = self.path(name);
            if path.exists() {
                return Err(HomeError::Exists(path));
            }
        }
        fs::create_dir_all(&self.root).map_err(Self::io(&self.root))?;
        write_key_file(&self.path(KEY_FILE), key)?;
        let genesis = self.path(GENESIS_FILE);
        write_new(&genesis, genesis_bytes)?;
        let mut text = serde_json::to_string_pretty(&config.to_json()).expect("JSON prints");
        text.push('\n');
        // Written last: a home without it is not a home, and can be made again
        // once the files above are removed.
        write_new(&self.path(CONFIG_FILE), text.as_bytes())?;
        sync_dir(&self.root)?;
        Ok(())
    }

    /// Opens the home for `witness run`: takes its lock, reads and checks
    /// the configuration, key, genesis and state, and the end of the log.
    pub fn open(&self) -> Result<Opened, HomeError> {
        let lock = self.lock()?;
        let config = self.config()?;
        let key = read_key_file(&self.path(KEY_FILE))?;
        if key.public_key() != config.public_key {
            return Err(HomeError::KeyMismatch {
                key: self.path(KEY_FILE),
                config: self.path(CONFIG_FILE),
                found: key.public_key(),
                expected: config.public_key,
            });
        }
        let genesis_path = self.path(GENESIS_FILE);
        let genesis = Genesis::load(&genesis_path).map_err(|source| HomeError::Genesis {
            path: genesis_path,
            source,
        })?;
        let anchor = genesis.trust_anchor();
        // A temporary state never renamed was never signed.
        for name in [STATE_FILE, RECENT_FILE] {
            let _ = fs::remove_file(self.path(&temp_name(name)));
        }
        let last = self.state(&anchor)?;
        let logged = self.last_logged()?;
        let logged = self.check_log(last.as_ref(), logged)?;
        let recent = match &last {
            Some(last) => self.recent(last, &anchor),
            None => Recent::default(),
        };
        Ok(Opened {
            config,
            key,
            genesis,
            anchor,
            last,
            recent,
            logged,
            lock,
        })
    }

    fn lock(&self) -> Result<fs::File, HomeError> {
        let path = self.path(LOCK_FILE);
        if !self.path(CONFIG_FILE).exists() {
            return Err(HomeError::Config {
                path: self.path(CONFIG_FILE),
                reason: "not found".into(),
            });
        }
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(Self::io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(HomeError::Locked(path)),
            Err(fs::TryLockError::Error(e)) => Err(HomeError::Io { path, source: e }),
        }
    }

    /// The configuration in `witness.json`.
    pub fn config(&self) -> Result<WitnessConfig, HomeError> {
        let path = self.path(CONFIG_FILE);
        let bad = |reason: String| HomeError::Config {
            path: path.clone(),
            reason,
        };
        let bytes = read_bounded(&path, CONFIG_BYTES_MAX)
            .map_err(|e| bad(e.to_string()))?
            .ok_or_else(|| bad(format!("larger than {CONFIG_BYTES_MAX} bytes")))?;
        WitnessConfig::from_json(&bytes).map_err(bad)
    }

    /// The checkpoint last cosigned, read and verified; `None` if the
    /// witness has never cosigned.
    fn state(&self, anchor: &TrustAnchor) -> Result<Option<CheckpointProof>, HomeError> {
        let path = self.path(STATE_FILE);
        let bad = |reason: String| HomeError::State {
            path: path.clone(),
            reason,
        };
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read_bounded(&path, CHECKPOINT_BYTES_MAX as u64)
            .map_err(|e| bad(format!("cannot be read: {e}")))?
            .ok_or_else(|| bad("is larger than a checkpoint can be".into()))?;
        let proof = CheckpointProof::decode(&bytes).map_err(|e| bad(e.to_string()))?;
        proof
            .verify(anchor)
            .map_err(|e| bad(format!("does not verify against {GENESIS_FILE}: {e}")))?;
        Ok(Some(proof))
    }

    /// The checkpoints cosigned before `last`, as far as the file holds
    /// them and they fit `last`; a problem is reported, never fatal.
    fn recent(&self, last: &CheckpointProof, anchor: &TrustAnchor) -> Recent {
        let path = self.path(RECENT_FILE);
        let bytes = match read_bounded(&path, RECENT_BYTES_MAX) {
            Ok(Some(bytes)) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Recent::default(),
            Ok(None) => {
                warn_recent(&path, &format!("larger than {RECENT_BYTES_MAX} bytes"));
                return Recent::default();
            }
            Err(e) => {
                warn_recent(&path, &format!("cannot be read: {e}"));
                return Recent::default();
            }
        };
        let read = match Recent::parse(&bytes) {
            Ok(read) => read,
            Err(e) => {
                warn_recent(&path, &format!("cannot be read: {e}"));
                return Recent::default();
            }
        };
        let (recent, problem) = Recent::fit(read, last, anchor);
        if let Some(problem) = problem {
            warn_recent(
                &path,
                &format!("{problem}; it and those cosigned before it are left out"),
            );
        }
        recent
    }

    /// Checks the end of the log against the state: the log is written
    /// after the state, so it is never ahead of it. Returns the last
    /// cosignature when it is of the state's checkpoint.
    fn check_log(
        &self,
        last: Option<&CheckpointProof>,
        logged: Option<Cosignature>,
    ) -> Result<Option<Cosignature>, HomeError> {
        let state = self.path(STATE_FILE);
        let Some(c) = logged else {
            return Ok(None);
        };
        let Some(last) = last else {
            return Err(HomeError::State {
                path: state,
                reason: format!(
                    "is missing, while {LOG_FILE} records a cosignature at height {}",
                    c.height
                ),
            });
        };
        let cp = &last.checkpoint;
        if c.height > cp.height || (c.height == cp.height && c.history_root != cp.history_root) {
            return Err(HomeError::State {
                path: state,
                reason: format!(
                    "holds height {} (root {}), behind the cosignature of height {} (root {}) \
                     that {LOG_FILE} records",
                    cp.height, cp.history_root, c.height, c.history_root
                ),
            });
        }
        Ok((c.height == cp.height && c.chain_id == cp.chain_id).then_some(c))
    }

    /// Writes `proof` as the checkpoint last cosigned, durably. Compact,
    /// as it is read back with the limit of a checkpoint: the witness
    /// cosigns no checkpoint whose compact form is larger.
    pub fn save_state(&self, proof: &CheckpointProof) -> Result<(), HomeError> {
        let text = serde_json::to_string(proof).expect("a checkpoint serialises");
        self.replace(STATE_FILE, text.as_bytes())
    }

    /// Writes the checkpoints cosigned before the last, durably. Written
    /// before the state, so that it is never behind what was signed.
    pub fn save_recent(&self, recent: &Recent) -> Result<(), HomeError> {
        self.replace(RECENT_FILE, recent.to_json().as_bytes())
    }

    /// Writes a fork proof to `fork-proof-H.json`, durably; its path.
    pub fn save_fork_proof(&self, proof: &ForkProof) -> Result<PathBuf, HomeError> {
        let path = self.fork_proof_path(proof.cosigned.checkpoint.height);
        let name = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let mut text = proof.to_json();
        text.push('\n');
        self.replace(&name, text.as_bytes())?;
        Ok(path)
    }

    /// Replaces `name` with `bytes`: a temporary file, synced, renamed over
    /// it, and the folder synced, so that it is the old or the new file
    /// whenever the process or the machine stops.
    fn replace(&self, name: &str, bytes: &[u8]) -> Result<(), HomeError> {
        let temp = self.path(&temp_name(name));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&temp)
            .map_err(Self::io(&temp))?;
        file.write_all(bytes).map_err(Self::io(&temp))?;
        file.sync_all().map_err(Self::io(&temp))?;
        drop(file);
        let path = self.path(name);
        fs::rename(&temp, &path).map_err(Self::io(&path))?;
        sync_dir(&self.root)
    }

    /// Appends `c` to the log, as one line written at once, synced.
    pub fn log(&self, c: &Cosignature) -> Result<(), HomeError> {
        let path = self.path(LOG_FILE);
        let mut line = serde_json::to_string(c).expect("a cosignature serialises");
        line.push('\n');
        let mut file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(&path)
            .map_err(Self::io(&path))?;
        file.write_all(line.as_bytes()).map_err(Self::io(&path))?;
        file.sync_data().map_err(Self::io(&path))
    }

    /// The log's last cosignature. A last line cut short (the process
    /// stopped while writing it) is removed first.
    fn last_logged(&self) -> Result<Option<Cosignature>, HomeError> {
        let path = self.path(LOG_FILE);
        let io = Self::io(&path);
        let mut file = match fs::OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().map_err(Self::io(&path))?.len();
        let start = len.saturating_sub(LOG_TAIL_BYTES);
        file.seek(SeekFrom::Start(start)).map_err(Self::io(&path))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(Self::io(&path))?;
        let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < tail.len() {
            eprintln!(
                "warning: {} ends with a line cut short; removing it",
                path.display()
            );
            file.set_len(start + complete as u64)
                .map_err(Self::io(&path))?;
            file.sync_data().map_err(Self::io(&path))?;
        }
        let lines = &tail[..complete];
        let Some(line) = lines.split(|b| *b == b'\n').rev().find(|l| !l.is_empty()) else {
            return Ok(None);
        };
        Cosignature::decode(line)
            .map(Some)
            .map_err(|e| HomeError::State {
                path: path.clone(),
                reason: format!("its last line is not a cosignature: {e}"),
            })
    }
}

/// Whether `c` is a cosignature of `checkpoint` by `key`.
pub fn is_of(c: &Cosignature, checkpoint: &Checkpoint, key: &PublicKey) -> bool {
    c.key == *key
        && c.chain_id == checkpoint.chain_id
        && c.height == checkpoint.height
        && c.history_root == checkpoint.history_root
        && c.verify()
}

fn warn_recent(path: &Path, problem: &str) {
    eprintln!(
        "warning: {}: {problem}; a fork proof will hold fewer earlier pairs, nothing else \
         changes",
        path.display()
    );
}

fn temp_name(name: &str) -> String {
    format!(".{name}.tmp")
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    let io = |source| HomeError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => HomeError::Exists(path.to_owned()),
            _ => io(e),
        })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

fn sync_dir(dir: &Path) -> Result<(), HomeError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| HomeError::Io {
            path: dir.to_owned(),
            source,
        })
}

/// A file's bytes, or `None` if it is larger than `max`, read no further
/// than one byte past it.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = fs::File::open(path)?;
    if file.metadata()?.len() > max {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}
