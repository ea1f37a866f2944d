-- Portal users and their sessions.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    -- Compared case-insensitively: 'Alice' and 'alice' are the same user.
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    -- argon2id, in the PHC string format.
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    enabled INTEGER NOT NULL DEFAULT 1,
    -- Bumped when the password is reset or the user is disabled: sessions signed in before
    -- carry the old value and stop working.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_sign_in_at TEXT
);

-- tower-sessions' SQLite store (the same table its own migration creates).
CREATE TABLE IF NOT EXISTS tower_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
CREATE INDEX tower_sessions_expiry ON tower_sessions (expiry_date);
