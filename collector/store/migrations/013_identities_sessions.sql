-- The identity map with the visit (session) each email was given in. A browser that gave several emails (a shared
-- computer, an email given again differently) has its visits shared out between them (scoring/compile.ts ownerSql):
-- the visit of a form is that form's email's, with its page views before the form. Before, the latest email took the
-- browser's whole history, and the person who had it before (a qualified prospect, say) lost it.
--
-- Rebuilt from the events, which hold every identity row's event with its session, as 008 rebuilt the events: a
-- copy, then an exchange. Each step can run again. Run it with one collector: identity rows the others store while
-- the copy runs are made again from their events after the exchange if they were received in the last hour.
DROP TABLE IF EXISTS identities_sessions;
CREATE TABLE identities_sessions
(
    site_id    LowCardinality(String),
    visitor_id String,
    email      String,
    ts         DateTime64(3, 'UTC'),
    event_id   UUID,
    is_bot     UInt8,
    session_id String DEFAULT '',
    INDEX email_bloom email TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
ORDER BY (site_id, visitor_id, ts, event_id);
INSERT INTO identities_sessions
SELECT DISTINCT site_id, visitor_id, lower(trimBoth(email)), ts, event_id, is_bot, session_id
FROM events
WHERE email != '';
EXCHANGE TABLES identities AND identities_sessions;
INSERT INTO identities
SELECT DISTINCT site_id, visitor_id, lower(trimBoth(email)), ts, event_id, is_bot, session_id
FROM events
WHERE email != '' AND received_at >= now64(3) - INTERVAL 1 HOUR
    AND event_id NOT IN (SELECT event_id FROM identities);
DROP TABLE identities_sessions;
