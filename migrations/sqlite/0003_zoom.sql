-- Zoom (issue #7): webhook events stored raw before they are processed, the meeting instances
-- Zoom reports started and ended, and the join mode each assignment was given.

-- A verified webhook event, written before Zoom gets its 200 and processed after. One row per
-- event whatever Zoom's retries: `dedupe_key` is unique. `processed_at` is set once, in the
-- transaction that applied the event (or gave up on it, with `last_error`).
CREATE TABLE zoom_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    processed_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE UNIQUE INDEX zoom_events_dedupe ON zoom_events (dedupe_key);
CREATE INDEX zoom_events_pending ON zoom_events (processed_at, id);

-- One meeting instance (Zoom's meeting uuid), from `meeting.started` / `meeting.ended`.
CREATE TABLE zoom_meetings (
    meeting_uuid    TEXT    NOT NULL PRIMARY KEY,
    meeting_id      TEXT    NOT NULL,
    started_at      INTEGER,
    ended_at        INTEGER
);
CREATE INDEX zoom_meetings_meeting_id ON zoom_meetings (meeting_id);

-- How the interpreter was sent into the meeting (`same_account`, `obf`, `zak`, `link`), and why
-- when it is not the configured mode (a fallback).
ALTER TABLE assignments ADD COLUMN join_mode TEXT;
ALTER TABLE assignments ADD COLUMN join_mode_note TEXT;
