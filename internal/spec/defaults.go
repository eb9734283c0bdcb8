package spec

import "time"

// Defaults of the App spec, documented on its fields.
const (
	DefaultProgressDeadline   = 10 * time.Minute
	DefaultReplicas           = 1
	DefaultStopGracePeriod    = 10 * time.Second
	DefaultHealthPath         = "/"
	DefaultHealthInterval     = 2 * time.Second
	DefaultHealthTimeout      = time.Second
	DefaultHealthyThreshold   = 1
	DefaultUnhealthyThreshold = 3
	DefaultStatusCodes        = "200-399"
	DefaultScaleDownDelay     = 10 * time.Minute
)

// Defaults of the AnalysisTemplate spec, documented on its fields.
const (
	DefaultMetricInterval        = 30 * time.Second
	DefaultConsecutiveErrorLimit = 4
	DefaultBuiltinWindow         = time.Minute
	DefaultBuiltinMinRequests    = 20
	DefaultProviderTimeout       = 10 * time.Second
)

// SetDefaults fills every unset field of a with its default, so that a
// stored spec says exactly what sluice will do.
func (a *App) SetDefaults() {
	if a.ProgressDeadline == nil {
		a.ProgressDeadline = Dur(DefaultProgressDeadline)
	}
	if p := a.Runtime.Process; p != nil {
		if p.Replicas == nil {
			p.Replicas = ptr(DefaultReplicas)
		}
		if p.StopGracePeriod == nil {
			p.StopGracePeriod = Dur(DefaultStopGracePeriod)
		}
	}
	if a.HealthCheck == nil {
		a.HealthCheck = &HealthCheck{}
	}
	a.HealthCheck.setDefaults()
	if a.Strategy == nil || (a.Strategy.Canary == nil && a.Strategy.BlueGreen == nil) {
		a.Strategy = &Strategy{Canary: &CanaryStrategy{}}
	}
	if c := a.Strategy.Canary; c != nil && c.ScaleDownDelay == nil {
		c.ScaleDownDelay = Dur(DefaultScaleDownDelay)
	}
	if bg := a.Strategy.BlueGreen; bg != nil {
		if bg.AutoPromote == nil {
			bg.AutoPromote = ptr(true)
		}
		if bg.AutoPromoteAfter == nil {
			bg.AutoPromoteAfter = Dur(0)
		}
		if bg.ScaleDownDelay == nil {
			bg.ScaleDownDelay = Dur(DefaultScaleDownDelay)
		}
	}
}

func (h *HealthCheck) setDefaults() {
	if h.Path == "" {
		h.Path = DefaultHealthPath
	}
	if h.Interval == nil {
		h.Interval = Dur(DefaultHealthInterval)
	}
	if h.Timeout == nil {
		h.Timeout = Dur(min(DefaultHealthTimeout, h.Interval.Duration))
	}
	if h.HealthyThreshold == nil {
		h.HealthyThreshold = ptr(DefaultHealthyThreshold)
	}
	if h.UnhealthyThreshold == nil {
		h.UnhealthyThreshold = ptr(DefaultUnhealthyThreshold)
	}
	if len(h.StatusCodes) == 0 {
		h.StatusCodes = []string{DefaultStatusCodes}
	}
}

// SetDefaults fills every unset field of t with its default.
func (t *AnalysisTemplate) SetDefaults() {
	for i := range t.Metrics {
		m := &t.Metrics[i]
		if m.Interval == nil {
			m.Interval = Dur(DefaultMetricInterval)
		}
		if m.Count == nil {
			m.Count = ptr(0)
		}
		if m.InitialDelay == nil {
			m.InitialDelay = Dur(0)
		}
		if m.FailureLimit == nil {
			m.FailureLimit = ptr(0)
		}
		if m.InconclusiveLimit == nil {
			m.InconclusiveLimit = ptr(0)
		}
		if m.ConsecutiveErrorLimit == nil {
			m.ConsecutiveErrorLimit = ptr(DefaultConsecutiveErrorLimit)
		}
		switch pr := m.Provider; {
		case pr.Builtin != nil:
			if pr.Builtin.Window == nil {
				pr.Builtin.Window = Dur(DefaultBuiltinWindow)
			}
			if pr.Builtin.MinRequests == nil {
				pr.Builtin.MinRequests = ptr(DefaultBuiltinMinRequests)
			}
		case pr.Prometheus != nil:
			if pr.Prometheus.Timeout == nil {
				pr.Prometheus.Timeout = Dur(DefaultProviderTimeout)
			}
		case pr.Webhook != nil:
			if pr.Webhook.Timeout == nil {
				pr.Webhook.Timeout = Dur(DefaultProviderTimeout)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
