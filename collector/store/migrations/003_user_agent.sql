-- The sender's browser, OS and device type (desktop, mobile, tablet, bot), parsed from the User-Agent by the collector
-- when a batch arrives, so dashboards can split engagement by device and leave crawlers out without parsing anything.
-- The User-Agent itself is not kept: these three columns are what reports need, at a fraction of the size.
ALTER TABLE events ADD COLUMN IF NOT EXISTS browser LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS os LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS device LowCardinality(String) DEFAULT '';
