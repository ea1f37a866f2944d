-- Two-person approval of destructive actions.
--
-- A request freezes what will be sent (`frozen`: the action, the WorkSpaces and a snapshot of
-- each) with its SHA-256 (`frozen_hash`); reviewers approve that hash. Execution is claimed by
-- one conditional update (pending -> executing, the valid approvals counted in the same
-- statement), so it happens once however many approvals arrive at once.
CREATE TABLE approval_requests (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,          -- apr-…, in URLs and the audit log
    action           TEXT    NOT NULL,                 -- TerminateWorkspaces, RebuildWorkspaces, …
    state            TEXT    NOT NULL,                 -- pending | executing | executed | rejected | cancelled | expired | refused | unknown
    requester_id     INTEGER NOT NULL,
    requester_name   TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    frozen           TEXT    NOT NULL,
    frozen_hash      TEXT    NOT NULL,
    approvals_needed INTEGER NOT NULL,
    workspace_count  INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL,
    decided_at       TEXT,
    executed_at      TEXT,
    outcome          TEXT,                             -- JSON: each WorkSpace's outcome
    break_glass      INTEGER NOT NULL DEFAULT 0,
    post_review      TEXT,                             -- break-glass: open | acknowledged | flagged
    post_reviewer    TEXT,
    post_comment     TEXT,
    post_reviewed_at TEXT,
    webhook_error    TEXT
);
CREATE INDEX approval_requests_state ON approval_requests (state, id);
CREATE INDEX approval_requests_requester ON approval_requests (requester_name, id);
CREATE INDEX approval_requests_action ON approval_requests (action, id);
CREATE INDEX approval_requests_created ON approval_requests (created_at, id);
CREATE INDEX approval_requests_post_review ON approval_requests (post_review, created_at) WHERE post_review IS NOT NULL;

-- The WorkSpaces a request covers, with their user when it was made (a WorkSpace's requests are
-- one lookup; nobody reviews a request on their own WorkSpace).
CREATE TABLE approval_targets (
    request_id   INTEGER NOT NULL REFERENCES approval_requests (id),
    workspace_id TEXT    NOT NULL,
    user_key     TEXT    NOT NULL,                     -- the WorkSpace's UserName, lower case
    PRIMARY KEY (workspace_id, request_id)
) WITHOUT ROWID;
CREATE INDEX approval_targets_request ON approval_targets (request_id, user_key);

-- One pending request per WorkSpace and action: a row per target while the request is pending;
-- the primary key refuses a second.
CREATE TABLE approval_pending_targets (
    action       TEXT    NOT NULL,
    workspace_id TEXT    NOT NULL,
    request_id   INTEGER NOT NULL REFERENCES approval_requests (id),
    PRIMARY KEY (action, workspace_id)
) WITHOUT ROWID;
CREATE INDEX approval_pending_targets_request ON approval_pending_targets (request_id);

-- Each reviewer's decision, once per request; `hash_seen` is the frozen request's hash the
-- reviewer was shown.
CREATE TABLE approval_reviews (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES approval_requests (id),
    reviewer_id   INTEGER NOT NULL,
    reviewer_name TEXT    NOT NULL,
    decision      TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment       TEXT    NOT NULL DEFAULT '',
    hash_seen     TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    UNIQUE (request_id, reviewer_id)
);
CREATE INDEX approval_reviews_reviewer ON approval_reviews (reviewer_name, request_id);
