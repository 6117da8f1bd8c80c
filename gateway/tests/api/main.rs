//! The HTTP API at its boundary: both listeners' routers driven in-process
//! with `tower::ServiceExt::oneshot` over a real store written block by
//! block by `testkit::NodeFixture`.
//!
//! Every route is asked for its success answer and its errors (400, 404,
//! 405, 413, 429, `POST /v1/txs` raw and as JSON), and every JSON answer is
//! validated against the schema that the listener's own
//! `/v1/openapi.json` documents for that route and status, so the document
//! and the wire cannot drift apart. The explorer's HTML pages are tested in
//! `gateway/src/explorer/tests.rs`, and the export files' contents in
//! `gateway/tests/export/`.
//!
//! The tests, by what they check:
//! - [`documents`]: the OpenAPI documents and the schemas of the answers;
//! - [`reads`]: the read routes, their pages, health and metrics;
//! - [`submissions`]: submitting transactions, one or a batch;
//! - [`errors`]: the error answers of every route;
//! - [`keys`]: an entity's keys, threshold and pending key change;
//! - [`witnesses`]: checkpoints, consistency proofs and the witnesses, as
//!   outside witnesses read them;
//! - [`cosignatures`]: witnesses posting their cosignatures, refused or
//!   kept, and where the explorer and the metrics show them;
//! - [`years`]: a fiscal year's figures, open and closed;
//! - [`awaiting`]: transactions gathering signatures, offered, listed,
//!   fetched by a co-signer and submitted once complete;
//! - [`fixture`]: the chain they read, and the helpers they share.

mod awaiting;
mod cosignatures;
mod documents;
mod errors;
mod fixture;
mod keys;
mod reads;
mod submissions;
mod witnesses;
mod years;
