//! The node's two HTTP listeners, the operators' API and the explorer, on
//! a runtime of their own: however busy readers keep them, the consensus
//! loop's threads stay free. The node starts them through
//! [`node::run::Readers`]. A listener with `[api.tls]` or `[explorer.tls]`
//! serves HTTPS, and SIGHUP reads its certificate and key again
//! ([`crate::tls`]); SIGHUP never stops the node.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use node::config::Config;
use node::shared::Shared;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api;
use crate::http::ConnectionLimits;
use crate::tls::Tls;

/// How long the listeners get to finish once the node stops.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// The running listeners.
pub struct Listeners {
    servers: Vec<JoinHandle<()>>,
    // Dropped last: shutting it down ends whatever is still serving.
    runtime: HttpRuntime,
}

impl node::run::Readers for Listeners {
    fn start(
        shared: Arc<Shared>,
        config: &Config,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Listeners> {
        let http = HttpRuntime::start()?;
        let connections = ConnectionLimits::from(&config.limits);
        // Every file is checked before anything listens.
        let api_tls = load_tls("the API", config.api.tls.as_ref())?;
        let explorer_tls = match config.explorer.listen {
            Some(_) => load_tls("the explorer", config.explorer.tls.as_ref())?,
            None => None,
        };
        let reloadable = [("api", &api_tls), ("explorer", &explorer_tls)]
            .into_iter()
            .filter_map(|(name, tls)| Some((name, tls.clone()?)))
            .collect();
        let mut servers = vec![http.reload_on_hangup(reloadable, stop.clone())?];
        servers.push(http.serve(
            "api",
            config.api.listen,
            api::api_router_with(
                shared.clone(),
                api::ExportLinks::new(&config.exports, api_tls.is_some()),
            ),
            connections,
            api_tls,
            stop.clone(),
        )?);
        if let Some(addr) = config.explorer.listen {
            servers.push(http.serve(
                "explorer",
                addr,
                api::explorer_router_with(
                    shared,
                    config.into(),
                    api::ExportLinks::new(&config.exports, explorer_tls.is_some()),
                ),
                connections,
                explorer_tls,
                stop,
            )?);
        }
        Ok(Listeners {
            servers,
            runtime: http,
        })
    }

    async fn finish(mut self) {
        for s in std::mem::take(&mut self.servers) {
            let _ = tokio::time::timeout(FINISH_WAIT, s).await;
        }
        // What handlers left on blocking threads (a page being rendered, a
        // batch being admitted, an export being written) holds the store.
        // It gets as long again to end, on a thread that may block, so
        // that the store is closed before the process exits: a process
        // that exits under an open RocksDB database can abort, its
        // background threads outliving what they use.
        if let Some(runtime) = self.runtime.0.take() {
            let _ =
                tokio::task::spawn_blocking(move || runtime.shutdown_timeout(FINISH_WAIT)).await;
        }
    }
}

/// The TLS of `what` (the API, the explorer), if configured; a file that
/// cannot be served stops the node, naming it.
fn load_tls(
    what: &str,
    files: Option<&node::config::TlsSection>,
) -> anyhow::Result<Option<Arc<Tls>>> {
    let Some(files) = files else {
        return Ok(None);
    };
    let tls = Tls::load(files).with_context(|| format!("cannot serve {what} over TLS"))?;
    Ok(Some(Arc::new(tls)))
}

/// Reads each listener's TLS files again, as SIGHUP asks; a listener whose
/// files cannot be served keeps its certificate, with a warning naming the
/// file.
pub fn reload(tls: &[(&'static str, Arc<Tls>)]) {
    if tls.is_empty() {
        info!("SIGHUP: no listener serves TLS, nothing to reload");
    }
    for (name, tls) in tls {
        match tls.reload() {
            Ok(()) => info!(
                listener = *name,
                cert = %tls.files().cert.display(),
                "SIGHUP: TLS certificate reloaded"
            ),
            Err(e) => warn!(
                listener = *name,
                "SIGHUP: keeping the TLS certificate in use: {e}"
            ),
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

/// The runtime of the HTTP listeners: shut down with a bounded wait by
/// [`Listeners`]' `finish`, and without waiting when dropped otherwise,
/// which may happen inside the node's own runtime.
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
        tls: Option<Arc<Tls>>,
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
        let scheme = if tls.is_some() { "https" } else { "http" };
        info!(address = %addr, scheme, "{label} listening");
        Ok(runtime.spawn(crate::http::serve(
            name, listener, router, limits, tls, stop,
        )))
    }

    /// Calls [`reload`] on each SIGHUP until `stop`. The handler is in place
    /// when this returns, before anything listens: from then on SIGHUP no
    /// longer stops the process.
    fn reload_on_hangup(
        &self,
        tls: Vec<(&'static str, Arc<Tls>)>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<JoinHandle<()>> {
        let runtime = self.0.as_ref().expect("running until dropped");
        let mut hangup = {
            let _inside = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .context("cannot install the SIGHUP handler")?
        };
        Ok(runtime.spawn(async move {
            loop {
                tokio::select! {
                    got = hangup.recv() => if got.is_none() { return },
                    _ = stop.wait_for(|s| *s) => return,
                }
                reload(&tls);
            }
        }))
    }
}

impl Drop for HttpRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
