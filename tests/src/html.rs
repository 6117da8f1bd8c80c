//! Reading the explorer's pages as a reader does: a figure next to its
//! label, a cell in its row. A test that finds an amount anywhere on a page
//! would pass with swapped labels or a figure in the wrong row; these
//! helpers pair each value with what labels it.
//!
//! They read the explorer's own markup (maud's output: no comments, quoted
//! attributes), not arbitrary HTML.

/// The text of an HTML fragment: tags removed, character references
/// decoded, runs of white space made one space, trimmed.
pub fn text(fragment: &str) -> String {
    let mut out = String::new();
    let mut rest = fragment;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = match rest[lt..].find('>') {
            Some(gt) => &rest[lt + gt + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The inner HTML of every element `tag` in `html`, in order (elements of
/// the same tag nested in one another are not expected).
fn elements<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<td` must not match `<tdx`: the name ends at `>` or a space.
        if !after.starts_with('>') && !after.starts_with(' ') {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// Every table row of `html`, as the text of its cells (`th` or `td`).
pub fn rows(html: &str) -> Vec<Vec<String>> {
    elements(html, "tr")
        .into_iter()
        .map(|row| {
            // Header and data cells, in the order they start in the row.
            let mut cells: Vec<(usize, String)> = ["td", "th"]
                .iter()
                .flat_map(|tag| elements(row, tag))
                .map(|cell| (cell.as_ptr() as usize - row.as_ptr() as usize, text(cell)))
                .collect();
            cells.sort_by_key(|(start, _)| *start);
            cells.into_iter().map(|(_, t)| t).collect()
        })
        .collect()
}

/// The row whose first cell reads `first`; panics naming the rows there are.
pub fn row(html: &str, first: &str) -> Vec<String> {
    let all = rows(html);
    all.iter()
        .find(|r| r.first().map(String::as_str) == Some(first))
        .cloned()
        .unwrap_or_else(|| panic!("no row starts with {first:?}; the rows: {all:#?}"))
}

/// Every labelled field of the definition lists of `html`: each `dt`'s text
/// with the text of the `dd` after it.
pub fn fields(html: &str) -> Vec<(String, String)> {
    elements(html, "dl")
        .into_iter()
        .flat_map(|dl| {
            let labels = elements(dl, "dt");
            let values = elements(dl, "dd");
            assert_eq!(
                labels.len(),
                values.len(),
                "a dl whose dt and dd do not pair"
            );
            labels
                .into_iter()
                .zip(values)
                .map(|(l, v)| (text(l), text(v)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The value of the field labelled `label`; panics naming the fields there
/// are.
pub fn field(html: &str, label: &str) -> String {
    let all = fields(html);
    all.iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no field {label:?}; the fields: {all:#?}"))
}

/// Checks the Vietnamese home page after the story both explorer tests
/// tell: the treasury appropriates 5,000,000,000 ₫ to Bộ Y tế, which
/// allocates 3,000,000,000 ₫ to Bệnh viện Bạch Mai, which awards a
/// 1,200,000,000 ₫ contract for an MRI scanner to Sông Hồng and pays
/// 400,000,000 ₫ of it. Each figure must stand in its row and column.
pub fn assert_story_home(home: &str) {
    // Bộ Y tế's row: received, passed on, committed (by its department),
    // paid.
    assert_eq!(
        row(home, "Bộ Y tế")[1..5],
        [
            "5.000.000.000 ₫",
            "3.000.000.000 ₫",
            "1.200.000.000 ₫",
            "400.000.000 ₫"
        ]
    );
    assert_eq!(row(home, "Bộ Giao thông Vận tải")[1], "0 ₫");
    // The payment's row: payer, vendor, amount, what was bought.
    let paid = rows(home)
        .into_iter()
        .find(|r| r.get(2).map(String::as_str) == Some("Bệnh viện Bạch Mai"))
        .expect("the payment's row");
    assert_eq!(paid[3], "Công ty TNHH Thiết bị Y tế Sông Hồng");
    assert_eq!(paid[4], "400.000.000 ₫");
    assert!(paid[5].contains("Máy chụp cộng hưởng từ"), "{paid:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<main><table><thead><tr><th>Bộ</th><th class="num">Nhận</th></tr></thead>
        <tbody><tr><td><a href="/entities/BYT">Bộ Y tế</a></td><td class="num">5.000 ₫</td></tr>
        <tr><td>Bộ &amp; Ngành</td><td class="num"><span class="amt">0 ₫</span></td></tr></tbody></table>
        <dl class="fields"><dt>Còn phải trả</dt><dd>800 ₫</dd><dt>Tên</dt><dd><code>A&lt;B</code></dd></dl></main>"#;

    #[test]
    fn cells_are_read_with_their_row_and_labels_with_their_value() {
        assert_eq!(
            rows(PAGE),
            vec![
                vec!["Bộ".to_owned(), "Nhận".to_owned()],
                vec!["Bộ Y tế".to_owned(), "5.000 ₫".to_owned()],
                vec!["Bộ & Ngành".to_owned(), "0 ₫".to_owned()],
            ]
        );
        assert_eq!(row(PAGE, "Bộ Y tế")[1], "5.000 ₫");
        assert_eq!(field(PAGE, "Còn phải trả"), "800 ₫");
        assert_eq!(field(PAGE, "Tên"), "A<B");
    }

    #[test]
    #[should_panic(expected = "no field")]
    fn a_missing_label_is_named() {
        field(PAGE, "Đã trả");
    }
}
