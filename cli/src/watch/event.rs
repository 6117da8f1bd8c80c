//! What `query watch` prints: an award, amendment or payment read from a
//! node's answer, as one terminal line or one JSON line, with every text
//! that came from the node made safe to print.

use ledger::{Amount, ContractId, EntityId};
use serde_json::{json, Value};

/// How many hex digits of a transaction hash a line shows.
pub const HASH_PREFIX_DIGITS: usize = 12;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `pay`: money paid to the contract's vendor.
    Payment,
    /// `award`: a new contract.
    Award,
    /// `amend-contract`: a contract's new amount.
    Amendment,
}

impl Kind {
    /// The word a line shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Payment => "payment",
            Kind::Award => "award",
            Kind::Amendment => "amendment",
        }
    }
}

/// An operation of a committed transaction, as far as `watch` cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spend {
    /// What happened.
    pub kind: Kind,
    /// The amount paid or awarded, or an amendment's new amount.
    pub amount: Amount,
    /// The contract.
    pub contract: String,
    /// The department that signed it.
    pub signer: String,
    /// The vendor, when the operation names it (an award).
    pub vendor: Option<String>,
    /// The award's title, the payment's reference or the amendment's reason.
    pub text: String,
    /// The block time, RFC 3339.
    pub time: String,
    /// The block height.
    pub height: u64,
    /// The transaction hash (hex).
    pub hash: String,
}

impl Spend {
    /// The spending operation in a node's answer to `GET /v1/txs/{hash}`;
    /// `None` for any other operation, and for an answer without the
    /// fields a committed spending operation has or with ids that are not
    /// ids.
    pub fn from_tx(tx: &Value) -> Option<Spend> {
        let op = &tx["op"];
        let (kind, text) = match op["type"].as_str()? {
            "pay" => (Kind::Payment, &op["reference"]),
            "award" => (Kind::Award, &op["title"]),
            "amend-contract" => (Kind::Amendment, &op["reason"]),
            _ => return None,
        };
        let amount = op["amount"].as_str()?.parse().ok().map(Amount)?;
        Some(Spend {
            kind,
            amount,
            contract: ContractId::new(op["contract"].as_str()?).ok()?.to_string(),
            signer: EntityId::new(tx["signer"].as_str()?).ok()?.to_string(),
            vendor: match op.get("vendor") {
                Some(v) => Some(EntityId::new(v.as_str()?).ok()?.to_string()),
                None => None,
            },
            text: text.as_str().unwrap_or_default().to_owned(),
            time: tx["time"].as_str().unwrap_or_default().to_owned(),
            height: tx["height"].as_u64()?,
            hash: tx["hash"].as_str()?.to_owned(),
        })
    }

    /// The other party, seen from `entity`: the signing department, or
    /// the vendor when `entity` signed; `None` when that vendor is the
    /// contract's and the operation does not name it (a payment or an
    /// amendment), for the caller to look up.
    pub fn counterparty(&self, entity: &EntityId) -> Option<&str> {
        if self.signer != entity.as_str() {
            Some(&self.signer)
        } else {
            self.vendor.as_deref()
        }
    }
}

/// One line of `query watch` (without its newline):
/// `TIME  #HEIGHT  KIND  AMOUNT ₫  CONTRACT  COUNTERPARTY  HASH  TEXT`, the
/// amount with thousands separators and the hash cut to
/// [`HASH_PREFIX_DIGITS`] digits; every field passes through [`sanitize`].
pub fn line(spend: &Spend, counterparty: &str) -> String {
    let hash: String = spend.hash.chars().take(HASH_PREFIX_DIGITS).collect();
    format!(
        "{}  #{:<7}  {:<9}  {:>21} ₫  {}  {}  {}  {}",
        sanitize(&spend.time),
        spend.height,
        spend.kind.as_str(),
        spend.amount.to_string(),
        sanitize(&spend.contract),
        sanitize(counterparty),
        sanitize(&hash),
        sanitize(&spend.text),
    )
}

