//! The OpenAPI 3.1 document each listener serves at `/v1/openapi.json`.
//!
//! Nothing here lists routes or fields: the paths come from the
//! `#[utoipa::path]` handlers that `api::read_routes` registers with
//! `utoipa_axum`, and the schemas from the answer types of
//! [`super::model`]. This module adds only what no handler knows: the
//! conventions, the tags, the error response shared by many routes, and
//! what the explorer listener adds in front of the handlers (rate limit,
//! URI bound, read-only rule, `/genesis.json`).

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ContentBuilder, InfoBuilder, LicenseBuilder, OpenApi, Ref, RefOr};
use utoipa::OpenApi as _;

/// What every document says first: the conventions of the JSON API.
const DESCRIPTION: &str = "\
The HTTP API of a Minh Bạch node: a permissioned ledger of Vietnamese public \
spending. Each node serves two listeners. The **API** (operators and \
submitters) has the read routes and the writes: `POST /v1/txs`, \
`POST /v1/txs/batch`, `POST /v1/awaiting` (a transaction gathering \
signatures) and `POST /v1/cosignatures`. The **explorer** (journalists, the \
public) has the same read routes, `/genesis.json` and server-rendered HTML \
pages (`/`, `/blocks/{h}`, `/txs/{hash}`, `/entities/{id}`, \
`/contracts/{id}`, `/years/{year}`, `/awaiting`, `/search?q=`, not \
described here); it answers GET and HEAD only (anything else is 405 with \
`Allow: GET, HEAD`) and limits each client's request rate (429 with \
`Retry-After`). Each listener serves the document of its own routes.

Conventions:
- Amounts are strings of whole minor units (đồng), e.g. `\"300000000\"`, so \
that no JSON reader rounds them. The OCDS export alone uses numbers, as OCDS \
requires.
- Hashes, public keys and signatures are lowercase hex; peer ids are base58.
- Times are RFC 3339 in UTC with milliseconds, e.g. \
`2026-01-01T00:00:00.000Z`.
- Pages carry `next`, null on the last page: `/v1/blocks` is newest first \
and `next` is the height to pass as `before`; an entity's history is in \
chain order and `next` is an opaque cursor to pass as `cursor`.
- A field that may be empty is sent as null; a field that exists only in \
some states (a transaction's block, a rejection's error) is absent \
otherwise, as each schema says.
- Errors are `{\"error\": {\"code\", \"message\"}}` (`ErrorBody`) with a 4xx \
or 5xx status; `code` is one of `ErrorCode`.";

/// The part of every document that no handler declares.
pub fn base() -> OpenApi {
    let mut doc = OpenApi::default();
    doc.info = InfoBuilder::new()
        .title("Minh Bạch node")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(DESCRIPTION))
        .license(Some(
            LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    let tag = |name: &str, description: &str| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    };
    doc.tags = Some(vec![
        tag(
            "chain",
            "Blocks, validators, evidence and the node's status.",
        ),
        tag(
            "transactions",
            "Signed transactions, their status and audit bundles, and \
             transactions awaiting signatures.",
        ),
        tag(
            "spending",
            "Entities, their budget lines and history, contracts, red flags \
             and fiscal years.",
        ),
        tag(
            "witnesses",
            "Checkpoints of the history, the proofs between them, and the \
             outside witnesses who cosign them.",
        ),
        tag(
            "exports",
            "Contracts and payments as CSV or an OCDS release package.",
        ),
        tag(
            "operations",
            "Health, readiness, metrics and this document.",
        ),
    ]);
    doc
}

/// The explorer listener's document: `routes` (the read routes), plus
/// `/genesis.json`, plus on every operation the answers of the layers in
/// front of them: 429 when a client is over its rate, 414 past the URI
/// bound. JSON routes answer those with the error shape, the others with
/// text.
pub fn for_explorer(routes: OpenApi) -> OpenApi {
    let mut doc = routes.merge_from(crate::explorer::GenesisDoc::openapi());
    for (path, item) in doc.paths.paths.iter_mut() {
        let json = path.starts_with("/v1/");
        for op in [&mut item.get, &mut item.head].into_iter().flatten() {
            add_layer_answers(op, json);
        }
    }
    doc
}

fn add_layer_answers(op: &mut Operation, json: bool) {
    // A JSON route answers with the error shape and a code; a page or a
    // text route with one sentence in Vietnamese and one in English.
    let answer = |code: &str, what: &str| {
        let (content_type, content, description) = if json {
            (
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                    .build(),
                format!("`{code}`: {what}"),
            )
        } else {
            (
                "text/plain; charset=utf-8",
                ContentBuilder::new().build(),
                format!("{what} (text)"),
            )
        };
        ResponseBuilder::new()
            .description(description)
            .content(content_type, content)
            .build()
    };
    let responses = &mut op.responses.responses;
    let too_long = format!(
        "the path and query are over {} bytes.",
        crate::explorer::URI_BYTES_MAX
    );
    responses
        .entry("414".into())
        .or_insert_with(|| answer("uri_too_long", &too_long).into());
    let rate = answer(
        "rate_limited",
        "this client is over its request rate; `Retry-After` says how many \
         seconds to wait.",
    );
    match responses.get_mut("429") {
        // An export's `busy` is 429 too, with the same shape.
        Some(RefOr::T(busy)) => {
            busy.description = format!("{} Or {}", busy.description, rate.description);
        }
        _ => {
            responses.insert("429".into(), rate.into());
        }
    }
}

/// A document, serialised once when the router is built.
#[derive(Clone)]
pub struct Document(Bytes);

impl Document {
    /// Serialises `doc`.
    pub fn new(doc: OpenApi) -> Document {
        let text = doc
            .to_pretty_json()
            .expect("an OpenAPI document serialises");
        Document(Bytes::from(text))
    }
}

impl IntoResponse for Document {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}
