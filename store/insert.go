package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// insertSizes are the rows per INSERT statement, largest first, each
// prepared once: a group of 11 events is written as 4+4+1+1+1 rows.
var insertSizes = [...]int{64, 16, 4, 1}

// insertSQL is the statement that inserts rows events.
func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (id, topic, type, data, key, time) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?)`)
	}
	return b.String()
}

// inserter collects a transaction's new events and writes them with as few
// statements as insertSizes allow: each statement costs a bind, a step and
// a reset in the driver and SQLite, whatever its rows.
type inserter struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *[len(insertSizes)]*sql.Stmt // prepared on the connection
	bound [len(insertSizes)]*sql.Stmt  // bound to tx, made on first use
	args  []any
	// The previous row's topic, type and time, boxed once: a group's rows
	// mostly share them, and boxing a string or an int64 allocates.
	topic, typ, ms any
}

const insertCols = 6

// inserter returns an inserter for tx.
func (s *Store) inserter(ctx context.Context, tx *sql.Tx) *inserter {
	return &inserter{ctx: ctx, tx: tx, stmts: &s.inserts}
}

func (in *inserter) add(id int64, topic, typ string, data []byte, key any, ms int64) error {
	if v, ok := in.topic.(string); !ok || v != topic {
		in.topic = topic
	}
	if v, ok := in.typ.(string); !ok || v != typ {
		in.typ = typ
	}
	if v, ok := in.ms.(int64); !ok || v != ms {
		in.ms = ms
	}
	in.args = append(in.args, id, in.topic, in.typ, data, key, in.ms)
	if len(in.args) == insertSizes[0]*insertCols {
		return in.flush()
	}
	return nil
}

// flush writes every event added since the last flush.
func (in *inserter) flush() error {
	args := in.args
	for i, size := range insertSizes {
		for len(args) >= size*insertCols {
			if in.bound[i] == nil {
				in.bound[i] = in.tx.StmtContext(in.ctx, in.stmts[i])
			}
			if _, err := in.bound[i].ExecContext(in.ctx, args[:size*insertCols]...); err != nil {
				return fmt.Errorf("insert %d events: %w", size, err)
			}
			args = args[size*insertCols:]
		}
	}
	clear(in.args)
	in.args = in.args[:0]
	return nil
}
