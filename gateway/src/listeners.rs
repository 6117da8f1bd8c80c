//! The node's two HTTP listeners, the operators' API and the explorer, on
//! a runtime of their own: however busy readers keep them, the consensus
//! loop's threads stay free. The node starts them through
//! [`node::run::Readers`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use node::config::Config;
use node::shared::Shared;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::api;
use crate::http::ConnectionLimits;

/// How long the listeners get to finish once the node stops.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// The running listeners.
pub struct Listeners {
    servers: Vec<JoinHandle<()>>,
    // Dropped last: shutting it down ends whatever is still serving.
    _runtime: HttpRuntime,
}

impl node::run::Readers for Listeners {
    fn start(
        shared: Arc<Shared>,
        config: &Config,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Listeners> {
        let http = HttpRuntime::start()?;
        let connections = ConnectionLimits::from(&config.limits);
        let mut servers = vec![http.serve(
            "api",
            config.api.listen,
            api::api_router(shared.clone()),
            connections,
            stop.clone(),
        )?];
        if let Some(addr) = config.explorer.listen {
            servers.push(http.serve(
                "explorer",
                addr,
                api::explorer_router(shared, (&config.explorer).into()),
                connections,
                stop,
            )?);
        }
        Ok(Listeners {
            servers,
            _runtime: http,
        })
    }

    async fn finish(self) {
        for s in self.servers {
            let _ = tokio::time::timeout(FINISH_WAIT, s).await;
        }
    }
}

/// Pending connections the kernel holds for an HTTP listener (what
/// `tokio::net::TcpListener::bind` asks for).
const HTTP_BACKLOG: u32 = 1024;

/// A listening socket on `addr`, in the current runtime.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(HTTP_BACKLOG)
}

/// The runtime of the HTTP listeners; shut down without waiting when
/// dropped, which may happen inside the node's own runtime.
struct HttpRuntime(Option<tokio::runtime::Runtime>);

impl HttpRuntime {
    fn start() -> anyhow::Result<HttpRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("minhbach-http")
            .enable_all()
            .build()
            .context("cannot start the HTTP runtime")?;
        Ok(HttpRuntime(Some(runtime)))
    }

    /// Listens on `addr` and serves `router` there until `stop`.
    fn serve(
        &self,
        name: &'static str,
        addr: std::net::SocketAddr,
        router: axum::Router,
        limits: ConnectionLimits,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let (what, label) = if name == "api" {
            ("the API", "API")
        } else {
            ("the explorer", "explorer")
        };
        let runtime = self.0.as_ref().expect("running until dropped");
        let listener = {
            let _inside = runtime.enter();
            listen(addr).with_context(|| format!("cannot listen for {what} on {addr}"))?
        };
        info!(address = %addr, "{label} listening");
        Ok(runtime.spawn(crate::http::serve(name, listener, router, limits, stop)))
    }
}

impl Drop for HttpRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
