//! Tests of the money-flow chart: every đồng of each step is drawn, small
//! entities are grouped with their bands, widths share one scale, and names
//! and links come out escaped. Expectations are sums worked out by hand.

use std::collections::BTreeMap;

use xmltree::Element;

use super::tests::{
    amount, attr, check_frame, entity, frame, named, parse, text_of, with_class, HOSTILE,
};
use super::*;

/// A year of flows. The treasury KBNN gives ministry M`i` (`i` = 1…12)
/// `i` thousand đồng; M`i` passes `300·i` to its department M`i`.A and
/// `7·i` to M`i`.B; M`i`.A pays vendor V`i mod 3` `100·i`.
fn year() -> Vec<Vec<Flow>> {
    let treasury = entity("KBNN", "Kho bạc Nhà nước");
    let ministry = |i: u128| entity(&format!("M{i:02}"), &format!("Bộ số {i}"));
    let dept = |i: u128, d: &str| entity(&format!("M{i:02}.{d}"), &format!("Sở {i}.{d}"));
    let vendor = |i: u128| entity(&format!("V{}", i % 3), &format!("Công ty {}", i % 3));
    let flow = |from: Node, to: Node, amount: u128| Flow { from, to, amount };
    vec![
        (1..=12)
            .map(|i| flow(treasury.clone(), ministry(i), 1_000 * i))
            .collect(),
        (1..=12)
            .flat_map(|i| {
                [
                    flow(ministry(i), dept(i, "A"), 300 * i),
                    flow(ministry(i), dept(i, "B"), 7 * i),
                ]
            })
            .collect(),
        (1..=12)
            .map(|i| flow(dept(i, "A"), vendor(i), 100 * i))
            .collect(),
    ]
}

/// The bands of step `stage`: (from, to) → amount.
fn bands(fig: &Element, stage: usize) -> BTreeMap<(String, String), u128> {
    let mut out = BTreeMap::new();
    for b in with_class(fig, "band") {
        if attr(b, "data-stage") == stage.to_string() {
            let key = (
                attr(b, "data-from").to_owned(),
                attr(b, "data-to").to_owned(),
            );
            assert!(out.insert(key, amount(b)).is_none(), "one band per pair");
        }
    }
    out
}

/// The node `id` of column `column`.
fn node<'a>(fig: &'a Element, column: usize, id: &str) -> &'a Element {
    with_class(fig, "node")
        .into_iter()
        .find(|n| attr(n, "data-column") == column.to_string() && attr(n, "data-id") == id)
        .unwrap_or_else(|| panic!("no node {id} in column {column}"))
}

#[test]
fn every_step_keeps_its_total_and_small_entities_are_grouped() {
    let m = money_flow(&frame(Lang::Vi, "flow"), &year(), 8);
    let fig = check_frame(&m, "flow");
    // Σ i for i = 1…12 is 78.
    let totals = [78_000u128, 78 * 307, 7_800];
    for (stage, total) in totals.iter().enumerate() {
        assert_eq!(
            bands(&fig, stage).values().sum::<u128>(),
            *total,
            "step {stage}"
        );
        // What arrives in the next column is what the step moved.
        let arrived: u128 = with_class(&fig, "node")
            .into_iter()
            .filter(|n| attr(n, "data-column") == (stage + 1).to_string())
            .map(|n| attr(n, "data-in").parse::<u128>().unwrap())
            .sum();
        assert_eq!(arrived, *total, "column {}", stage + 1);
    }
    // The treasury's bands add up to what the ministries received.
    assert_eq!(attr(node(&fig, 0, "KBNN"), "data-out"), "78000");
    assert_eq!(amount(node(&fig, 1, "M12")), 12_000);
    // M01…M04 are grouped: 4 entities, 1+2+3+4 thousand in, 307·10 out.
    let others = node(&fig, 1, OTHERS_ID);
    assert_eq!(attr(others, "data-count"), "4");
    assert_eq!(attr(others, "data-in"), "10000");
    assert_eq!(attr(others, "data-out"), "3070");
    assert!(attr(others, "class").contains("others"));
    for gone in ["M01", "M02", "M03", "M04", "M01.A", "M04.B"] {
        assert!(!m.0.contains(&format!("\"{gone}\"")), "{gone} is shown");
    }
    // Their bands are grouped too: into the departments' "others".
    let step1 = bands(&fig, 1);
    assert_eq!(step1[&(OTHERS_ID.into(), OTHERS_ID.into())], 3_070);
    assert_eq!(step1[&("M12".into(), "M12.A".into())], 3_600);
    assert_eq!(step1[&("M12".into(), OTHERS_ID.into())], 84);
    // Departments: M05.A…M12.A by name; four .A and twelve .B grouped.
    let depts = node(&fig, 2, OTHERS_ID);
    assert_eq!(attr(depts, "data-count"), "16");
    assert_eq!(attr(depts, "data-in"), (300 * 10 + 7 * 78).to_string());
    assert_eq!(attr(depts, "data-out"), "1000");
    let step2 = bands(&fig, 2);
    assert_eq!(step2[&(OTHERS_ID.into(), "V1".into())], 100 + 400);
    assert_eq!(step2[&(OTHERS_ID.into(), "V2".into())], 200);
    assert_eq!(step2[&(OTHERS_ID.into(), "V0".into())], 300);
    assert!(m.0.contains("Khác (4 đơn vị)") && m.0.contains("Khác (16 đơn vị)"));
    // The table has a total per step.
    let table_totals: Vec<u128> = with_class(&fig, "total")
        .iter()
        .map(|t| amount(t))
        .collect();
    assert_eq!(table_totals, totals);
    assert!(m.0.contains("23.946 ₫"));
}

