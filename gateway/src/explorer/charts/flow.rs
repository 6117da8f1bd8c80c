//! The money-flow chart: columns of entities (treasury, ministries,
//! departments, vendors, or any consecutive part of that chain), joined by
//! bands whose widths are proportional to the money that went between them.
//!
//! A column shows its largest entities by name; the rest are grouped into
//! one "others" node, and their bands with them, so every đồng of the input
//! is still drawn: the bands of each step add up to exactly what the step's
//! flows add up to.

use std::collections::{BTreeMap, HashMap, HashSet};

use maud::{html, Markup};

use super::text::{self, clip, fill, full_amount, short_amount};
use super::{colour, figure, n, Flow, Frame, Parts, INK, OTHERS_COLOUR, OTHERS_ID, WIDTH};
use crate::explorer::i18n::Lang;
use crate::explorer::layout::signed;

/// Width of a node's bar.
const NODE_W: f64 = 12.0;
/// Room above and below the columns.
const MARGIN: f64 = 16.0;
/// Least height of the drawing area.
const MIN_AREA: f64 = 360.0;
/// Least vertical room a node takes, so its two-line label fits.
const SLOT_MIN: f64 = 28.0;
/// Space between two nodes of a column.
const GAP: f64 = 8.0;

/// One node of a column, after grouping.
#[derive(Debug)]
pub(super) struct Col {
    pub id: String,
    pub label: String,
    pub href: Option<String>,
    /// How many input entities it stands for: 0 for an entity itself, the
    /// count for the grouped "others".
    pub merged: usize,
    pub inflow: u128,
    pub outflow: u128,
}

impl Col {
    /// What the node carries: the larger of what came in and what went out.
    pub fn value(&self) -> u128 {
        self.inflow.max(self.outflow)
    }
}

/// Money between two nodes of consecutive columns, after grouping.
#[derive(Debug)]
pub(super) struct Band {
    pub stage: usize,
    pub from: usize,
    pub to: usize,
    pub amount: u128,
}

/// The flows grouped and summed, ready to draw.
#[derive(Debug)]
pub(super) struct Model {
    /// The nodes of each column, largest first, "others" last.
    pub cols: Vec<Vec<Col>>,
    /// The bands, by step.
    pub bands: Vec<Band>,
    /// For each step, how many distinct entities paid and were paid in it,
    /// before grouping.
    pub distinct: Vec<(usize, usize)>,
}

/// A node as first seen, with its sums, before grouping.
struct Seen<'a> {
    label: &'a str,
    href: Option<&'a str>,
    inflow: u128,
    outflow: u128,
}

/// Groups `stages` into columns of at most `keep` named nodes (plus
/// "others"), summing the bands. Flows of 0 are left out.
pub(super) fn model(stages: &[Vec<Flow>], keep: usize) -> Model {
    let keep = keep.max(1);
    let ncols = stages.len() + 1;
    // Each column's entities in order of first appearance.
    let mut seen: Vec<Vec<(&str, Seen)>> = (0..ncols).map(|_| Vec::new()).collect();
    let mut index: Vec<HashMap<&str, usize>> = vec![HashMap::new(); ncols];
    for (s, flows) in stages.iter().enumerate() {
        for f in flows.iter().filter(|f| f.amount > 0) {
            for (c, node, out) in [(s, &f.from, true), (s + 1, &f.to, false)] {
                let i = *index[c].entry(node.id.as_str()).or_insert_with(|| {
                    seen[c].push((
                        node.id.as_str(),
                        Seen {
                            label: &node.label,
                            href: node.href.as_deref(),
                            inflow: 0,
                            outflow: 0,
                        },
                    ));
                    seen[c].len() - 1
                });
                let e = &mut seen[c][i].1;
                if out {
                    e.outflow = e.outflow.saturating_add(f.amount);
                } else {
                    e.inflow = e.inflow.saturating_add(f.amount);
                }
            }
        }
    }
    // Rank each column; the tail past `keep` becomes one "others" node,
    // unless it is a single entity, which is then shown as itself.
    let mut cols = Vec::with_capacity(ncols);
    let mut slot: Vec<HashMap<&str, usize>> = Vec::with_capacity(ncols);
    for column in &seen {
        let mut order: Vec<usize> = (0..column.len()).collect();
        order.sort_by_key(|&i| {
            let s = &column[i].1;
            (std::cmp::Reverse(s.inflow.max(s.outflow)), i)
        });
        let named = if order.len() > keep + 1 {
            keep
        } else {
            order.len()
        };
        let mut nodes: Vec<Col> = Vec::with_capacity(named + 1);
        let mut at = HashMap::new();
        for (rank, &i) in order.iter().enumerate() {
            let (id, s) = &column[i];
            if rank < named {
                at.insert(*id, nodes.len());
                nodes.push(Col {
                    id: (*id).to_owned(),
                    label: s.label.to_owned(),
                    href: s.href.map(str::to_owned),
                    merged: 0,
                    inflow: 0,
                    outflow: 0,
                });
            } else {
                at.insert(*id, named);
            }
        }
        if order.len() > named {
            nodes.push(Col {
                id: OTHERS_ID.into(),
                label: String::new(),
                href: None,
                merged: order.len() - named,
                inflow: 0,
                outflow: 0,
            });
        }
        cols.push(nodes);
        slot.push(at);
    }
    // The bands between grouped nodes, and the nodes' sums from them.
    let mut sums: BTreeMap<(usize, usize, usize), u128> = BTreeMap::new();
    for (s, flows) in stages.iter().enumerate() {
        for f in flows.iter().filter(|f| f.amount > 0) {
            let key = (
                s,
                slot[s][f.from.id.as_str()],
                slot[s + 1][f.to.id.as_str()],
            );
            let sum = sums.entry(key).or_insert(0);
            *sum = sum.saturating_add(f.amount);
        }
    }
    let bands: Vec<Band> = sums
        .into_iter()
        .map(|((stage, from, to), amount)| Band {
            stage,
            from,
            to,
            amount,
        })
        .collect();
    for b in &bands {
        let from = &mut cols[b.stage][b.from];
        from.outflow = from.outflow.saturating_add(b.amount);
        let to = &mut cols[b.stage + 1][b.to];
        to.inflow = to.inflow.saturating_add(b.amount);
    }
    let distinct = stages
        .iter()
        .map(|flows| {
            let paid = flows.iter().filter(|f| f.amount > 0);
            let from: HashSet<&str> = paid.clone().map(|f| f.from.id.as_str()).collect();
            let to: HashSet<&str> = paid.map(|f| f.to.id.as_str()).collect();
            (from.len(), to.len())
        })
        .collect();
    Model {
        distinct,
        cols,
        bands,
    }
}

