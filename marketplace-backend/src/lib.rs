//! `trustml-server`: the service behind the trustml dApp.
//!
//! * [`db`] — SQLite (default, one file) or Postgres through the same queries and migrations;
//! * [`indexer`] — the marketplace's logs into `chain_events`, and the projections (`listings`,
//!   `orders`) replayed from them, one database transaction per batch, reorgs rewound;
//! * [`api`] — `/api/v1`, JSON only, errors with a stable code; its OpenAPI document at
//!   `/api/v1/openapi.json` is derived from the [`schema`] types the handlers return.
//!
//! The server never signs: it reads the chain through `trustml_chain::Client`, the client
//! the CLI uses.

pub mod api;
pub mod artifacts;
pub mod auth;
pub mod db;
pub mod indexer;
pub mod jobs;
pub mod schema;
pub mod server;
