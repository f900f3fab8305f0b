//! Test helpers shared by integration tests: a fresh database per test, SQLite or PostgreSQL.
//!
//! Owns the only SQL outside `src/store/` (creating and dropping scratch databases). It must
//! never pass silently when PostgreSQL is missing: a test that needs it fails and says how to
//! start one.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::time::Duration;

use rand::distributions::Alphanumeric;
use rand::Rng;
use sqlx::{Connection, Executor, PgConnection};

/// What a test prints when it needs PostgreSQL and has none.
const HOW_TO_START: &str = "PostgreSQL tests need TEST_DATABASE_URL pointing at a server where the user may \
     CREATE DATABASE (e.g. postgres://root@127.0.0.1:5432/test). Run the tests through ./scripts/test, which \
     sets it up, or start one yourself (initdb -A trust; pg_ctl start) and export TEST_DATABASE_URL";

/// A URL for a new SQLite file inside `dir` (the file is created on connect).
pub fn fresh_sqlite_url(dir: &Path) -> String {
    format!(
        "sqlite://{}",
        dir.join(format!("dragoman-{}.db", random_suffix()))
            .display()
    )
}

/// Creates `dragoman_t_<random>` on the server named by `TEST_DATABASE_URL` and returns its URL.
///
/// Panics, with how to start a server, when the variable is unset or the server unreachable.
/// Drop the database with [`drop_postgres`] at the end of the test (best effort).
pub async fn fresh_postgres_url() -> String {
    let admin = admin_url();
    let name = format!("dragoman_t_{}", random_suffix());
    let mut conn = admin_connection(&admin).await;
    // Identifiers cannot be bound; `name` is ours: lower-case letters, digits and underscores.
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}. {HOW_TO_START}"));
    let _ = conn.close().await;
    with_database(&admin, &name)
}

/// A fresh PostgreSQL database that is dropped when this value is, even when the test panics.
pub struct PostgresDb {
    pub url: String,
}

/// [`fresh_postgres_url`] with a guard: hold it for the length of the test.
pub async fn fresh_postgres() -> PostgresDb {
    PostgresDb {
        url: fresh_postgres_url().await,
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be the one unwinding: use a thread
        // with its own runtime, and wait for it so the database is gone when the test ends.
        let url = std::mem::take(&mut self.url);
        let dropper = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_postgres(&url));
            }
        });
        let _ = dropper.join();
    }
}

/// Drops a database made by [`fresh_postgres_url`], ignoring failures (the test has already
/// decided). Close the store's pool first or the drop is forced.
pub async fn drop_postgres(url: &str) {
    let Some(name) = database_name(url) else {
        return;
    };
    if !name.starts_with("dragoman_t_")
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return;
    }
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    if let Ok(Ok(mut conn)) =
        tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin)).await
    {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await;
        let _ = conn.close().await;
    }
}

fn admin_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("TEST_DATABASE_URL is not set. {HOW_TO_START}"),
    }
}

async fn admin_connection(admin: &str) -> PgConnection {
    match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(admin)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "cannot connect to TEST_DATABASE_URL ({}): {e}. {HOW_TO_START}",
            redact(admin)
        ),
        Err(_) => panic!(
            "timed out connecting to TEST_DATABASE_URL ({}). {HOW_TO_START}",
            redact(admin)
        ),
    }
}

/// `admin` with its database path replaced by `name`, query string kept.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

fn database_name(url: &str) -> Option<String> {
    let base = url.split('?').next()?;
    let scheme_end = base.find("://")? + 3;
    let slash = base[scheme_end..].find('/')? + scheme_end;
    Some(base[slash + 1..].to_string())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn random_suffix() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(|b| (b as char).to_ascii_lowercase())
        .collect()
}
