//! Starting a node from its home: config, logs, keys, store, metrics, the
//! swarm, the readers' listeners and the event loop, and stopping it all on
//! SIGINT or SIGTERM.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ledger::crypto::read_key_file;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::sync::{mpsc, watch};
use tracing::info;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};
use crate::driver::{Driver, DriverParts};
use crate::home::Home;
use crate::mempool::MempoolLimits;
use crate::net;
use crate::shared::{Shared, SharedParts};

/// Transactions queued for gossip before admission stops queueing them.
const GOSSIP_QUEUE: usize = 20_000;

/// What serves readers beside the consensus loop: the HTTP listeners of
/// the `gateway` crate in the shipped binary. The node starts them once its
/// shared state exists and stops them after the loop has stopped; it knows
/// nothing else of them, so the loop never depends on the read side.
pub trait Readers: Sized {
    /// Starts serving `shared` as `config` says, until `stop` turns true.
    fn start(
        shared: Arc<Shared>,
        config: &Config,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Self>;

    /// Waits, for a bounded time, until serving has ended after `stop`.
    fn finish(self) -> impl std::future::Future<Output = ()> + Send;
}

/// How a node starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct StartOptions {
    /// With an empty store, start from a snapshot the peers serve instead
    /// of from genesis ([`crate::statesync`]).
    pub state_sync: bool,
}

/// Runs the node at `home`, with `R` serving its readers, until SIGINT or
/// SIGTERM.
pub fn start<R: Readers>(home: &Path, options: StartOptions) -> anyhow::Result<()> {
    let home = Home::new(home);
    let config_path = home.config_path();
    let mut config = Config::load(&config_path).with_context(|| {
        format!(
            "cannot read the node's config; `minhbach testnet` writes one ({})",
            config_path.display()
        )
    })?;
    // TLS files named by a relative path are in the home.
    for tls in [&mut config.api.tls, &mut config.explorer.tls]
        .into_iter()
        .flatten()
    {
        *tls = tls.under(home.root());
    }
    init_logs(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run::<R>(home, config, options))
}

