//! The chain every API test reads (four blocks of spending by one hospital,
//! then small payments), both listeners' routers over it, and the helpers
//! that send requests, read answers and check them against the OpenAPI
//! document the listener serves.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use gateway::api::{
    api_router, api_router_with, explorer_router, explorer_router_with, ExportLinks,
};
use gateway::explorer::RateLimits;
use ledger::tx::EntityKind;
use ledger::{Hash, Op, SignedTx};
use node::shared::Shared;
use serde_json::{json, Value};
use testkit::ops;
use testkit::{GenesisBuilder, NodeFixture, CHAIN_ID};
use tower::ServiceExt;

pub(crate) const LINE: &str = "0402-HEALTH";
pub(crate) const YEAR: u16 = 2026;
const GENEROUS: RateLimits = RateLimits {
    requests_per_second: 100_000,
    burst: 100_000,
    trusted_proxies: Vec::new(),
};

pub(crate) fn pay(amount: u64, reference: &str) -> Op {
    ops::pay("C-1", amount, reference)
}

/// Which listener a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum On {
    Api,
    Explorer,
}

pub(crate) const BOTH: [On; 2] = [On::Api, On::Explorer];

/// A chain in a real store, the node parts around it, and what the test
/// put into it.
pub(crate) struct Fixture {
    pub(crate) node: NodeFixture,
    pub(crate) shared: Arc<Shared>,
    pub(crate) award_hash: Hash,
    pub(crate) first_pay_hash: Hash,
    /// The transactions in V-0001's history, in chain order.
    pub(crate) vendor_history: Vec<Hash>,
}

impl Fixture {
    /// Four blocks of spending (appropriate, allocate, award, pay and
    /// deliver), then `payments` blocks of one small payment each.
    pub(crate) fn new(payments: usize) -> Fixture {
        let genesis = GenesisBuilder::new(CHAIN_ID)
            .entity("MOF", EntityKind::Treasury, "Bộ Tài chính", None)
            .entity("MOH", EntityKind::Ministry, "Bộ Y tế", None)
            .entity(
                "MOH.BVBM",
                EntityKind::Department,
                "Bệnh viện Bạch Mai",
                Some("MOH"),
            )
            .entity(
                "V-0001",
                EntityKind::Vendor,
                "Công ty TNHH Thiết bị Y tế Sông Hồng",
                None,
            )
            .build();
        let mut node = NodeFixture::new("api-test", genesis);
        let t = node.tx("MOF", 0, ops::appropriate(YEAR, LINE, "MOH", 5_000_000_000));
        node.commit(vec![t]);
        let t = node.tx(
            "MOH",
            0,
            ops::allocate(YEAR, LINE, "MOH.BVBM", 4_000_000_000),
        );
        node.commit(vec![t]);
        let award = ops::award(
            "C-1",
            YEAR,
            LINE,
            "V-0001",
            3_000_000_000,
            "Máy thở chức năng cao",
        );
        let award = node.tx(
            "MOH.BVBM",
            0,
            ops::award_with_document(award, b"hop dong C-1"),
        );
        let award_hash = award.hash();
        node.commit(vec![award]);
        let first_pay = node.tx("MOH.BVBM", 0, pay(500_000_000, "UNC-001"));
        let first_pay_hash = first_pay.hash();
        let deliver = node.tx("MOH.BVBM", 1, ops::deliver("C-1", "Đợt 1", "Đã lắp đặt"));
        let mut vendor_history = vec![award_hash, first_pay_hash, deliver.hash()];
        node.commit(vec![first_pay, deliver]);
        for i in 0..payments {
            let t = node.tx("MOH.BVBM", 0, pay(1_000, &format!("TT-{i}")));
            vendor_history.push(t.hash());
            node.commit(vec![t]);
        }
        Fixture {
            shared: node.shared.clone(),
            node,
            award_hash,
            first_pay_hash,
            vendor_history,
        }
    }

