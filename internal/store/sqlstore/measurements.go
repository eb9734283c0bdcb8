package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"sluice.dev/sluice/internal/store"
)

// defaultMeasurementLimit is how many measurements ListMeasurements
// returns when the filter sets no limit.
const defaultMeasurementLimit = 1000

const measurementColumns = `app, run, candidate, stable, template, metric, time, value, sample_size, condition_text, verdict, message, error`

// AppendMeasurement adds a measurement. Nothing in this package updates or
// deletes measurements: like events, they outlive their app.
func (t *tx) AppendMeasurement(ctx context.Context, m store.Measurement) (store.Measurement, error) {
	if m.Time.IsZero() {
		m.Time = time.Now().UTC()
	}
	err := t.queryRow(ctx, `INSERT INTO measurements (`+measurementColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.App, m.Run, m.Candidate, m.Stable, m.Template, m.Metric, nanos(m.Time), string(m.Value),
		m.SampleSize, m.Condition, m.Verdict, m.Message, m.Error).Scan(&m.ID)
	if err != nil {
		return m, fmt.Errorf("append measurement of %s/%s for app %q: %w", m.Template, m.Metric, m.App, err)
	}
	return m, nil
}

// ListMeasurements returns the newest f.Limit matching measurements, or
// with f.AfterID the oldest f.Limit after it; oldest first either way.
func (t *tx) ListMeasurements(ctx context.Context, f store.MeasurementFilter) ([]store.Measurement, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultMeasurementLimit
	}
	q := `SELECT id, ` + measurementColumns + ` FROM measurements WHERE id > ?`
	args := []any{f.AfterID}
	if f.App != "" {
		q += ` AND app = ?`
		args = append(args, f.App)
	}
	if f.Run != "" {
		q += ` AND run = ?`
		args = append(args, f.Run)
	}
	if f.Candidate != 0 {
		q += ` AND candidate = ?`
		args = append(args, f.Candidate)
	}
	newest := f.AfterID == 0
	if newest {
		q += ` ORDER BY id DESC LIMIT ?`
	} else {
		q += ` ORDER BY id LIMIT ?`
	}
	args = append(args, limit)
	out, err := queryAll(ctx, t, scanMeasurement, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list measurements: %w", err)
	}
	if newest {
		slices.Reverse(out)
	}
	return out, nil
}

// scanMeasurement reads one row of id and measurementColumns.
func scanMeasurement(s rowScanner) (store.Measurement, error) {
	var m store.Measurement
	var at int64
	var value string
	err := s.Scan(&m.ID, &m.App, &m.Run, &m.Candidate, &m.Stable, &m.Template, &m.Metric, &at, &value,
		&m.SampleSize, &m.Condition, &m.Verdict, &m.Message, &m.Error)
	if err != nil {
		return m, err
	}
	m.Time = fromNanos(at)
	if value != "" {
		m.Value = json.RawMessage(value)
	}
	return m, nil
}
