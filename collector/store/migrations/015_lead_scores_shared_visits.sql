-- A lead's visits on its shared browsers (a browser that gave other people's emails too: a shared computer), as
-- scoring shares them out (scoring/compile.ts ownerSql): the dashboards credit such a browser's events to the lead whose
-- visit they are in, not to every lead on it. Empty for a browser that is one lead's throughout, and on the rows stored
-- before this migration, which count their browsers whole as before until the scorer rescores the site (at start).
ALTER TABLE lead_scores ADD COLUMN IF NOT EXISTS shared_visits Array(Tuple(visitor_id String, session_id String)) DEFAULT [] AFTER visitor_ids;
