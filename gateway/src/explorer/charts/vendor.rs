//! The vendor chart: who paid one vendor, month by month. Each month is a
//! bar stacked from the departments that paid in it, one colour per
//! department; the largest departments are named in the legend (each a link
//! to its page) and the rest are grouped as "others".

use std::collections::HashMap;

use maud::{html, Markup};

use super::text::{self, clip, fill, full_amount, short_amount};
use super::{
    colour, figure, gridlines, month_axis, n, ratio, ticks, Frame, Parts, Payment, INK,
    OTHERS_COLOUR, OTHERS_ID,
};
use crate::explorer::i18n::Lang;
use crate::explorer::layout::signed;

/// The plot area; the legend is to its right.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 690.0;
const TOP: f64 = 24.0;
/// Room under the plot for the month names.
const UNDER: f64 = 50.0;
/// Least height of the drawing.
const MIN_HEIGHT: f64 = 400.0;
/// Where the legend starts, and the height of one of its rows.
const LEGEND_X: f64 = 720.0;
const LEGEND_ROW: f64 = 24.0;

/// A department as the chart shows it, after grouping.
#[derive(Debug)]
pub(super) struct Dept {
    pub id: String,
    pub label: String,
    pub href: Option<String>,
    /// 0 for a department itself; the count for the grouped "others".
    pub merged: usize,
    /// What it paid in each month.
    pub months: [u128; 12],
}

impl Dept {
    /// What it paid in the year.
    pub fn total(&self) -> u128 {
        self.months.iter().fold(0, |a, b| a.saturating_add(*b))
    }

    /// The name it is shown by.
    fn name(&self, lang: Lang) -> String {
        if self.merged > 0 {
            fill(text::words(lang).others, &[&self.merged.to_string()])
        } else {
            self.label.clone()
        }
    }

    /// Its colour: by rank, grey for "others".
    fn colour(&self, rank: usize) -> &'static str {
        if self.merged > 0 {
            OTHERS_COLOUR
        } else {
            colour(rank)
        }
    }
}

/// The departments, largest first, at most `keep` by name and the rest as
/// one "others" (a single leftover department is shown by name instead).
/// Also returns how many distinct departments paid.
pub(super) fn departments(payments: &[Payment], keep: usize) -> (Vec<Dept>, usize) {
    let keep = keep.max(1);
    let mut all: Vec<Dept> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for p in payments.iter().filter(|p| p.month < 12 && p.amount > 0) {
        let i = *at.entry(p.department.id.as_str()).or_insert_with(|| {
            all.push(Dept {
                id: p.department.id.clone(),
                label: p.department.label.clone(),
                href: p.department.href.clone(),
                merged: 0,
                months: [0; 12],
            });
            all.len() - 1
        });
        let cell = &mut all[i].months[p.month];
        *cell = cell.saturating_add(p.amount);
    }
    let distinct = all.len();
    // Largest first; ties in the order they were first seen.
    let mut ranked: Vec<(usize, Dept)> = all.into_iter().enumerate().collect();
    ranked.sort_by_key(|(i, d)| (std::cmp::Reverse(d.total()), *i));
    let mut ranked: Vec<Dept> = ranked.into_iter().map(|(_, d)| d).collect();
    if ranked.len() > keep + 1 {
        let rest = ranked.split_off(keep);
        let mut others = Dept {
            id: OTHERS_ID.into(),
            label: String::new(),
            href: None,
            merged: rest.len(),
            months: [0; 12],
        };
        for d in &rest {
            for (o, v) in others.months.iter_mut().zip(d.months) {
                *o = o.saturating_add(v);
            }
        }
        ranked.push(others);
    }
    (ranked, distinct)
}

/// The chart of who paid a vendor, from its `payments` (several for the
/// same department and month are added up). At most `keep` departments are
/// named; the rest are grouped as "others".
///
/// Each bar piece is a `rect.seg` with `data-dept` (the department's id, or
/// `others`), `data-month` (1 to 12) and `data-amount` (whole đồng); each
/// month's bar is a `g.bar` with `data-month` and `data-amount`, its total.
/// Legend entries are `g.legend-item` with `data-dept`, each in a link to
/// the department's page when it has one.
pub fn vendor_income(frame: &Frame, payments: &[Payment], keep: usize) -> Markup {
    let lang = frame.lang;
    let w = text::words(lang);
    let (depts, distinct) = departments(payments, keep);
    let height = MIN_HEIGHT.max(TOP * 2.0 + depts.len() as f64 * LEGEND_ROW);
    if depts.is_empty() {
        return figure(
            frame,
            Parts {
                kind: "chart-vendor",
                name: w.vendor_title,
                desc: w.vendor_empty.to_owned(),
                height,
                svg: super::empty_svg(w.vendor_empty, height),
                table: None,
            },
        );
    }
    let month_totals = month_totals(&depts);
    let total = month_totals.iter().fold(0u128, |a, b| a.saturating_add(*b));
    let months_paid = month_totals.iter().filter(|t| **t > 0).count();
    // The largest department by name (the first, unless all are grouped).
    let top = depts.iter().find(|d| d.merged == 0);
    let desc = fill(
        w.vendor_desc,
        &[
            &short_amount(total, lang),
            &distinct.to_string(),
            &months_paid.to_string(),
            top.map_or("", |d| d.label.as_str()),
            &short_amount(top.map_or(0, Dept::total), lang),
        ],
    );
    figure(
        frame,
        Parts {
            kind: "chart-vendor",
            name: w.vendor_title,
            desc,
            height,
            svg: drawing(&depts, &month_totals, height, lang),
            table: Some(table(&depts, &month_totals, lang)),
        },
    )
}

