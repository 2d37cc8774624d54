-- The stored scores rebuilt with 256-row granules and small compressed blocks, as 008 rebuilt the events: a lead's
-- page, a page of the lead list and the scorer's comparison of the leads a batch touched read a few leads' rows, and
-- with 8,192-row granules each of them decompressed the reasons, signals and profile of 8,191 other leads.
--
-- Measured on bench:score's history (55,345 stored scores, one each): one lead's snapshots 12–20 → 7 ms, a page of
-- the lead list 36 → 28 ms, the stored scores of the 20 leads a batch touched 26 → 21 ms; a full pass's read of half
-- the site's leads was unchanged. bench:score's lead page (GET /api/leads/:id): 61 → 47 ms.
--
-- Each step can run again, as in 008. Run it with one collector: scores the others store while the copy runs go to
-- the old table and are copied again after the exchange only if they were scored in the last hour.
DROP TABLE IF EXISTS lead_scores_regranulated;
CREATE TABLE lead_scores_regranulated
(
    site_id      LowCardinality(String),
    lead_id      String,
    scored_at    DateTime64(3, 'UTC'),
    kind         LowCardinality(String),
    email        String,
    visitor_ids  Array(String),
    shared_visits Array(Tuple(visitor_id String, session_id String)) DEFAULT [],
    score        Int32,
    fit          Float64,
    engagement   Float64,
    source       Float64,
    negative     Float64,
    temperature  LowCardinality(String),
    stage        LowCardinality(String),
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
    rules_hash   String
)
ENGINE = MergeTree
ORDER BY (site_id, lead_id, scored_at)
SETTINGS index_granularity = 256, min_compress_block_size = 4096, max_compress_block_size = 65536;
INSERT INTO lead_scores_regranulated SELECT * FROM lead_scores;
EXCHANGE TABLES lead_scores AND lead_scores_regranulated;
INSERT INTO lead_scores SELECT * FROM lead_scores_regranulated
WHERE scored_at >= now64(3) - INTERVAL 1 HOUR
    AND (lead_id, scored_at) NOT IN (SELECT lead_id, scored_at FROM lead_scores WHERE scored_at >= now64(3) - INTERVAL 1 HOUR);
DROP TABLE lead_scores_regranulated;