/// The name a node is shown by.
fn name(col: &Col, lang: Lang) -> String {
    if col.merged > 0 {
        fill(text::words(lang).others, &[&col.merged.to_string()])
    } else {
        col.label.clone()
    }
}

/// Where the nodes go: each node's top and height, and the scale (SVG
/// units per đồng) shared by the whole chart.
struct Layout {
    area: f64,
    scale: f64,
    /// Per column, per node: (slot top, node top, node height).
    nodes: Vec<Vec<(f64, f64, f64)>>,
}

/// The height a column takes at `scale`.
fn column_height(col: &[Col], scale: f64) -> f64 {
    let gaps = GAP * col.len().saturating_sub(1) as f64;
    col.iter()
        .map(|c| (c.value() as f64 * scale).max(SLOT_MIN))
        .sum::<f64>()
        + gaps
}

fn layout(m: &Model) -> Layout {
    let most = m.cols.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let area = MIN_AREA.max(most * (SLOT_MIN + GAP));
    let biggest = m
        .cols
        .iter()
        .flatten()
        .map(Col::value)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // The largest scale at which every column fits: found by halving, as
    // a column's height grows with the scale in straight pieces.
    let (mut lo, mut hi) = (0.0, area / biggest);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if m.cols.iter().all(|c| column_height(c, mid) <= area) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let scale = lo;
    let nodes = m
        .cols
        .iter()
        .map(|col| {
            let mut y = MARGIN + (area - column_height(col, scale)).max(0.0) / 2.0;
            col.iter()
                .map(|c| {
                    let h = c.value() as f64 * scale;
                    let slot = h.max(SLOT_MIN);
                    let placed = (y, y + (slot - h) / 2.0, h);
                    y += slot + GAP;
                    placed
                })
                .collect()
        })
        .collect();
    Layout { area, scale, nodes }
}

/// Room kept right of the last column for its labels, which are written
/// after its nodes like every other column's, so that no two columns'
/// labels meet.
const LAST_LABELS_W: f64 = 200.0;

/// The left edge of column `c` of `count`.
fn column_x(c: usize, count: usize) -> f64 {
    let span = WIDTH - 2.0 * MARGIN - NODE_W - LAST_LABELS_W;
    MARGIN + span * c as f64 / count.saturating_sub(1).max(1) as f64
}

