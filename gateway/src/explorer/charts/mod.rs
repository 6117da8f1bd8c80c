//! Charts for the explorer's pages, drawn on the server as inline SVG.
//!
//! Three charts show where public money went:
//!
//! - [`money_flow`]: how money flows from the treasury through ministries
//!   and departments to vendors, as bands whose widths are proportional to
//!   the amounts (a Sankey diagram);
//! - [`execution`]: one entity's year, month by month: how much it had
//!   received, committed and paid so far;
//! - [`vendor_income`]: who paid one vendor, month by month, one colour per
//!   paying department.
//!
//! Each chart is a `<figure>` holding the picture (an `<svg role="img">`
//! with a `<title>` and a `<desc>` that says what the picture shows in
//! words), and a `<details>` disclosure with the same figures as an HTML
//! table, for screen readers and for copying. The charts need no script and
//! no stylesheet of their own: colours and sizes are SVG presentation
//! attributes, so they pass the explorer's content security policy
//! (`default-src 'none'; style-src 'self'`), which forbids inline styles.
//!
//! Names come from signers and may hold any text; they are always escaped.
//! Amounts are whole đồng in `u128`, so sums of many `u64` amounts neither
//! overflow nor lose a đồng; a chart with nothing to show says so in words.
//!
//! The builders are pure functions of their input: the pages gather the
//! figures and pass them in, already in the reader's language via
//! [`Frame`].

use maud::{html, Markup};

use super::i18n::Lang;
use super::layout::signed;

mod execution;
mod flow;
mod text;
mod vendor;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flow;

pub use self::execution::execution;
pub use self::flow::money_flow;
pub use self::text::{full_amount, short_amount};
pub use self::vendor::vendor_income;

/// How many nodes per column (or departments per vendor chart) a page
/// shows by name before the rest are grouped as "others".
pub const DEFAULT_KEEP: usize = 8;

/// The id the grouped "others" node carries in `data-id`, `data-from`,
/// `data-to` and `data-dept`. Entity ids are upper case, so it cannot be
/// taken by an entity.
pub const OTHERS_ID: &str = "others";

/// One entity in a chart: a treasury, ministry, department or vendor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The entity id; nodes with the same id in the same column are one.
    pub id: String,
    /// Its name as the signer wrote it (any text; it is escaped).
    pub label: String,
    /// Where a click on it leads, e.g. `/entities/BYT?lang=en`; `None` for
    /// no link.
    pub href: Option<String>,
}

impl Node {
    /// A node without a link.
    pub fn new(id: impl Into<String>, label: impl Into<String>) -> Node {
        Node {
            id: id.into(),
            label: label.into(),
            href: None,
        }
    }

    /// The same node, linking to `href`.
    pub fn with_href(self, href: impl Into<String>) -> Node {
        Node {
            href: Some(href.into()),
            ..self
        }
    }
}

/// Money that went from one entity to another in one step of the flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Who passed the money on.
    pub from: Node,
    /// Who received it.
    pub to: Node,
    /// How much, in đồng.
    pub amount: u128,
}

/// What one entity received, committed and paid in one month (increments,
/// not running totals), in đồng. An increment is negative when more was
/// given back (or amended down) than added that month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonthFigures {
    /// Money received in the month (appropriations, allocations), net of
    /// returns.
    pub received: i128,
    /// Money committed in the month (contracts signed, amendments).
    pub committed: i128,
    /// Money paid out in the month.
    pub paid: i128,
}

/// One payment (or a sum of payments) a vendor received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The department that paid.
    pub department: Node,
    /// The month, 0 for January to 11 for December; payments with any other
    /// month are left out.
    pub month: usize,
    /// How much, in đồng.
    pub amount: u128,
}

/// What every chart needs to know about the page it sits on.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// The reader's language.
    pub lang: Lang,
    /// A name for the chart unique on its page, for its element ids
    /// (letters, digits, `-` and `_` are kept; anything else is dropped).
    pub id: &'a str,
    /// What the chart is about, added to its title: the entity's name and
    /// the year, e.g. `Bộ Y tế, 2026`. Any text; it is escaped. Empty for
    /// none.
    pub subject: &'a str,
}

/// The width of every chart's drawing, in SVG units.
const WIDTH: f64 = 960.0;
/// The colour of text and axes.
const INK: &str = "#1d2330";
/// The colour of secondary text.
const MUTED: &str = "#5b6475";
/// The colour of gridlines.
const GRID: &str = "#dde1e8";
/// The colour of the grouped "others".
const OTHERS_COLOUR: &str = "#8a94a6";
/// Series and node colours, in order: distinguishable with the common colour
/// vision deficiencies (after Okabe and Ito) and dark enough against white.
const PALETTE: [&str; 8] = [
    "#0b5cad", "#d55e00", "#009e73", "#cc79a7", "#b8860b", "#56b4e9", "#6a3d9a", "#8c564b",
];

/// The palette colour for the `i`th item.
fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// `id` reduced to characters safe in an element id; `chart` when none is
/// left.
fn dom_id(id: &str) -> String {
    let kept: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if kept.is_empty() {
        "chart".into()
    } else {
        kept
    }
}

/// A coordinate, with one decimal.
fn n(x: f64) -> String {
    format!("{x:.1}")
}