#[test]
fn the_description_says_what_each_step_moved() {
    let vi = parse(&money_flow(&frame(Lang::Vi, "f"), &year(), 8));
    assert_eq!(
        text_of(named(&vi, "desc")[0]),
        "Dòng tiền qua 3 bước. \
         Bước 1: 78 nghìn đi từ 1 đơn vị đến 12 đơn vị; nhiều nhất đến Bộ số 12 (12 nghìn). \
         Bước 2: 23,9 nghìn đi từ 12 đơn vị đến 24 đơn vị; nhiều nhất đến Sở 12.A (3,6 nghìn). \
         Bước 3: 7,8 nghìn đi từ 12 đơn vị đến 3 đơn vị; nhiều nhất đến Công ty 0 (3 nghìn)."
    );
    let en = parse(&money_flow(&frame(Lang::En, "f"), &year(), 8));
    let desc = text_of(named(&en, "desc")[0]);
    assert!(desc.starts_with(
        "Money flowing through 3 steps. Step 1: 78 thousand went from 1 entities to 12 entities, most to Bộ số 12 (12 thousand)."
    ));
    assert_eq!(text_of(named(&en, "figcaption")[0]), "Money flow");
    assert!(text_of(&en).contains("Others (4 entities)"));
}

#[test]
fn band_widths_share_one_scale_across_the_chart() {
    let fig = parse(&money_flow(&frame(Lang::En, "f"), &year(), 8));
    // A band's path goes M x0 y0 C … x1 y1 L x1 (y1 + width) …
    let width = |from: &str, to: &str| -> f64 {
        let b = with_class(&fig, "band")
            .into_iter()
            .find(|b| attr(b, "data-from") == from && attr(b, "data-to") == to)
            .unwrap();
        let nums: Vec<f64> = attr(b, "d")
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        nums[9] - nums[7]
    };
    let (a, b, c) = (
        width("KBNN", "M12"),
        width("M12", "M12.A"),
        width("M12.A", "V0"),
    );
    assert!(a > 10.0, "the largest band is visible: {a}");
    assert!((b - a * 3_600.0 / 12_000.0).abs() < 0.2, "{a} {b}");
    assert!((c - a * 1_200.0 / 12_000.0).abs() < 0.2, "{a} {c}");
}

#[test]
fn a_single_leftover_is_shown_by_name_and_keep_is_at_least_one() {
    let t = entity("KBNN", "Kho bạc");
    let stage: Vec<Flow> = (1..=9)
        .map(|i| Flow {
            from: t.clone(),
            to: entity(&format!("M{i}X"), "Bộ"),
            amount: i,
        })
        .collect();
    let fig = parse(&money_flow(
        &frame(Lang::Vi, "f"),
        std::slice::from_ref(&stage),
        8,
    ));
    assert!(with_class(&fig, "others").is_empty());
    assert_eq!(with_class(&fig, "band").len(), 9);
    let fig = parse(&money_flow(&frame(Lang::Vi, "f"), &[stage], 0));
    assert_eq!(attr(node(&fig, 1, OTHERS_ID), "data-count"), "8");
    assert_eq!(amount(node(&fig, 1, "M9X")), 9);
    assert_eq!(amount(node(&fig, 1, OTHERS_ID)), 36);
}

#[test]
fn zero_flows_are_left_out_and_nothing_at_all_says_so() {
    let t = entity("KBNN", "Kho bạc");
    let flow = |to: &str, amount: u128| Flow {
        from: t.clone(),
        to: entity(to, "Bộ"),
        amount,
    };
    let fig = parse(&money_flow(
        &frame(Lang::En, "f"),
        &[vec![flow("A1", 0), flow("B1", 5), flow("C1", 0)]],
        8,
    ));
    assert_eq!(
        bands(&fig, 0).into_iter().collect::<Vec<_>>(),
        [(("KBNN".into(), "B1".into()), 5)]
    );
    assert_eq!(with_class(&fig, "node").len(), 2);
    for (lang, sentence) in [
        (Lang::Vi, "Không có dòng tiền nào trong năm này."),
        (Lang::En, "No money moved this year."),
    ] {
        for stages in [vec![], vec![vec![]], vec![vec![flow("A1", 0)], vec![]]] {
            let m = money_flow(&frame(lang, "empty"), &stages, 8);
            let fig = check_frame(&m, "empty");
            assert_eq!(text_of(named(&fig, "desc")[0]), sentence);
            assert!(text_of(&fig).contains(sentence));
            assert!(with_class(&fig, "band").is_empty() && with_class(&fig, "node").is_empty());
            assert!(named(&fig, "table").is_empty());
        }
    }
}

