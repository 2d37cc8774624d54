-- An erasure of a person who shared a browser names their visits on it (lead-store's eraseLead), so that the events
-- still on their way of the browser's other people are kept: a row per visit, its `until` the end of time. '' on the
-- rows of a browser that was theirs throughout, and of their email's lead.
ALTER TABLE erasures ADD COLUMN IF NOT EXISTS session_id String DEFAULT '' AFTER visitor_id;
