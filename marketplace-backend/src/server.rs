//! Wiring: the configuration, the chain client, the indexer task and the HTTP listener.

use crate::api::{self, AppState, ChainView, PublicConfig, Settings};
use crate::indexer::{Indexer, IndexerConfig};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use trustml_chain::audit::AuditDeployment;
use trustml_chain::market::MarketDeployment;
use trustml_chain::Client;

/// Everything `serve` needs.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// The database: a SQLite file (created if missing), sqlite://FILE, or postgres://USER@HOST/DB.
    #[arg(long, env = "TRUSTML_DB", default_value = "trustml.db")]
    pub db: String,
    /// JSON-RPC endpoint of the chain: http(s):// or ws(s)://.
    #[arg(long, env = "TRUSTML_RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub rpc_url: String,
    /// The RPC URL browsers should use (default: --rpc-url).
    #[arg(long, env = "TRUSTML_PUBLIC_RPC_URL")]
    pub public_rpc_url: Option<String>,
    /// The marketplace's deployment record (`trustml market deploy` writes it).
    #[arg(long, env = "TRUSTML_MARKET", default_value = "market.json")]
    pub market: PathBuf,
    /// The audit escrow's deployment record (`trustml audit deploy` writes it); audits are
    /// indexed when given.
    #[arg(long, env = "TRUSTML_AUDITS")]
    pub audits: Option<PathBuf>,
    /// Address to listen on (127.0.0.1 keeps it local).
    #[arg(long, env = "TRUSTML_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Blocks to wait before indexing one (0 on Anvil; e.g. 12 on Ethereum).
    #[arg(long, default_value_t = 0)]
    pub confirmations: u64,
    /// First block to index (the marketplace's deployment block).
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Most blocks per eth_getLogs call (halved when the RPC refuses a range).
    #[arg(long, default_value_t = 2_000)]
    pub max_batch: u64,
    /// Milliseconds between polls when the index is caught up.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
    /// The host:port users open the site at; Sign-In With Ethereum messages must name it
    /// (default: --listen).
    #[arg(long, env = "TRUSTML_DOMAIN")]
    pub domain: Option<String>,
    /// Compiled listing models (one subdirectory each, with keys) that signed-in sellers may
    /// prove listings for as server jobs; without it the server runs no jobs.
    #[arg(long, env = "TRUSTML_MODELS")]
    pub models: Option<PathBuf>,
    /// The built web app (`frontend/dist`) to serve at `/`.
    #[arg(long, env = "TRUSTML_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Local development: the web app offers Anvil's dev accounts (public keys, under a
    /// banner). Honoured on chain 31337 only.
    #[arg(long)]
    pub dev: bool,
    /// Largest artifact (metadata, proof) a signed-in user may upload, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_artifact_bytes: usize,
}

/// The deployment record at `path`.
pub fn load_market(path: &PathBuf) -> Result<MarketDeployment> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (deploy with `trustml market deploy`, or pass --market)",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a market record", path.display()))
}

/// Opens everything, starts the indexer and serves until the process ends.
pub async fn serve(args: ServeArgs) -> Result<()> {
    let market = load_market(&args.market)?;
    let pool = crate::db::connect(&args.db).await?;
    let client = Client::connect(&args.rpc_url)
        .await
        .with_context(|| format!("connecting to the chain at {}", args.rpc_url))?;
    if client.chain_id() != market.chain_id {
        bail!(
            "{} is chain {}, but {} records a marketplace on chain {}",
            args.rpc_url,
            client.chain_id(),
            args.market.display(),
            market.chain_id
        );
    }
    if client.code_size(market.marketplace).await? == 0 {
        bail!(
            "no contract at {} on {}: is this the chain {} was deployed to (a restarted Anvil forgets)?",
            market.marketplace,
            args.rpc_url,
            args.market.display()
        );
    }
    let escrow = match &args.audits {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| {
                format!("reading {} (`trustml audit deploy` writes it)", p.display())
            })?;
            let d: AuditDeployment = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an audit escrow record", p.display()))?;
            if d.chain_id != market.chain_id {
                bail!(
                    "{} is on chain {}, the marketplace on chain {}",
                    p.display(),
                    d.chain_id,
                    market.chain_id
                );
            }
            Some(d.escrow)
        }
        None => None,
    };
    let jobs = match &args.models {
        Some(dir) => Some(
            crate::jobs::Jobs::start(
                &crate::db::database_url(&args.db)?,
                pool.clone(),
                Some(dir.clone()),
                Some((market.chain_id, market.marketplace.into())),
            )
            .await?,
        ),
        None => None,
    };
    let view = ChainView {
        client: client.clone(),
        market: market.clone(),
    };
    let (indexer, status) = Indexer::new(
        client,
        pool.clone(),
        IndexerConfig {
            marketplace: market.marketplace,
            audit_escrow: escrow,
            confirmations: args.confirmations,
            from_block: args.from_block,
            max_batch: args.max_batch,
            poll: Duration::from_millis(args.poll_ms),
        },
    );
    let events = indexer.events();
    tokio::spawn(indexer.run());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let bound = listener.local_addr()?;
    let state = AppState {
        pool,
        config: PublicConfig {
            chain_id: market.chain_id,
            rpc_url: args.public_rpc_url.clone().unwrap_or(args.rpc_url.clone()),
            contracts: json!({
                "marketplace": format!("{:#x}", market.marketplace),
                "registry": format!("{:#x}", market.registry),
                "auditEscrow": escrow.map(|e| format!("{e:#x}")),
            }),
            circuits: json!({
                "listing": format!("{:#x}", market.listing_circuit_id),
                "delivery": format!("{:#x}", market.delivery_circuit_id),
            }),
            confirmations: args.confirmations,
            dev_accounts: args.dev && market.chain_id == 31337,
        },
        status,
        events,
        settings: Settings {
            siwe_domain: args.domain.clone().unwrap_or(bound.to_string()),
            max_artifact_bytes: args.max_artifact_bytes,
        },
        chain: Some(view),
        jobs,
    };

    let mut app = api::router(state);
    if let Some(dir) = &args.static_dir {
        if !dir.join("index.html").exists() {
            bail!("--static-dir {} has no index.html (build the web app: cd frontend && npm run build)", dir.display());
        }
        app = api::with_static(app, dir);
    }
    tracing::info!("serving http://{}/api/v1", listener.local_addr()?);
    println!(
        "trustml-server: http://{}/api/v1/config",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // Ctrl-C, or the SIGTERM `make down` sends.
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("a SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    Ok(())
}
