//! Tests of the charts' words and numbers, the execution chart and the
//! vendor chart, and the helpers the flow tests share: every chart is read
//! back as XML and its figures compared with sums worked out here by hand.

use std::collections::BTreeMap;

use genesis::Currency;
use ledger::Amount;
use maud::Markup;
use xmltree::{Element, XMLNode};

use super::text::{self, clip, fill, EN, VI};
use super::*;
use crate::explorer::format;

// ---------------------------------------------------------------------------
// Helpers shared with `tests_flow`.

/// The chart parsed as XML; panics if it is not well formed.
pub(super) fn parse(m: &Markup) -> Element {
    Element::parse(m.0.as_bytes()).unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{}", m.0))
}

/// Every element under `e`, `e` first, in document order.
pub(super) fn elements(e: &Element) -> Vec<&Element> {
    let mut out = vec![e];
    for child in &e.children {
        if let XMLNode::Element(c) = child {
            out.extend(elements(c));
        }
    }
    out
}

/// The elements under `root` whose class list holds `class`.
pub(super) fn with_class<'a>(root: &'a Element, class: &str) -> Vec<&'a Element> {
    elements(root)
        .into_iter()
        .filter(|e| {
            e.attributes
                .get("class")
                .is_some_and(|c| c.split(' ').any(|c| c == class))
        })
        .collect()
}

/// The elements under `root` named `name`.
pub(super) fn named<'a>(root: &'a Element, name: &str) -> Vec<&'a Element> {
    elements(root)
        .into_iter()
        .filter(|e| e.name == name)
        .collect()
}

/// Attribute `name` of `e`, which must have it.
pub(super) fn attr<'a>(e: &'a Element, name: &str) -> &'a str {
    e.attributes
        .get(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", e.name))
}

/// `data-amount` of `e`, as a number.
pub(super) fn amount(e: &Element) -> u128 {
    attr(e, "data-amount")
        .parse()
        .expect("data-amount is a number")
}

/// All the text under `e`.
pub(super) fn text_of(e: &Element) -> String {
    let mut out = String::new();
    for child in &e.children {
        match child {
            XMLNode::Text(t) => out.push_str(t),
            XMLNode::Element(c) => out.push_str(&text_of(c)),
            _ => {}
        }
    }
    out
}

/// Checks what every chart must be: a figure with an accessible SVG
/// (title and desc it points to), no inline style, no broken numbers.
/// Returns the parsed figure.
pub(super) fn check_frame(m: &Markup, id: &str) -> Element {
    let raw = &m.0;
    assert!(!raw.contains("style="), "inline style in {raw}");
    assert!(!raw.contains("<style"), "style element in {raw}");
    assert!(!raw.contains("<script"), "script in {raw}");
    for bad in ["NaN", "inf", "undefined"] {
        assert!(!raw.contains(bad), "{bad} in {raw}");
    }
    let fig = parse(m);
    assert_eq!(fig.name, "figure");
    assert_eq!(attr(&fig, "id"), id);
    let svg = named(&fig, "svg");
    assert_eq!(svg.len(), 1);
    let svg = svg[0];
    assert_eq!(attr(svg, "role"), "img");
    assert_eq!(attr(svg, "viewBox").split(' ').next(), Some("0"));
    let title = svg.get_child("title").expect("svg has a title");
    let desc = svg.get_child("desc").expect("svg has a desc");
    assert_eq!(attr(svg, "aria-labelledby"), attr(title, "id"));
    assert_eq!(attr(svg, "aria-describedby"), attr(desc, "id"));
    assert!(!text_of(title).is_empty());
    assert!(!text_of(desc).is_empty());
    fig
}

/// A node linking to its entity page in English.
pub(super) fn entity(id: &str, label: &str) -> Node {
    Node::new(id, label).with_href(format!("/entities/{id}?lang=en"))
}

/// A frame in `lang` with no subject.
pub(super) fn frame(lang: Lang, id: &str) -> Frame<'_> {
    Frame {
        lang,
        id,
        subject: "",
    }
}

