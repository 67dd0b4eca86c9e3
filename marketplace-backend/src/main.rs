//! `trustml-server`: see `--help`.

use clap::{Parser, Subcommand};
use trustml_server::server::{serve, ServeArgs};

/// The service behind the trustml dApp: indexes the marketplace (and, with --audits, the
/// audit escrow) into a database (SQLite file by default, Postgres by URL) and serves
/// /api/v1 (listings, orders, audits, indexer status, chain config; described at
/// /api/v1/openapi.json) as JSON. It never holds a key.
///
/// Quick start on a local Anvil: `trustml market deploy …` writes market.json; then
/// `trustml-server` (defaults: ./trustml.db, http://127.0.0.1:8545, 127.0.0.1:8080).
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Rebuild every projection (listings, orders, audits) from the stored chain events, then
    /// exit.
    Reindex {
        /// The database.
        #[arg(long, env = "TRUSTML_DB", default_value = "trustml.db")]
        db: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRUSTML_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Some(Cmd::Reindex { db }) => {
            let pool = trustml_server::db::connect(&db).await?;
            let n = trustml_server::indexer::reindex(&pool).await?;
            println!("replayed {n} events into the projections");
        }
        None => serve(cli.serve).await?,
    }
    Ok(())
}
