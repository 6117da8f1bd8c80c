//! Printing the node's JSON answers as `--output table`, `json` or `csv`.
//!
//! JSON is the node's answer, pretty-printed and otherwise untouched. A table
//! shows an answer's scalar fields as aligned `key  value` lines (nested
//! objects flattened to dotted keys such as `header.height`), then each list
//! as a section of aligned rows; amounts get thousands separators there and
//! only there. CSV is a header and rows, with raw values: either one row of a
//! record's scalar fields, or the rows of one of its lists ([`CsvRows`]).
//!
//! This module knows nothing of HTTP or of which route an answer came from;
//! `query` and `tx` choose the shape.

use std::fmt::Write as _;

use ledger::Amount;
use serde_json::Value;

use crate::Output;

/// Fields whose values are amounts: digit strings printed with thousands
/// separators in tables.
const AMOUNT_KEYS: &[&str] = &[
    "amount",
    "received",
    "passed_on",
    "committed",
    "paid",
    "available",
];

/// The order fields are shown in; the node's JSON objects carry no order of
/// their own once parsed. Fields not listed follow, alphabetically.
const KEY_ORDER: &[&str] = &[
    "id",
    "hash",
    "type",
    "chain_id",
    "name",
    "title",
    "node_id",
    "kind",
    "parent",
    "status",
    "code",
    "message",
    "error",
    "height",
    "index",
    "round",
    "time",
    "last_block_hash",
    "last_block_time",
    "catching_up",
    "peers",
    "mempool_txs",
    "signer",
    "nonce",
    "op",
    "year",
    "line",
    "department",
    "vendor",
    "to",
    "contract",
    "amount",
    "received",
    "passed_on",
    "committed",
    "paid",
    "available",
    "legal_ref",
    "reference",
    "reason",
    "milestone",
    "note",
    "document_hash",
    "awarded_at",
    "entity",
    "operator",
    "validator",
    "vote_type",
    "power",
    "public_key",
    "consensus_key",
    "peer_id",
    "next_nonce",
    "header",
    "prev_hash",
    "tx_count",
    "txs_root",
    "state_root",
    "last_commit_hash",
    "evidence_hash",
    "validators_hash",
    "next_validators_hash",
    "proposer",
];

/// For CSV: print the rows of the list at `field` instead of the record,
/// with some of the record's own fields as leading columns.
#[derive(Clone, Copy, Debug)]
pub struct CsvRows<'a> {
    /// The list, e.g. `budgets`.
    pub field: &'a str,
    /// Columns that come first, in this order, even when the list is empty
    /// (so a script always gets a header); other fields the rows carry follow.
    pub columns: &'a [&'a str],
    /// Leading columns as (column name, the record's field), e.g.
    /// `("entity", "id")`.
    pub context: &'a [(&'a str, &'a str)],
}

/// Renders a node's answer; the text ends with a newline.
pub fn render(value: &Value, output: Output, csv_rows: Option<CsvRows>) -> String {
    match output {
        Output::Json => {
            let mut s = serde_json::to_string_pretty(value).expect("a JSON value prints");
            s.push('\n');
            s
        }
        Output::Table => table(value),
        Output::Csv => match csv_rows {
            Some(rows) => csv_of_rows(value, rows),
            None => csv_of_record(value),
        },
    }
}

/// Groups the digits of an amount, `3000000` as `3,000,000`; anything that
/// is not a whole amount is returned as it is.
pub fn group_amount(s: &str) -> String {
    match s.parse::<u64>() {
        Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Amount(n).to_string(),
        _ => s.to_owned(),
    }
}

/// A record's fields, flattened: scalars by dotted path, and lists.
#[derive(Default)]
struct Flat<'a> {
    scalars: Vec<(String, &'a Value)>,
    lists: Vec<(String, &'a [Value])>,
}

fn flatten<'a>(prefix: &str, value: &'a Value, flat: &mut Flat<'a>) {
    let Value::Object(map) = value else {
        flat.scalars.push((prefix.to_owned(), value));
        return;
    };
    for key in ordered_keys(map) {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match &map[key] {
            Value::Object(_) => flatten(&path, &map[key], flat),
            Value::Array(items) => flat.lists.push((path, items)),
            v => flat.scalars.push((path, v)),
        }
    }
}

fn ordered_keys(map: &serde_json::Map<String, Value>) -> Vec<&String> {
    let rank = |k: &str| KEY_ORDER.iter().position(|o| *o == k).unwrap_or(usize::MAX);
    let mut keys: Vec<&String> = map.keys().collect();
    // Stable sort over the map's alphabetical order: unlisted keys stay sorted.
    keys.sort_by_key(|k| rank(k));
    keys
}

