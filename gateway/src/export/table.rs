//! The CSV export (`/v1/export.csv`): one table of contracts and payments,
//! each row carrying the height and block hash it was taken at.

use std::io::Write;

use ledger::state::Contract;
use ledger::{Hash, Year};

use super::{AsOf, Committed, ContractExport, Export, ExportError, Party, PaymentEvent};
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
    /// [`super::StateView::write_csv`] writes the same bytes as it reads.
    pub fn to_csv(&self) -> Result<Vec<u8>, ExportError> {
        let mut w = CsvRows::start(Vec::new(), &self.as_of, self.year)?;
        for c in &self.contracts {
            w.contract(&c.contract, c.parties(), &c.award.at)?;
        }
        let mut payments: Vec<(&ContractExport, &PaymentEvent)> = self
            .contracts
            .iter()
            .flat_map(|c| c.payments.iter().map(move |p| (c, p)))
            .collect();
        payments.sort_by_key(|(_, p)| (p.at.height, p.at.index));
        for (c, p) in payments {
            w.payment(&c.contract, c.parties(), p)?;
        }
        w.finish()
    }
}

impl ContractExport {
    fn parties(&self) -> Parties<'_> {
        Parties {
            department: &self.department,
            ministry: self.ministry.as_ref(),
            vendor: &self.vendor,
        }
    }
}

/// A contract's parties, as its rows name them.
pub(super) struct Parties<'a> {
    pub(super) department: &'a Party,
    pub(super) ministry: Option<&'a Party>,
    pub(super) vendor: &'a Party,
}

/// The CSV table written row by row into `W`: the header and the
/// `snapshot` row first, then what the caller adds.
pub(super) struct CsvRows<W: Write> {
    w: csv::Writer<W>,
    as_of_height: String,
    as_of_hash: String,
}

impl<W: Write> CsvRows<W> {
    /// Writes the header and the `snapshot` row of an export at `as_of`.
    pub(super) fn start(
        out: W,
        as_of: &AsOf,
        year: Option<Year>,
    ) -> Result<CsvRows<W>, ExportError> {
        let mut w = CsvRows {
            w: csv::Writer::from_writer(out),
            as_of_height: as_of.height.0.to_string(),
            as_of_hash: as_of.block_hash.to_hex(),
        };
        w.w.write_record(CSV_COLUMNS)?;
        let empty = String::new;
        w.row([
            "snapshot".into(),
            w.as_of_height.clone(),
            rfc3339(as_of.time_ms),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            year.map(|y| y.to_string()).unwrap_or_default(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
        ])?;
        Ok(w)
    }

    fn row(&mut self, cells: [String; 19]) -> Result<(), ExportError> {
        let record = [self.as_of_height.clone(), self.as_of_hash.clone()]
            .into_iter()
            .chain(cells);
        self.w
            .write_record(record.map(|c| neutralize_cell(&c).into_owned()))?;
        Ok(())
    }

    /// The `contract` row of `k`, awarded `at`.
    pub(super) fn contract(
        &mut self,
        k: &Contract,
        parties: Parties<'_>,
        at: &Committed,
    ) -> Result<(), ExportError> {
        let [amount, paid, deliveries] =
            [k.amount.0, k.paid.0, u64::from(k.deliveries)].map(|n| n.to_string());
        let cells = [
            amount,
            paid,
            deliveries,
            String::new(),
            hash_or_empty(k.document_hash),
        ];
        self.event("contract", at, k, &parties, cells)
    }

    /// The `payment` row of `p`, on contract `k`.
    pub(super) fn payment(
        &mut self,
        k: &Contract,
        parties: Parties<'_>,
        p: &PaymentEvent,
    ) -> Result<(), ExportError> {
        let cells = [
            p.amount.0.to_string(),
            String::new(),
            String::new(),
            p.reference.clone(),
            hash_or_empty(p.document_hash),
        ];
        self.event("payment", &p.at, k, &parties, cells)
    }

    /// A row of an operation committed `at` on contract `k`, ending with
    /// its amount, paid, deliveries, reference and document hash cells.
    fn event(
        &mut self,
        record: &str,
        at: &Committed,
        k: &Contract,
        parties: &Parties<'_>,
        [amount, paid, deliveries, reference, document_hash]: [String; 5],
    ) -> Result<(), ExportError> {
        let (ministry_id, ministry_name) = parties
            .ministry
            .map(|m| (m.id.to_string(), m.name.clone()))
            .unwrap_or_default();
        self.row([
            record.to_owned(),
            at.height.0.to_string(),
            rfc3339(at.time_ms),
            at.tx_hash.to_hex(),
            k.id.to_string(),
            k.title.clone(),
            parties.department.id.to_string(),
            parties.department.name.clone(),
            ministry_id,
            ministry_name,
            parties.vendor.id.to_string(),
            parties.vendor.name.clone(),
            k.year.to_string(),
            k.line.to_string(),
            amount,
            paid,
            deliveries,
            reference,
            document_hash,
        ])
    }

    /// Hands what is written so far on to `W` and flushes it.
    pub(super) fn flush(&mut self) -> Result<(), ExportError> {
        self.w.flush().map_err(csv::Error::from)?;
        Ok(())
    }

    /// Flushes the table and returns `W`.
    pub(super) fn finish(mut self) -> Result<W, ExportError> {
        self.flush()?;
        self.w
            .into_inner()
            .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
    }
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
