-- Who is who: one row per event that carried an email (a form or an identify call), written by the batch writer
-- next to the event itself. Scoring maps a visitor to the lead of the latest email it gave by reading these few
-- rows instead of every event of the site, which is what makes rescoring the leads one batch touched cheap.
-- Same key as the event it comes from, so a replayed batch collapses here too.
CREATE TABLE IF NOT EXISTS identities
(
    site_id    LowCardinality(String),
    visitor_id String,
    email      String,
    ts         DateTime64(3, 'UTC'),
    event_id   UUID,
    is_bot     UInt8
)
ENGINE = ReplacingMergeTree
ORDER BY (site_id, visitor_id, ts, event_id);

-- Score snapshots: a row each time a lead's score, temperature, stage or signals change (rescored after every
-- batch, and in full when the rules change or decay moves scores). The latest row per lead is its current score,
-- which lists and dashboards read; the earlier rows are its trend, and `hot_armed` carries the alert hysteresis
-- (a lead must fall below the re-arm mark before "became hot" can alert again).
CREATE TABLE IF NOT EXISTS lead_scores
(
    site_id      LowCardinality(String),
    lead_id      String,
    scored_at    DateTime64(3, 'UTC'),
    kind         LowCardinality(String),
    email        String,
    visitor_ids  Array(String),
    score        Int32,
    fit          Float64,
    engagement   Float64,
    source       Float64,
    negative     Float64,
    temperature  LowCardinality(String),
    stage        LowCardinality(String),
    -- JSON arrays: the reasons (rule, kind, count, points, capped) and the active signals (signal, at, detail).
    reasons      String,
    signals      String,
    profile      Map(String, String),
    company      String,
    seniority    LowCardinality(String),
    country      LowCardinality(String),
    utm_source   LowCardinality(String),
    utm_medium   LowCardinality(String),
    referrer_host LowCardinality(String),
    first_seen   DateTime64(3, 'UTC'),
    last_seen    DateTime64(3, 'UTC'),
    hot_armed    UInt8,
    -- A hash of the rules that computed the row: a rule change is noticed at start and rescores every lead.
    rules_hash   String
)
ENGINE = MergeTree
ORDER BY (site_id, lead_id, scored_at);