/// The event as one line of JSON (without its newline): the node's values
/// as they are, the amount as a string of digits, with the characters that
/// [`sanitize`] removes written as `\u` escapes so the line is safe on a
/// terminal too.
pub fn json_line(spend: &Spend, counterparty: &str) -> String {
    let value = json!({
        "time": spend.time,
        "height": spend.height,
        "kind": spend.kind.as_str(),
        "amount": spend.amount.0.to_string(),
        "contract": spend.contract,
        "counterparty": counterparty,
        "text": spend.text,
        "hash": spend.hash,
    });
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_control() || is_bidi_control(c) {
            // serde_json escapes C0 already; this is C1 and bidi controls,
            // which occur only inside strings.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that reorder the text around them: embeddings, overrides
/// and isolates (U+202A–U+202E, U+2066–U+2069), the left-to-right and
/// right-to-left marks and the Arabic letter mark.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// `s` made safe to print on a terminal: terminal escape sequences (ESC
/// and C1 introduced: CSI, OSC, DCS and the like) are removed whole, other
/// C0 and C1 control characters and DEL are removed, bidirectional
/// controls are removed, and tabs, line breaks and line or paragraph
/// separators become spaces, so that a value stays on its line and shows
/// what it says.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1B}' => skip_escape(&mut chars),
            '\u{9B}' => skip_csi(&mut chars),
            // DCS, SOS, OSC, PM, APC: a string up to its terminator.
            '\u{90}' | '\u{98}' | '\u{9D}' | '\u{9E}' | '\u{9F}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                out.push(' ')
            }
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After ESC: the rest of the sequence it starts.
fn skip_escape(chars: &mut Chars) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        // Intermediate bytes, then one final byte.
        Some('\u{20}'..='\u{2F}') => {
            while chars
                .next_if(|c| ('\u{20}'..='\u{2F}').contains(c))
                .is_some()
            {}
            chars.next_if(|c| ('\u{30}'..='\u{7E}').contains(c));
        }
        Some('\u{30}'..='\u{7E}') => {
            chars.next();
        }
        _ => {}
    }
}

/// After CSI: parameter and intermediate bytes, then the final byte.
fn skip_csi(chars: &mut Chars) {
    while chars
        .next_if(|c| ('\u{20}'..='\u{3F}').contains(c))
        .is_some()
    {}
    chars.next_if(|c| ('\u{40}'..='\u{7E}').contains(c));
}

