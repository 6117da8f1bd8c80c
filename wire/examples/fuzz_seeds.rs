//! Writes the seeds of the fuzz corpora: `fuzz/corpus/<target>/seed-*`,
//! real and valid encodings of every input the targets decode, made from a
//! fixed chain so that every run writes the same bytes. Seed files that are
//! no longer made are removed; what fuzzing added is left alone.
//!
//! ```sh
//! cargo run -p wire --example fuzz_seeds
//! ```

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use wire::fuzz_targets::{fixture::seeds, TARGETS};

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let seeds = seeds();
    for (target, _) in TARGETS {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        let made: BTreeSet<&str> = seeds
            .iter()
            .filter(|s| s.target == *target)
            .map(|s| s.file.as_str())
            .collect();
        for entry in fs::read_dir(&dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.starts_with("seed-") && !made.contains(name.as_str()) {
                fs::remove_file(dir.join(&name))?;
            }
        }
    }
    for seed in &seeds {
        fs::write(corpus.join(seed.target).join(&seed.file), &seed.bytes)?;
    }
    eprintln!("wrote {} seeds into {}", seeds.len(), corpus.display());
    Ok(())
}
