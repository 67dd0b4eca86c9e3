//! The database: SQLite by default (one file, WAL, foreign keys), Postgres for a
//! `postgres://` URL — the same queries through sqlx's `Any` driver (`$1`-style parameters,
//! which both accept), and the same migrations (`migrations/`, portable SQL).

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;
use std::time::Duration;

/// Errors opening or migrating the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no supported database.
    #[error(
        "database URL {0:?}: use sqlite://FILE (created if missing) or postgres://USER@HOST/DB"
    )]
    Url(String),
    /// Connecting failed.
    #[error("cannot open the database {url}")]
    Connect {
        /// The URL (without its password).
        url: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migrating the database")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Whether `url` is a SQLite URL.
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// A file path or URL as a database URL: a bare path becomes `sqlite://PATH?mode=rwc`
/// (created if missing).
pub fn database_url(s: &str) -> Result<String, DbError> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return Ok(s.to_string());
    }
    if let Some(rest) = s
        .strip_prefix("sqlite://")
        .or_else(|| s.strip_prefix("sqlite:"))
    {
        return Ok(if rest.contains('?') {
            format!("sqlite://{rest}")
        } else {
            format!("sqlite://{rest}?mode=rwc")
        });
    }
    if s.contains("://") {
        return Err(DbError::Url(s.to_string()));
    }
    Ok(format!("sqlite://{s}?mode=rwc"))
}

fn redacted(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(a), Some(b)) if b > a => format!("{}://…{}", &url[..a], &url[b..]),
        _ => url.to_string(),
    }
}

/// Opens (creating a SQLite file if needed) and migrates the database.
pub async fn connect(s: &str) -> Result<AnyPool, DbError> {
    install_default_drivers();
    let url = database_url(s)?;
    let sqlite = is_sqlite(&url);
    let pool = AnyPoolOptions::new()
        .max_connections(if sqlite { 4 } else { 16 })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if sqlite {
                    // sqlx's SQLite defaults are WAL and foreign keys on; say so anyway (a
                    // reader never blocks the indexer's writes), and wait out a busy writer.
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA busy_timeout = 5000",
                        "PRAGMA synchronous = NORMAL",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|source| DbError::Connect {
            url: redacted(&url),
            source,
        })?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(database_url("x.db").unwrap(), "sqlite://x.db?mode=rwc");
        assert_eq!(
            database_url("sqlite://a/b.db").unwrap(),
            "sqlite://a/b.db?mode=rwc"
        );
        assert_eq!(
            database_url("sqlite::memory:").unwrap(),
            "sqlite://:memory:?mode=rwc"
        );
        assert_eq!(
            database_url("postgres://u:p@h/db").unwrap(),
            "postgres://u:p@h/db"
        );
        assert!(database_url("mysql://h/db").is_err());
        assert_eq!(redacted("postgres://u:secret@h/db"), "postgres://…@h/db");
    }
}