/// After OSC, DCS and the like: everything up to BEL, ESC \ or ST.
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9C}' => return,
            '\u{1B}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(op: Value) -> Value {
        json!({
            "hash": "ab".repeat(32), "status": "committed", "height": 42, "index": 0,
            "signer": "BYT-BVBM", "nonce": 3, "op": op,
            "block_hash": "cd".repeat(32), "time": "2026-03-01T08:00:00.000Z",
        })
    }

    fn bvbm() -> EntityId {
        EntityId::new("BYT-BVBM").unwrap()
    }

    #[test]
    fn a_payment_prints_as_one_aligned_line() {
        let spend = Spend::from_tx(&tx(json!({
            "type": "pay", "contract": "C-17", "amount": "400000000",
            "reference": "HĐ-07/2026", "document_hash": null,
        })))
        .unwrap();
        assert_eq!(spend.kind, Kind::Payment);
        assert_eq!(spend.amount, Amount(400_000_000));
        assert_eq!(spend.counterparty(&bvbm()), None, "the contract's vendor");
        let vendor = EntityId::new("V-0001").unwrap();
        assert_eq!(spend.counterparty(&vendor), Some("BYT-BVBM"));
        assert_eq!(
            line(&spend, "V-0001"),
            "2026-03-01T08:00:00.000Z  #42       payment              400,000,000 ₫  C-17  \
             V-0001  abababababab  HĐ-07/2026"
        );
        let json: Value = serde_json::from_str(&json_line(&spend, "V-0001")).unwrap();
        assert_eq!(json["amount"], "400000000");
        assert_eq!(json["kind"], "payment");
        assert_eq!(json["hash"], "ab".repeat(32));
        assert_eq!(json["counterparty"], "V-0001");
    }

    #[test]
    fn awards_and_amendments_carry_their_title_or_reason_and_other_ops_none() {
        let award = Spend::from_tx(&tx(json!({
            "type": "award", "contract": "C-17", "year": 2026, "line": "YTE.DTPT",
            "vendor": "V-0001", "amount": "1200000000", "title": "Máy thở",
            "document_hash": null,
        })))
        .unwrap();
        assert_eq!((award.kind, award.text.as_str()), (Kind::Award, "Máy thở"));
        assert_eq!(award.counterparty(&bvbm()), Some("V-0001"));
        let vendor = EntityId::new("V-0001").unwrap();
        assert_eq!(award.counterparty(&vendor), Some("BYT-BVBM"));
        assert!(line(&award, "V-0001").contains("  award              1,200,000,000 ₫  "));

        let amend = Spend::from_tx(&tx(json!({
            "type": "amend-contract", "contract": "C-17", "amount": "1300000000",
            "reason": "Thêm bảo hành", "document_hash": null,
        })))
        .unwrap();
        assert_eq!(amend.kind, Kind::Amendment);
        assert_eq!(amend.amount, Amount(1_300_000_000));
        assert!(line(&amend, "V-0001").contains(" amendment  "));

        let deliver = json!({"type": "confirm-delivery", "contract": "C-17",
            "milestone": "m", "note": ""});
        assert_eq!(Spend::from_tx(&tx(deliver)), None);
        assert_eq!(Spend::from_tx(&json!({"status": "pending"})), None);
        let bad_amount = json!({"type": "pay", "contract": "C-17", "amount": 5,
            "reference": "x"});
        assert_eq!(Spend::from_tx(&tx(bad_amount)), None);
        let bad_contract = json!({"type": "pay", "contract": "../x?y", "amount": "5",
            "reference": "x"});
        assert_eq!(Spend::from_tx(&tx(bad_contract)), None);
    }

    #[test]
    fn the_sanitizer_removes_escapes_controls_and_bidi_and_keeps_vietnamese() {
        let cases = [
            ("Bệnh viện Bạch Mai – Đợt 1", "Bệnh viện Bạch Mai – Đợt 1"),
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("\u{1b}[2J\u{1b}[1;1Hclear", "clear"),
            ("\u{1b}]0;title\u{07}after", "after"),
            (
                "\u{1b}]8;;http://x.example\u{1b}\\link\u{1b}]8;;\u{1b}\\",
                "link",
            ),
            ("\u{1b}Pdevice\u{1b}\\x", "x"),
            ("\u{1b}(0box", "box"),
            ("\u{1b}7save\u{1b}8", "save"),
            ("\u{9b}31mC1 CSI", "C1 CSI"),
            ("\u{9d}0;t\u{9c}C1 OSC", "C1 OSC"),
            ("bell\u{07}nul\u{0}del\u{7f}c1\u{80}\u{9f}", "bellnuldelc1"),
            ("two\nlines\r\tand\u{2028}more", "two lines  and more"),
            ("C-\u{202E}71", "C-71"),
            ("\u{2066}x\u{2069}\u{200F}\u{061C}", "x"),
            ("unterminated \u{1b}", "unterminated "),
            ("osc forever \u{1b}]0;no end", "osc forever "),
        ];
        for (raw, want) in cases {
            assert_eq!(sanitize(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn lines_and_json_lines_carry_no_control_characters() {
        let mut spend = Spend::from_tx(&tx(json!({
            "type": "pay", "contract": "C-17", "amount": "1000",
            "reference": "INV\u{1b}[2J\u{9b}1m\u{202E}-9\n", "document_hash": null,
        })))
        .unwrap();
        spend.time = "2026\u{7}".into();
        let printed = line(&spend, "V-0001\u{1b}]0;x\u{7}");
        assert!(
            !printed
                .chars()
                .any(|c| c.is_control() || is_bidi_control(c)),
            "{printed:?}"
        );
        assert!(printed.ends_with("  INV-9 "), "{printed:?}");
        let json = json_line(&spend, "V-0001");
        assert!(!json.chars().any(|c| c.is_control() || is_bidi_control(c)));
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["text"], "INV\u{1b}[2J\u{9b}1m\u{202E}-9\n");
    }
}
