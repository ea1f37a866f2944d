-- Reviewing the logins: each WorkSpace's last login (for the fleet's column and its "no login for
-- N days" filter), the networks logins are allowed from, and the alerts raised by logins from
-- elsewhere.

-- Kept by the insert of each new login (the later of the two times wins), so that the fleet's
-- column is one read of one row per WorkSpace however many logins are stored.
CREATE TABLE workspace_last_login (
    workspace_id TEXT PRIMARY KEY,
    login_time   TEXT NOT NULL,
    client_ip    TEXT NOT NULL
);
INSERT INTO workspace_last_login (workspace_id, login_time, client_ip)
    SELECT workspace_id, MAX(login_time), client_ip FROM access_events GROUP BY workspace_id;

-- A named network logins are allowed from: for every directory (`directory_id` empty) or one.
-- `first_key`/`last_key` are the network's first and last address as `access_events.ip_key`.
CREATE TABLE allowed_networks (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    cidr         TEXT NOT NULL,
    directory_id TEXT NOT NULL DEFAULT '',
    first_key    TEXT NOT NULL,
    last_key     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    UNIQUE (cidr, directory_id)
);

-- One alert per login and kind: `outside` (from no allowed network) or `new-network` (from a /24
-- or /64 its WorkSpace has not used in the 30 days before). Acknowledging one keeps it, with who
-- and when.
CREATE TABLE access_alerts (
    id              INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    workspace_id    TEXT NOT NULL,
    directory_id    TEXT NOT NULL,
    client_ip       TEXT NOT NULL,
    network         TEXT NOT NULL,
    login_time      TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    webhook_error   TEXT,                        -- why `--alert-webhook` could not be posted to
    UNIQUE (event_id, kind)
);
CREATE INDEX access_alerts_open ON access_alerts (login_time) WHERE acknowledged_at IS NULL;
CREATE INDEX access_alerts_time ON access_alerts (login_time, id);
