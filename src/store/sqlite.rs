//! The SQLite implementation of `Store` (in progress).
pub struct SqliteStore;
impl SqliteStore {
    pub async fn connect(_url: &str) -> anyhow::Result<Self> {
        anyhow::bail!("the SQLite store is not written yet")
    }
}
