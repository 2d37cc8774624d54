-- What each erasure (DELETE /api/leads/:id) took away, so that the person's events still on their way cannot bring
-- it back: those another collector's write-ahead log held when it ran (each collector has its own log), or events
-- that waited there for ClickHouse to come back. Before each insert, a collector drops an event of a browser named
-- here dated before `until`, and one carrying an email whose lead is named here dated before `until`
-- (collector/ingest/erasures.ts). Only pseudonymous ids are kept (random browser ids; a lead id is a hash of the
-- email), and for 90 days, longer than any write-ahead log waits.
CREATE TABLE IF NOT EXISTS erasures
(
    site_id    LowCardinality(String),
    -- A browser of the person, or '' on the row of their email's lead
    visitor_id String,
    lead_id    String,
    -- Their events are those before this: the erasure, or when another person's email took a shared browser over.
    until      DateTime64(3, 'UTC'),
    erased_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (site_id, erased_at)
TTL toDateTime(erased_at) + INTERVAL 90 DAY;
