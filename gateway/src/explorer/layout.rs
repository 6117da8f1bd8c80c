//! The page shell every explorer page shares (header, language switch,
//! search, footer, inline CSS), the reader's context ([`Ctx`]: language,
//! currency, how to write links), the [`Page`] response with its caching
//! headers, and the error pages.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use genesis::Currency;
use ledger::{Amount, ContractId, EntityId, Hash, Height};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::format;
use super::i18n::{Lang, Strings};

/// One stylesheet, inline, so a page is one request and needs no other
/// asset. Narrow screens get one column and tables that scroll sideways.
const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;--accent:#0b5cad;--flag:#b42318;--ok:#067647}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}
header.site{background:#12304f;color:#fff;padding:.6rem 1rem}
header.site a{color:#fff}
.bar{max-width:72rem;margin:0 auto;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
.brand{font-weight:700;font-size:1.2rem;text-decoration:none}
.brand small{font-weight:400;opacity:.8;margin-left:.4rem;font-size:.8rem}
nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem;font-size:.95rem}
.lang{margin-left:auto}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.4rem 0 .8rem}
h2{font-size:1.15rem;margin:0 0 .6rem}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
.muted,.note{color:var(--muted);font-size:.9rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tfoot td{font-weight:600}
.amt{white-space:nowrap;font-variant-numeric:tabular-nums}
code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
pre{background:#0f1b2a;color:#e6edf3;padding:.7rem;border-radius:6px;overflow-x:auto;font-size:.85rem}
dl.fields{display:grid;grid-template-columns:minmax(9rem,max-content) 1fr;gap:.3rem 1rem;margin:0}
dl.fields dt{color:var(--muted)}
dl.fields dd{margin:0;min-width:0;overflow-wrap:anywhere}
form.search{display:flex;gap:.4rem;max-width:40rem}
form.search input{flex:1;min-width:0;padding:.5rem .6rem;border:1px solid var(--line);border-radius:6px;font-size:1rem}
form.search button{padding:.5rem .9rem;border:0;border-radius:6px;background:var(--accent);color:#fff;font-size:1rem}
header.site form.search input{padding:.3rem .5rem;font-size:.9rem}
header.site form.search button{padding:.3rem .7rem;font-size:.9rem}
.flags li{border-left:4px solid var(--flag);padding:.2rem .6rem;margin:.5rem 0;list-style:none}
.flags{padding:0;margin:0}
.flags b{color:var(--flag)}
.status-committed{color:var(--ok);font-weight:600}
.status-pending{color:#b54708;font-weight:600}
.status-rejected{color:var(--flag);font-weight:600}
.pager{display:flex;justify-content:space-between;gap:1rem;margin-top:.6rem}
.final{border-left:4px solid var(--ok);padding:.3rem .7rem;font-weight:600}
tr.sub td:first-child{padding-left:1.6rem}
footer{max-width:72rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85rem}
@media (max-width:40rem){dl.fields{grid-template-columns:1fr}dl.fields dd{margin-bottom:.4rem}.lang{margin-left:0}}
"#;

/// Who is reading, and how to write for them.
#[derive(Clone)]
pub struct Ctx {
    /// The reader's language.
    pub lang: Lang,
    /// Its strings.
    pub t: &'static Strings,
    /// Whether `?lang=` chose the language; if so every link carries it.
    explicit: bool,
    currency: Currency,
    path: String,
    query: Option<String>,
}

impl Ctx {
    /// The context of a request for `uri`.
    pub fn new(lang: Lang, explicit: bool, currency: Currency, uri: &Uri) -> Ctx {
        Ctx {
            lang,
            t: lang.strings(),
            explicit,
            currency,
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
        }
    }

    /// What of the request shapes a page besides its data: the language,
    /// whether it was chosen, and the query. Two requests with the same
    /// key and the same data get the same page.
    pub fn key(&self) -> (&'static str, bool, Option<String>) {
        (self.lang.code(), self.explicit, self.query.clone())
    }

    /// A link to `path` (which may carry its own query) that keeps the
    /// reader's chosen language.
    pub fn href(&self, path: &str) -> String {
        if !self.explicit {
            return path.to_owned();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}lang={}", self.lang.code())
    }

    /// The same reader on the home page: what a page for an unknown
    /// address links from, so that no link is built from the address asked
    /// for (`//evil.example` would otherwise become an off-site link).
    pub fn at_home(self) -> Ctx {
        Ctx {
            path: "/".into(),
            query: None,
            ..self
        }
    }

    /// This page in the other language.
    pub fn switch_href(&self) -> String {
        let mut parts: Vec<&str> = self
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("lang="))
            .collect();
        let lang = format!("lang={}", self.lang.other().code());
        parts.push(&lang);
        format!("{}?{}", self.path, parts.join("&"))
    }

    /// An amount, kept on one line.
    pub fn amount(&self, a: Amount) -> Markup {
        html! { span.amt { (self.amount_text(a)) } }
    }

    /// An amount as text.
    pub fn amount_text(&self, a: Amount) -> String {
        format::amount(a, &self.currency, self.lang)
    }

    /// A count.
    pub fn number(&self, n: u64) -> String {
        format::number(n, self.lang)
    }

    /// `part ÷ whole` as a percentage.
    pub fn percent(&self, part: u64, whole: u64) -> String {
        format::percent(part, whole, self.lang)
    }

    /// A block time: Vietnam time with its offset, the UTC instant in the
    /// `datetime` attribute and tooltip.
    pub fn time(&self, ms: u64) -> Markup {
        let utc = crate::time::rfc3339(ms);
        html! { time datetime=(utc) title=(utc) { (format::local_time(ms, self.lang)) } }
    }

    /// A link to block `h`.
    pub fn block_link(&self, h: Height) -> Markup {
        html! { a href=(self.href(&format!("/blocks/{h}"))) { (self.number(h.0)) } }
    }

    /// A link to a transaction, its hash shortened.
    pub fn tx_link(&self, hash: &Hash) -> Markup {
        let hex = hash.to_hex();
        html! { a.hash href=(self.href(&format!("/txs/{hex}"))) title=(hex) { (format::short_hex(&hex)) } }
    }

    /// A link to an entity, by name when it is known.
    pub fn entity_link(&self, id: &EntityId, name: Option<&str>) -> Markup {
        html! { a href=(self.href(&format!("/entities/{id}"))) title=(id) { (signed(name.unwrap_or(id.as_str()))) } }
    }

    /// A link to a contract, by id.
    pub fn contract_link(&self, id: &ContractId) -> Markup {
        html! { a href=(self.href(&format!("/contracts/{id}"))) { (id) } }
    }
}

/// `template` with `{0}`, `{1}`, … replaced by `args`. The template's own
/// text is escaped; the arguments are markup already.
pub fn fill(template: &str, args: &[Markup]) -> Markup {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&html! { (rest[..open]) }.into_string());
        let after = &rest[open + 1..];
        let arg = after
            .find('}')
            .and_then(|close| Some((after[..close].parse::<usize>().ok()?, close)));
        match arg {
            Some((n, close)) => {
                // A missing argument shows as nothing; the i18n tests keep
                // placeholders and arguments in step.
                if let Some(a) = args.get(n) {
                    out.push_str(&a.0);
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(&html! { (rest) }.into_string());
    PreEscaped(out)
}

/// [`fill`] with plain-text arguments, for titles.
pub fn fill_text(template: &str, args: &[&str]) -> String {
    let mut out = template.to_owned();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), a);
    }
    out
}

/// Text as markup (escaped).
pub fn text(s: &str) -> Markup {
    html! { (s) }
}

/// Text a signer wrote (a name, a title, a reference), escaped and isolated
/// in `<bdi>`, so that whatever direction its characters run in cannot
/// reorder the page around it.
pub fn signed(s: &str) -> Markup {
    html! { bdi { (s) } }
}

/// How long a page may be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// Never changes (a block with a successor, a committed transaction).
    Immutable,
    /// Changes with the next block.
    Short,
    /// Must not be stored (errors).
    NoStore,
}

impl Cache {
    /// The `Cache-Control` value.
    pub fn header(self) -> &'static str {
        match self {
            Cache::Immutable => "public, max-age=31536000, immutable",
            Cache::Short => "public, max-age=5",
            Cache::NoStore => "no-store",
        }
    }
}

/// A rendered page, before the shell.
#[derive(Clone)]
pub struct Page {
    /// The `<title>` (the site name is added).
    pub title: String,
    /// What goes in `<main>`.
    pub body: Markup,
    /// HTTP status.
    pub status: StatusCode,
    /// Caching.
    pub cache: Cache,
    /// Whether the header carries the small search box (the home page has
    /// its own, larger one).
    pub header_search: bool,
}

impl Page {
    /// A 200 page that changes with the next block.
    pub fn new(title: impl Into<String>, body: Markup) -> Page {
        Page {
            title: title.into(),
            body,
            status: StatusCode::OK,
            cache: Cache::Short,
            header_search: true,
        }
    }

    /// The same page, cached for good.
    pub fn immutable(mut self) -> Page {
        self.cache = Cache::Immutable;
        self
    }

    /// The full document and its headers.
    pub fn render(self, ctx: &Ctx, chain_id: &str) -> Response {
        let t = ctx.t;
        let doc = html! {
            (DOCTYPE)
            html lang=(ctx.lang.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · " (t.site_name) }
                    // No icon to fetch: a browser would otherwise ask for
                    // /favicon.ico, which the explorer does not serve.
                    link rel="icon" href="data:,";
                    style { (PreEscaped(CSS)) }
                }
                body {
                    header.site {
                        div.bar {
                            a.brand href=(ctx.href("/")) { (t.site_name) small { (t.tagline) } }
                            nav {
                                a href=(ctx.href("/")) { (t.nav_home) }
                                a href=(ctx.href("/flags")) { (t.nav_flags) }
                                a href=(ctx.href("/validators")) { (t.nav_validators) }
                                a href=(ctx.href("/evidence")) { (t.nav_evidence) }
                            }
                            a.lang href=(ctx.switch_href()) hreflang=(ctx.lang.other().code()) lang=(ctx.lang.other().code()) {
                                (t.other_language)
                            }
                        }
                        @if self.header_search {
                            div.bar style="margin-top:.4rem" { (search_form(ctx, "")) }
                        }
                    }
                    main { (self.body) }
                    footer {
                        p {
                            (fill(t.footer_chain, &[html! { code { (chain_id) } }]))
                            " · " a href="/genesis.json" { (t.footer_genesis) }
                            " · " a href="/v1/status" { (t.nav_api) }
                        }
                        p { (t.footer_readonly) }
                    }
                }
            }
        };
        let mut response = (self.status, doc.into_string()).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache.header()),
        );
        // The language may come from Accept-Language.
        h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
        h.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(ctx.lang.code()),
        );
        response
    }
}

