-- Each qualification row also keeps the change it made (its request, validated, as JSON) and an id that orders rows
-- of the same millisecond. A lead's current state is then every change applied in order, so two salespeople who
-- change one lead at once through two collectors both keep their change; before, the later row's state (built on
-- the same earlier state as the other) won whole. Rows written before hold no change: their state is taken as is.
ALTER TABLE lead_qualifications ADD COLUMN IF NOT EXISTS change String DEFAULT '', ADD COLUMN IF NOT EXISTS change_id String DEFAULT '';