/// The money-flow chart of `stages`: stage `k` holds the flows from column
/// `k` to column `k + 1` (treasury → ministries → departments → vendors, or
/// any shorter chain). Each column shows its `keep` largest entities by
/// name and groups the rest as "others" (a single leftover entity is shown
/// by name instead). Bands and nodes link to their entity's `href`.
///
/// Bands are `path.band` with `data-stage`, `data-from`, `data-to` and
/// `data-amount` (whole đồng); nodes are `g.node` with `data-column`,
/// `data-id`, `data-amount` (the larger of `data-in` and `data-out`) and,
/// for the grouped node, class `others` and `data-count`.
pub fn money_flow(frame: &Frame, stages: &[Vec<Flow>], keep: usize) -> Markup {
    let lang = frame.lang;
    let w = text::words(lang);
    let m = model(stages, keep);
    if m.bands.is_empty() {
        let height = MIN_AREA + 2.0 * MARGIN;
        return figure(
            frame,
            Parts {
                kind: "chart-flow",
                name: w.flow_title,
                desc: w.flow_empty.to_owned(),
                height,
                svg: super::empty_svg(w.flow_empty, height),
                table: None,
            },
        );
    }
    let lay = layout(&m);
    let height = lay.area + 2.0 * MARGIN;
    figure(
        frame,
        Parts {
            kind: "chart-flow",
            name: w.flow_title,
            desc: describe(&m, lang),
            height,
            svg: html! { (bands(&m, &lay, lang)) (nodes(&m, &lay, lang)) },
            table: Some(table(&m, lang)),
        },
    )
}

/// The bands, each from the bottom of the previous one at both ends, in
/// the order of the nodes at the other end, so that bands do not cross
/// where they leave or arrive.
fn bands(m: &Model, lay: &Layout, lang: Lang) -> Markup {
    let ncols = m.cols.len();
    let mut order: Vec<usize> = (0..m.bands.len()).collect();
    // Offsets into each node where the next band leaves and arrives.
    let mut out_at: Vec<Vec<f64>> = lay
        .nodes
        .iter()
        .map(|c| c.iter().map(|p| p.1).collect())
        .collect();
    let mut in_at = out_at.clone();
    let mut leave = vec![0.0; m.bands.len()];
    let mut arrive = vec![0.0; m.bands.len()];
    order.sort_by_key(|&i| (m.bands[i].stage, m.bands[i].from, m.bands[i].to));
    for &i in &order {
        let b = &m.bands[i];
        leave[i] = out_at[b.stage][b.from];
        out_at[b.stage][b.from] += b.amount as f64 * lay.scale;
    }
    order.sort_by_key(|&i| (m.bands[i].stage, m.bands[i].to, m.bands[i].from));
    for &i in &order {
        let b = &m.bands[i];
        arrive[i] = in_at[b.stage + 1][b.to];
        in_at[b.stage + 1][b.to] += b.amount as f64 * lay.scale;
    }
    html! {
        g.bands {
            @for (i, b) in m.bands.iter().enumerate() {
                @let from = &m.cols[b.stage][b.from];
                @let to = &m.cols[b.stage + 1][b.to];
                @let x0 = column_x(b.stage, ncols) + NODE_W;
                @let x1 = column_x(b.stage + 1, ncols);
                @let t = (b.amount as f64 * lay.scale).max(0.5);
                @let (y0, y1, xm) = (leave[i], arrive[i], (x0 + x1) / 2.0);
                @let d = format!(
                    "M{} {}C{} {} {} {} {} {}L{} {}C{} {} {} {} {} {}Z",
                    n(x0), n(y0), n(xm), n(y0), n(xm), n(y1), n(x1), n(y1),
                    n(x1), n(y1 + t), n(xm), n(y1 + t), n(xm), n(y0 + t), n(x0), n(y0 + t),
                );
                // Coloured by the side with several nodes: the recipient
                // when a single payer feeds the step.
                @let fill_colour = if m.cols[b.stage].len() > 1 { node_colour(b.from, from) } else { node_colour(b.to, to) };
                @let tip = format!("{} → {}: {}", name(from, lang), name(to, lang), full_amount(b.amount, lang));
                @let path = html! {
                    path.band d=(d) fill=(fill_colour) fill-opacity="0.45"
                        data-stage=(b.stage) data-from=(from.id) data-to=(to.id) data-amount=(b.amount) {
                        title { (tip) }
                    }
                };
                @match &to.href {
                    Some(href) => { a href=(href) { (path) } }
                    None => { (path) }
                }
            }
        }
    }
}

/// A node's colour: by its rank in its column, grey for "others".
fn node_colour(rank: usize, col: &Col) -> &'static str {
    if col.merged > 0 {
        OTHERS_COLOUR
    } else {
        colour(rank)
    }
}

