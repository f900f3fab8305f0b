-- Zoom OAuth (issue #7): connected Zoom users (requestors for OBF and reports, interpreters
-- for ZAK), the single-use `state` of each authorization in flight, and which meeting
-- instances were reconciled from Zoom's participant report.

-- One authorization in flight: only the SHA-256 of the random state is stored; the row is
-- deleted when the callback takes it (single use) or after it expires.
CREATE TABLE zoom_oauth_states (
    state_hash      TEXT    NOT NULL PRIMARY KEY,
    person_kind     TEXT    NOT NULL,
    person_ref      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX zoom_oauth_states_expiry ON zoom_oauth_states (expires_at);

-- A person's connected Zoom user. Tokens are sealed (AES-256-GCM, bound to the person), never
-- plain. `version` grows with every rotation: a refresh writes only over the version it read.
CREATE TABLE zoom_connections (
    person_kind     TEXT    NOT NULL,
    person_ref      TEXT    NOT NULL,
    zoom_user_id    TEXT    NOT NULL,
    access_token    TEXT    NOT NULL,
    refresh_token   TEXT    NOT NULL,
    expires_at      BIGINT  NOT NULL,
    scope           TEXT    NOT NULL,
    version         BIGINT  NOT NULL,
    connected_at    BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (person_kind, person_ref)
);
CREATE INDEX zoom_connections_user ON zoom_connections (zoom_user_id);

-- A meeting instance whose participant report was merged into attendance.
CREATE TABLE zoom_reconciliations (
    meeting_uuid    TEXT    NOT NULL PRIMARY KEY,
    meeting_id      TEXT    NOT NULL,
    reconciled_at   BIGINT  NOT NULL,
    segments        BIGINT  NOT NULL
);