fn init_logs(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,node={0},gateway={0},cli={0}",
            config.log.level
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The forms of a configured peer address, for error messages.
const PEER_FORMS: &str = "/ip4/ADDRESS, /ip6/ADDRESS, /dns4/NAME or /dns6/NAME, \
                          then /tcp/PORT/p2p/PEER_ID";

/// A configured peer: its id from the `/p2p/` suffix, and the address,
/// which is exactly `/ip4/ADDRESS`, `/ip6/ADDRESS`, `/dns4/NAME` or
/// `/dns6/NAME`, then `/tcp/PORT/p2p/PEER_ID`. A name is resolved each
/// time the peer is dialled, never here. Other multiaddrs (`/dns/`,
/// `/dnsaddr/`, `/memory/`, QUIC, relays, no `/p2p/`) are refused, naming
/// the address.
pub fn parse_peer(s: &str) -> anyhow::Result<(PeerId, Multiaddr)> {
    let addr: Multiaddr = s
        .parse()
        .with_context(|| format!("peer {s:?} is not a multiaddr ({PEER_FORMS})"))?;
    let parts: Vec<Protocol> = addr.iter().collect();
    match parts.as_slice() {
        [Protocol::Ip4(_) | Protocol::Ip6(_) | Protocol::Dns4(_) | Protocol::Dns6(_), Protocol::Tcp(port), Protocol::P2p(id)] =>
        {
            if *port == 0 {
                anyhow::bail!("peer {s:?} has TCP port 0, which cannot be dialled");
            }
            Ok((*id, addr))
        }
        [Protocol::Dns(_), ..] => anyhow::bail!(
            "peer {s:?}: write /dns4/NAME or /dns6/NAME rather than /dns/NAME \
             (expected {PEER_FORMS})"
        ),
        [.., Protocol::P2p(_)] => {
            anyhow::bail!("peer {s:?} is not a supported address (expected {PEER_FORMS})")
        }
        _ => anyhow::bail!("peer {s:?} does not end in /p2p/PEER_ID (expected {PEER_FORMS})"),
    }
}

async fn run<R: Readers>(home: Home, config: Config, options: StartOptions) -> anyhow::Result<()> {
    let node_key = read_key_file(&home.node_key_path()).context("node key")?;
    let validator_key =
        if home.validator_key_path().exists() {
            Some(read_key_file(&home.validator_key_path()).with_context(|| {
                format!("validator key {}", home.validator_key_path().display())
            })?)
        } else {
            None
        };
    let genesis = home.genesis_pinned(config.node.genesis_hash)?;
    let dial = config
        .p2p
        .peers
        .iter()
        .map(|p| parse_peer(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let listen: Multiaddr = config
        .p2p
        .listen
        .parse()
        .with_context(|| format!("p2p.listen {:?} is not a multiaddr", config.p2p.listen))?;

    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    metrics::gauge!("minhbach_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let keypair = net::keypair(node_key.seed());
    let node_id = keypair.public().to_peer_id();
    let (mut swarm, topics) = net::build_swarm(keypair)?;
    swarm
        .listen_on(listen.clone())
        .with_context(|| format!("cannot listen on {listen}"))?;
    if options.state_sync {
        crate::statesync::run(&mut swarm, &dial, &home, &genesis).await?;
    }
    let (store, state, store_error) = home.open_store_for_node(&genesis)?;

    let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_QUEUE);
    let limits = MempoolLimits {
        txs_max: config.limits.mempool_txs,
        bytes_max: config.limits.mempool_bytes,
        ..MempoolLimits::default()
    };
    info!(
        name = %config.node.name,
        %node_id,
        height = state.height().0,
        validator = validator_key.as_ref().map(|k| k.public_key().to_hex()),
        "starting"
    );
    let shared = Arc::new(Shared::new(SharedParts {
        name: config.node.name.clone(),
        node_id: node_id.to_string(),
        genesis,
        store,
        state,
        mempool: limits,
        gossip: gossip_tx,
        metrics,
    }));
    shared.live.write().expect("live lock").store_error = store_error;

    let (stop_tx, stop_rx) = watch::channel(false);
    let readers = R::start(shared.clone(), &config, stop_rx)?;

    let driver = Driver::new(DriverParts {
        shared: shared.clone(),
        config,
        swarm,
        topics,
        key: validator_key,
        gossip_rx,
        dial,
    })?;
    let halted = driver.run(shutdown_signal()).await;
    let _ = stop_tx.send(true);
    readers.finish().await;
    info!("stopped");
    match halted {
        Some(why) => Err(why.into()),
        None => Ok(()),
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        crate::net::keypair([7; 32]).public().to_peer_id()
    }

    #[test]
    fn peers_by_ip_address_or_dns_name_are_accepted() {
        let id = peer();
        for addr in [
            format!("/ip4/10.0.0.7/tcp/26656/p2p/{id}"),
            format!("/ip6/::1/tcp/26656/p2p/{id}"),
            format!("/dns4/validator-1.bo-tai-chinh.example/tcp/26656/p2p/{id}"),
            format!("/dns6/validator-1.example/tcp/1/p2p/{id}"),
            format!("/dns4/localhost/tcp/65535/p2p/{id}"),
        ] {
            let (got, parsed) = parse_peer(&addr).unwrap_or_else(|e| panic!("{addr}: {e:#}"));
            assert_eq!(got, id, "{addr}");
            // The name is kept as written, to be resolved at every dial.
            assert_eq!(parsed.to_string(), addr);
        }
    }

    #[test]
    fn other_peer_addresses_are_refused_naming_the_address() {
        let id = peer();
        for (addr, why) in [
            (
                format!("/dnsaddr/bootstrap.example/p2p/{id}"),
                "not a supported address",
            ),
            (
                format!("/dnsaddr/bootstrap.example/tcp/1/p2p/{id}"),
                "not a supported address",
            ),
            (
                format!("/dns/validator-1.example/tcp/1/p2p/{id}"),
                "rather than /dns/NAME",
            ),
            (format!("/memory/1234/p2p/{id}"), "not a supported address"),
            (
                format!("/ip4/10.0.0.7/udp/1/quic-v1/p2p/{id}"),
                "not a supported address",
            ),
            (format!("/ip4/10.0.0.7/p2p/{id}"), "not a supported address"),
            (format!("/p2p/{id}"), "not a supported address"),
            (
                format!("/ip4/10.0.0.7/tcp/1/p2p/{id}/p2p-circuit/p2p/{id}"),
                "not a supported address",
            ),
            (
                format!("/ip4/10.0.0.7/tcp/1/ws/p2p/{id}"),
                "not a supported address",
            ),
            (format!("/ip4/10.0.0.7/tcp/0/p2p/{id}"), "port 0"),
            ("/ip4/10.0.0.7/tcp/26656".into(), "does not end in /p2p/"),
            (
                "/dns4/validator-1.example/tcp/26656".into(),
                "does not end in /p2p/",
            ),
            (
                format!("/dns4/validator-1.example/p2p/{id}/tcp/1"),
                "does not end in /p2p/",
            ),
            ("/memory/1234".into(), "does not end in /p2p/"),
            ("".into(), "does not end in /p2p/"),
            (
                format!("validator-1.example:26656/p2p/{id}"),
                "not a multiaddr",
            ),
            (
                "/ip4/10.0.0.7/tcp/1/p2p/not-a-peer-id".into(),
                "not a multiaddr",
            ),
        ] {
            let e = parse_peer(&addr).expect_err(&addr);
            let text = format!("{e:#}");
            assert!(text.contains(&format!("{addr:?}")), "{addr}: {text}");
            assert!(text.contains(why), "{addr}: {text}");
        }
    }
}