/// Names a signer may write, and what a reader must see of them.
pub(super) const HOSTILE: &str = "<script>alert(\"x\")</script> & 'Bộ' \"Y tế\"";

// ---------------------------------------------------------------------------
// Words and numbers.

#[test]
fn short_amounts_use_ty_and_trieu_in_vietnamese_and_words_in_english() {
    let cases: [(u128, &str, &str); 13] = [
        (0, "0", "0"),
        (999, "999", "999"),
        (1_000, "1 nghìn", "1 thousand"),
        (12_500_000_000, "12,5 tỷ", "12.5 billion"),
        (950_000_000, "950 triệu", "950 million"),
        (1_050_000, "1,1 triệu", "1.1 million"),
        (1_049_999, "1 triệu", "1 million"),
        (999_999, "1 triệu", "1 million"),
        (999_600_000, "1 tỷ", "1 billion"),
        (99_960_000_000, "100 tỷ", "100 billion"),
        (123_460_000_000, "123 tỷ", "123 billion"),
        (
            u128::from(u64::MAX),
            "18.446.744.074 tỷ",
            "18,446,744,074 billion",
        ),
        (
            u128::MAX,
            "340.282.366.920.938.463.463.374.607.432 tỷ",
            "340,282,366,920,938,463,463,374,607,432 billion",
        ),
    ];
    for (a, vi, en) in cases {
        assert_eq!(short_amount(a, Lang::Vi), vi, "{a}");
        assert_eq!(short_amount(a, Lang::En), en, "{a}");
    }
}

#[test]
fn full_amounts_are_written_as_the_pages_write_them_even_past_u64() {
    for a in [0u64, 7, 1_000, 1_234_567, u64::MAX] {
        for lang in [Lang::Vi, Lang::En] {
            assert_eq!(
                full_amount(u128::from(a), lang),
                format::amount(Amount(a), &Currency::default(), lang)
            );
        }
    }
    let five = 5 * u128::from(u64::MAX);
    assert_eq!(full_amount(five, Lang::Vi), "92.233.720.368.547.758.075 ₫");
    assert_eq!(full_amount(five, Lang::En), "92,233,720,368,547,758,075 ₫");
    assert_eq!(
        full_amount(u128::MAX, Lang::Vi),
        "340.282.366.920.938.463.463.374.607.431.768.211.455 ₫"
    );
}

#[test]
fn labels_are_clipped_on_letters_not_accents() {
    assert_eq!(clip("Bộ Giao thông Vận tải", 40), "Bộ Giao thông Vận tải");
    assert_eq!(clip("Bộ Giao thông Vận tải", 10), "Bộ Giao t…");
    // "ABé C" with the accent as its own character: cutting after é's
    // letter would leave it bare, so the letter goes too.
    assert_eq!(clip("ABe\u{301}C", 4), "AB…");
    assert_eq!(clip("ABCDE", 4), "ABC…");
}

#[test]
fn placeholders_are_filled_in_one_pass() {
    assert_eq!(fill("{0} → {1}", &["{1}", "x"]), "{1} → x");
    assert_eq!(fill("{0} {9} {", &["a"]), "a  {");
}

#[test]
fn both_languages_have_every_word_with_the_same_placeholders() {
    let holes = |s: &str| -> Vec<usize> {
        let mut v: Vec<usize> = (0..10)
            .filter(|i| s.contains(&format!("{{{i}}}")))
            .collect();
        v.sort_unstable();
        v
    };
    let (vi, en) = (VI.entries(), EN.entries());
    assert_eq!(vi.len(), en.len());
    for ((k, v), (k2, e)) in vi.iter().zip(&en) {
        assert_eq!(k, k2);
        assert!(!v.trim().is_empty() && !e.trim().is_empty(), "{k}");
        assert_eq!(holes(v), holes(e), "{k}");
    }
    assert_eq!(VI.months_long[11], "tháng 12");
    assert_eq!(EN.months_short[0], "Jan");
    assert!(std::ptr::eq(text::words(Lang::Vi), &VI));
}

