-- A topic with nothing retained keeps no row in topics: with many
-- short-lived topics the table would otherwise only grow, and every prune
-- scans it. What its row knew, the highest id pruned from it, is folded
-- into one store-wide floor: a topic without a row counts as pruned up to
-- the floor, and a topic that comes back starts from it. Reset detection
-- so never misses events that were pruned; it may reset a cursor below
-- the floor on a topic with nothing retained, whose past is forgotten.
CREATE TABLE prune_floor (
	one       INTEGER PRIMARY KEY CHECK (one = 1),
	pruned_id INTEGER NOT NULL
);
INSERT INTO prune_floor (one, pruned_id)
	VALUES (1, COALESCE((SELECT max(pruned_id) FROM topics WHERE count = 0), 0));
DELETE FROM topics WHERE count = 0;
