//! A TCP fault proxy between the nodes of a test network, to partition real
//! node processes on 127.0.0.1.
//!
//! [`FaultNet::wire`] puts one proxy listener on every directed link i→j,
//! forwarding to node j's p2p port, and rewrites node i's config so that it
//! knows peer j only at that proxy (`/ip4/127.0.0.1/tcp/<proxy>/p2p/<j>`).
//! Nodes dial only their configured peer addresses, so every connection
//! between two nodes, whichever of them dialed, runs through a proxy the
//! test controls:
//! - [`FaultNet::cut`] either closes the pair's live connections and then
//!   refuses new ones (accepted and closed at once, as a peer that is down)
//!   or black-holes them (accepted and never answered, as a network that
//!   drops packets; they go through if the link heals while the dialer is
//!   still waiting); or it freezes the live connections, which stay open
//!   but carry nothing until the heal (a cable pulled out: no side learns
//!   that the other is gone);
//! - [`FaultNet::heal`] lets connections through again;
//! - [`FaultNet::set_delay`] delays every chunk of bytes on a pair's
//!   connections, in both directions.
//!
//! The proxy is plain threads and blocking sockets. Dropping the
//! [`FaultNet`] stops its listeners and closes every connection it holds.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cluster::Cluster;

/// How a cut link treats a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Accepted and closed at once: the dialer fails quickly.
    Refuse,
    /// Accepted and never answered: the dialer waits for its own timeout.
    BlackHole,
    /// Live connections stay open but carry nothing until the heal, and
    /// new ones are black-holed.
    Freeze,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Open,
    Cut(Cut),
}

/// One directed link's proxy.
struct Link {
    port: u16,
    shared: Arc<LinkShared>,
    accept: Option<JoinHandle<()>>,
}

struct LinkShared {
    target: SocketAddr,
    stop: AtomicBool,
    delay_us: AtomicU64,
    state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    mode: Option<Mode>,
    next_id: u64,
    /// Forwarded connections: both sockets, by connection id.
    live: HashMap<u64, [TcpStream; 2]>,
    /// Black-holed connections, waiting for a heal.
    held: Vec<TcpStream>,
    /// Connections accepted, ever.
    accepted: u64,
}

impl LinkState {
    fn mode(&self) -> Mode {
        self.mode.unwrap_or(Mode::Open)
    }
}

/// The proxies of a network of `n` nodes.
pub struct FaultNet {
    n: usize,
    /// Directed links, `from * n + to`; `None` on the diagonal.
    links: Vec<Option<Link>>,
}

impl FaultNet {
    /// Starts a proxy for every directed link between `targets.len()` nodes;
    /// the link i→j forwards to `targets[j]`.
    pub fn new(targets: &[SocketAddr]) -> FaultNet {
        let n = targets.len();
        let mut links = Vec::with_capacity(n * n);
        for from in 0..n {
            for (to, target) in targets.iter().enumerate() {
                links.push((from != to).then(|| Link::start(*target)));
            }
        }
        FaultNet { n, links }
    }

    /// Starts the proxies for `cluster`'s nodes (none started yet) and
    /// rewrites every node's peer list to the proxies of its links.
    pub fn wire(cluster: &Cluster) -> FaultNet {
        let nodes = &cluster.plan.nodes;
        let targets: Vec<SocketAddr> = nodes.iter().map(|n| tcp_addr(&n.p2p)).collect();
        let net = FaultNet::new(&targets);
        for from in 0..nodes.len() {
            let peers: Vec<String> = (0..nodes.len())
                .filter(|&to| to != from)
                .map(|to| {
                    format!(
                        "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                        net.link(from, to).port,
                        nodes[to].peer_id
                    )
                })
                .collect();
            cluster.configure(from, |c| c.p2p.peers = peers);
        }
        net
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn link(&self, from: usize, to: usize) -> &Link {
        self.links[from * self.n + to]
            .as_ref()
            .expect("no link from a node to itself")
    }

    /// The proxy address of the link `from`→`to`.
    pub fn addr(&self, from: usize, to: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.link(from, to).port))
    }

    /// Cuts nodes `a` and `b` apart, as `how` says, on their connections
    /// whichever of them dialed.
    pub fn cut(&self, a: usize, b: usize, how: Cut) {
        self.link(a, b).shared.set_mode(Mode::Cut(how));
        self.link(b, a).shared.set_mode(Mode::Cut(how));
    }

    /// Lets nodes `a` and `b` connect again; black-holed connections go
    /// through.
    pub fn heal(&self, a: usize, b: usize) {
        self.link(a, b).shared.set_mode(Mode::Open);
        self.link(b, a).shared.set_mode(Mode::Open);
    }

    /// Splits the network into `groups`: every pair within a group is
    /// healed, every pair across groups cut. A node in no group is cut from
    /// everyone.
    pub fn partition(&self, groups: &[&[usize]], how: Cut) {
        let group_of = |i: usize| groups.iter().position(|g| g.contains(&i));
        for a in 0..self.n {
            for b in a + 1..self.n {
                match (group_of(a), group_of(b)) {
                    (Some(x), Some(y)) if x == y => self.heal(a, b),
                    _ => self.cut(a, b, how),
                }
            }
        }
    }

    /// Cuts node `i` from every other node.
    pub fn isolate(&self, i: usize, how: Cut) {
        for j in (0..self.n).filter(|&j| j != i) {
            self.cut(i, j, how);
        }
    }

    /// Heals every pair.
    pub fn heal_all(&self) {
        for a in 0..self.n {
            for b in a + 1..self.n {
                self.heal(a, b);
            }
        }
    }

    /// Delays every chunk of bytes between `a` and `b`, both ways, by
    /// `delay` (zero for none).
    pub fn set_delay(&self, a: usize, b: usize, delay: Duration) {
        let us = delay.as_micros() as u64;
        self.link(a, b).shared.delay_us.store(us, Ordering::Relaxed);
        self.link(b, a).shared.delay_us.store(us, Ordering::Relaxed);
    }

    /// How many connections the link `from`→`to` is forwarding now.
    pub fn connections(&self, from: usize, to: usize) -> usize {
        self.link(from, to).shared.lock().live.len()
    }

    /// How many connections the link `from`→`to` has accepted, ever.
    pub fn accepted(&self, from: usize, to: usize) -> u64 {
        self.link(from, to).shared.lock().accepted
    }
}

