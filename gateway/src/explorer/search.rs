//! Matching a reader's words against entity names and contract titles:
//! case-insensitive, and accent-insensitive when the reader typed no
//! Vietnamese accents ("bach mai" finds "Bệnh viện Bạch Mai"; "bách" does
//! not find "Bạch", because the accent the reader typed is meant).

use std::sync::RwLock;

use ledger::store::{Store, StoreError};
use ledger::{ContractId, EntityId, Height, Op, State};

/// `s` in lower case with Vietnamese accents and the letter đ taken off.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !is_combining_mark(*c))
        .map(base_letter)
        .collect()
}

/// Combining diacritical marks, as in text typed in decomposed form.
fn is_combining_mark(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// The letter under a lower-case Vietnamese accented letter.
fn base_letter(c: char) -> char {
    const GROUPS: [(char, &str); 7] = [
        ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
        ('e', "èéẻẽẹêềếểễệ"),
        ('i', "ìíỉĩị"),
        ('o', "òóỏõọôồốổỗộơờớởỡợ"),
        ('u', "ùúủũụưừứửữự"),
        ('y', "ỳýỷỹỵ"),
        ('d', "đ"),
    ];
    if c.is_ascii() {
        return c;
    }
    GROUPS
        .iter()
        .find(|(_, accented)| accented.contains(c))
        .map_or(c, |(base, _)| *base)
}

/// A query prepared once for matching many texts.
pub struct Matcher {
    lower: String,
    accents: bool,
}

impl Matcher {
    /// `query`, trimmed; `None` if nothing is left.
    pub fn new(query: &str) -> Option<Matcher> {
        let lower = query.trim().to_lowercase();
        if lower.is_empty() {
            return None;
        }
        let accents = fold(&lower) != lower;
        Some(Matcher { lower, accents })
    }

    /// Whether `text` contains the query.
    pub fn matches(&self, text: &str) -> bool {
        if self.accents {
            text.to_lowercase().contains(&self.lower)
        } else {
            fold(text).contains(&self.lower)
        }
    }
}

/// What a search can find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An entity, by its name and id.
    Entity(EntityId),
    /// A contract, by its title and id.
    Contract(ContractId),
}

impl Target {
    /// The id of the entity or contract.
    fn id(&self) -> &str {
        match self {
            Target::Entity(id) => id.as_str(),
            Target::Contract(id) => id.as_str(),
        }
    }
}

/// Every entity's name and id and every contract's title and id, folded
/// ([`fold`]) into one text, so that a search reads a few bytes a contract
/// in one pass, without the state and its lock. It is built from the
/// state on the first search, then kept up to date from the blocks
/// committed since: names and titles never change once written, so the
/// new ones are those of the blocks' `register-entity` and `award`.
///
/// The index finds candidates; each is then matched against the state's
/// own text, with accents as the reader typed them ([`Matcher`]).
#[derive(Default)]
pub struct SearchIndex(RwLock<Indexed>);

#[derive(Default)]
struct Indexed {
    /// The height indexed; `None` before the first search.
    height: Option<Height>,
    /// Each target's folded text, each ended by a line feed.
    text: String,
    /// Each target with the offset its text ends at, in text order.
    ends: Vec<(usize, Target)>,
}

impl Indexed {
    fn push(&mut self, texts: &[&str], target: Target) {
        for t in texts {
            // A line feed ends a target, so none may be inside one.
            self.text
                .extend(fold(t).chars().map(|c| if c == '\n' { ' ' } else { c }));
            self.text.push('\t');
        }
        self.text.push('\n');
        self.ends.push((self.text.len(), target));
    }

    fn push_op(&mut self, op: &Op) {
        match op {
            Op::RegisterEntity { id, name, .. } => {
                self.push(&[name, id.as_str()], Target::Entity(id.clone()))
            }
            Op::Award {
                contract, title, ..
            } => self.push(
                &[title, contract.as_str()],
                Target::Contract(contract.clone()),
            ),
            _ => {}
        }
    }
}

impl SearchIndex {
    /// Brings the index to the state's height: from the state itself the
    /// first time, then from the blocks committed since.
    pub fn catch_up(&self, store: &Store, state: &RwLock<State>) -> Result<(), StoreError> {
        let tip = state.read().expect("state lock").height();
        if self.0.read().expect("search index lock").height == Some(tip) {
            return Ok(());
        }
        let mut index = self.0.write().expect("search index lock");
        match index.height {
            Some(h) if h >= tip => {}
            Some(h) => {
                for n in h.0 + 1..=tip.0 {
                    // A block the node does not hold (below its snapshot)
                    // is not asked for: the index starts from the state.
                    if let Some(block) = store.block(Height(n))? {
                        for tx in &block.txs {
                            index.push_op(&tx.body.op);
                        }
                    }
                    index.height = Some(Height(n));
                }
            }
            None => {
                // Only the names are copied under the state lock, which
                // commits wait for; they are folded after it is released.
                let (height, names) = {
                    let state = state.read().expect("state lock");
                    let entities = state
                        .entities()
                        .map(|e| (e.name.clone(), Target::Entity(e.id.clone())));
                    let contracts = state
                        .contracts()
                        .map(|c| (c.title.clone(), Target::Contract(c.id.clone())));
                    let names: Vec<(String, Target)> = entities.chain(contracts).collect();
                    (state.height(), names)
                };
                for (name, target) in names {
                    index.push(&[&name, target.id()], target.clone());
                }
                index.height = Some(height);
            }
        }
        Ok(())
    }

    /// The targets whose folded text holds `query` folded, in index order,
    /// while `more` says to go on: a candidate may still not match the
    /// query as typed.
    pub fn candidates(&self, query: &str, mut more: impl FnMut(&Target) -> bool) {
        let folded = fold(query.trim());
        if folded.is_empty() {
            return;
        }
        let index = self.0.read().expect("search index lock");
        let finder = memchr::memmem::Finder::new(folded.as_bytes());
        let mut last = None;
        for at in finder.find_iter(index.text.as_bytes()) {
            let i = index.ends.partition_point(|(end, _)| *end <= at);
            if last == Some(i) {
                continue;
            }
            last = Some(i);
            if let Some((_, target)) = index.ends.get(i) {
                if !more(target) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_are_optional_for_the_reader_but_exact_when_typed() {
        let m = |q: &str, text: &str| Matcher::new(q).unwrap().matches(text);
        assert!(m("bach mai", "Bệnh viện Bạch Mai"));
        assert!(m("BẠCH MAI", "Bệnh viện Bạch Mai"));
        assert!(m("bạch", "Bệnh viện Bạch Mai"));
        assert!(!m("bách", "Bệnh viện Bạch Mai"));
        assert!(m("duong bo", "Cục Đường bộ Việt Nam"));
        assert!(m("đường", "Cục Đường bộ Việt Nam"));
        assert!(m("bo y te", "Bộ Y tế"));
        assert!(!m("bo y tex", "Bộ Y tế"));
        // Decomposed input (e + combining dot below) folds the same way.
        assert_eq!(fold("Be\u{323}nh"), "benh");
        assert!(Matcher::new("   ").is_none());
    }
}
