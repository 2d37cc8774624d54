-- The identity map (005) of events stored before it existed. It was filled at the start that applied 005, once that
-- start's migrations were all done; a start that died in between (008 copies the whole events table) left it empty
-- for good, and every lead identified before the upgrade anonymous. As a migration of its own it runs until it
-- completes, and it adds only the events the map lacks: the collectors fill it as they store events, and installs
-- whose first start went through have it already. Copies of an event (a retried batch) collapse, as they do when
-- the collector writes them.
INSERT INTO identities
SELECT DISTINCT site_id, visitor_id, lower(trimBoth(email)), ts, event_id, is_bot
FROM events
WHERE email != '' AND event_id NOT IN (SELECT event_id FROM identities);