/// `part ÷ whole` as a fraction in 0..=1; 0 when `whole` is 0.
fn ratio(part: u128, whole: u128) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Both are converted before dividing, so nothing overflows; the
        // rounding (far below a pixel) is only in the drawing.
        (part.min(whole) as f64) / (whole as f64)
    }
}

/// Round gridline values for an axis from 0 to at least `max`: at most six
/// steps of 1, 2, 2.5 or 5 times a power of ten, the top as close to `max`
/// as those allow (then about four steps). Returns the step and the top.
fn ticks(max: u128) -> (u128, u128) {
    const MOST: u128 = 6;
    let max = max.max(1);
    let raw = max.div_ceil(MOST);
    let mut power: u128 = 1;
    while let Some(next) = power.checked_mul(10) {
        if next > raw {
            break;
        }
        power = next;
    }
    // Steps as (numerator, denominator) of the power: 2.5 is 5/2.
    [(1, 1), (2, 1), (5, 2), (5, 1), (10, 1)]
        .iter()
        .filter(|(_, den)| power.is_multiple_of(*den))
        .filter_map(|(num, den)| (power / den).checked_mul(*num))
        .filter_map(|step| {
            let count = max.div_ceil(step);
            let top = step.checked_mul(count)?;
            (count <= MOST).then_some((step, top, count.abs_diff(4)))
        })
        .min_by_key(|&(step, top, off)| (top, off, std::cmp::Reverse(step)))
        .map_or((raw, max), |(step, top, _)| (step, top))
}

/// The chart's title: its name, and what it is about.
fn title(frame: &Frame, name: &str) -> String {
    if frame.subject.is_empty() {
        name.to_owned()
    } else {
        text::fill(
            text::words(frame.lang).title_with_subject,
            &[name, frame.subject],
        )
    }
}

/// The parts of a chart, before the frame around them.
struct Parts {
    /// `chart-flow`, `chart-execution` or `chart-vendor`.
    kind: &'static str,
    /// The chart's name in the reader's language (the subject is added).
    name: &'static str,
    /// What the picture shows, in words.
    desc: String,
    /// The height of the drawing.
    height: f64,
    /// The drawing.
    svg: Markup,
    /// The figures as a table; `None` when there are none.
    table: Option<Markup>,
}

/// The `<figure>` around a chart: caption, picture, table.
fn figure(frame: &Frame, parts: Parts) -> Markup {
    let w = text::words(frame.lang);
    let id = dom_id(frame.id);
    let (title_id, desc_id) = (format!("{id}-title"), format!("{id}-desc"));
    let empty = parts.table.is_none();
    let class = if empty {
        format!("chart {} chart-empty", parts.kind)
    } else {
        format!("chart {}", parts.kind)
    };
    html! {
        figure class=(class) id=(id) {
            figcaption {
                (parts.name)
                @if !frame.subject.is_empty() { " — " (signed(frame.subject)) }
            }
            svg xmlns="http://www.w3.org/2000/svg" role="img"
                aria-labelledby=(title_id) aria-describedby=(desc_id)
                viewBox=(format!("0 0 {WIDTH} {}", parts.height))
                font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif"
                font-size="12" {
                title id=(title_id) { (title(frame, parts.name)) }
                desc id=(desc_id) { (parts.desc) }
                (parts.svg)
            }
            @if let Some(table) = parts.table {
                details {
                    summary { (w.show_table) }
                    div.scroll { (table) }
                }
            }
        }
    }
}

/// The drawing of an empty chart: its sentence, in the middle.
fn empty_svg(sentence: &str, height: f64) -> Markup {
    html! {
        rect.frame x="0.5" y="0.5" width=(n(WIDTH - 1.0)) height=(n(height - 1.0))
            fill="#ffffff" stroke=(GRID) {}
        text.empty x=(n(WIDTH / 2.0)) y=(n(height / 2.0)) text-anchor="middle"
            dominant-baseline="middle" font-size="16" fill=(MUTED) { (sentence) }
    }
}

/// Horizontal gridlines with their short amounts, from `left` to `right`,
/// for an axis from 0 (at `bottom`) to `top_value` (at `top`).
fn gridlines(
    lang: Lang,
    (step, top_value): (u128, u128),
    (left, right): (f64, f64),
    (top, bottom): (f64, f64),
) -> Markup {
    let values: Vec<u128> = (0..=top_value / step).map(|i| i * step).collect();
    html! {
        g.grid {
            @for v in values {
                @let y = bottom - ratio(v, top_value) * (bottom - top);
                line x1=(n(left)) x2=(n(right)) y1=(n(y)) y2=(n(y))
                    stroke=(if v == 0 { MUTED } else { GRID }) stroke-width="1" {}
                text x=(n(left - 6.0)) y=(n(y)) text-anchor="end" dominant-baseline="middle"
                    fill=(MUTED) font-size="11" data-amount=(v) { (short_amount(v, lang)) }
            }
        }
    }
}

/// Month names under an axis, one per slot of `slot` width from `left`.
fn month_axis(lang: Lang, left: f64, slot: f64, y: f64) -> Markup {
    let w = text::words(lang);
    html! {
        g.months {
            @for (i, m) in w.months_short.iter().enumerate() {
                text x=(n(left + (i as f64 + 0.5) * slot)) y=(n(y)) text-anchor="middle"
                    fill=(INK) font-size="11" data-month=(i + 1) { (m) }
            }
        }
    }
}
