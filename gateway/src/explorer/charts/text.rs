//! The charts' words in Vietnamese and English, and how they write money:
//! in full (`1.234.567 ₫`, the way every page writes it) and short, for axes
//! and labels (`12,5 tỷ` / `12.5 billion`).
//!
//! The tables are kept here rather than in the explorer's main string table
//! so that the charts can be read, changed and tested on their own. Like
//! the main table, a key missing from either language does not compile, and
//! the tests check that both languages use the same placeholders.

use genesis::Currency;
use ledger::Amount;

use super::super::format;
use super::super::i18n::Lang;

/// Declares [`Words`] with one `&'static str` field per key, plus the month
/// names, and [`Words::entries`] to list the keys.
macro_rules! words {
    ($($key:ident),* $(,)?) => {
        /// One language's chart strings. `{0}`, `{1}`, … are filled in by
        /// [`fill`].
        #[allow(missing_docs)]
        pub struct Words {
            $(pub $key: &'static str,)*
            /// Month names for axes: `T1`…`T12`, `Jan`…`Dec`.
            pub months_short: [&'static str; 12],
            /// Month names for sentences and tables.
            pub months_long: [&'static str; 12],
        }

        impl Words {
            /// Every key with its text, in declaration order.
            #[cfg(test)]
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key)),*]
            }
        }
    };
}

words! {
    title_with_subject, show_table, col_from, col_to, col_amount, col_month,
    col_department, total, others, node_in_out,
    flow_title, flow_empty, flow_stage, flow_intro,
    exec_title, exec_empty, exec_desc, exec_desc_partial, received, committed, paid,
    in_month, to_date, not_yet,
    vendor_title, vendor_empty, vendor_desc, segment,
}

/// Tiếng Việt.
pub static VI: Words = Words {
    title_with_subject: "{0} — {1}",
    show_table: "Xem số liệu dạng bảng",
    col_from: "Từ",
    col_to: "Đến",
    col_amount: "Số tiền",
    col_month: "Tháng",
    col_department: "Đơn vị trả",
    total: "Tổng",
    others: "Khác ({0} đơn vị)",
    node_in_out: "{0}: nhận {1}, chuyển đi {2}",
    flow_title: "Dòng tiền",
    flow_empty: "Không có dòng tiền nào trong năm này.",
    flow_stage: "Bước {0}: {1} đi từ {2} đơn vị đến {3} đơn vị; nhiều nhất đến {4} ({5}).",
    flow_intro: "Dòng tiền qua {0} bước.",
    exec_title: "Tiến độ nhận, cam kết và chi",
    exec_empty: "Chưa có khoản nhận, cam kết hay chi nào trong năm này.",
    exec_desc: "Lũy kế đến hết {0}: đã nhận {1}, đã cam kết {2}, đã chi {3}.",
    exec_desc_partial: "Các tháng sau {0} chưa đến.",
    received: "Đã nhận",
    committed: "Đã cam kết",
    paid: "Đã chi",
    in_month: "{0} trong tháng",
    to_date: "{0} lũy kế",
    not_yet: "chưa đến",
    vendor_title: "Ai đã trả tiền cho nhà cung cấp",
    vendor_empty: "Nhà cung cấp chưa được trả khoản nào trong năm này.",
    vendor_desc: "Tổng {0} từ {1} đơn vị trong {2} tháng; nhiều nhất từ {3} ({4}).",
    segment: "{0}, {1}: {2}",
    months_short: [
        "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
    ],
    months_long: [
        "tháng 1",
        "tháng 2",
        "tháng 3",
        "tháng 4",
        "tháng 5",
        "tháng 6",
        "tháng 7",
        "tháng 8",
        "tháng 9",
        "tháng 10",
        "tháng 11",
        "tháng 12",
    ],
};

