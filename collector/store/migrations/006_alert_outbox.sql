-- The alert outbox: one row per (alert, destination), written before anything is sent, so an alert survives a
-- restart in the middle of its retries. A state change (an attempt, a delivery, a dead letter, a manual retry) is
-- a new row with the next `version`; readers use FINAL to see the latest. An alert that goes nowhere (suppressed by
-- the cooldown, a disabled signal or the routes) is one row with destination_id '' so it stays visible.
-- Ordered for one alert's deliveries; the dispatcher's scan of pending rows and the API's per-site list read the
-- whole (small) table.
CREATE TABLE IF NOT EXISTS alert_outbox
(
    site_id          LowCardinality(String),
    alert_id         String,
    destination_id   String,
    destination_type LowCardinality(String),
    lead_id          String,
    signal           LowCardinality(String),
    -- pending, delivered, dead or suppressed
    state            LowCardinality(String),
    attempts         UInt32,
    next_attempt_at  DateTime64(3, 'UTC'),
    -- Retries stop here (24 hours after the alert was queued, or after a manual retry) and the row turns dead.
    give_up_at       DateTime64(3, 'UTC'),
    last_error       String,
    delivered_at     Nullable(DateTime64(3, 'UTC')),
    -- The alert's createdAt, which the cooldown per lead and signal counts from.
    created_at       DateTime64(3, 'UTC'),
    updated_at       DateTime64(3, 'UTC'),
    -- The alert as JSON, exactly as every destination receives it.
    alert            String,
    version          UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, alert_id, destination_id);
