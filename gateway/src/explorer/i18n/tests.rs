//! The language tables: complete in both languages, and the choice of
//! the reader's language.

use std::collections::BTreeSet;

use super::*;

/// The `{n}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.insert(after[..close].to_owned());
                rest = &after[close + 1..];
            }
            None => {
                out.insert(format!("unclosed in {text:?}"));
                break;
            }
        }
    }
    out
}

#[test]
fn every_key_has_text_in_both_languages_with_the_same_placeholders() {
    let vi = VI.entries();
    let en = EN.entries();
    assert_eq!(vi.len(), en.len());
    for ((key, v), (key_en, e)) in vi.iter().zip(&en) {
        assert_eq!(key, key_en);
        assert!(!v.trim().is_empty(), "Vietnamese text for {key} is empty");
        assert!(!e.trim().is_empty(), "English text for {key} is empty");
        let (pv, pe) = (placeholders(v), placeholders(e));
        assert_eq!(pv, pe, "{key}: placeholders differ between vi and en");
        for p in &pv {
            assert!(
                p.parse::<usize>().is_ok_and(|n| n < 10),
                "{key}: placeholder {{{p}}} is not {{0}}…{{9}}"
            );
        }
    }
}

#[test]
fn the_vietnamese_table_is_written_in_vietnamese() {
    // A table copied from the other language would pass the check above;
    // the sentences a reader sees first must differ.
    for (key, v) in VI.entries() {
        let e = EN.entries().into_iter().find(|(k, _)| *k == key).unwrap().1;
        let shared = ["site_name", "col_index", "nav_api"];
        if !shared.contains(&key) && v.chars().any(char::is_alphabetic) {
            assert_ne!(v, e, "{key} is the same in both languages");
        }
    }
}

#[test]
fn the_query_wins_then_the_header_then_vietnamese() {
    assert_eq!(Lang::negotiate(Some("en"), Some("vi")), (Lang::En, true));
    assert_eq!(
        Lang::negotiate(Some("xx"), Some("en-GB")),
        (Lang::En, false)
    );
    assert_eq!(Lang::negotiate(None, None), (Lang::Vi, false));
    assert_eq!(
        Lang::negotiate(None, Some("fr-FR, en;q=0.8, vi;q=0.9")),
        (Lang::Vi, false)
    );
    assert_eq!(
        Lang::negotiate(None, Some("en-US,en;q=0.9,vi;q=0.5")),
        (Lang::En, false)
    );
    assert_eq!(Lang::negotiate(None, Some("de, fr")), (Lang::Vi, false));
    assert_eq!(Lang::negotiate(None, Some("en;q=0")), (Lang::Vi, false));
}
