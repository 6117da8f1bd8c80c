//! The cursor of a paged history (`?cursor=` of the API and the
//! explorer): where the previous page ended, as `HEIGHT.INDEX` of its last
//! transaction. Clients treat it as opaque; the node reads it here.

/// The block height and the index in the block a cursor names; `None` for
/// anything that is not exactly two decimal numbers (without signs or
/// leading zeros) joined by one dot, so that every cursor has one spelling.
pub fn parse(s: &str) -> Option<(u64, u32)> {
    let (h, i) = s.split_once('.')?;
    Some((number(h)?, number(i)?))
}

/// The cursor after the transaction at `index` of block `height`.
pub fn format(height: u64, index: u32) -> String {
    format!("{height}.{index}")
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        assert_eq!(parse("12.3"), Some((12, 3)));
        assert_eq!(parse("0.0"), Some((0, 0)));
        assert_eq!(format(12, 3), "12.3");
        let max = format!("{}.{}", u64::MAX, u32::MAX);
        assert_eq!(parse(&max), Some((u64::MAX, u32::MAX)));
    }

    #[test]
    fn anything_else_is_no_cursor() {
        for bad in [
            "",
            ".",
            "12",
            "12.",
            ".3",
            "12.3.4",
            "+12.3",
            "12.+3",
            "-1.0",
            "012.3",
            "12.03",
            " 12.3",
            "12.3 ",
            "1e3.0",
            "12.4294967296",
            "18446744073709551616.0",
            "١٢.٣",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
