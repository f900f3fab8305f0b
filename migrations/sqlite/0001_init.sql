-- dragoman schema v1 (SQLite). Paired with migrations/postgres/0001_init.sql: same tables,
-- same columns, same constraints. Timestamps are INTEGER Unix milliseconds.

CREATE TABLE interpreters (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    timezone        TEXT    NOT NULL,
    presence_until  INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX interpreters_email ON interpreters (lower(email));

CREATE TABLE interpreter_pairs (
    interpreter_id  INTEGER NOT NULL REFERENCES interpreters (id) ON DELETE CASCADE,
    from_lang       TEXT    NOT NULL,
    to_lang         TEXT    NOT NULL,
    PRIMARY KEY (interpreter_id, from_lang, to_lang)
);
CREATE INDEX interpreter_pairs_pair ON interpreter_pairs (from_lang, to_lang);

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_key     TEXT    NOT NULL,
    meeting_id      TEXT,
    passcode        TEXT,
    join_url        TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    topic           TEXT,
    start_at        INTEGER,
    timezone        TEXT,
    from_lang       TEXT    NOT NULL,
    to_lang         TEXT    NOT NULL,
    requestor       TEXT    NOT NULL,
    route_address   TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    epoch           INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- The same meeting for the same pair is one request, however often it is sent.
CREATE UNIQUE INDEX requests_meeting ON requests (meeting_key, from_lang, to_lang);
CREATE INDEX requests_state ON requests (state);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox         TEXT    NOT NULL,
    source_key      TEXT    NOT NULL,
    message_id      TEXT,
    sha256          TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    reason          TEXT,
    request_id      INTEGER REFERENCES requests (id),
    received_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_source ON messages (mailbox, source_key);

CREATE TABLE offers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    interpreter_id  INTEGER NOT NULL REFERENCES interpreters (id),
    token_hash      TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    responded_at    INTEGER
);
CREATE UNIQUE INDEX offers_token ON offers (token_hash);
CREATE UNIQUE INDEX offers_once ON offers (request_id, interpreter_id);
-- At most one accepted offer per request: the last line of defence for exactly-once accept.
CREATE UNIQUE INDEX offers_one_accepted ON offers (request_id) WHERE state = 'accepted';

CREATE TABLE assignments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    offer_id        INTEGER NOT NULL REFERENCES offers (id),
    interpreter_id  INTEGER NOT NULL REFERENCES interpreters (id),
    customer_key    TEXT    NOT NULL,
    join_token_hash TEXT    NOT NULL,
    join_expires_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX assignments_request ON assignments (request_id);
CREATE UNIQUE INDEX assignments_customer_key ON assignments (customer_key);
CREATE UNIQUE INDEX assignments_join_token ON assignments (join_token_hash);

CREATE TABLE attendance (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id   INTEGER REFERENCES assignments (id),
    interpreter_id  INTEGER REFERENCES interpreters (id),
    meeting_id      TEXT    NOT NULL,
    meeting_uuid    TEXT    NOT NULL,
    participant_key TEXT    NOT NULL,
    user_name       TEXT,
    customer_key    TEXT,
    method          TEXT    NOT NULL,
    joined_at       INTEGER,
    left_at         INTEGER
);
CREATE INDEX attendance_participant ON attendance (meeting_uuid, participant_key);
CREATE INDEX attendance_assignment ON attendance (assignment_id);

-- Every participant event once, whatever Zoom retries.
CREATE TABLE webhook_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT    NOT NULL,
    received_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_events_dedupe ON webhook_events (dedupe_key);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    in_reply_to     TEXT,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE UNIQUE INDEX outbox_message_id ON outbox (message_id);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
