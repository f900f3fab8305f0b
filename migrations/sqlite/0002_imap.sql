-- IMAP ingest (issue #4), SQLite. Paired with migrations/postgres/0002_imap.sql.
-- High-water marks per (mailbox, UIDVALIDITY), advanced in the transaction that records a
-- message; attempt counters and the quarantine for poison messages; mailbox health; the
-- one-owner-per-mailbox lease. Timestamps are integer Unix milliseconds; raw bytes are base64
-- text (portable column types only).

CREATE TABLE imap_marks (
    mailbox         TEXT    NOT NULL,
    uidvalidity     INTEGER NOT NULL,
    last_uid        INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity)
);

-- The second and third dedupe keys (Message-ID, then content hash), per mailbox.
CREATE INDEX messages_message_id ON messages (mailbox, message_id);
CREATE INDEX messages_sha256 ON messages (mailbox, sha256);

CREATE TABLE ingest_attempts (
    mailbox         TEXT    NOT NULL,
    source_key      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (mailbox, source_key)
);

CREATE TABLE quarantine (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox         TEXT    NOT NULL,
    source_key      TEXT    NOT NULL,
    raw_base64      TEXT,
    error           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX quarantine_source ON quarantine (mailbox, source_key);

CREATE TABLE mailbox_health (
    mailbox         TEXT    PRIMARY KEY,
    last_contact_at INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER,
    backlog         INTEGER,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE mailbox_leases (
    mailbox         TEXT    PRIMARY KEY,
    owner           TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL
);