    pub(crate) fn height(&self) -> u64 {
        self.node.height()
    }

    pub(crate) fn router(&self, on: On) -> Router {
        match on {
            On::Api => api_router(self.shared.clone()),
            On::Explorer => explorer_router(self.shared.clone(), GENEROUS),
        }
    }

    /// The listener's router, its exports published as `links` say.
    pub(crate) fn router_with(&self, on: On, links: ExportLinks) -> Router {
        match on {
            On::Api => api_router_with(self.shared.clone(), links),
            On::Explorer => explorer_router_with(self.shared.clone(), GENEROUS, links),
        }
    }

    pub(crate) async fn send(&self, on: On, request: Request<Body>) -> Answer {
        answer(self.router(on).oneshot(request).await.unwrap()).await
    }

    pub(crate) async fn get(&self, on: On, uri: &str) -> Answer {
        self.send(on, Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub(crate) async fn post(&self, content_type: &str, body: impl Into<Body>) -> Answer {
        self.post_to("/v1/txs", content_type, body).await
    }

    pub(crate) async fn post_to(
        &self,
        uri: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Answer {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send(On::Api, request).await
    }

    /// A payment the department has not signed yet, `pending` nonces ahead
    /// of its committed ones.
    pub(crate) fn next_payment(&self, pending: u64, amount: u64, reference: &str) -> SignedTx {
        self.node.tx("MOH.BVBM", pending, pay(amount, reference))
    }

    /// The listener's own document.
    pub(crate) async fn document(&self, on: On) -> Document {
        let a = self.get(on, "/v1/openapi.json").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.header(header::CONTENT_TYPE), "application/json");
        Document(a.json())
    }
}

/// An answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

pub(crate) async fn answer(r: axum::response::Response) -> Answer {
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Checks that this is 429 `mempool_full`, telling the client when to
    /// try again rather than leaving it to retry at once.
    pub(crate) fn assert_mempool_full(&self) {
        assert_eq!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            self.text()
        );
        assert_eq!(self.error_code(), "mempool_full");
        assert_eq!(self.header(header::RETRY_AFTER), "1");
    }

    /// The error code of an error answer, checking its shape on the way.
    pub(crate) fn error_code(&self) -> String {
        let v = self.json();
        let error = v["error"].as_object().unwrap_or_else(|| panic!("{v}"));
        assert_eq!(error.len(), 2, "exactly code and message: {v}");
        assert!(!error["message"].as_str().unwrap().is_empty(), "{v}");
        assert_eq!(v.as_object().unwrap().len(), 1, "only `error`: {v}");
        error["code"].as_str().unwrap().to_owned()
    }
}

/// An OpenAPI document as served.
pub(crate) struct Document(pub(crate) Value);

impl Document {
    pub(crate) fn paths(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, item) in self.0["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.push((method.clone(), path.clone()));
            }
        }
        out.sort();
        out
    }

    pub(crate) fn operation(&self, method: &str, template: &str) -> &Value {
        let op = &self.0["paths"][template][method];
        assert!(op.is_object(), "{method} {template} is not documented");
        op
    }

    /// The schema documented for a JSON answer, with the document's
    /// components beside it so that its `$ref`s resolve.
    pub(crate) fn schema(&self, method: &str, template: &str, status: StatusCode) -> Value {
        let response = &self.operation(method, template)["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{method} {template} does not document {status}"
        );
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} {status} documents no JSON body"
        );
        let mut root = schema.clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["components"] = self.0["components"].clone();
        root
    }

    /// Checks that `answer`, to `method template`, is documented and
    /// validates against its schema.
    pub(crate) fn check(&self, method: &str, template: &str, answer: &Answer) {
        let schema = self.schema(method, template, answer.status);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{method} {template}: the schema does not compile: {e}"));
        let body = answer.json();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("  {}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} {}: the answer does not match its schema:\n{}\n{body:#}",
            answer.status,
            errors.join("\n")
        );
    }
}
