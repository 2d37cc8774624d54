-- Raw events: one row per event a browser (or a server-side call) sent. Scores are always recomputed from here.
--
-- Order key (site_id, visitor_id, ts): scoring reads one visitor's history as a contiguous, time-ordered range,
-- and a site's leads list scans one site's rows only.
-- Idempotency: every event carries a client-made UUID, and a retried event arrives with the same key
-- (site, visitor, client timestamp, event_id). ReplacingMergeTree collapses such copies on merge, and readers
-- use FINAL, so a retried batch never counts twice, even before the merge happens.
CREATE TABLE IF NOT EXISTS events
(
    site_id     LowCardinality(String),
    visitor_id  String,
    session_id  String,
    event_id    UUID,
    ts          DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    type        LowCardinality(String),
    name        String,
    url         String,
    path        String,
    referrer    String,
    title       String,
    email       String,
    props       Map(String, String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site_id, visitor_id, ts, event_id);
