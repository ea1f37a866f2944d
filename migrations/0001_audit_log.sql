-- The audit log: one CloudTrail-shaped record per request made through the portal.
--
-- `record` holds the record's JSON exactly as it was hashed; the other columns are copies of
-- some of its fields, for filtering (`workspaces-portal audit verify` checks they agree).
-- Records are sealed into the hash chain (`chain_seq`, `prev_hash`, `hash`) once their outcome
-- is known; a write is stored unsealed, with outcome 'started', before it is sent to AWS.
CREATE TABLE audit_records (
    id           INTEGER PRIMARY KEY,           -- insertion order; breaks ties of event_time
    event_id     TEXT    NOT NULL UNIQUE,
    event_time   TEXT    NOT NULL,              -- UTC, 2026-11-22T10:00:00.123Z (sorts as text)
    event_source TEXT    NOT NULL,
    event_name   TEXT    NOT NULL,
    user_name    TEXT    NOT NULL,
    source_ip    TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL,
    read_only    INTEGER NOT NULL,              -- 0 or 1
    error_code   TEXT,
    error_message TEXT,
    failed_items INTEGER NOT NULL DEFAULT 0,    -- per-item failures of a batch
    outcome      TEXT    NOT NULL,              -- started | completed | unknown
    resources    TEXT    NOT NULL DEFAULT '',   -- space-separated resource IDs (for display)
    record       TEXT    NOT NULL,
    chain_seq    INTEGER UNIQUE,
    prev_hash    TEXT,
    hash         TEXT
);

-- Pages are newest first by (event_time, id); each filter has an index in that order, so a
-- filtered page (and a time range within it) is read straight off one index.
CREATE INDEX audit_records_time ON audit_records (event_time);
CREATE INDEX audit_records_event_name ON audit_records (event_name, event_time);
CREATE INDEX audit_records_user_name ON audit_records (user_name, event_time);
CREATE INDEX audit_records_source_ip ON audit_records (source_ip, event_time);
CREATE INDEX audit_records_writes ON audit_records (read_only, event_time);
CREATE INDEX audit_records_errors ON audit_records (event_time) WHERE error_code IS NOT NULL OR failed_items > 0;
CREATE INDEX audit_records_unsealed ON audit_records (id) WHERE chain_seq IS NULL;

-- The resources each request touched: a WorkSpace's history is one indexed lookup.
CREATE TABLE audit_resources (
    resource_id TEXT    NOT NULL,
    record_id   INTEGER NOT NULL REFERENCES audit_records (id) ON DELETE CASCADE,
    PRIMARY KEY (resource_id, record_id)
) WITHOUT ROWID;
CREATE INDEX audit_resources_record ON audit_resources (record_id);

-- Signed checkpoints: HMAC-SHA256 of "chain_seq:hash" under the configured audit key.
CREATE TABLE audit_checkpoints (
    chain_seq  INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    mac        TEXT NOT NULL
);

-- After retention pruning: where the kept chain starts and the hash it continues from.
CREATE TABLE audit_anchor (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    chain_seq INTEGER NOT NULL,
    prev_hash TEXT    NOT NULL,
    pruned_at TEXT    NOT NULL
);
