-- Every topic counts as pruned up to floor, with a row in tidings_topics
-- or without. This store keeps a row per topic and never raises the floor
-- itself; a copy from a SQLite store, which forgets the rows of topics
-- with nothing retained and keeps what they knew in its floor, brings the
-- floor along, so cursors on those topics are still reset.
CREATE TABLE tidings_prune_floor (
	single    boolean PRIMARY KEY DEFAULT true CHECK (single),
	pruned_id bigint  NOT NULL
);
INSERT INTO tidings_prune_floor (pruned_id) VALUES (0);
