package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"sluice.dev/sluice/internal/auth"
	"sluice.dev/sluice/internal/resources"
	"sluice.dev/sluice/internal/store"
	"sluice.dev/sluice/pkg/apiv1"
)

// MaxBodyBytes is the largest request body the API reads: 1 MiB.
const MaxBodyBytes = 1 << 20

// MaxDocumentBytes is the largest body of an apply or a PUT: 8 MiB, room
// for a FlagSet of tens of thousands of flags.
const MaxDocumentBytes = 8 << 20

// Authenticator turns a presented secret into an identity, or returns
// auth.ErrUnauthenticated.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (auth.Identity, error)
}

// TokenManager creates, lists and revokes API tokens.
type TokenManager interface {
	Create(ctx context.Context, nt auth.NewToken) (string, store.Token, error)
	List(ctx context.Context) ([]store.Token, error)
	Revoke(ctx context.Context, idOrName string) (store.Token, error)
}

// ReadyCheck is one named readiness check; nil error means ready.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Options wires the API to the rest of sluice.
type Options struct {
	// Resources reads and changes resources. Required.
	Resources *resources.Service
	// Auth authenticates tokens. Required.
	Auth Authenticator
	// Tokens manages tokens. Required.
	Tokens TokenManager
	// Logger receives one line per request and every recovered panic.
	Logger *slog.Logger
	// Version describes this build, for /api/v1/version.
	Version apiv1.VersionInfo
	// StartedAt is when the server started, for /api/v1/status.
	StartedAt time.Time
	// Ready are the checks behind /readyz.
	Ready []ReadyCheck
	// Metrics receives the API's request metrics; nil: none.
	Metrics prometheus.Registerer
	// MetricsHandler, when set, serves /metrics (no token needed, so that
	// scrapers need no secret; it exposes no secrets).
	MetricsHandler http.Handler
	// TracerProvider makes request spans; nil: no tracing, at no cost.
	TracerProvider trace.TracerProvider
	// Propagator reads callers' trace context; nil: W3C trace context.
	Propagator propagation.TextMapPropagator
	// Flags is the live flag set of each environment, which
	// POST /api/v1/flagsets/{name}/evaluate/{key} evaluates. Without it
	// that route answers 404.
	Flags FlagSource
	// Extra are more routes (OFREP, the dashboard) mounted beside the API.
	Extra []Route
	// Secrets keeps sealed secrets; nil: the secret routes answer 404.
	Secrets SecretStore
	// MasterKey rotates the secrets' master key; nil: not offered.
	MasterKey MasterKeyRotator
	// Audit records changes, secret reads and refusals; nil: none.
	Audit AuditLog
	// Throttle limits failed authentications per source; nil: a default
	// auth.Throttle (10 failures, then one every 6 s).
	Throttle Throttler
	// Now is the clock of throttling and audit queries; nil: time.Now.
	Now func() time.Time
	// Logs reads instance logs for GET /api/v1/apps/{name}/logs; nil: that
	// route answers 404.
	Logs InstanceLogs
	// Measurements lists analysis measurements for
	// GET /api/v1/apps/{name}/measurements; nil: that route answers 404.
	Measurements MeasurementLister
	// Traffic reads the proxy's per-revision measurements for
	// GET /api/v1/apps/{name}/traffic; nil: that route answers 404.
	Traffic TrafficReader
}

// Route is one path of the API with the permission it needs.
type Route struct {
	// Pattern is a net/http ServeMux pattern such as "GET /api/v1/apps".
	Pattern string
	// Permission is what the caller's role must grant.
	Permission auth.Permission
	// Handler serves the route.
	Handler http.Handler
}

// API serves sluice's HTTP API.
type API struct {
	opts    Options
	log     *slog.Logger
	metrics *apiMetrics
	routes  []Route
	handler http.Handler
}

// New builds the API.
func New(opts Options) *API {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Throttle == nil {
		opts.Throttle = auth.NewThrottle(0, 0, 0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &API{opts: opts, log: log, metrics: newAPIMetrics(opts.Metrics)}
	a.routes = slices.Concat(a.ownRoutes(), a.secretRoutes(), a.auditRoutes(), a.rolloutRoutes(), opts.Extra)
	if opts.MetricsHandler != nil {
		a.routes = append(a.routes, Route{"GET /metrics", auth.PermNone, opts.MetricsHandler})
	}
	mux := http.NewServeMux()
	for _, r := range a.routes {
		mux.Handle(r.Pattern, a.audited(r.Pattern, r.Permission, limitBody(bodyLimit(r.Pattern), a.authorize(r.Permission, r.Handler))))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path, nil)
	})
	a.handler = a.withRequestID(a.observe(a.recoverPanics(mux)))
	return a
}

// ServeHTTP serves a request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Routes lists every route with its permission.
func (a *API) Routes() []Route { return a.routes }

func (a *API) ownRoutes() []Route {
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []Route{
		{"GET /livez", auth.PermNone, h(a.livez)},
		{"GET /readyz", auth.PermNone, h(a.readyz)},
		{"GET /api/v1/version", auth.PermRead, h(a.version)},
		{"GET /api/v1/status", auth.PermRead, h(a.status)},
		{"GET /api/v1/whoami", auth.PermNone, h(a.whoami)},
		{"POST /api/v1/apply", auth.PermWrite, h(a.apply)},
		{"GET /api/v1/events", auth.PermRead, h(a.events)},
		{"GET /api/v1/{kind}", auth.PermRead, h(a.list)},
		{"GET /api/v1/{kind}/{name}", auth.PermRead, h(a.get)},
		{"PUT /api/v1/{kind}/{name}", auth.PermWrite, h(a.put)},
		{"DELETE /api/v1/{kind}/{name}", auth.PermWrite, h(a.delete)},
		{"GET /api/v1/{kind}/{name}/history", auth.PermRead, h(a.history)},
		{"GET /api/v1/{kind}/{name}/history/{version}", auth.PermRead, h(a.historyVersion)},
		{"POST /api/v1/flagsets/{name}/evaluate/{key...}", auth.PermRead, h(a.evaluate)},
		{"GET /api/v1/apps/{name}/revisions", auth.PermRead, h(a.revisions)},
		{"POST /api/v1/tokens", auth.PermAdmin, h(a.createToken)},
		{"GET /api/v1/tokens", auth.PermAdmin, h(a.listTokens)},
		{"DELETE /api/v1/tokens/{id}", auth.PermAdmin, h(a.revokeToken)},
	}
}
