//! The two migration folders describe one schema: same file names, both apply, and the resulting
//! tables, columns (portable type, nullability, order) and named indexes match.
//!
//! Owns the check that SQLite and PostgreSQL never drift apart. It must never edit a migration
//! or accept a column type it does not know how to compare.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use sqlx::Connection;

/// (table, column, portable type, nullable), in column order.
type Columns = Vec<(String, String, String, bool)>;
/// (index name, table, unique).
type Indexes = BTreeSet<(String, String, bool)>;

fn migration_files(dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".sql"))
        .collect()
}

/// Maps a dialect's column type to the portable name both sides must agree on.
fn portable(dialect: &str, declared: &str) -> String {
    match (dialect, declared.to_ascii_lowercase().as_str()) {
        ("sqlite", "integer") | ("postgres", "bigint") => "integer".into(),
        ("sqlite", "text") | ("postgres", "text") => "text".into(),
        (d, t) => panic!("{d} column type {t:?} has no portable equivalent listed in this test: use INTEGER/BIGINT or TEXT, or extend `portable`"),
    }
}

#[test]
fn both_folders_hold_the_same_file_names() {
    let sqlite = migration_files("migrations/sqlite");
    let postgres = migration_files("migrations/postgres");
    assert!(!sqlite.is_empty(), "no SQLite migrations found");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must pair file for file"
    );
}

async fn sqlite_schema() -> (Columns, Indexes) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_sqlite_url(dir.path());
    let store = dragoman::store::connect(&url)
        .await
        .expect("connect to SQLite");
    store.migrate().await.expect("the SQLite migrations apply");
    drop(store);

    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open SQLite");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut columns = Columns::new();
    for table in &tables {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .expect("table info");
        for (name, declared, notnull, pk) in rows {
            columns.push((
                table.clone(),
                name,
                portable("sqlite", &declared),
                notnull == 0 && pk == 0,
            ));
        }
    }
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT name, tbl_name, sql FROM sqlite_master
         WHERE type = 'index' AND sql IS NOT NULL AND tbl_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    let indexes = indexes
        .into_iter()
        .map(|(name, table, sql)| {
            (
                name,
                table,
                sql.to_ascii_uppercase().starts_with("CREATE UNIQUE"),
            )
        })
        .collect();
    (columns, indexes)
}

async fn postgres_schema(url: &str) -> (Columns, Indexes) {
    let store = dragoman::store::connect(url)
        .await
        .expect("connect to PostgreSQL");
    store
        .migrate()
        .await
        .expect("the PostgreSQL migrations apply");
    drop(store);

    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("open PostgreSQL");
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .expect("columns");
    let columns = rows
        .into_iter()
        .map(|(table, column, declared, nullable)| {
            (
                table,
                column,
                portable("postgres", &declared),
                nullable == "YES",
            )
        })
        .collect();
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT indexname::text, tablename::text, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename NOT LIKE '\\_sqlx%' AND indexname NOT LIKE '%\\_pkey'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    let indexes = indexes
        .into_iter()
        .map(|(name, table, def)| {
            (
                name,
                table,
                def.to_ascii_uppercase().starts_with("CREATE UNIQUE"),
            )
        })
        .collect();
    let _ = conn.close().await;
    (columns, indexes)
}

#[tokio::test]
async fn both_sets_apply_and_describe_the_same_schema() {
    let db = common::fresh_postgres().await;
    let url = db.url.clone();
    let (sqlite_columns, sqlite_indexes) = sqlite_schema().await;
    let (pg_columns, pg_indexes) = postgres_schema(&url).await;

    // SQLite lists tables by name, PostgreSQL too: both are in (table, column position) order.
    assert!(!sqlite_columns.is_empty());
    for (s, p) in sqlite_columns.iter().zip(&pg_columns) {
        assert_eq!(
            s, p,
            "column differs between the SQLite and PostgreSQL schemas"
        );
    }
    assert_eq!(
        sqlite_columns.len(),
        pg_columns.len(),
        "one schema has columns the other lacks"
    );
    assert_eq!(
        sqlite_indexes, pg_indexes,
        "indexes (name, table, unique) differ"
    );
}
