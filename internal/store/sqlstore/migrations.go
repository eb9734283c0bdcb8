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
	// 3: sealed secrets: one row per path, one per version. Keys and
	// ciphertexts are base64; no value is ever stored in the clear.
	`CREATE TABLE secret_paths (
		path TEXT PRIMARY KEY,
		latest BIGINT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		deleted_at BIGINT
	);
	CREATE TABLE secret_versions (
		path TEXT NOT NULL,
		version BIGINT NOT NULL,
		key_id TEXT NOT NULL,
		wrapped_key TEXT NOT NULL,
		ciphertext TEXT NOT NULL,
		actor TEXT NOT NULL DEFAULT '',
		restored_from BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (path, version)
	);
	CREATE INDEX secret_versions_key ON secret_versions (key_id);`,
	// 4: the append-only audit log of the API.
	`CREATE TABLE audit (
		id {{serial}},
		time BIGINT NOT NULL,
		actor TEXT NOT NULL DEFAULT '',
		role TEXT NOT NULL DEFAULT '',
		source TEXT NOT NULL DEFAULT '',
		action TEXT NOT NULL,
		resource TEXT NOT NULL DEFAULT '',
		status INTEGER NOT NULL,
		body_digest TEXT NOT NULL DEFAULT '',
		request_id TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_time ON audit (time);
	CREATE INDEX audit_resource ON audit (resource, id);`,
	// 5: analysis measurements, the evidence behind rollout decisions.
	`CREATE TABLE measurements (
		id {{serial}},
		app TEXT NOT NULL,
		run TEXT NOT NULL DEFAULT '',
		candidate INTEGER NOT NULL DEFAULT 0,
		stable INTEGER NOT NULL DEFAULT 0,
		template TEXT NOT NULL DEFAULT '',
		metric TEXT NOT NULL,
		time BIGINT NOT NULL,
		value TEXT NOT NULL DEFAULT '',
		sample_size BIGINT NOT NULL DEFAULT 0,
		condition_text TEXT NOT NULL DEFAULT '',
		verdict TEXT NOT NULL,
		message TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX measurements_app_run ON measurements (app, run, id);
	CREATE INDEX measurements_app_candidate ON measurements (app, candidate, id);`,
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