/// The nodes: a bar each, with the name and amount beside it (to the left
/// in the last column, to the right elsewhere).
fn nodes(m: &Model, lay: &Layout, lang: Lang) -> Markup {
    let w = text::words(lang);
    let ncols = m.cols.len();
    // Labels share the space between columns with the bands.
    // A label may run to the next column, or to the edge after the last.
    let gap =
        (WIDTH - 2.0 * MARGIN - NODE_W - LAST_LABELS_W) / ncols.saturating_sub(1).max(1) as f64;
    let chars = ((gap.min(LAST_LABELS_W) - 10.0) / 6.5).max(8.0) as usize;
    html! {
        g.nodes {
            @for (c, col) in m.cols.iter().enumerate() {
                @for (i, node) in col.iter().enumerate() {
                    @let (slot, top, h) = lay.nodes[c][i];
                    @let x = column_x(c, ncols);
                    @let (tx, anchor) = (x + NODE_W + 5.0, "start");
                    @let mid = slot + (h.max(SLOT_MIN)) / 2.0;
                    @let shown = name(node, lang);
                    @let tip = if node.inflow > 0 && node.outflow > 0 && node.inflow != node.outflow {
                        fill(w.node_in_out, &[&shown, &full_amount(node.inflow, lang), &full_amount(node.outflow, lang)])
                    } else {
                        format!("{shown}: {}", full_amount(node.value(), lang))
                    };
                    @let class = if node.merged > 0 { "node others" } else { "node" };
                    @let g = html! {
                        g class=(class) data-column=(c) data-id=(node.id) data-amount=(node.value())
                            data-in=(node.inflow) data-out=(node.outflow)
                            data-count=[(node.merged > 0).then_some(node.merged)] {
                            title { (tip) }
                            rect x=(n(x)) y=(n(top)) width=(n(NODE_W)) height=(n(h.max(1.0)))
                                fill=(node_colour(i, node)) {}
                            text x=(n(tx)) y=(n(mid - 1.0)) text-anchor=(anchor) fill=(INK)
                                stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke" {
                                tspan font-weight="600" { (clip(&shown, chars)) }
                                tspan x=(n(tx)) dy="13" font-size="11" { (short_amount(node.value(), lang)) }
                            }
                        }
                    };
                    @match &node.href {
                        Some(href) => { a href=(href) { (g) } }
                        None => { (g) }
                    }
                }
            }
        }
    }
}

/// The figures in words: for each step, how much went from how many
/// entities to how many, and the largest recipient.
fn describe(m: &Model, lang: Lang) -> String {
    let w = text::words(lang);
    let steps = m.cols.len() - 1;
    let mut out = fill(w.flow_intro, &[&steps.to_string()]);
    for s in 0..steps {
        let total = m
            .bands
            .iter()
            .filter(|b| b.stage == s)
            .fold(0u128, |a, b| a.saturating_add(b.amount));
        let top = m.cols[s + 1]
            .iter()
            .filter(|c| c.merged == 0)
            .max_by_key(|c| c.inflow);
        let (top_name, top_amount) =
            top.map_or((String::new(), 0), |c| (c.label.clone(), c.inflow));
        out.push(' ');
        out.push_str(&fill(
            w.flow_stage,
            &[
                &(s + 1).to_string(),
                &short_amount(total, lang),
                &m.distinct[s].0.to_string(),
                &m.distinct[s].1.to_string(),
                &top_name,
                &short_amount(top_amount, lang),
            ],
        ));
    }
    out
}

/// The bands as a table, one body per step, each with its total.
fn table(m: &Model, lang: Lang) -> Markup {
    let w = text::words(lang);
    let steps = m.cols.len() - 1;
    let cell = |c: &Col| {
        let shown = name(c, lang);
        html! {
            @match &c.href {
                Some(href) => { a href=(href) { (signed(&shown)) } }
                None => { (signed(&shown)) }
            }
        }
    };
    let by_step: Vec<Vec<&Band>> = (0..steps)
        .map(|s| {
            let mut rows: Vec<&Band> = m.bands.iter().filter(|b| b.stage == s).collect();
            rows.sort_by_key(|b| (std::cmp::Reverse(b.amount), b.from, b.to));
            rows
        })
        .collect();
    html! {
        table.chart-table {
            thead { tr { th { (w.col_from) } th { (w.col_to) } th.num { (w.col_amount) } } }
            @for (s, rows) in by_step.iter().enumerate() {
                tbody data-stage=(s) {
                    @let total = rows.iter().fold(0u128, |a, b| a.saturating_add(b.amount));
                    @for b in rows {
                        tr data-from=(m.cols[s][b.from].id) data-to=(m.cols[s + 1][b.to].id) data-amount=(b.amount) {
                            td { (cell(&m.cols[s][b.from])) }
                            td { (cell(&m.cols[s + 1][b.to])) }
                            td.num { span.amt { (full_amount(b.amount, lang)) } }
                        }
                    }
                    tr.total data-amount=(total) {
                        th colspan="2" { (w.total) }
                        td.num { span.amt { (full_amount(total, lang)) } }
                    }
                }
            }
        }
    }
}
