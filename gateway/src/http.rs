//! Serving an HTTP listener (the API or the explorer) to clients that may be
//! slow or hostile.
//!
//! - At most `[limits] http_connections` connections are open at once; more
//!   wait in the listen backlog until one closes.
//! - One client address holds at most `[limits] http_connections_per_client`
//!   of them; a connection beyond that is closed as soon as it is accepted.
//! - The node works on at most `[limits] http_requests_per_client` requests
//!   from one client address at once; its others wait their turn, so a
//!   client flooding requests over many connections does not keep others
//!   waiting behind all of them.
//! - A request's head must arrive within [`HEADER_READ_TIMEOUT`], counted
//!   from when the node starts waiting for it (so an idle keep-alive
//!   connection is closed after that long too), and may be at most
//!   [`READ_BUFFER_BYTES`] long.
//! - A response that the client stops reading is given up, and the
//!   connection closed, once no byte could be written for
//!   [`WRITE_STALL_TIMEOUT`].
//! - Over TLS ([`crate::tls`]), the handshake must end within
//!   [`crate::tls::HANDSHAKE_TIMEOUT`] of the connection's accept, while the
//!   connection already holds its slots; the bounds above then apply to the
//!   decrypted requests, and the stall guard to the encrypted bytes.
//!
//! `minhbach_http_connections{listener}` is the number of open connections,
//! `minhbach_http_refused_total{listener}` counts the connections closed for
//! the per-client bound, and `minhbach_http_timeouts_total{listener}` the
//! connections closed by any of the timeouts.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::response::IntoResponse as _;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Sleep;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::tls::Tls;

/// The longest a client may take to send a request's head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a response may wait for the client to read any of it.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(20);
/// The read buffer of a connection, which bounds a request's head.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// How long open connections get to finish when the node stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The connection bounds of a listener.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub total: usize,
    /// Most connections open at once from one client address.
    pub per_client: usize,
    /// Most requests worked on at once from one client address.
    pub requests_per_client: usize,
}

impl From<&node::config::LimitsSection> for ConnectionLimits {
    fn from(l: &node::config::LimitsSection) -> Self {
        ConnectionLimits {
            total: l.http_connections,
            per_client: l.http_connections_per_client,
            requests_per_client: l.http_requests_per_client,
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true, over TLS when
/// `tls` is given and plain HTTP otherwise; `name` labels the listener's
/// metrics. The peer address reaches handlers as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.total));
    let clients: Clients = Arc::default();
    let open = metrics::gauge!("minhbach_http_connections", "listener" => name);
    open.set(0.0);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = stopped(&mut stop) => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    warn!(listener = name, "cannot accept an HTTP connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let Some(client) = ClientSlot::take(&clients, addr.ip(), limits) else {
            metrics::counter!("minhbach_http_refused_total", "listener" => name).increment(1);
            debug!(listener = name, %addr, "too many connections from this client; closed");
            continue;
        };
        open.increment(1.0);
        let turns = client.turns.clone();
        let router = router.clone();
        let service = tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(addr));
            let turns = turns.clone();
            let router = router.clone();
            async move {
                let _turn = turns.acquire_owned().await;
                // Handlers read the store synchronously, so each request is
                // worked on in the blocking pool: a slow one never holds a
                // worker thread that accepting and other connections need.
                let runtime = tokio::runtime::Handle::current();
                let work = move || runtime.block_on(router.oneshot(request));
                match tokio::task::spawn_blocking(work).await {
                    Ok(answer) => answer,
                    Err(e) => {
                        warn!(listener = name, %addr, "an HTTP handler failed: {e}");
                        Ok(axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
                    }
                }
            }
        });
        let mut stop = stop.clone();
        let open = open.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let guarded = StallGuard::new(stream, WRITE_STALL_TIMEOUT);
            let result = match tls {
                None => Ok(Box::new(guarded) as Box<dyn Connection>),
                Some(tls) => handshake(&tls, guarded, &mut stop).await,
            };
            let result = match result {
                Ok(io) => {
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .max_buf_size(READ_BUFFER_BYTES);
                    let service = TowerToHyperService::new(service);
                    let conn = builder.serve_connection(TokioIo::new(io), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        r = conn.as_mut() => r,
                        _ = stopped(&mut stop) => {
                            conn.as_mut().graceful_shutdown();
                            tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut())
                                .await
                                .unwrap_or(Ok(()))
                        }
                    }
                    .map_err(Closed::Http)
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                if e.timed_out() {
                    metrics::counter!("minhbach_http_timeouts_total", "listener" => name)
                        .increment(1);
                }
                debug!(listener = name, %addr, "HTTP connection closed: {e}");
            }
            open.decrement(1.0);
            drop(client);
            drop(slot);
        });
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What hyper serves a connection over: the stall-guarded socket, or the
/// TLS stream over it.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// Completes the TLS handshake within the listener's handshake timeout.
async fn handshake(
    tls: &Tls,
    io: StallGuard,
    stop: &mut watch::Receiver<bool>,
) -> Result<Box<dyn Connection>, Closed> {
    tokio::select! {
        r = tokio::time::timeout(tls.handshake_timeout(), tls.acceptor().accept(io)) => match r {
            Ok(Ok(stream)) => Ok(Box::new(stream)),
            Ok(Err(e)) => Err(Closed::Handshake(e)),
            Err(_) => Err(Closed::HandshakeTimeout(tls.handshake_timeout())),
        },
        _ = stopped(stop) => Err(Closed::Stopped),
    }
}

