//! The PostgreSQL implementation of `Store` (in progress).
pub struct PostgresStore;
impl PostgresStore {
    pub async fn connect(_url: &str) -> anyhow::Result<Self> {
        anyhow::bail!("the PostgreSQL store is not written yet")
    }
}
