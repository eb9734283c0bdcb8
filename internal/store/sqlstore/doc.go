// Package sqlstore implements the store contract over database/sql with
// portable SQL, so that the SQLite and PostgreSQL backends share one
// implementation and differ only in how they open a database, in placeholder
// style and in a few column types.
package sqlstore