/// Why a connection ended other than cleanly.
enum Closed {
    /// The TLS handshake failed: not TLS, no common cipher, a client that
    /// does not trust the certificate.
    Handshake(io::Error),
    /// The TLS handshake did not end in time.
    HandshakeTimeout(Duration),
    /// The node stopped during the handshake.
    Stopped,
    /// HTTP, or the connection under it, failed.
    Http(hyper::Error),
}

impl Closed {
    /// Whether one of the timeouts closed it.
    fn timed_out(&self) -> bool {
        match self {
            Closed::Handshake(e) => e.kind() == io::ErrorKind::TimedOut,
            Closed::HandshakeTimeout(_) => true,
            Closed::Stopped => false,
            Closed::Http(e) => e.is_timeout() || is_stall(e),
        }
    }
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Closed::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
            Closed::HandshakeTimeout(d) => {
                write!(f, "no TLS handshake within {} ms", d.as_millis())
            }
            Closed::Stopped => f.write_str("the node stopped during the TLS handshake"),
            Closed::Http(e) => e.fmt(f),
        }
    }
}

fn is_stall(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return io.kind() == io::ErrorKind::TimedOut;
        }
        source = s.source();
    }
    false
}

/// Each client address with open connections: how many, and its turns at
/// having a request worked on.
type Clients = Arc<Mutex<HashMap<IpAddr, (usize, Arc<Semaphore>)>>>;

/// One connection of a client address, given back when dropped.
struct ClientSlot {
    clients: Clients,
    ip: IpAddr,
    turns: Arc<Semaphore>,
}

impl ClientSlot {
    fn take(clients: &Clients, ip: IpAddr, limits: ConnectionLimits) -> Option<Self> {
        let mut map = clients.lock().expect("client slots lock");
        let (n, turns) = map
            .entry(ip)
            .or_insert_with(|| (0, Arc::new(Semaphore::new(limits.requests_per_client))));
        if *n >= limits.per_client {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: clients.clone(),
            ip,
            turns: turns.clone(),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.clients.lock().expect("client slots lock");
        if let Some((n, _)) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A connection whose writes fail with `TimedOut` once the client has read
/// nothing for a while: a response the client does not read is not held
/// for ever.
struct StallGuard {
    io: TcpStream,
    stall: Duration,
    /// Armed when a write could not proceed; disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(io: TcpStream, stall: Duration) -> Self {
        StallGuard {
            io,
            stall,
            stalled: None,
        }
    }

    /// Called when a write is pending: an error once it has been for too long.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let stall = self.stall;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {} s", stall.as_secs()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        p: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match p {
            Poll::Pending => self.pending(cx),
            Poll::Ready(Ok(0)) => Poll::Ready(Ok(0)),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let p = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progress(cx, p)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let p = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(cx, p)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A flush moves no byte: it neither arms nor disarms the timer.
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
