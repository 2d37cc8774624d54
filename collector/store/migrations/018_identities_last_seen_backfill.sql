-- The identity rows stored before 016 took the time their email was given as the last time their person was seen,
-- and only activity after the upgrade brings it forward (keepIdentities): with `storage.retentionDays`, the first
-- start after the upgrade expired the identities of everyone who gave their email longer ago than the retention,
-- however recently they came back (a third of a demo site's leads turned anonymous, their checklists out of reach).
-- Each row is brought forward to the latest event of the browsers that gave its email, before any TTL reads it (the
-- retention is applied after the migrations). A copy of the row with its new time, as keepIdentities writes one;
-- rows already as recent are left. On a cluster, each shard reads its own browsers (events and identities are
-- sharded by browser): a person's other browsers on other shards are counted once they are seen again.
INSERT INTO identities
SELECT site_id, visitor_id, email, ts, event_id, any(is_bot), any(session_id), any(seen.latest)
FROM identities
INNER JOIN (
    SELECT given.site_id AS site_id, given.email AS email, max(browsers.latest) AS latest
    FROM (SELECT DISTINCT site_id, visitor_id, email FROM identities) AS given
    INNER JOIN (SELECT site_id, visitor_id, max(ts) AS latest FROM events GROUP BY site_id, visitor_id) AS browsers
        ON given.site_id = browsers.site_id AND given.visitor_id = browsers.visitor_id
    GROUP BY given.site_id, given.email
) AS seen USING (site_id, email)
GROUP BY site_id, visitor_id, email, ts, event_id
HAVING max(last_seen) < any(seen.latest);
