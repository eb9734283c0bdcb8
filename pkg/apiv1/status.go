package apiv1

import "time"

// ServerStatus is what `sluice status` shows: the build, how long the
// server has run, and its readiness checks.
type ServerStatus struct {
	Version       VersionInfo `json:"version"`
	StartedAt     time.Time   `json:"startedAt"`
	UptimeSeconds float64     `json:"uptimeSeconds"`
	Readiness     Readiness   `json:"readiness"`
}
