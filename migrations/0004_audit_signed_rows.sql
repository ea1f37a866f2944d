-- Rows of the audit log that are not sealed into the hash chain are signed with the audit key
-- too, so that someone who can edit the database cannot forge them:
-- - a pending row (a request's start) carries the MAC of its event ID and JSON; a row without a
--   valid one is sealed at start-up as what it is (an unverified pending row) and reported;
-- - the anchor left by retention pruning carries the MAC of where the kept chain starts, the
--   hash it continues from, the cut-off and the retention that produced it.
ALTER TABLE audit_pending ADD COLUMN mac TEXT;
ALTER TABLE audit_anchor ADD COLUMN cutoff TEXT;
ALTER TABLE audit_anchor ADD COLUMN retention_days INTEGER;
ALTER TABLE audit_anchor ADD COLUMN key_id TEXT;
ALTER TABLE audit_anchor ADD COLUMN mac TEXT;
