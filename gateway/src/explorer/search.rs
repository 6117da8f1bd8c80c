//! Matching a reader's words against entity names and contract titles:
//! case-insensitive, and accent-insensitive when the reader typed no
//! Vietnamese accents ("bach mai" finds "Bệnh viện Bạch Mai"; "bách" does
//! not find "Bạch", because the accent the reader typed is meant).

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
