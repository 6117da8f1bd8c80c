//! The devnet story: its entities make a genesis that passes every check and
//! survives the JSON round trip, and its budget lines and purchases only
//! name entities of the right kind, so the demo feed built on it can run.

use std::collections::BTreeSet;

use genesis::story::{self, ENTITIES, LINES, PURCHASES};
use genesis::Genesis;
use ledger::tx::EntityKind;
use ledger::{EntityId, LineCode};

fn story_genesis() -> Genesis {
    let g = story::test_genesis();
    g.check().expect("the story's genesis passes every check");
    g
}

fn kind_of(id: &str) -> EntityKind {
    story::find(id)
        .unwrap_or_else(|| panic!("{id} is not a story entity"))
        .kind
}

#[test]
fn the_story_makes_a_valid_genesis_that_reads_back_unchanged() {
    let g = story_genesis();
    let back = Genesis::from_json(&g.to_json()).unwrap();
    assert_eq!(back, g);
    assert_eq!(g.treasury().as_str(), "BTC");
    let state = g.state();
    let bvbm = state
        .entity(&EntityId::new("BYT-BVBM").unwrap())
        .expect("Bạch Mai is an entity");
    assert_eq!(bvbm.name, "Bệnh viện Bạch Mai");
    assert_eq!(bvbm.parent.as_ref().map(|p| p.as_str()), Some("BYT"));
    assert!(g.to_json().contains("Bộ Giáo dục và Đào tạo"));
}

#[test]
fn the_story_has_a_treasury_ministries_departments_vendors_and_an_observer() {
    let count = |k| ENTITIES.iter().filter(|e| e.kind == k).count();
    assert_eq!(count(EntityKind::Treasury), 1);
    assert!(count(EntityKind::Ministry) >= 3);
    assert!(count(EntityKind::Department) >= 2 * count(EntityKind::Ministry));
    assert!(count(EntityKind::Vendor) >= 8);
    assert_eq!(count(EntityKind::Observer), 1);
    for e in ENTITIES {
        assert!(EntityId::new(e.id).is_ok(), "{} is not a valid id", e.id);
        if e.kind == EntityKind::Vendor {
            assert!(e.name.starts_with("Công ty "), "{}", e.name);
        }
    }
}

#[test]
fn every_line_and_purchase_names_entities_of_the_right_kind() {
    let mut codes = BTreeSet::new();
    for line in LINES {
        assert!(LineCode::new(line.code).is_ok(), "{}", line.code);
        assert!(codes.insert(line.code), "{} appears twice", line.code);
        assert_eq!(kind_of(line.ministry), EntityKind::Ministry);
        assert!(line.yearly_vnd > 0);
    }
    let mut buying = BTreeSet::new();
    for p in PURCHASES {
        assert_eq!(kind_of(p.department), EntityKind::Department, "{p:?}");
        assert_eq!(kind_of(p.vendor), EntityKind::Vendor, "{p:?}");
        let line = LINES
            .iter()
            .find(|l| l.code == p.line)
            .unwrap_or_else(|| panic!("{p:?} names an unknown line"));
        assert_eq!(
            story::find(p.department).unwrap().parent,
            Some(line.ministry),
            "{p:?} is paid from another ministry's line"
        );
        assert!(0 < p.min_vnd && p.min_vnd <= p.max_vnd, "{p:?}");
        // A department's share of the line holds several such contracts.
        let departments = ENTITIES
            .iter()
            .filter(|e| e.parent == Some(line.ministry))
            .count() as u64;
        assert!(p.max_vnd * 3 <= line.yearly_vnd / departments, "{p:?}");
        buying.insert(p.department);
    }
    for e in ENTITIES.iter().filter(|e| e.kind == EntityKind::Department) {
        assert!(buying.contains(e.id), "{} buys nothing", e.id);
    }
}
