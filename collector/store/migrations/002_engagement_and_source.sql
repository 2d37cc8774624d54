-- What the complete snippet sends beyond page views: engaged time and scroll depth (engagement pieces, summed by
-- readers), link clicks (downloads, outbound), the session's start and its traffic source, and the bot flag.
-- Source columns are filled on page views from the landing URL (utm_*, ad click ids) and the referrer.
ALTER TABLE events ADD COLUMN IF NOT EXISTS engaged_ms UInt32 DEFAULT 0;
ALTER TABLE events ADD COLUMN IF NOT EXISTS scroll_depth UInt8 DEFAULT 0;
ALTER TABLE events ADD COLUMN IF NOT EXISTS link_url String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS link_text String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS session_start UInt8 DEFAULT 0;
ALTER TABLE events ADD COLUMN IF NOT EXISTS is_bot UInt8 DEFAULT 0;
ALTER TABLE events ADD COLUMN IF NOT EXISTS referrer_host LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_source LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_medium LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_campaign String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_term String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_content String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS click_id String DEFAULT '';
