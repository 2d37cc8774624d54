-- Sales qualification of leads (BANT, CHAMP, MEDDICC), append-only: every change is a row, so the history is
-- kept, and the current state of a lead is its latest row. Ordered for one lead's history.
CREATE TABLE IF NOT EXISTS lead_qualifications
(
    site_id      LowCardinality(String),
    lead_id      String,
    framework    LowCardinality(String),
    boxes        Map(String, UInt8),
    notes        Map(String, String),
    owner        String,
    disqualified UInt8,
    reason       String,
    changed_by   String,
    changed_at   DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (site_id, lead_id, changed_at);
