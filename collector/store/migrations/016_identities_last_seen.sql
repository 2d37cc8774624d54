-- When the browser of each identity row was last seen: `storage.retentionDays` expires identity rows by it, so a lead
-- who gave their email long ago but came back recently stays a lead. Rows stored before are as old as their email
-- (ts), as they were; the scorer brings a row's time forward when its browser, or another browser that gave the same
-- email, sends events (collector/store/retention.ts keepIdentities): a copy of the row with the new time, which the
-- table's merges keep (ReplacingMergeTree keeps the last row inserted of those with the same key).
ALTER TABLE identities ADD COLUMN IF NOT EXISTS last_seen DateTime64(3, 'UTC') DEFAULT ts;