impl Drop for FaultNet {
    fn drop(&mut self) {
        for link in self.links.iter_mut().flatten() {
            link.shared.stop.store(true, Ordering::SeqCst);
            link.shared.set_mode(Mode::Cut(Cut::Refuse));
            link.shared.lock().held.clear();
        }
        for link in self.links.iter_mut().flatten() {
            if let Some(t) = link.accept.take() {
                let _ = t.join();
            }
        }
    }
}

/// The TCP address of a `/ip4/<ip>/tcp/<port>` multiaddr.
fn tcp_addr(multiaddr: &str) -> SocketAddr {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    match parts.as_slice() {
        ["", "ip4", ip, "tcp", port, ..] => format!("{ip}:{port}")
            .parse()
            .unwrap_or_else(|e| panic!("{multiaddr}: {e}")),
        _ => panic!("not an /ip4/…/tcp/… address: {multiaddr}"),
    }
}

impl Link {
    fn start(target: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port for a proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(LinkShared {
            target,
            stop: AtomicBool::new(false),
            delay_us: AtomicU64::new(0),
            state: Mutex::new(LinkState::default()),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name(format!("proxy-{port}"))
            .spawn(move || accept_loop(listener, s))
            .expect("a proxy thread");
        Link {
            port,
            shared,
            accept: Some(accept),
        }
    }
}

impl LinkShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mode(self: &Arc<Self>, mode: Mode) {
        let held = {
            let mut state = self.lock();
            state.mode = Some(mode);
            if mode == Mode::Cut(Cut::Freeze) {
                return;
            }
            if mode != Mode::Open {
                for [a, b] in state.live.drain().map(|(_, s)| s) {
                    let _ = a.shutdown(Shutdown::Both);
                    let _ = b.shutdown(Shutdown::Both);
                }
                return;
            }
            std::mem::take(&mut state.held)
        };
        for client in held {
            let s = self.clone();
            let _ = std::thread::Builder::new()
                .name("proxy-heal".into())
                .spawn(move || forward(client, s));
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<LinkShared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let _ = client.set_nodelay(true);
                let mode = {
                    let mut state = shared.lock();
                    state.accepted += 1;
                    state.mode()
                };
                match mode {
                    Mode::Open => {
                        let s = shared.clone();
                        let _ = std::thread::Builder::new()
                            .name("proxy-conn".into())
                            .spawn(move || forward(client, s));
                    }
                    Mode::Cut(Cut::Refuse) => {
                        let _ = client.shutdown(Shutdown::Both);
                    }
                    Mode::Cut(Cut::BlackHole | Cut::Freeze) => shared.lock().held.push(client),
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Connects `client` to the link's target and copies bytes both ways until
/// either side closes or the link is cut.
fn forward(client: TcpStream, shared: Arc<LinkShared>) {
    let Ok(server) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = server.set_nodelay(true);
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let id = {
        let mut state = shared.lock();
        if state.mode() != Mode::Open || shared.stop.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            return;
        }
        state.next_id += 1;
        let id = state.next_id;
        state.live.insert(id, [c2, s2]);
        id
    };
    let (Ok(c3), Ok(s3)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let s = shared.clone();
    let up = std::thread::Builder::new()
        .name("proxy-up".into())
        .spawn(move || pump(c3, s3, s));
    pump(server, client, shared.clone());
    if let Ok(up) = up {
        let _ = up.join();
    }
    shared.lock().live.remove(&id);
}

/// Copies `from` to `to`, each chunk after the link's delay and not while
/// the link is frozen, until either fails; then closes both.
fn pump(mut from: TcpStream, to: TcpStream, shared: Arc<LinkShared>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let Ok(mut writer_to) = to.try_clone() else {
        return;
    };
    let link = shared.clone();
    let writer = std::thread::Builder::new()
        .name("proxy-write".into())
        .spawn(move || {
            for (due, bytes) in rx {
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                while link.lock().mode() == Mode::Cut(Cut::Freeze)
                    && !link.stop.load(Ordering::SeqCst)
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if writer_to.write_all(&bytes).is_err() {
                    break;
                }
            }
            let _ = writer_to.shutdown(Shutdown::Both);
        });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let delay = Duration::from_micros(shared.delay_us.load(Ordering::Relaxed));
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = from.shutdown(Shutdown::Both);
    if let Ok(writer) = writer {
        let _ = writer.join();
    }
}
