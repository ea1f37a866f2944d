-- The fleet as an inventory: every WorkSpace as the last read of it said, kept current by one
-- background sync (full sweeps at a bounded call rate, targeted re-reads after writes and of
-- WorkSpaces in transition). Pages read only these tables.
CREATE TABLE inventory_workspaces (
    workspace_id   TEXT PRIMARY KEY,
    -- The WorkSpace as the portal shows it (JSON of `WorkspaceSummary`, without its last login).
    row            TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    directory_id   TEXT    NOT NULL,
    bundle_id      TEXT    NOT NULL,
    running_mode   TEXT    NOT NULL,
    -- What each sortable column sorts by (`SortColumn::key`), made once in Rust.
    user_key       TEXT    NOT NULL,
    directory_key  TEXT    NOT NULL,
    bundle_key     TEXT    NOT NULL,
    ip_key         TEXT    NOT NULL,
    computer_key   TEXT    NOT NULL,
    -- Its user (as AWS spells it), for naming the users of logins.
    user_name      TEXT    NOT NULL,
    -- When the call that read this row started (RFC 3339, ms): an older read never overwrites it.
    read_at        TEXT    NOT NULL,
    -- The last sweep that saw it; a complete sweep that did not marks it gone.
    seen_sweep     INTEGER NOT NULL DEFAULT 0,
    gone_at        TEXT,
    -- Tags and connection status, read when the WorkSpace is new or changed (NULL: not yet).
    tags_read_at   TEXT,
    connection     TEXT,
    connection_read_at TEXT,
    -- Its tags and connection status are to be read (it is new, or it changed).
    details_due    INTEGER NOT NULL DEFAULT 1
);
-- One index per filter and sort column, each ending in the ID (the tie-break), so a page is an
-- index walk. Gone WorkSpaces are few: a residual condition, and their own partial index.
CREATE INDEX inventory_state      ON inventory_workspaces (state, workspace_id);
CREATE INDEX inventory_directory  ON inventory_workspaces (directory_id, workspace_id);
CREATE INDEX inventory_bundle     ON inventory_workspaces (bundle_id, workspace_id);
CREATE INDEX inventory_mode       ON inventory_workspaces (running_mode, workspace_id);
CREATE INDEX inventory_user       ON inventory_workspaces (user_key, workspace_id);
CREATE INDEX inventory_dir_key    ON inventory_workspaces (directory_key, workspace_id);
CREATE INDEX inventory_bundle_key ON inventory_workspaces (bundle_key, workspace_id);
CREATE INDEX inventory_ip         ON inventory_workspaces (ip_key, workspace_id);
CREATE INDEX inventory_computer   ON inventory_workspaces (computer_key, workspace_id);
-- A state filter with any sort is an index walk too (the most used filter).
CREATE INDEX inventory_state_user     ON inventory_workspaces (state, user_key, workspace_id);
CREATE INDEX inventory_state_dir_key  ON inventory_workspaces (state, directory_key, workspace_id);
CREATE INDEX inventory_state_bundle   ON inventory_workspaces (state, bundle_key, workspace_id);
CREATE INDEX inventory_state_mode     ON inventory_workspaces (state, running_mode, workspace_id);
CREATE INDEX inventory_state_ip       ON inventory_workspaces (state, ip_key, workspace_id);
CREATE INDEX inventory_state_computer ON inventory_workspaces (state, computer_key, workspace_id);
CREATE INDEX inventory_gone       ON inventory_workspaces (gone_at, workspace_id) WHERE gone_at IS NOT NULL;
-- The WorkSpaces whose tags and connection status are due (the sync's queue).
CREATE INDEX inventory_details_due ON inventory_workspaces (workspace_id) WHERE details_due = 1 AND gone_at IS NULL;

CREATE TABLE inventory_tags (
    workspace_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
CREATE INDEX inventory_tags_key ON inventory_tags (key, value);

-- The sync's progress (one row): the sweep under way and where it stopped, and its health.
CREATE TABLE inventory_sync (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    -- Move whenever what the pages count changes (rows; tags and due details): counts are
    -- kept per version.
    version            INTEGER NOT NULL DEFAULT 0,
    tags_version       INTEGER NOT NULL DEFAULT 0,
    sweep              INTEGER NOT NULL DEFAULT 0,
    sweep_started_at   TEXT,
    next_token         TEXT,
    last_complete_at   TEXT,
    last_complete_ms   INTEGER,
    last_complete_calls INTEGER,
    sweep_calls        INTEGER NOT NULL DEFAULT 0,
    errors             INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    last_error_at      TEXT
);
INSERT INTO inventory_sync (id) VALUES (1);
