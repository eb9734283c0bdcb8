package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"sluice.dev/sluice/internal/store"
)

// DB is a store.Store over database/sql.
type DB struct {
	writer  *sql.DB
	reader  *sql.DB
	dialect Dialect
}

// Open migrates the schema and returns the store. Writes go through writer,
// reads through reader (they may be the same pool; SQLite uses one writer
// connection beside a pool of readers). Closing the store closes both.
func Open(ctx context.Context, writer, reader *sql.DB, d Dialect) (*DB, error) {
	if err := migrate(ctx, writer, d); err != nil {
		return nil, err
	}
	return &DB{writer: writer, reader: reader, dialect: d}, nil
}

// Read runs fn in a read transaction, a consistent view of the store.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	return db.run(ctx, db.reader, fn)
}

// Write runs fn in a read-write transaction.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	return db.run(ctx, db.writer, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, fn func(store.Tx) error) error {
	sqlTx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", db.dialect.Name, err)
	}
	if err := fn(&tx{tx: sqlTx, d: db.dialect}); err != nil {
		_ = sqlTx.Rollback() // the error from fn is the one that matters
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", db.dialect.Name, err)
	}
	return nil
}

// Ping reports whether both pools answer a query.
func (db *DB) Ping(ctx context.Context) error {
	for _, pool := range []*sql.DB{db.writer, db.reader} {
		var one int
		if err := pool.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return fmt.Errorf("%s: %w", db.dialect.Name, err)
		}
	}
	return nil
}

// Close closes the pools.
func (db *DB) Close() error {
	err := db.writer.Close()
	if db.reader != db.writer {
		if rerr := db.reader.Close(); err == nil {
			err = rerr
		}
	}
	return err
}
