//! A Maildir inbox as a mail source: messages in `new/` are ingested one by one and moved to
//! `cur/` only after their decision is committed.
//!
//! Written by hand rather than with the `maildir` crate: we need the size before reading a
//! message (the cap), our own ordering and error isolation, and the move strictly after commit;
//! the format itself is a dozen lines (tmp/ → new/ → cur/ renames). Never deletes a message.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::config::Config;
use crate::offers::Offers;
use crate::store::IngestOutcome;

/// One Maildir inbox.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

/// What one pass over `new/` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Already recorded before (a crash between commit and move): only moved now.
    pub resumed: usize,
    /// Left in `new/` after an error, to be tried again.
    pub errors: usize,
}

impl StepReport {
    pub fn handled(&self) -> usize {
        self.created + self.duplicates + self.rejected + self.resumed
    }
}

impl Maildir {
    /// Opens (and creates if missing) `root/{new,cur,tmp}`.
    pub fn open(root: &Path) -> anyhow::Result<Maildir> {
        for sub in ["new", "cur", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| {
                anyhow::anyhow!(
                    "creating Maildir folder {}: {e} (check the path and permissions)",
                    dir.display()
                )
            })?;
        }
        Ok(Maildir {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Delivers a message the way an MDA does: write to `tmp/`, then rename into `new/`.
    pub fn deliver(&self, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let name = format!(
            "{}.M{}P{}R{:016x}.dragoman",
            Utc::now().timestamp(),
            Utc::now().timestamp_subsec_micros(),
            std::process::id(),
            rand::thread_rng().gen::<u64>()
        );
        let tmp = self.root.join("tmp").join(&name);
        let new = self.root.join("new").join(&name);
        std::fs::write(&tmp, bytes)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &new)
            .map_err(|e| anyhow::anyhow!("moving {} into new/: {e}", tmp.display()))?;
        Ok(new)
    }

    /// Unique names of the messages waiting in `new/`, oldest first.
    pub fn pending(&self) -> anyhow::Result<Vec<String>> {
        let dir = self.root.join("new");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| anyhow::anyhow!("listing {}: {e}", dir.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && entry.file_type()?.is_file() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Moves a handled message to `cur/` with the Seen flag.
    fn mark_done(&self, name: &str) -> anyhow::Result<()> {
        let unique = name.split(':').next().unwrap_or(name);
        let from = self.root.join("new").join(name);
        let to = self.root.join("cur").join(format!("{unique}:2,S"));
        std::fs::rename(&from, &to)
            .map_err(|e| anyhow::anyhow!("moving {} to cur/: {e}", from.display()))
    }

    /// One pass over `new/`: each message ingested and committed, then moved. A message that
    /// fails stays in `new/` and the others go on.
    pub async fn step(
        &self,
        mailbox: &str,
        offers: &Offers,
        config: &Config,
        now: DateTime<Utc>,
    ) -> anyhow::Result<StepReport> {
        let mut report = StepReport::default();
        for name in self.pending()? {
            let key = name.split(':').next().unwrap_or(&name).to_string();
            match self
                .ingest_one(mailbox, &name, &key, offers, config, now)
                .await
            {
                Ok(outcome) => {
                    match outcome {
                        IngestOutcome::Created(_) => report.created += 1,
                        IngestOutcome::DuplicateMeeting(_) => report.duplicates += 1,
                        IngestOutcome::Rejected => report.rejected += 1,
                        IngestOutcome::AlreadyRecorded => report.resumed += 1,
                    }
                    if let Err(e) = self.mark_done(&name) {
                        report.errors += 1;
                        tracing::error!(mailbox, source_key = %key, error = %format!("{e:#}"), "committed but could not move the message");
                    }
                }
                Err(e) => {
                    report.errors += 1;
                    tracing::error!(mailbox, source_key = %key, error = %format!("{e:#}"), "ingest failed; the message stays in new/ and is retried");
                }
            }
        }
        Ok(report)
    }

    async fn ingest_one(
        &self,
        mailbox: &str,
        name: &str,
        key: &str,
        offers: &Offers,
        config: &Config,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IngestOutcome> {
        if offers.store().message_recorded(mailbox, key).await? {
            return Ok(IngestOutcome::AlreadyRecorded);
        }
        let path = self.root.join("new").join(name);
        let size = std::fs::metadata(&path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?
            .len();
        if size > config.limits.max_message_bytes as u64 {
            // Only the header is read, to tell the sender; the body never is.
            let mut head = Vec::with_capacity(super::HEADER_LIMIT);
            std::fs::File::open(&path)
                .and_then(|f| {
                    use std::io::Read;
                    f.take(super::HEADER_LIMIT as u64).read_to_end(&mut head)
                })
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            return super::ingest_oversized(
                offers,
                config,
                mailbox,
                key,
                size,
                config.limits.max_message_bytes,
                Some(super::header_block(&head)),
                now,
            )
            .await;
        }
        let raw =
            std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        super::ingest_message(offers, config, mailbox, key, &raw, now).await
    }
}
