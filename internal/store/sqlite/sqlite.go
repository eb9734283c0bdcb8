package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"sluice.dev/sluice/internal/store/sqlstore"
)

// dialect is SQLite's SQL dialect.
func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:              "sqlite",
		Serial:            "INTEGER PRIMARY KEY AUTOINCREMENT",
		IsUniqueViolation: isUniqueViolation,
	}
}

// readers is the size of the read pool.
const readers = 4

// Open opens (creating if needed) the SQLite database at path and migrates
// it. The file's directory must exist.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	pragmas := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		pragmas.Add("_pragma", p)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	writer, err := sql.Open("sqlite", base+"?_txlock=immediate&"+pragmas.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	reader, err := sql.Open("sqlite", base+"?"+pragmas.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	db, err := sqlstore.Open(ctx, writer, reader, dialect())
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