fn is_amount_path(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    AMOUNT_KEYS.contains(&last)
}

/// A value as table text.
/// A value as a table shows it on a terminal: signers' text without the
/// control characters, escape sequences and bidirectional overrides that
/// would let it rewrite the screen or disguise itself.
fn table_cell(path: &str, value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) if is_amount_path(path) => group_amount(s),
        other => crate::watch::event::sanitize(&plain_text(other)),
    }
}

/// A value as raw text: strings unquoted, lists of scalars space-separated,
/// anything else compact JSON.
fn plain_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(plain_text).collect::<Vec<_>>().join(" ")
        }
        other => other.to_string(),
    }
}

fn table(value: &Value) -> String {
    let mut flat = Flat::default();
    flatten("", value, &mut flat);
    let mut out = String::new();
    let width = flat
        .scalars
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (path, v) in &flat.scalars {
        push_line(
            &mut out,
            &format!("{path:<width$}  {}", table_cell(path, v)),
        );
    }
    for (path, items) in &flat.lists {
        if !out.is_empty() {
            out.push('\n');
        }
        if items.is_empty() {
            push_line(&mut out, &format!("{path}: none"));
        } else if items.iter().all(|i| !i.is_object()) {
            push_line(&mut out, &format!("{path} ({})", items.len()));
            for item in *items {
                push_line(&mut out, &format!("  {}", table_cell(path, item)));
            }
        } else {
            push_line(&mut out, &format!("{path} ({})", items.len()));
            out.push_str(&rows_table(items));
        }
    }
    out
}

/// Columns of a list of objects: every flattened path, in first-seen order.
fn row_columns(items: &[Value]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        for path in row_cells(item).into_iter().map(|(p, _)| p) {
            if !columns.contains(&path) {
                columns.push(path);
            }
        }
    }
    columns
}

/// One row's cells by path; nested lists become one cell.
fn row_cells(item: &Value) -> Vec<(String, &Value)> {
    let mut flat = Flat::default();
    flatten("", item, &mut flat);
    let mut cells = flat.scalars;
    cells.extend(
        flat.lists
            .into_iter()
            .map(|(path, _)| (path.clone(), lookup(item, &path))),
    );
    cells
}

/// The value at a dotted path (`Null` if absent).
fn lookup<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(value, |v, key| &v[key])
}

fn rows_table(items: &[Value]) -> String {
    let columns = row_columns(items);
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| table_cell(c, lookup(item, c)))
                .collect()
        })
        .collect();
    let widths = column_widths(&columns, &rows);
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let w = widths[i];
            if is_amount_path(&columns[i]) {
                let _ = write!(s, "{cell:>w$}");
            } else {
                let _ = write!(s, "{cell:<w$}");
            }
        }
        s
    };
    let mut out = String::new();
    push_line(&mut out, &line(&columns));
    for row in &rows {
        push_line(&mut out, &line(row));
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}

fn csv_of_record(value: &Value) -> String {
    let mut flat = Flat::default();
    flatten("", value, &mut flat);
    let mut cells = flat.scalars;
    // Lists of scalars (a block's transaction hashes) fit in one cell; lists
    // of records do not, and are left to the table and JSON outputs.
    cells.extend(
        flat.lists
            .iter()
            .filter(|(_, items)| items.iter().all(|i| !i.is_object()))
            .map(|(path, _)| (path.clone(), lookup(value, path))),
    );
    let mut out = String::new();
    csv_line(&mut out, cells.iter().map(|(p, _)| p.clone()));
    csv_line(&mut out, cells.iter().map(|(_, v)| plain_text(v)));
    out
}