/// The search form; `value` pre-fills it.
pub fn search_form(ctx: &Ctx, value: &str) -> Markup {
    let t = ctx.t;
    html! {
        form.search action="/search" method="get" role="search" {
            input type="search" name="q" value=(value) maxlength=(super::SEARCH_QUERY_CHARS_MAX)
                placeholder=(t.search_placeholder) aria-label=(t.search_label);
            @if ctx.explicit {
                input type="hidden" name="lang" value=(ctx.lang.code());
            }
            button type="submit" { (t.search_button) }
        }
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// 404, with the sentence to show.
    NotFound(Markup),
    /// 400, with the sentence to show.
    BadRequest(Markup),
    /// 500: the store failed.
    Internal(String),
}

impl PageError {
    /// The error page.
    pub fn page(self, ctx: &Ctx) -> Page {
        let t = ctx.t;
        let (status, title, text, cache) = match self {
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, t.not_found_title, m, Cache::Short),
            PageError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                t.bad_request_title,
                m,
                Cache::Short,
            ),
            PageError::Internal(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                t.error_title,
                fill(t.error_text, &[text(&e)]),
                Cache::NoStore,
            ),
        };
        let body = html! {
            h1 { (title) }
            section {
                p { (text) }
                p { a href=(ctx.href("/")) { (t.back_home) } }
            }
        };
        Page {
            status,
            cache,
            ..Page::new(title, body)
        }
    }
}

