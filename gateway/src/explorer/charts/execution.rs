//! The execution chart: one entity's year, month by month, as three running
//! totals on one chart: how much it had received, committed and paid by the
//! end of each month. The gap between the lines is the story: money
//! received but not committed, committed but not paid.

use maud::{html, Markup};

use super::text::{self, fill, full_amount, short_amount};
use super::{
    figure, gridlines, month_axis, n, ratio, ticks, Frame, MonthFigures, Parts, INK, MUTED, PALETTE,
};
use crate::explorer::i18n::Lang;

/// The drawing's height.
const HEIGHT: f64 = 400.0;
/// The plot area.
const LEFT: f64 = 80.0;
const RIGHT: f64 = 940.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 350.0;

/// One of the three lines.
struct Series {
    /// `received`, `committed` or `paid`: the `data-series` value and class.
    key: &'static str,
    colour: &'static str,
    /// A dash pattern, so the lines differ in more than colour.
    dash: Option<&'static str>,
}

const SERIES: [Series; 3] = [
    Series {
        key: "received",
        colour: PALETTE[0],
        dash: None,
    },
    Series {
        key: "committed",
        colour: PALETTE[1],
        dash: Some("7 4"),
    },
    Series {
        key: "paid",
        colour: PALETTE[2],
        dash: None,
    },
];

/// The series' names in `lang`, in the order of [`SERIES`].
fn series_names(lang: Lang) -> [&'static str; 3] {
    let w = text::words(lang);
    [w.received, w.committed, w.paid]
}

/// Running totals of `months`: for each month, what had been received,
/// committed and paid by its end, never below zero. Saturates rather than
/// overflow.
pub(super) fn cumulative(months: &[MonthFigures; 12]) -> [[u128; 3]; 12] {
    let mut out = [[0u128; 3]; 12];
    let mut run = [0i128; 3];
    for (i, m) in months.iter().enumerate() {
        for (k, (r, v)) in run
            .iter_mut()
            .zip([m.received, m.committed, m.paid])
            .enumerate()
        {
            *r = r.saturating_add(v);
            out[i][k] = u128::try_from(*r).unwrap_or(0);
        }
    }
    out
}

/// A month's increment as the table writes it: with a minus sign when it
/// is negative.
fn signed_amount(v: i128, lang: Lang) -> String {
    let abs = full_amount(v.unsigned_abs(), lang);
    if v < 0 {
        format!("−{abs}")
    } else {
        abs
    }
}

/// The execution chart of one entity for one year. `months` holds each
/// month's increments (January first); the chart adds them up. Months after
/// `last_month` (0 for January … 11 for December) have not come yet and are
/// left out, whatever they hold; `None` draws the whole year.
///
/// The lines are `polyline.series` with `data-series` = `received`,
/// `committed` or `paid`; each month's point is a `circle.point` with
/// `data-series`, `data-month` (1 to 12) and `data-amount`, the running
/// total in whole đồng.
pub fn execution(frame: &Frame, months: &[MonthFigures; 12], last_month: Option<usize>) -> Markup {
    let lang = frame.lang;
    let w = text::words(lang);
    let last = last_month.map_or(11, |m| m.min(11));
    let cum = cumulative(months);
    let max = cum[last].iter().copied().max().unwrap_or(0);
    if max == 0 {
        return figure(
            frame,
            Parts {
                kind: "chart-execution",
                name: w.exec_title,
                desc: w.exec_empty.to_owned(),
                height: HEIGHT,
                svg: super::empty_svg(w.exec_empty, HEIGHT),
                table: None,
            },
        );
    }
    let mut desc = fill(
        w.exec_desc,
        &[
            w.months_long[last],
            &short_amount(cum[last][0], lang),
            &short_amount(cum[last][1], lang),
            &short_amount(cum[last][2], lang),
        ],
    );
    if last < 11 {
        desc.push(' ');
        desc.push_str(&fill(w.exec_desc_partial, &[w.months_long[last]]));
    }
    figure(
        frame,
        Parts {
            kind: "chart-execution",
            name: w.exec_title,
            desc,
            height: HEIGHT,
            svg: drawing(&cum, last, max, lang),
            table: Some(table(months, &cum, last, lang)),
        },
    )
}

