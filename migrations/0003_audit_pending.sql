-- Requests whose outcome is not known yet. A request's start is stored here first — one small
-- insert, no index to maintain, so it costs little on the request's path — and is moved into
-- `audit_records`, sealed into the chain with its outcome, once the outcome is known. Rows left
-- here by a crash are sealed with outcome 'unknown' at the next start-up.
CREATE TABLE audit_pending (
    id       INTEGER PRIMARY KEY,
    event_id TEXT    NOT NULL,
    record   TEXT    NOT NULL              -- the record's JSON as it was when the request started
);

-- Started rows of earlier versions (kept in audit_records until sealed) move here.
INSERT INTO audit_pending (event_id, record)
    SELECT event_id, record FROM audit_records WHERE chain_seq IS NULL ORDER BY id;
DELETE FROM audit_records WHERE chain_seq IS NULL;
DROP INDEX audit_records_unsealed;
