-- tidings_events is the log shared by every replica. ids are assigned by
-- the group commits, which serialise on the tidings_head row, so commit
-- order is id order and ids are dense: a reader never sees an id before
-- every smaller one. Topics compare byte by byte, as in SQLite.
CREATE TABLE tidings_events (
	id    bigint  PRIMARY KEY,
	topic text    COLLATE "C" NOT NULL,
	type  text    NOT NULL,
	data  bytea   NOT NULL, -- the published JSON, byte for byte
	key   text,
	time  bigint  NOT NULL  -- commit time, unix milliseconds, non-decreasing in id
);

-- A resume reads one topic's range after a cursor.
CREATE INDEX tidings_events_topic_id ON tidings_events (topic, id);

-- Idempotency keys are unique per topic while the event is retained.
CREATE UNIQUE INDEX tidings_events_topic_key ON tidings_events (topic, key) WHERE key IS NOT NULL;

-- Per-topic bookkeeping: events retained (for the per-topic cap) and the
-- highest id ever pruned (to detect expired cursors).
CREATE TABLE tidings_topics (
	topic     text   COLLATE "C" PRIMARY KEY,
	count     bigint NOT NULL DEFAULT 0,
	pruned_id bigint NOT NULL DEFAULT 0
);

-- The one row every group commit locks: the largest id ever assigned (so
-- an id is never reused, even after every event is pruned) and the newest
-- commit time (so times never decrease with id).
CREATE TABLE tidings_head (
	single    boolean PRIMARY KEY DEFAULT true CHECK (single),
	last_id   bigint  NOT NULL,
	last_time bigint  NOT NULL
);
INSERT INTO tidings_head (last_id, last_time) VALUES (0, 0);

-- The highest id pruned on any topic, kept apart from tidings_head so the
-- pruner never waits for the writers' lock. Replicas read it to drop
-- pruned events from their in-memory tails.
CREATE TABLE tidings_pruned (
	single    boolean PRIMARY KEY DEFAULT true CHECK (single),
	pruned_id bigint  NOT NULL
);
INSERT INTO tidings_pruned (pruned_id) VALUES (0);
