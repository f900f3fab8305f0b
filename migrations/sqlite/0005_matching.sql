-- Matching (issue #5). Paired with migrations/postgres/0005_matching.sql.
-- The roster's hard-rule facts, the request's matching facts, every decision for `request
-- explain`, and timers as rows so waves, deadlines and closes survive restarts.

-- Minute caps (NULL: none), weekly availability ("mon-fri 09:00-17:00; sat 10:00-14:00" in the
-- interpreter's zone; NULL: available whenever they accept), and the pause after N unanswered
-- offers in a row (`unanswered` counts them; any answer resets it; going online un-pauses).
ALTER TABLE interpreters ADD COLUMN max_day_minutes INTEGER;
ALTER TABLE interpreters ADD COLUMN max_week_minutes INTEGER;
ALTER TABLE interpreters ADD COLUMN availability TEXT;
ALTER TABLE interpreters ADD COLUMN paused_at INTEGER;
ALTER TABLE interpreters ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
-- `interpreter remove` of someone with history: kept for the record, never matched again.
ALTER TABLE interpreters ADD COLUMN removed_at INTEGER;

-- A skill or certification; one past `expires_at` does not count.
CREATE TABLE interpreter_skills (
    interpreter_id  INTEGER NOT NULL REFERENCES interpreters (id) ON DELETE CASCADE,
    skill           TEXT    NOT NULL,
    expires_at      INTEGER,
    PRIMARY KEY (interpreter_id, skill)
);

-- Skills the route requires (comma-separated, sorted), the meeting's length, the seed of the
-- ranking's tie-break, and when the requestor was told nobody had accepted.
ALTER TABLE requests ADD COLUMN skills TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN duration_minutes INTEGER NOT NULL DEFAULT 60;
ALTER TABLE requests ADD COLUMN match_seed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN unfilled_notified_at INTEGER;

-- The wave an offer went out in.
ALTER TABLE offers ADD COLUMN wave INTEGER NOT NULL DEFAULT 1;
-- When a later wave went out while this offer was still pending (counted as unanswered once).
ALTER TABLE offers ADD COLUMN lapsed_at INTEGER;

-- The latest decision about one interpreter for one request: the rule that excluded them, or
-- their score components (JSON) and rank; the wave they were offered in, if any.
CREATE TABLE match_decisions (
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    interpreter_id  INTEGER NOT NULL REFERENCES interpreters (id) ON DELETE CASCADE,
    excluded_by     TEXT,
    score           TEXT,
    rank            INTEGER,
    wave            INTEGER,
    decided_at      INTEGER NOT NULL,
    PRIMARY KEY (request_id, interpreter_id)
);

-- One pending timer per (request, kind): `wave` (send the next wave), `deadline` (tell the
-- requestor nobody accepted), `close` (give up at start + grace). `epoch` fences a timer
-- scheduled before an accept. Claimed with a lease; `done_at` set in the transaction that acted.
CREATE TABLE timers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    kind            TEXT    NOT NULL,
    due_at          INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    lease_until     INTEGER,
    done_at         INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX timers_request_kind ON timers (request_id, kind);
CREATE INDEX timers_due ON timers (done_at, due_at);

-- Calendar identity (UID, SEQUENCE) of the invitation that made the request: a later
-- METHOD:REQUEST with a higher SEQUENCE moves it, a METHOD:CANCEL cancels it.
ALTER TABLE requests ADD COLUMN cal_uid TEXT;
ALTER TABLE requests ADD COLUMN cal_sequence INTEGER;
CREATE INDEX requests_cal_uid ON requests (cal_uid);

-- Re-dispatch after a no-show: the wave the current round of offers starts at (offers of
-- earlier rounds do not stop a new offer to the same interpreter).
ALTER TABLE requests ADD COLUMN round_wave INTEGER NOT NULL DEFAULT 1;
DROP INDEX offers_once;
CREATE INDEX offers_request_interpreter ON offers (request_id, interpreter_id);

-- An assignment released because its interpreter did not join by start + grace: kept for the
-- record; at most one unreleased assignment per request.
ALTER TABLE assignments ADD COLUMN released_at INTEGER;
ALTER TABLE assignments ADD COLUMN release_reason TEXT;
DROP INDEX assignments_request;
CREATE UNIQUE INDEX assignments_request ON assignments (request_id) WHERE released_at IS NULL;

-- The matching pool reads each candidate's offers and assignments.
CREATE INDEX offers_interpreter ON offers (interpreter_id, state);
CREATE INDEX assignments_interpreter ON assignments (interpreter_id);
