package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations are applied in order, each once; the schema version is the
// number applied. Never edit one that has shipped: add another.
var migrations = []string{
	// 1: resources, revisions, events, tokens.
	`CREATE TABLE resources (
		kind TEXT NOT NULL,
		name TEXT NOT NULL,
		labels TEXT NOT NULL DEFAULT '{}',
		resource_version BIGINT NOT NULL,
		generation BIGINT NOT NULL,
		spec TEXT NOT NULL,
		status TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (kind, name)
	);
	CREATE TABLE revisions (
		app TEXT NOT NULL,
		number INTEGER NOT NULL,
		version TEXT NOT NULL DEFAULT '',
		workload TEXT NOT NULL,
		cause TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		PRIMARY KEY (app, number)
	);
	CREATE TABLE events (
		id {{serial}},
		time BIGINT NOT NULL,
		app TEXT NOT NULL DEFAULT '',
		revision INTEGER NOT NULL DEFAULT 0,
		type TEXT NOT NULL,
		reason TEXT NOT NULL,
		message TEXT NOT NULL,
		data TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_app ON events (app, id);
	CREATE TABLE tokens (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		role TEXT NOT NULL,
		env TEXT NOT NULL DEFAULT '',
		hash TEXT NOT NULL UNIQUE,
		created_at BIGINT NOT NULL,
		expires_at BIGINT,
		last_used_at BIGINT
	);`,
	// 2: the change history of every resource.
	`CREATE TABLE history (
		kind TEXT NOT NULL,
		name TEXT NOT NULL,
		version BIGINT NOT NULL,
		resource_version BIGINT NOT NULL,
		action TEXT NOT NULL,
		spec TEXT NOT NULL DEFAULT '',
		actor TEXT NOT NULL DEFAULT '',
		time BIGINT NOT NULL,
		PRIMARY KEY (kind, name, version)
	);`,
}

// migrate brings the schema up to date inside one transaction per step.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	var current int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("the %s schema is version %d, newer than this sluice knows (%d): upgrade sluice", d.Name, current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if err := applyMigration(ctx, db, d, v); err != nil {
			return fmt.Errorf("migrate %s schema to version %d: %w", d.Name, v, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, d Dialect, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ddl := strings.ReplaceAll(migrations[v-1], "{{serial}}", d.Serial)
	for _, stmt := range strings.Split(ddl, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_version (version) VALUES (?)`), v); err != nil {
		return err
	}
	return tx.Commit()
}
