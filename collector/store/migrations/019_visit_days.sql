-- The dashboards' rollup: a row per visit and UTC day (a visit that crosses midnight has one for each day), with the
-- browser's device, browser and system and where the visit came from (`entry_source`: the source of its first page
-- view, as the dashboards' SOURCE names it, '' in rows of its other events). Kept by a materialized view as events
-- land, so the visitor-level panels (key figures, days, devices, sources) read it rather than every event of the
-- period: at 300,000 visitors, 6.8M events make 697,000 rows.
--
-- Every column but entry_source is in the key, and entry_source keeps its greatest value: a retried batch, a replayed
-- write-ahead log or an event stored twice adds a row that merges into the one already there, and the readers count
-- distinct visitors and visits, never rows, so a copy not merged yet counts once all the same.
--
-- An erasure deletes the person's events and then makes their browsers' rows again from what is left (eraseLead in
-- collector/api/lead-store.ts); the retention gives the table the events' TTL, by day. A migration that makes the
-- events table again (as 008 did) must make the view again over the new table.
CREATE TABLE IF NOT EXISTS visit_days
(
    site_id      LowCardinality(String),
    day          Date,
    visitor_id   String,
    session_id   String,
    is_bot       UInt8,
    device       LowCardinality(String),
    browser      LowCardinality(String),
    os           LowCardinality(String),
    entry_source SimpleAggregateFunction(max, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, visitor_id, session_id, is_bot, device, browser, os);

-- Made before the copy of the events already stored, so an event stored in between is in both: its row merges.
CREATE MATERIALIZED VIEW IF NOT EXISTS visit_days_of_events TO visit_days AS
SELECT site_id, toDate(ts) AS day, visitor_id, session_id, is_bot, device, browser, os,
    maxIf(multiIf(utm_source != '', lowerUTF8(utm_source), referrer_host != '', replaceRegexpOne(lowerUTF8(referrer_host), '^www\\.', ''), '(direct)'),
        type = 'pageview' AND session_start = 1) AS entry_source
FROM events
GROUP BY site_id, day, visitor_id, session_id, is_bot, device, browser, os;

INSERT INTO visit_days
SELECT site_id, toDate(ts) AS day, visitor_id, session_id, is_bot, device, browser, os,
    maxIf(multiIf(utm_source != '', lowerUTF8(utm_source), referrer_host != '', replaceRegexpOne(lowerUTF8(referrer_host), '^www\\.', ''), '(direct)'),
        type = 'pageview' AND session_start = 1) AS entry_source
FROM events
GROUP BY site_id, day, visitor_id, session_id, is_bot, device, browser, os;