#[test]
fn huge_amounts_add_up_without_overflow() {
    let big = u128::from(u64::MAX);
    let t = entity("KBNN", "Kho bạc");
    let flow = |from: &Node, to: &Node| Flow {
        from: from.clone(),
        to: to.clone(),
        amount: big,
    };
    let ministries: Vec<Node> = (0..3).map(|i| entity(&format!("M{i}X"), "Bộ")).collect();
    let d = entity("D1", "Sở");
    let stages = vec![
        ministries
            .iter()
            .flat_map(|m| [flow(&t, m), flow(&t, m)])
            .collect(),
        ministries.iter().map(|m| flow(m, &d)).collect::<Vec<_>>(),
    ];
    // One ministry by name, two grouped.
    let m = money_flow(&frame(Lang::Vi, "big"), &stages, 1);
    let fig = check_frame(&m, "big");
    // Six flows of u64::MAX: 110.680.464.442.257.309.690.
    assert_eq!(
        bands(&fig, 0).values().sum::<u128>(),
        110_680_464_442_257_309_690
    );
    assert_eq!(
        bands(&fig, 1).values().sum::<u128>(),
        55_340_232_221_128_654_845
    );
    assert_eq!(amount(node(&fig, 1, OTHERS_ID)), 73_786_976_294_838_206_460);
    assert!(m.0.contains("110.680.464.442.257.309.690 ₫"));
    assert!(m.0.contains("55.340.232.221.128.654.845 ₫"));
}

#[test]
fn names_are_escaped_links_kept_and_vietnamese_intact() {
    let t = Node::new("KBNN", "Kho bạc Nhà nước");
    let bgtvt =
        Node::new("BGTVT", "Bộ Giao thông Vận tải").with_href("/entities/BGTVT?x=1&lang=en");
    let evil = entity("EVIL", HOSTILE);
    let stages = vec![vec![
        Flow {
            from: t.clone(),
            to: bgtvt.clone(),
            amount: 10,
        },
        Flow {
            from: t,
            to: evil,
            amount: 3,
        },
    ]];
    let frame = Frame {
        lang: Lang::Vi,
        id: "flow-1",
        subject: "Bộ <Y> & \"tế\"",
    };
    let m = money_flow(&frame, &stages, 8);
    let fig = check_frame(&m, "flow-1");
    let raw = &m.0;
    assert!(!raw.contains("<script") && !raw.contains("<Y>"));
    assert!(raw.contains("Bộ Giao thông Vận tải"));
    assert!(raw.contains("href=\"/entities/BGTVT?x=1&amp;lang=en\""));
    // The table and the tooltips read back exactly as written.
    let cells: Vec<String> = named(&fig, "td").iter().map(|td| text_of(td)).collect();
    assert!(cells.contains(&HOSTILE.to_owned()));
    assert!(cells.contains(&"Bộ Giao thông Vận tải".to_owned()));
    let tips: Vec<String> = with_class(&fig, "band")
        .iter()
        .map(|b| text_of(b.get_child("title").unwrap()))
        .collect();
    assert_eq!(
        tips,
        [
            "Kho bạc Nhà nước → Bộ Giao thông Vận tải: 10 ₫".to_owned(),
            format!("Kho bạc Nhà nước → {HOSTILE}: 3 ₫"),
        ]
    );
    assert_eq!(
        text_of(named(&fig, "title")[0]),
        "Dòng tiền — Bộ <Y> & \"tế\""
    );
    // Bands and nodes with a page are links to it; the treasury has none.
    let links: Vec<(&str, &str)> = named(&fig, "a")
        .into_iter()
        .filter_map(|a| {
            let inner = a.children.iter().find_map(|c| c.as_element())?;
            let class = inner.attributes.get("class")?;
            let id = inner
                .attributes
                .get("data-to")
                .or(inner.attributes.get("data-id"))?;
            Some((class.as_str(), id.as_str())).filter(|_| attr(a, "href").contains(id.as_str()))
        })
        .collect();
    assert_eq!(
        links,
        [
            ("band", "BGTVT"),
            ("band", "EVIL"),
            ("node", "BGTVT"),
            ("node", "EVIL")
        ]
    );
    assert_eq!(
        named(&fig, "a").len(),
        4 + 2,
        "four in the picture, two in the table"
    );
}
