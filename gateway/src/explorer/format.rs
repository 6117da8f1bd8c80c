//! Numbers, money, shares and times written the way the reader expects:
//! `1.000.000 ₫` and `45,3 %` in Vietnamese, `1,000,000 ₫` and `45.3%` in
//! English. Times are shown in Vietnam time with the offset stated, next to
//! the RFC 3339 UTC instant the ledger records.

use genesis::Currency;
use ledger::Amount;

use super::i18n::Lang;

/// The offset the explorer shows times in: Vietnam (ICT) is UTC+7 all year.
pub const DISPLAY_OFFSET_MINUTES: u64 = 7 * 60;
/// How the offset is written after a time.
const DISPLAY_OFFSET_LABEL: &str = "UTC+07:00";

/// `digits` grouped in threes from the right with `sep`.
pub(crate) fn group(digits: &str, sep: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A plain count: `12.345` in Vietnamese, `12,345` in English.
pub fn number(n: u64, lang: Lang) -> String {
    group(&n.to_string(), separators(lang).0)
}

/// (thousands, decimal) separators.
pub(crate) fn separators(lang: Lang) -> (char, char) {
    match lang {
        Lang::Vi => ('.', ','),
        Lang::En => (',', '.'),
    }
}

/// An amount in the chain's currency. The đồng is written with its sign
/// after the number in both languages; other currencies by their code
/// (after the number in Vietnamese, before it in English).
pub fn amount(a: Amount, currency: &Currency, lang: Lang) -> String {
    let (thousands, decimal) = separators(lang);
    let decimals = usize::from(currency.decimals);
    let digits = format!("{:0>width$}", a.0, width = decimals + 1);
    let (int, frac) = digits.split_at(digits.len() - decimals);
    let mut text = group(int, thousands);
    if !frac.is_empty() {
        text.push(decimal);
        text.push_str(frac);
    }
    match (currency.code.as_str(), lang) {
        ("VND", _) => format!("{text} ₫"),
        (code, Lang::Vi) => format!("{text} {code}"),
        (code, Lang::En) => format!("{code} {text}"),
    }
}

/// `part ÷ whole` as a percentage with one decimal, or `—` when `whole` is 0.
pub fn percent(part: u64, whole: u64, lang: Lang) -> String {
    if whole == 0 {
        return "—".into();
    }
    // Tenths of a percent, rounded half up, in u128 so nothing overflows.
    let tenths = (u128::from(part) * 2000 + u128::from(whole)) / (2 * u128::from(whole));
    let (int, frac) = (tenths / 10, tenths % 10);
    match lang {
        Lang::Vi => format!("{int},{frac} %"),
        Lang::En => format!("{int}.{frac}%"),
    }
}

/// The time in Vietnam, with the offset stated: `14:05:09 01/03/2026
/// (UTC+07:00)` in Vietnamese, `2026-03-01 14:05:09 UTC+07:00` in English.
pub fn local_time(ms: u64, lang: Lang) -> String {
    let shifted = ms.saturating_add(DISPLAY_OFFSET_MINUTES * 60_000);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(shifted);
    // `YYYY-MM-DDTHH:MM:SSZ`, read back by position.
    let s = humantime::format_rfc3339_seconds(t).to_string();
    let (date, clock) = (&s[..10], &s[11..19]);
    match lang {
        Lang::Vi => {
            let (y, m, d) = (&date[..4], &date[5..7], &date[8..10]);
            format!("{clock} {d}/{m}/{y} ({DISPLAY_OFFSET_LABEL})")
        }
        Lang::En => format!("{date} {clock} {DISPLAY_OFFSET_LABEL}"),
    }
}

/// The first and last few characters of a long hex string, for tables.
pub fn short_hex(hex: &str) -> String {
    if hex.len() <= 16 {
        return hex.to_owned();
    }
    format!("{}…{}", &hex[..10], &hex[hex.len() - 6..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vnd() -> Currency {
        Currency::default()
    }

    #[test]
    fn dong_amounts_group_with_dots_in_vietnamese_and_commas_in_english() {
        let a = Amount(1_000_000);
        assert_eq!(amount(a, &vnd(), Lang::Vi), "1.000.000 ₫");
        assert_eq!(amount(a, &vnd(), Lang::En), "1,000,000 ₫");
        assert_eq!(amount(Amount(0), &vnd(), Lang::Vi), "0 ₫");
        assert_eq!(amount(Amount(999), &vnd(), Lang::Vi), "999 ₫");
        assert_eq!(amount(Amount(1000), &vnd(), Lang::En), "1,000 ₫");
        assert_eq!(
            amount(Amount(u64::MAX), &vnd(), Lang::Vi),
            "18.446.744.073.709.551.615 ₫"
        );
    }

    #[test]
    fn currencies_with_minor_units_use_the_readers_decimal_mark() {
        let usd = Currency {
            code: "USD".into(),
            decimals: 2,
        };
        assert_eq!(
            amount(Amount(123_456_789), &usd, Lang::Vi),
            "1.234.567,89 USD"
        );
        assert_eq!(
            amount(Amount(123_456_789), &usd, Lang::En),
            "USD 1,234,567.89"
        );
        assert_eq!(amount(Amount(5), &usd, Lang::En), "USD 0.05");
    }

    #[test]
    fn percentages_round_to_one_decimal() {
        assert_eq!(percent(1, 3, Lang::Vi), "33,3 %");
        assert_eq!(percent(2, 3, Lang::En), "66.7%");
        assert_eq!(percent(5, 5, Lang::En), "100.0%");
        assert_eq!(percent(1, 0, Lang::En), "—");
        assert_eq!(percent(u64::MAX, u64::MAX, Lang::Vi), "100,0 %");
    }

    #[test]
    fn times_are_shown_in_vietnam_with_the_offset() {
        // 2026-01-01T00:00:00Z is 07:00 in Hà Nội.
        let ms = 1_767_225_600_000;
        assert_eq!(local_time(ms, Lang::Vi), "07:00:00 01/01/2026 (UTC+07:00)");
        assert_eq!(local_time(ms, Lang::En), "2026-01-01 07:00:00 UTC+07:00");
        assert_eq!(crate::time::rfc3339(ms), "2026-01-01T00:00:00.000Z");
        assert_eq!(number(1_234_567, Lang::Vi), "1.234.567");
    }
}
