//! `dragoman demo`: the whole story on the embedded default (in progress).
use std::path::Path;

pub async fn run(_data_dir: &Path, _json: bool) -> anyhow::Result<bool> {
    anyhow::bail!("the demo is being written")
}