/// The lines, their points, the axes and the legend.
fn drawing(cum: &[[u128; 3]; 12], last: usize, max: u128, lang: Lang) -> Markup {
    let w = text::words(lang);
    let names = series_names(lang);
    let slot = (RIGHT - LEFT) / 12.0;
    let (step, top) = ticks(max);
    let x = |i: usize| LEFT + (i as f64 + 0.5) * slot;
    let y = |v: u128| BOTTOM - ratio(v, top) * (BOTTOM - TOP);
    html! {
        @if last < 11 {
            g.absent {
                rect x=(n(LEFT + (last + 1) as f64 * slot)) y=(n(TOP)) width=(n((11 - last) as f64 * slot))
                    height=(n(BOTTOM - TOP)) fill="#f0f2f5" {}
                text x=(n(LEFT + (last as f64 + 1.0 + (11 - last) as f64 / 2.0) * slot)) y=(n(TOP + 16.0))
                    text-anchor="middle" fill=(MUTED) font-size="11" { (w.not_yet) }
            }
        }
        (gridlines(lang, (step, top), (LEFT, RIGHT), (TOP, BOTTOM)))
        (month_axis(lang, LEFT, slot, BOTTOM + 22.0))
        g.legend {
            @for (k, s) in SERIES.iter().enumerate() {
                @let lx = LEFT + k as f64 * 200.0;
                g class=(format!("legend-item {}", s.key)) data-series=(s.key) {
                    line x1=(n(lx)) x2=(n(lx + 28.0)) y1="20" y2="20" stroke=(s.colour) stroke-width="3"
                        stroke-dasharray=[s.dash] {}
                    text x=(n(lx + 36.0)) y="20" dominant-baseline="middle" fill=(INK) { (names[k]) }
                }
            }
        }
        @for (k, s) in SERIES.iter().enumerate() {
            @let points: Vec<String> = (0..=last).map(|i| format!("{},{}", n(x(i)), n(y(cum[i][k])))).collect();
            g class=(format!("line {}", s.key)) {
                polyline class=(format!("series {}", s.key)) data-series=(s.key) points=(points.join(" "))
                    fill="none" stroke=(s.colour) stroke-width="2.5" stroke-linejoin="round"
                    stroke-dasharray=[s.dash] {}
                @for i in 0..=last {
                    circle class=(format!("point {}", s.key)) cx=(n(x(i))) cy=(n(y(cum[i][k]))) r="3.5"
                        fill=(s.colour) data-series=(s.key) data-month=(i + 1) data-amount=(cum[i][k]) {
                        title { (fill(w.segment, &[names[k], w.months_long[i], &full_amount(cum[i][k], lang)])) }
                    }
                }
            }
        }
    }
}

/// The figures as a table: each month's increments and running totals.
fn table(months: &[MonthFigures; 12], cum: &[[u128; 3]; 12], last: usize, lang: Lang) -> Markup {
    let w = text::words(lang);
    let names = series_names(lang);
    html! {
        table.chart-table {
            thead {
                tr {
                    th { (w.col_month) }
                    @for name in names { th.num { (fill(w.in_month, &[name])) } }
                    @for name in names { th.num { (fill(w.to_date, &[name])) } }
                }
            }
            tbody {
                @for (i, m) in months.iter().enumerate() {
                    tr data-month=(i + 1) {
                        th { (w.months_long[i]) }
                        @if i <= last {
                            @for v in [m.received, m.committed, m.paid] {
                                td.num data-amount=(v) { span.amt { (signed_amount(v, lang)) } }
                            }
                            @for (k, s) in SERIES.iter().enumerate() {
                                td.num data-series=(s.key) data-amount=(cum[i][k]) {
                                    span.amt { (full_amount(cum[i][k], lang)) }
                                }
                            }
                        } @else {
                            td.absent colspan="6" { (w.not_yet) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_totals_add_each_month_and_saturate() {
        let mut months = [MonthFigures::default(); 12];
        months[0].received = 5;
        months[2].received = 7;
        months[2].paid = 3;
        months[4].received = -2;
        months[11].committed = i128::MAX;
        months[11].paid = i128::MAX;
        months[11].paid = months[11].paid.saturating_add(1);
        let cum = cumulative(&months);
        assert_eq!(cum[0], [5, 0, 0]);
        assert_eq!(cum[1], [5, 0, 0]);
        assert_eq!(cum[2], [12, 0, 3]);
        assert_eq!(cum[4], [10, 0, 3], "a return lowers what was received");
        assert_eq!(cum[11], [10, i128::MAX as u128, i128::MAX as u128]);
        // More given back than had come in shows as nothing, not a debt.
        let mut back = [MonthFigures::default(); 12];
        back[0].received = -7;
        assert_eq!(cumulative(&back)[0], [0, 0, 0]);
        assert_eq!(
            signed_amount(-1_500, Lang::En),
            format!("−{}", full_amount(1_500, Lang::En))
        );
    }
}