impl From<ledger::summary::SummaryError> for PageError {
    fn from(e: ledger::summary::SummaryError) -> PageError {
        PageError::Internal(e.to_string())
    }
}

impl From<ledger::store::StoreError> for PageError {
    fn from(e: ledger::store::StoreError) -> PageError {
        match e {
            // A height below the snapshot this node started from.
            ledger::store::StoreError::NotHeld { .. } => PageError::NotFound(text(&e.to_string())),
            e => PageError::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_escapes_the_template_and_keeps_the_markup_arguments() {
        let m = fill("<{0}> & {1}{2}", &[html! { b { "x" } }, text("a<b")]);
        assert_eq!(m.into_string(), "&lt;<b>x</b>&gt; &amp; a&lt;b");
        assert_eq!(fill_text("Khối {0} / {0}", &["7"]), "Khối 7 / 7");
    }

    #[test]
    fn links_keep_a_chosen_language_and_the_switch_keeps_the_query() {
        let uri: Uri = "/search?q=b%E1%BB%99&lang=en".parse().unwrap();
        let ctx = Ctx::new(Lang::En, true, Currency::default(), &uri);
        assert_eq!(ctx.href("/blocks/3"), "/blocks/3?lang=en");
        assert_eq!(
            ctx.href("/entities/X?cursor=1.0"),
            "/entities/X?cursor=1.0&lang=en"
        );
        assert_eq!(ctx.switch_href(), "/search?q=b%E1%BB%99&lang=vi");
        let ctx = Ctx::new(Lang::Vi, false, Currency::default(), &"/".parse().unwrap());
        assert_eq!(ctx.href("/blocks/3"), "/blocks/3");
        assert_eq!(ctx.switch_href(), "/?lang=en");
    }
}
