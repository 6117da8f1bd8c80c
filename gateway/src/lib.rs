//! The read side of a Minh Bạch node: its HTTP listeners and what they
//! serve. It reads what the node publishes ([`node::shared::Shared`]: the
//! store, the state after the last committed block, the mempool) and never
//! reaches into the consensus loop; the node starts it through
//! [`node::run::Readers`].
//!
//! From the bottom up:
//! - [`error`] and [`time`]: the one error shape and the one time format of
//!   every answer;
//! - [`approvals`]: a fiscal year's rows and the transactions awaiting
//!   signatures, as both the API and the explorer show them;
//! - [`export`]: contracts and payments as CSV or an OCDS release package;
//! - [`explorer`]: the explorer's HTML pages, red flags and hardening;
//! - [`api`]: the JSON API, its OpenAPI document, and the two routers (the
//!   operators' API, which also accepts transactions, and the explorer's,
//!   which never writes);
//! - [`tls`]: a listener's certificate and key, checked at start and
//!   reloaded on SIGHUP;
//! - [`http`]: serving a router with connection bounds and timeouts, over
//!   plain HTTP or TLS;
//! - [`listeners::Listeners`]: both listeners on a runtime of their own.

pub mod api;
pub mod approvals;
pub mod error;
pub mod explorer;
pub mod export;
pub mod http;
pub mod listeners;
pub mod time;
pub mod tls;

pub use listeners::Listeners;
