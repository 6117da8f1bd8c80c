//! The CSV export (`/v1/export.csv`): one table of contracts and payments,
//! each row carrying the height and block hash it was taken at.

use ledger::Hash;

use super::{ContractExport, Export, ExportError, PaymentEvent};
use crate::time::rfc3339;

/// The columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 21] = [
    "as_of_height",
    "as_of_block_hash",
    "record_type",
    "height",
    "time",
    "tx_hash",
    "contract_id",
    "title",
    "department_id",
    "department_name",
    "ministry_id",
    "ministry_name",
    "vendor_id",
    "vendor_name",
    "year",
    "line",
    "amount",
    "paid",
    "deliveries",
    "reference",
    "document_hash",
];

/// A cell as a spreadsheet may safely open it: text that starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return would be read as a formula, so
/// it gets a leading `'` (OWASP's rule for CSV injection). Names, titles and
/// references are written by signers, so every cell passes through here.
pub fn neutralize_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn hash_or_empty(h: Option<Hash>) -> String {
    h.map(|h| h.to_hex()).unwrap_or_default()
}

impl Export {
    /// The CSV table (see docs/exports.md): a header of
    /// [`CSV_COLUMNS`], one `snapshot` row, one `contract` row per contract
    /// in award order, then one `payment` row per payment in chain order.
    pub fn to_csv(&self) -> Result<Vec<u8>, ExportError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(CSV_COLUMNS)?;
        let as_of_height = self.as_of.height.0.to_string();
        let as_of_hash = self.as_of.block_hash.to_hex();
        let mut row = |cells: [String; 19]| -> Result<(), ExportError> {
            let record = [as_of_height.clone(), as_of_hash.clone()]
                .into_iter()
                .chain(cells);
            w.write_record(record.map(|c| neutralize_cell(&c).into_owned()))?;
            Ok(())
        };
        let empty = String::new;
        row([
            "snapshot".into(),
            as_of_height.clone(),
            rfc3339(self.as_of.time_ms),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            self.year.map(|y| y.to_string()).unwrap_or_default(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
        ])?;
        for c in &self.contracts {
            let k = &c.contract;
            let (ministry_id, ministry_name) = ministry_cells(c);
            row([
                "contract".into(),
                c.award.at.height.0.to_string(),
                rfc3339(c.award.at.time_ms),
                c.award.at.tx_hash.to_hex(),
                k.id.to_string(),
                k.title.clone(),
                c.department.id.to_string(),
                c.department.name.clone(),
                ministry_id,
                ministry_name,
                c.vendor.id.to_string(),
                c.vendor.name.clone(),
                k.year.to_string(),
                k.line.to_string(),
                k.amount.0.to_string(),
                k.paid.0.to_string(),
                k.deliveries.to_string(),
                empty(),
                hash_or_empty(k.document_hash),
            ])?;
        }
        let mut payments: Vec<(&ContractExport, &PaymentEvent)> = self
            .contracts
            .iter()
            .flat_map(|c| c.payments.iter().map(move |p| (c, p)))
            .collect();
        payments.sort_by_key(|(_, p)| (p.at.height, p.at.index));
        for (c, p) in payments {
            let k = &c.contract;
            let (ministry_id, ministry_name) = ministry_cells(c);
            row([
                "payment".into(),
                p.at.height.0.to_string(),
                rfc3339(p.at.time_ms),
                p.at.tx_hash.to_hex(),
                k.id.to_string(),
                k.title.clone(),
                c.department.id.to_string(),
                c.department.name.clone(),
                ministry_id,
                ministry_name,
                c.vendor.id.to_string(),
                c.vendor.name.clone(),
                k.year.to_string(),
                k.line.to_string(),
                p.amount.0.to_string(),
                empty(),
                empty(),
                p.reference.clone(),
                hash_or_empty(p.document_hash),
            ])?;
        }
        w.flush().map_err(csv::Error::from)?;
        w.into_inner()
            .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
    }
}

fn ministry_cells(c: &ContractExport) -> (String, String) {
    c.ministry
        .as_ref()
        .map(|m| (m.id.to_string(), m.name.clone()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::neutralize_cell;

    #[test]
    fn formula_cells_are_neutralised_and_read_back_as_written() {
        let cells = [
            "=1+1",
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+84",
            "-5",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "Máy thở",
            "",
            "1200000000",
        ];
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(
            cells
                .iter()
                .map(|c| neutralize_cell(c))
                .map(|c| c.into_owned()),
        )
        .unwrap();
        let bytes = w.into_inner().unwrap();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        let back: Vec<String> = r
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let expected = [
            "'=1+1",
            "'=HYPERLINK(\"http://evil.example\",\"x\")",
            "'+84",
            "'-5",
            "'@SUM(A1)",
            "'\tx",
            "'\rx",
            "Máy thở",
            "",
            "1200000000",
        ];
        assert_eq!(back, expected);
    }
}
