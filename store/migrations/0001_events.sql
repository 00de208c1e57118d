-- events is the log. id is assigned by the single writer in commit order;
-- AUTOINCREMENT keeps sqlite_sequence at the largest id ever stored, so an id
-- is never reused even after every event is pruned.
CREATE TABLE events (
	id    INTEGER PRIMARY KEY AUTOINCREMENT,
	topic TEXT    NOT NULL,
	type  TEXT    NOT NULL,
	data  BLOB    NOT NULL,
	key   TEXT,
	time  INTEGER NOT NULL -- commit time, unix milliseconds, non-decreasing in id
);

-- A resume reads one topic's range after a cursor.
CREATE INDEX events_topic_id ON events (topic, id);

-- Idempotency keys are unique per topic while the event is retained.
CREATE UNIQUE INDEX events_topic_key ON events (topic, key) WHERE key IS NOT NULL;

-- topics keeps per-topic bookkeeping: how many events are retained (for the
-- per-topic cap) and the highest id ever pruned (to detect expired cursors).
CREATE TABLE topics (
	topic     TEXT    PRIMARY KEY,
	count     INTEGER NOT NULL DEFAULT 0,
	pruned_id INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