#[test]
fn gridlines_fall_on_round_numbers() {
    assert_eq!(ticks(78_000), (20_000, 80_000));
    assert_eq!(ticks(100), (25, 100));
    assert_eq!(ticks(11_100_000_000), (2_000_000_000, 12_000_000_000));
    assert_eq!(ticks(0), (1, 1));
    assert_eq!(ticks(1), (1, 1));
    assert_eq!(ticks(12_000_000_000), (2_000_000_000, 12_000_000_000));
    assert_eq!(ticks(12_600_000_000), (5_000_000_000, 15_000_000_000));
    let (step, top) = ticks(u128::MAX);
    assert!(step > 0 && top == u128::MAX);
    assert_eq!(dom_id("flow<1> \"x\""), "flow1x");
    assert_eq!(dom_id("<>"), "chart");
}

// ---------------------------------------------------------------------------
// The execution chart.

/// The points of series `key`: month (1-based) → amount.
fn points(fig: &Element, key: &str) -> BTreeMap<u32, u128> {
    with_class(fig, "point")
        .into_iter()
        .filter(|e| attr(e, "data-series") == key)
        .map(|e| (attr(e, "data-month").parse().unwrap(), amount(e)))
        .collect()
}

#[test]
fn execution_draws_running_totals_for_each_month() {
    let mut months = [MonthFigures::default(); 12];
    months[0].received = 1_000_000_000;
    months[3].received = 500_000_000;
    months[3].committed = 800_000_000;
    months[5].paid = 300_000_000;
    months[9].paid = 200_000_000;
    let m = execution(&frame(Lang::Vi, "exec"), &months, None);
    let fig = check_frame(&m, "exec");
    let received = points(&fig, "received");
    assert_eq!(received.len(), 12);
    assert_eq!(received[&1], 1_000_000_000);
    assert_eq!(received[&3], 1_000_000_000);
    assert_eq!(received[&4], 1_500_000_000);
    assert_eq!(received[&12], 1_500_000_000);
    let paid = points(&fig, "paid");
    assert_eq!(paid[&5], 0);
    assert_eq!(paid[&6], 300_000_000);
    assert_eq!(paid[&12], 500_000_000);
    assert_eq!(points(&fig, "committed")[&12], 800_000_000);
    assert_eq!(with_class(&fig, "series").len(), 3);
    let desc = text_of(named(&fig, "desc")[0]);
    assert_eq!(
        desc,
        "Lũy kế đến hết tháng 12: đã nhận 1,5 tỷ, đã cam kết 800 triệu, đã chi 500 triệu."
    );
    // The month names and the legend are there; the table has the figures.
    let raw = &m.0;
    assert!(raw.contains(">T12<") && raw.contains("Đã cam kết"));
    assert!(raw.contains("1.500.000.000 ₫"));
    assert!(with_class(&fig, "chart-table").len() == 1);
}