/// English.
pub static EN: Words = Words {
    title_with_subject: "{0} — {1}",
    show_table: "Show the figures as a table",
    col_from: "From",
    col_to: "To",
    col_amount: "Amount",
    col_month: "Month",
    col_department: "Paid by",
    total: "Total",
    others: "Others ({0} entities)",
    node_in_out: "{0}: received {1}, passed on {2}",
    flow_title: "Money flow",
    flow_empty: "No money moved this year.",
    flow_stage: "Step {0}: {1} went from {2} entities to {3} entities, most to {4} ({5}).",
    flow_intro: "Money flowing through {0} steps.",
    exec_title: "Received, committed and paid over the year",
    exec_empty: "Nothing was received, committed or paid this year.",
    exec_desc: "By the end of {0}: received {1}, committed {2}, paid {3}.",
    exec_desc_partial: "The months after {0} have not come yet.",
    received: "Received",
    committed: "Committed",
    paid: "Paid",
    in_month: "{0} in the month",
    to_date: "{0} to date",
    not_yet: "not yet",
    vendor_title: "Who paid this vendor",
    vendor_empty: "This vendor was paid nothing this year.",
    vendor_desc: "{0} in total from {1} entities over {2} months, most from {3} ({4}).",
    segment: "{0}, {1}: {2}",
    months_short: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    months_long: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};

/// The charts' strings in `lang`.
pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

/// `template` with `{0}`, `{1}`, … replaced by `args`, in one pass, so an
/// argument that itself contains `{1}` (a signer may write anything) is
/// left as it is. Plain text: the caller's markup escapes it.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let arg = after
            .find('}')
            .and_then(|close| Some((after[..close].parse::<usize>().ok()?, close)));
        match arg {
            Some((n, close)) => {
                out.push_str(args.get(n).copied().unwrap_or(""));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An amount in đồng written in full, as the pages write it: `1.234.567 ₫`
/// in Vietnamese, `1,234,567 ₫` in English. Sums beyond `u64` (a year of a
/// large ministry's payments can add up past it) are written the same way.
pub fn full_amount(a: u128, lang: Lang) -> String {
    match u64::try_from(a) {
        Ok(small) => format::amount(Amount(small), &Currency::default(), lang),
        Err(_) => format!(
            "{} ₫",
            format::group(&a.to_string(), format::separators(lang).0)
        ),
    }
}

/// An amount in đồng in a few characters, for axes, labels and summaries:
/// `12,5 tỷ`, `950 triệu`, `3 nghìn` in Vietnamese (tỷ = 10⁹, triệu = 10⁶,
/// nghìn = 10³) and `12.5 billion`, `950 million`, `3 thousand` in English.
/// One decimal is shown below 100 of a unit (and dropped when it is 0);
/// amounts under a thousand are written whole. Above a billion the unit
/// stays billion (`18.446.744.074 tỷ`), as Vietnamese budget reports write.
pub fn short_amount(a: u128, lang: Lang) -> String {
    const UNITS: [u128; 3] = [1_000, 1_000_000, 1_000_000_000];
    let names: [&str; 3] = match lang {
        Lang::Vi => ["nghìn", "triệu", "tỷ"],
        Lang::En => ["thousand", "million", "billion"],
    };
    if a < UNITS[0] {
        return a.to_string();
    }
    let mut k = UNITS.iter().rposition(|&u| a >= u).unwrap_or(0);
    loop {
        let unit = UNITS[k];
        let (int, rem) = (a / unit, a % unit);
        let number = if int < 100 {
            // Tenths of the unit, rounded half up (99,96 is written 100).
            let tenths = int * 10 + (rem * 10 + unit / 2) / unit;
            let (int, frac) = (tenths / 10, tenths % 10);
            if frac == 0 {
                int.to_string()
            } else {
                format!("{int}{}{frac}", format::separators(lang).1)
            }
        } else {
            // Whole units, rounded half up; rounded once, from the exact
            // amount, so that 123,46 is 123 and not 123,5 then 124.
            let whole = int + u128::from(rem >= unit - rem);
            // 999,6 million is 1 billion, not 1,000 million.
            if whole >= 1_000 && k + 1 < UNITS.len() {
                k += 1;
                continue;
            }
            format::group(&whole.to_string(), format::separators(lang).0)
        };
        return format!("{number} {}", names[k]);
    }
}

/// At most `max` characters of `s`, with `…` when cut; a cut never leaves
/// a combining accent (Vietnamese text may arrive decomposed) without its
/// letter.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut end = max.saturating_sub(1);
    // Never stop just before a combining mark: its letter goes too.
    while end > 0 && is_combining(chars[end]) {
        end -= 1;
    }
    let mut out: String = chars[..end].iter().collect();
    out.push('…');
    out
}

/// Whether `c` is a combining mark that belongs on the letter before it.
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}
