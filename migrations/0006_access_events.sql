-- WorkSpaces Access events (successful logins), received from EventBridge, and the tokens that
-- may deliver them.
--
-- An ingest token is stored as its SHA-256 only (the token is shown once, when it is made). A
-- name is unique among live tokens; a revoked one stays listed.
CREATE TABLE ingest_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    revoked_by   TEXT
);
CREATE UNIQUE INDEX ingest_tokens_live_name ON ingest_tokens (name) WHERE revoked_at IS NULL;

-- One row per event `id` (EventBridge delivers at least once: a duplicate adds nothing).
-- `login_time` is UTC with milliseconds (`2018-07-01T17:52:51.595Z`), so text order is time
-- order. `ip_key` is the client address as 32 hex digits (IPv4 mapped into IPv6), so that a
-- CIDR filter is one index range; empty when the client sent no address.
CREATE TABLE access_events (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT    NOT NULL UNIQUE,
    workspace_id TEXT    NOT NULL,
    directory_id TEXT    NOT NULL,
    client_ip    TEXT    NOT NULL,
    ip_key       TEXT    NOT NULL,
    platform     TEXT    NOT NULL,
    product      TEXT    NOT NULL,
    login_time   TEXT    NOT NULL,
    event_time   TEXT    NOT NULL,
    account      TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    user_name    TEXT,                                 -- the WorkSpace's user when it arrived
    received_at  TEXT    NOT NULL,
    token_name   TEXT    NOT NULL
);
CREATE INDEX access_events_login ON access_events (login_time, id);
CREATE INDEX access_events_workspace ON access_events (workspace_id, login_time);
CREATE INDEX access_events_user ON access_events (user_name, login_time);
CREATE INDEX access_events_ip ON access_events (ip_key, login_time);
CREATE INDEX access_events_unnamed ON access_events (workspace_id) WHERE user_name IS NULL;
