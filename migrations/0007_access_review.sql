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

-- Logins counted per hour and platform, and per day and client network (/24, /64; the chart's
-- key: a prefix of `ip_key`, '' without an address), kept by the insert of each new login: the
-- charts of a search that sets only a range of whole days read these, not the logins.
CREATE TABLE access_hourly (
    hour     TEXT    NOT NULL,                    -- 2026-11-22T10
    platform TEXT    NOT NULL,
    logins   INTEGER NOT NULL,
    PRIMARY KEY (hour, platform)
) WITHOUT ROWID;
CREATE TABLE access_daily_networks (
    day     TEXT    NOT NULL,                     -- 2026-11-22
    network TEXT    NOT NULL,
    logins  INTEGER NOT NULL,
    PRIMARY KEY (day, network)
) WITHOUT ROWID;
INSERT INTO access_hourly (hour, platform, logins)
    SELECT substr(login_time, 1, 13), platform, count(*) FROM access_events GROUP BY 1, 2;
INSERT INTO access_daily_networks (day, network, logins)
    SELECT substr(login_time, 1, 10),
           CASE WHEN ip_key = '' THEN '' WHEN substr(ip_key, 1, 24) = '00000000000000000000ffff'
                THEN substr(ip_key, 1, 30) ELSE substr(ip_key, 1, 16) END,
           count(*)
    FROM access_events GROUP BY 1, 2;

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
