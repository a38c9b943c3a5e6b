-- The event backbone (DESIGN.md §7): every committed event also goes to the service's event
-- stream (lms_runtime::outbox::Publisher), independently of its delivery to authorization, so
-- a row is done, and may be pruned, once it is both delivered and published. Rows appended
-- before this migration are published too: reporting applies each event id once.
ALTER TABLE outbox ADD COLUMN published_at TIMESTAMPTZ;

CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_at IS NULL;