#[test]
fn execution_leaves_out_the_months_to_come() {
    let mut months = [MonthFigures::default(); 12];
    for m in months.iter_mut() {
        m.received = 10;
        m.paid = 4;
    }
    let m = execution(&frame(Lang::En, "exec"), &months, Some(2));
    let fig = check_frame(&m, "exec");
    let received = points(&fig, "received");
    assert_eq!(received.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(received[&3], 30);
    assert_eq!(points(&fig, "paid")[&3], 12);
    let desc = text_of(named(&fig, "desc")[0]);
    assert!(desc.starts_with("By the end of March: received 30, committed 0, paid 12."));
    assert!(desc.contains("after March have not come yet"));
    let absent = with_class(&fig, "absent");
    // The shaded area, and one table cell for each of the nine months.
    assert_eq!(absent.len(), 1 + 9);
    // A month past December means the whole year.
    let whole = parse(&execution(&frame(Lang::En, "x"), &months, Some(40)));
    assert_eq!(points(&whole, "received")[&12], 120);
}

#[test]
fn execution_without_money_says_so() {
    let months = [MonthFigures::default(); 12];
    for (lang, sentence) in [
        (
            Lang::Vi,
            "Chưa có khoản nhận, cam kết hay chi nào trong năm này.",
        ),
        (
            Lang::En,
            "Nothing was received, committed or paid this year.",
        ),
    ] {
        let m = execution(&frame(lang, "exec"), &months, Some(5));
        let fig = check_frame(&m, "exec");
        assert_eq!(text_of(named(&fig, "desc")[0]), sentence);
        assert!(with_class(&fig, "point").is_empty());
        assert!(named(&fig, "table").is_empty());
        assert!(attr(&fig, "class").contains("chart-empty"));
    }
    // Money only in months still to come does not count either.
    let mut later = [MonthFigures::default(); 12];
    later[8].paid = 5;
    let fig = parse(&execution(&frame(Lang::En, "e"), &later, Some(3)));
    assert!(with_class(&fig, "point").is_empty());
}

#[test]
fn execution_adds_up_huge_amounts_without_overflow() {
    let big = i128::from(u64::MAX);
    let months = [MonthFigures {
        received: big,
        committed: big,
        paid: big,
    }; 12];
    let m = execution(&frame(Lang::Vi, "big"), &months, None);
    let fig = check_frame(&m, "big");
    assert_eq!(points(&fig, "paid")[&12], 221_360_928_884_514_619_380);
    assert!(m.0.contains("221.360.928.884.514.619.380 ₫"));
}

// ---------------------------------------------------------------------------
// The vendor chart.

/// Ten departments D01…D10; D`i` pays `i` million in month `i`, and another
/// `i` million in March.
fn ten_departments() -> Vec<Payment> {
    (1..=10u128)
        .flat_map(|i| {
            let d = entity(&format!("D{i:02}"), &format!("Sở số {i}"));
            let month = usize::try_from(i).unwrap() % 12;
            [
                Payment {
                    department: d.clone(),
                    month,
                    amount: i * 1_000_000,
                },
                Payment {
                    department: d,
                    month: 2,
                    amount: i * 1_000_000,
                },
            ]
        })
        .collect()
}

#[test]
fn vendor_bars_stack_every_department_and_group_the_small_ones() {
    let payments = ten_departments();
    let m = vendor_income(&frame(Lang::Vi, "vendor"), &payments, 3);
    let fig = check_frame(&m, "vendor");
    // Each month's pieces add up to what was paid in it.
    let mut by_month: BTreeMap<u32, u128> = BTreeMap::new();
    for seg in with_class(&fig, "seg") {
        *by_month
            .entry(attr(seg, "data-month").parse().unwrap())
            .or_default() += amount(seg);
    }
    // March: D02 (its own month is March too) twice, the others once.
    let march: u128 = (1..=10).sum::<u128>() * 1_000_000 + 2_000_000;
    assert_eq!(by_month[&3], march);
    assert_eq!(by_month[&2], 1_000_000);
    assert_eq!(by_month[&11], 10_000_000);
    assert_eq!(by_month.get(&1), None);
    assert_eq!(by_month.values().sum::<u128>(), 110_000_000);
    // D10, D09, D08 by name; D01…D07 (56 million) as seven others.
    let legend: Vec<(&str, u128)> = with_class(&fig, "legend-item")
        .into_iter()
        .map(|e| (attr(e, "data-dept"), amount(e)))
        .collect();
    assert_eq!(
        legend,
        [
            ("D10", 20_000_000),
            ("D09", 18_000_000),
            ("D08", 16_000_000),
            (OTHERS_ID, 56_000_000)
        ]
    );
    assert!(m.0.contains("Khác (7 đơn vị)"));
    assert!(!m.0.contains("data-dept=\"D07\""));
    // Named departments link to their pages; "others" does not.
    let links: Vec<&str> = named(&fig, "a")
        .into_iter()
        .map(|a| attr(a, "href"))
        .collect();
    assert!(links.contains(&"/entities/D10?lang=en"));
    assert!(!links.iter().any(|l| l.contains("D07")));
    let desc = text_of(named(&fig, "desc")[0]);
    assert_eq!(
        desc,
        "Tổng 110 triệu từ 10 đơn vị trong 10 tháng; nhiều nhất từ Sở số 10 (20 triệu)."
    );
    // The table's total row holds the year's total.
    assert!(m.0.contains("110.000.000 ₫"));
}

#[test]
fn vendor_chart_leaves_out_zero_and_impossible_months() {
    let d = entity("BYT", "Bộ Y tế");
    let payments = vec![
        Payment {
            department: d.clone(),
            month: 0,
            amount: 0,
        },
        Payment {
            department: d.clone(),
            month: 12,
            amount: 99,
        },
        Payment {
            department: entity("BTC", "Bộ Tài chính"),
            month: 4,
            amount: 0,
        },
        Payment {
            department: d,
            month: 4,
            amount: 7,
        },
    ];
    let m = vendor_income(&frame(Lang::En, "v"), &payments, DEFAULT_KEEP);
    let fig = check_frame(&m, "v");
    let segs = with_class(&fig, "seg");
    assert_eq!(segs.len(), 1);
    assert_eq!((attr(segs[0], "data-month"), amount(segs[0])), ("5", 7));
    assert!(!m.0.contains("BTC"));
    for lang in [Lang::Vi, Lang::En] {
        let none = vendor_income(&frame(lang, "v"), &payments[..3], DEFAULT_KEEP);
        let fig = check_frame(&none, "v");
        assert!(with_class(&fig, "seg").is_empty());
        assert!(named(&fig, "table").is_empty());
        let sentence = text::words(lang).vendor_empty;
        assert_eq!(text_of(named(&fig, "desc")[0]), sentence);
    }
}

#[test]
fn vendor_chart_adds_up_huge_amounts() {
    let big = u128::from(u64::MAX);
    let payments: Vec<Payment> = (0..5)
        .map(|i| Payment {
            department: entity(&format!("D{i}X"), "Sở"),
            month: 6,
            amount: big,
        })
        .collect();
    let m = vendor_income(&frame(Lang::En, "v"), &payments, 2);
    let fig = check_frame(&m, "v");
    let july = with_class(&fig, "bar")
        .into_iter()
        .find(|b| attr(b, "data-month") == "7")
        .unwrap();
    assert_eq!(amount(july), 92_233_720_368_547_758_075);
    let segs: u128 = with_class(&fig, "seg").iter().map(|s| amount(s)).sum();
    assert_eq!(segs, 92_233_720_368_547_758_075);
    assert!(m.0.contains("92,233,720,368,547,758,075 ₫"));
}

#[test]
fn vendor_chart_escapes_names_and_keeps_vietnamese() {
    let payments = vec![
        Payment {
            department: entity("BGTVT", "Bộ Giao thông Vận tải"),
            month: 1,
            amount: 5,
        },
        Payment {
            department: entity("X1", HOSTILE),
            month: 1,
            amount: 3,
        },
    ];
    let frame = Frame {
        lang: Lang::Vi,
        id: "v",
        subject: "Công ty <b>A&B</b>, 2026",
    };
    let m = vendor_income(&frame, &payments, DEFAULT_KEEP);
    let fig = check_frame(&m, "v");
    assert!(!m.0.contains("<b>"));
    let heads: Vec<String> = named(&fig, "tbody")[0]
        .children
        .iter()
        .filter_map(XMLNode::as_element)
        .map(|tr| text_of(tr.get_child("th").unwrap()))
        .collect();
    assert_eq!(heads, ["Bộ Giao thông Vận tải", HOSTILE]);
    assert_eq!(
        text_of(named(&fig, "title")[0]),
        "Ai đã trả tiền cho nhà cung cấp — Công ty <b>A&B</b>, 2026"
    );
}