/// What all departments paid in each month.
fn month_totals(depts: &[Dept]) -> [u128; 12] {
    let mut out = [0u128; 12];
    for d in depts {
        for (o, v) in out.iter_mut().zip(d.months) {
            *o = o.saturating_add(v);
        }
    }
    out
}

/// The bars, the axes and the legend.
fn drawing(depts: &[Dept], month_totals: &[u128; 12], height: f64, lang: Lang) -> Markup {
    let w = text::words(lang);
    let bottom = height - UNDER;
    let slot = (RIGHT - LEFT) / 12.0;
    let bar = slot * 0.64;
    let max = month_totals.iter().copied().max().unwrap_or(0);
    let (step, top) = ticks(max);
    let y = |v: u128| bottom - ratio(v, top) * (bottom - TOP);
    // Each month's pieces, largest department at the bottom, with what lies
    // below each: heights come from these running sums, so the pieces of a
    // bar meet exactly.
    let stacks: Vec<Vec<(usize, u128, u128)>> = (0..12)
        .map(|m| {
            let mut below = 0u128;
            let mut pieces = Vec::new();
            for (rank, d) in depts.iter().enumerate() {
                let v = d.months[m];
                if v > 0 {
                    pieces.push((rank, below, v));
                    below = below.saturating_add(v);
                }
            }
            pieces
        })
        .collect();
    html! {
        (gridlines(lang, (step, top), (LEFT, RIGHT), (TOP, bottom)))
        (month_axis(lang, LEFT, slot, bottom + 22.0))
        g.bars {
            @for (m, month_total) in month_totals.iter().enumerate() {
                @let x = LEFT + m as f64 * slot + (slot - bar) / 2.0;
                g.bar data-month=(m + 1) data-amount=(month_total) {
                    @for &(rank, below, v) in &stacks[m] {
                        @let d = &depts[rank];
                        @let (y0, y1) = (y(below.saturating_add(v)), y(below));
                        @let tip = fill(w.segment, &[&d.name(lang), w.months_long[m], &full_amount(v, lang)]);
                        @let seg = html! {
                            rect.seg x=(n(x)) y=(n(y0)) width=(n(bar)) height=(n((y1 - y0).max(0.5)))
                                fill=(d.colour(rank)) stroke="#ffffff" stroke-width="0.5"
                                data-dept=(d.id) data-month=(m + 1) data-amount=(v) {
                                title { (tip) }
                            }
                        };
                        @match &d.href {
                            Some(href) => { a href=(href) { (seg) } }
                            None => { (seg) }
                        }
                    }
                    @if *month_total > 0 {
                        text x=(n(x + bar / 2.0)) y=(n(y(*month_total) - 4.0)) text-anchor="middle"
                            fill=(INK) font-size="10" { (short_amount(*month_total, lang)) }
                    }
                }
            }
        }
        g.legend {
            @for (rank, d) in depts.iter().enumerate() {
                @let ly = TOP + rank as f64 * LEGEND_ROW;
                @let shown = d.name(lang);
                @let item = html! {
                    g.legend-item data-dept=(d.id) data-amount=(d.total()) {
                        title { (format!("{shown}: {}", full_amount(d.total(), lang))) }
                        rect x=(n(LEGEND_X)) y=(n(ly)) width="14" height="14" fill=(d.colour(rank)) {}
                        text x=(n(LEGEND_X + 20.0)) y=(n(ly + 7.0)) dominant-baseline="middle" fill=(INK) {
                            (clip(&shown, 30))
                        }
                    }
                };
                @match &d.href {
                    Some(href) => { a href=(href) { (item) } }
                    None => { (item) }
                }
            }
        }
    }
}

/// The figures as a table: a row per department, a column per month.
fn table(depts: &[Dept], month_totals: &[u128; 12], lang: Lang) -> Markup {
    let w = text::words(lang);
    let cell = |v: u128| {
        html! {
            td.num data-amount=(v) {
                @if v > 0 { span.amt { (full_amount(v, lang)) } } @else { "—" }
            }
        }
    };
    let total = month_totals.iter().fold(0u128, |a, b| a.saturating_add(*b));
    html! {
        table.chart-table {
            thead {
                tr {
                    th { (w.col_department) }
                    @for m in w.months_short { th.num { (m) } }
                    th.num { (w.total) }
                }
            }
            tbody {
                @for d in depts {
                    tr data-dept=(d.id) {
                        th {
                            @match &d.href {
                                Some(href) => { a href=(href) { (signed(&d.name(lang))) } }
                                None => { (signed(&d.name(lang))) }
                            }
                        }
                        @for v in d.months { (cell(v)) }
                        (cell(d.total()))
                    }
                }
            }
            tfoot {
                tr.total {
                    th { (w.total) }
                    @for v in month_totals { (cell(*v)) }
                    (cell(total))
                }
            }
        }
    }
}
