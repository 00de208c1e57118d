package store

import (
	"context"
	"log/slog"
	"time"
)

// PruneChunk bounds the rows one pruning transaction deletes, so
// publishers wait at most one small transaction.
const PruneChunk = 1000

// RunPruner calls prune every interval until ctx ends, logging what it
// deleted and any failure that is not ctx ending.
func RunPruner(ctx context.Context, interval time.Duration, log *slog.Logger, prune func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := prune(ctx); err != nil && ctx.Err() == nil {
				log.Error("prune failed", "err", err)
			} else if n > 0 {
				log.Debug("pruned events", "count", n)
			}
		}
	}
}

// PrunePlan is one backend's queries for the pruning both backends do:
// first the expired events, which (commit times never decreasing with id)
// are a prefix of the log, then, per topic, the events beyond the newest
// MaxEventsPerTopic. Each Delete function runs one transaction of at most
// PruneChunk rows that also records, per topic, the count removed and the
// highest id pruned, and returns the rows it deleted.
type PrunePlan struct {
	// ExpiredBound returns the highest id of an expired event among the
	// oldest PruneChunk events; ok is false when none of them is expired.
	ExpiredBound func(ctx context.Context) (bound int64, ok bool, err error)
	// DeleteThrough deletes every event with an id up to bound.
	DeleteThrough func(ctx context.Context, bound int64) (int, error)
	// FullTopics returns the topics holding more than MaxEventsPerTopic
	// events.
	FullTopics func(ctx context.Context) ([]string, error)
	// TopicBound returns the id of the newest event of topic to delete,
	// the one MaxEventsPerTopic below its newest; ok is false when there
	// is none.
	TopicBound func(ctx context.Context, topic string) (bound int64, ok bool, err error)
	// DeleteTopicChunk deletes the oldest PruneChunk events of topic with
	// an id up to bound.
	DeleteTopicChunk func(ctx context.Context, topic string, bound int64) (int, error)
}

// Run carries out the plan chunk by chunk until nothing is left to delete
// or ctx ends, and returns the number of events deleted (also when it
// fails part way: the chunks before the failure stay deleted).
func (p PrunePlan) Run(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		bound, ok, err := p.ExpiredBound(ctx)
		if err != nil {
			return total, err
		}
		if !ok {
			break
		}
		n, err := p.DeleteThrough(ctx, bound)
		total += n
		if err != nil {
			return total, err
		}
	}
	topics, err := p.FullTopics(ctx)
	if err != nil {
		return total, err
	}
	for _, topic := range topics {
		bound, ok, err := p.TopicBound(ctx, topic)
		if err != nil {
			return total, err
		}
		if !ok {
			continue
		}
		for ctx.Err() == nil {
			n, err := p.DeleteTopicChunk(ctx, topic, bound)
			total += n
			if err != nil {
				return total, err
			}
			if n < PruneChunk {
				break
			}
		}
	}
	return total, ctx.Err()
}

// PruneMark is what one pruning transaction removed from one topic.
type PruneMark struct {
	Count int64 // events deleted
	MaxID int64 // the highest id deleted
}

// PrunedRows tallies the (topic, id) rows one pruning transaction
// deleted, as its DELETE ... RETURNING topic, id hands them back.
type PrunedRows struct {
	Topics map[string]*PruneMark
	N      int   // rows deleted
	MaxID  int64 // the highest id deleted, 0 if none
}

// Scan adds every row of rows, each a topic and an id, and returns the
// first error of scanning or reading them. The caller still closes rows.
func (p *PrunedRows) Scan(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}) error {
	if p.Topics == nil {
		p.Topics = make(map[string]*PruneMark)
	}
	for rows.Next() {
		var topic string
		var id int64
		if err := rows.Scan(&topic, &id); err != nil {
			return err
		}
		m := p.Topics[topic]
		if m == nil {
			m = &PruneMark{}
			p.Topics[topic] = m
		}
		m.Count++
		m.MaxID = max(m.MaxID, id)
		p.MaxID = max(p.MaxID, id)
		p.N++
	}
	return rows.Err()
}