fn csv_of_rows(value: &Value, rows: CsvRows) -> String {
    let items: &[Value] = value[rows.field].as_array().map_or(&[], Vec::as_slice);
    let mut columns: Vec<String> = rows.columns.iter().map(|c| (*c).to_owned()).collect();
    for column in row_columns(items) {
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    let mut out = String::new();
    csv_line(
        &mut out,
        rows.context
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .chain(columns.iter().cloned()),
    );
    let context: Vec<String> = rows
        .context
        .iter()
        .map(|(_, field)| plain_text(lookup(value, field)))
        .collect();
    for item in items {
        csv_line(
            &mut out,
            context
                .iter()
                .cloned()
                .chain(columns.iter().map(|c| plain_text(lookup(item, c)))),
        );
    }
    out
}

/// One RFC 4180 line. Writing CSV needs only this quoting rule, so it is
/// done here rather than with a CSV library. Every cell is first
/// neutralised as the node's CSV export neutralises it, since names and
/// titles are written by signers.
fn csv_line(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        let cell = gateway::export::neutralize_cell(&cell);
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) || cell.trim() != cell {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push('\n');
}

/// The width of each column: its widest cell or its header.
pub(crate) fn column_widths<C: AsRef<str>>(columns: &[C], rows: &[Vec<String>]) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.as_ref().chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_neutralised() {
        let v =
            json!({"id": "C-1", "title": "=HYPERLINK(\"http://evil.example\")", "reference": "+1"});
        let text = render(&v, Output::Csv, None);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("id,title,reference"));
        assert_eq!(
            lines.next(),
            Some("C-1,\"'=HYPERLINK(\"\"http://evil.example\"\")\",'+1")
        );
    }

    #[test]
    fn tables_align_fields_and_group_amounts() {
        let v = json!({
            "id": "C-17",
            "amount": "3000000",
            "paid": "250000",
            "title": "Máy thở",
            "document_hash": null,
            "deliveries": [
                {"milestone": "đợt 1", "note": "", "height": 12},
                {"milestone": "2", "note": "đủ", "height": 130},
            ],
        });
        let t = render(&v, Output::Table, None);
        assert_eq!(
            t,
            "id             C-17\n\
             title          Máy thở\n\
             amount         3,000,000\n\
             paid           250,000\n\
             document_hash  -\n\
             \n\
             deliveries (2)\n\
             height  milestone  note\n\
             12      đợt 1\n\
             130     2          đủ\n"
        );
    }

    #[test]
    fn amount_columns_are_right_aligned() {
        let v = json!({"budgets": [
            {"year": 2026, "line": "L1", "available": "1000000"},
            {"year": 2026, "line": "L2", "available": "5"},
        ]});
        assert_eq!(
            render(&v, Output::Table, None),
            "budgets (2)\n\
             year  line  available\n\
             2026  L1    1,000,000\n\
             2026  L2            5\n"
        );
    }

    #[test]
    fn csv_records_are_one_row_of_raw_values() {
        let v = json!({
            "hash": "ab",
            "header": {"height": 7, "proposer": "x,y"},
            "txs": ["t1", "t2"],
            "commit": {"round": 0, "precommits": [{"validator": "v"}]},
        });
        assert_eq!(
            render(&v, Output::Csv, None),
            "hash,header.height,header.proposer,commit.round,txs\n\
             ab,7,\"x,y\",0,t1 t2\n"
        );
    }

    #[test]
    fn csv_rows_carry_context_columns_and_quote() {
        let v = json!({"id": "MOH", "budgets": [
            {"year": 2026, "line": "L1", "received": "3000000"},
            {"year": 2026, "line": "L\"2", "received": "0", "extra": " x"},
        ]});
        let rows = CsvRows {
            field: "budgets",
            columns: &["line", "year", "paid"],
            context: &[("entity", "id")],
        };
        assert_eq!(
            render(&v, Output::Csv, Some(rows)),
            "entity,line,year,paid,received,extra\n\
             MOH,L1,2026,,3000000,\n\
             MOH,\"L\"\"2\",2026,,0,\" x\"\n"
        );
        let empty = json!({"id": "MOH", "budgets": []});
        assert_eq!(
            render(&empty, Output::Csv, Some(rows)),
            "entity,line,year,paid\n"
        );
    }

    #[test]
    fn tables_strip_what_would_rewrite_the_terminal() {
        let value = json!({ "title": "M\u{1b}[2Jáy \u{202e}thở\u{7}" });
        let out = render(&value, Output::Table, None);
        assert!(out.contains("Máy thở"), "{out:?}");
        assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}') && !out.contains('\u{7}'));
    }

    #[test]
    fn json_is_the_answer_pretty_printed() {
        let v = json!({"amount": "3000000", "list": [1]});
        let out = render(&v, Output::Json, None);
        assert!(out.contains("\n  \"amount\": \"3000000\""), "{out}");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), v);
    }

    #[test]
    fn only_whole_amounts_are_grouped() {
        assert_eq!(group_amount("1234567"), "1,234,567");
        assert_eq!(group_amount("12"), "12");
        assert_eq!(group_amount("+12345"), "+12345");
        assert_eq!(group_amount("1.5"), "1.5");
    }
}
