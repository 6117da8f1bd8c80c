//! Atom 1.0 feeds (RFC 4287) of spending, for feed readers and newsrooms'
//! alerting: [`atom`] writes a document from plain values, and [`response`]
//! serves it.
//!
//! Everything a feed carries may come from signers (contract titles,
//! payment references, entity names), so every text and attribute value is
//! escaped, and characters that XML 1.0 does not allow, or that are
//! control characters (C0 other than tab, newline and carriage return,
//! DEL, C1), are dropped: the document is always well-formed.
//!
//! Links: an href may be an absolute URL or an absolute path. With
//! [`Feed::base`] (the `[exports] base_url` setting, or the request's host,
//! as the OCDS export builds its links), paths are written as absolute URLs
//! and the feed carries `xml:base`, so that readers resolve anything
//! relative the same way. Without it, paths are written as they are and
//! resolve against the feed's own address.

use axum::http::header::CONTENT_TYPE as CONTENT_TYPE_HEADER;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use crate::time::rfc3339;

/// The media type of an Atom feed, as served.
pub const CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// The Atom namespace.
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// A feed: its own identity and links, and its entries, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    /// A permanent, absolute IRI: a `tag:` URI or an absolute URL.
    pub id: String,
    /// The feed's title.
    pub title: String,
    /// Who publishes it (`atom:author`), e.g. the chain's name.
    pub author: String,
    /// The public base URL of the explorer (`https://host[/path]`, no
    /// trailing `/`), when known.
    pub base: Option<String>,
    /// The feed's own address (`rel="self"`).
    pub self_href: String,
    /// The HTML page it follows (`rel="alternate"`).
    pub alternate_href: String,
    /// When it last changed, in ms since the Unix epoch: the newest entry's
    /// time, or the chain's last block time for an empty feed.
    pub updated_ms: u64,
    /// The entries, newest first.
    pub entries: Vec<Entry>,
}

/// One event of spending in a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// A permanent, absolute IRI, such as a `tag:` URI naming the
    /// transaction.
    pub id: String,
    /// A one-line title.
    pub title: String,
    /// The block time of the event, in ms since the Unix epoch.
    pub updated_ms: u64,
    /// Its explorer page (`rel="alternate"`, HTML).
    pub page_href: String,
    /// Its audit bundle, `/v1/txs/{hash}/proof` (`rel="related"`, JSON).
    pub bundle_href: Option<String>,
    /// The signing entity's name, when it is not the feed's author.
    pub author: Option<String>,
    /// A plain-text summary.
    pub summary: String,
    /// `payment`, `award`, `amendment` or `flag`.
    pub category: String,
}

/// The feed as an Atom 1.0 document, UTF-8, with its XML declaration.
pub fn atom(feed: &Feed) -> String {
    let base = feed.base.as_deref().map(|b| b.trim_end_matches('/'));
    let href = |h: &str| absolute(base, h);
    let mut out = String::with_capacity(1024 + 768 * feed.entries.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"");
    out.push_str(ATOM_NS);
    out.push('"');
    if let Some(base) = base {
        attribute(&mut out, "xml:base", &format!("{base}/"));
    }
    out.push_str(">\n");
    element(&mut out, 1, "id", &feed.id);
    text_element(&mut out, 1, "title", &feed.title);
    element(&mut out, 1, "updated", &rfc3339(feed.updated_ms));
    out.push_str("  <author>\n");
    element(&mut out, 2, "name", &feed.author);
    out.push_str("  </author>\n");
    link(
        &mut out,
        1,
        "self",
        "application/atom+xml",
        &href(&feed.self_href),
    );
    link(
        &mut out,
        1,
        "alternate",
        "text/html",
        &href(&feed.alternate_href),
    );
    for entry in &feed.entries {
        out.push_str("  <entry>\n");
        element(&mut out, 2, "id", &entry.id);
        text_element(&mut out, 2, "title", &entry.title);
        element(&mut out, 2, "updated", &rfc3339(entry.updated_ms));
        if let Some(author) = &entry.author {
            out.push_str("    <author>\n");
            element(&mut out, 3, "name", author);
            out.push_str("    </author>\n");
        }
        link(
            &mut out,
            2,
            "alternate",
            "text/html",
            &href(&entry.page_href),
        );
        if let Some(bundle) = &entry.bundle_href {
            link(&mut out, 2, "related", "application/json", &href(bundle));
        }
        out.push_str("    <category");
        attribute(&mut out, "term", &entry.category);
        out.push_str("/>\n");
        text_element(&mut out, 2, "summary", &entry.summary);
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// The feed served with its media type.
pub fn response(feed: &Feed) -> Response {
    let mut response = atom(feed).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE_HEADER, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `href` as an absolute URL when it is an absolute path and the base is
/// known; otherwise as it is.
fn absolute(base: Option<&str>, href: &str) -> String {
    match base {
        Some(base) if href.starts_with('/') && !href.starts_with("//") => format!("{base}{href}"),
        _ => href.to_owned(),
    }
}

/// Whether XML 1.0 allows `c` and it is not a control character other
/// than tab, newline and carriage return.
fn is_kept(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => false,
        '\u{FFFE}' | '\u{FFFF}' => false,
        _ => true,
    }
}

/// `s` escaped for character data or a double-quoted attribute value:
/// the five markup characters as entities, and tab, newline and carriage
/// return as character references where XML would otherwise normalise
/// them (all three in attributes, carriage return in text).
fn escape_into(out: &mut String, s: &str, in_attribute: bool) {
    for c in s.chars().filter(|&c| is_kept(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn attribute(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_into(out, value, true);
    out.push('"');
}

fn element(out: &mut String, level: usize, name: &str, value: &str) {
    indent(out, level);
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, value, false);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// An Atom text construct, as plain text.
fn text_element(out: &mut String, level: usize, name: &str, value: &str) {
    indent(out, level);
    out.push('<');
    out.push_str(name);
    out.push_str(" type=\"text\">");
    escape_into(out, value, false);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn link(out: &mut String, level: usize, rel: &str, media_type: &str, href: &str) {
    indent(out, level);
    out.push_str("<link");
    attribute(out, "rel", rel);
    attribute(out, "type", media_type);
    attribute(out, "href", href);
    out.push_str("/>\n");
}

#[cfg(test)]
mod tests;
