package spec

// App is one service that sluice ships: where it listens, how its instances
// run, how they are checked, and how a new revision replaces the old one.
type App struct {
	// Listen is the app's public address (`host:port`), served by sluice's
	// proxy. Required; no two apps may share one.
	Listen string `json:"listen"`
	// Version is an optional label for the revision this spec makes (`v2`,
	// a commit SHA). It is part of the workload: changing it makes a new
	// revision.
	Version string `json:"version,omitempty"`
	// ProgressDeadline is how long a rollout may go without progress before
	// it fails. Default 10m.
	ProgressDeadline *Duration `json:"progressDeadline,omitempty"`
	// Runtime says how instances run: exactly one of process or static.
	Runtime Runtime `json:"runtime"`
	// HealthCheck decides when an instance may receive traffic.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// Strategy says how a new revision takes over: canary (the default) or
	// blue-green.
	Strategy *Strategy `json:"strategy,omitempty"`
	// TLS, when set, serves Listen over HTTPS. Default: plain HTTP.
	TLS *AppTLS `json:"tls,omitempty"`
	// RolloutOnSecretChange, when true, makes a new revision whenever a
	// secret that the env refers to (valueFrom.secret) gets a new version
	// or is removed, rolled out with the app's strategy like any other.
	// Each revision then records the version of every secret it refers
	// to, and its instances read exactly those versions. Default false:
	// instances read the newest version when they start, and a changed
	// secret reaches them at the next revision. Process runtime only.
	RolloutOnSecretChange bool `json:"rolloutOnSecretChange,omitempty"`
}

// Runtime holds exactly one way of running instances.
type Runtime struct {
	// Process runs instances as local processes supervised by sluice.
	Process *ProcessRuntime `json:"process,omitempty"`
	// Static points at instances the user runs themselves.
	Static *StaticRuntime `json:"static,omitempty"`
}

// ProcessRuntime runs each instance as a local process. Every instance gets
// a free port in PORT, plus HOST, SLUICE_APP, SLUICE_REVISION and
// SLUICE_INSTANCE.
type ProcessRuntime struct {
	// Command is the program and its leading arguments. Required.
	Command []string `json:"command"`
	// Args are appended to Command.
	Args []string `json:"args,omitempty"`
	// WorkingDir is the directory the process starts in; relative paths are
	// relative to the server's working directory. Default: the server's.
	WorkingDir string `json:"workingDir,omitempty"`
	// Replicas is the number of instances of each revision. Default 1.
	// Changing it scales the app without making a new revision.
	Replicas *int `json:"replicas,omitempty"`
	// StopGracePeriod is how long an instance has between SIGTERM and
	// SIGKILL. Default 10s.
	StopGracePeriod *Duration `json:"stopGracePeriod,omitempty"`
	// Env is added to each instance's environment.
	Env []EnvVar `json:"env,omitempty"`
}

// EnvVar is one environment variable: a literal value or a reference.
type EnvVar struct {
	// Name is the variable's name. PORT, HOST and SLUICE_* are reserved.
	Name string `json:"name"`
	// Value is the literal value.
	Value string `json:"value,omitempty"`
	// ValueFrom takes the value from elsewhere (a secret), resolved when an
	// instance starts and never stored in the revision.
	ValueFrom *EnvSource `json:"valueFrom,omitempty"`
}

// EnvSource says where an environment value comes from.
type EnvSource struct {
	// Secret is a key of a secret stored in sluice.
	Secret *SecretKeyRef `json:"secret,omitempty"`
}

// SecretKeyRef names one key of one stored secret.
type SecretKeyRef struct {
	// Path is the secret's path, such as `hello/db`.
	Path string `json:"path"`
	// Key is the key within the secret.
	Key string `json:"key"`
}

// StaticRuntime points at instances that the user runs; sluice only checks
// and routes to them. A new set of addresses is a new revision.
type StaticRuntime struct {
	// Addresses are the instances' `host:port` addresses. At least one.
	Addresses []string `json:"addresses"`
}

// HealthCheck is the active HTTP check of each instance.
type HealthCheck struct {
	// Path is requested with GET. Default `/`.
	Path string `json:"path,omitempty"`
	// Interval is the time between checks. Default 2s.
	Interval *Duration `json:"interval,omitempty"`
	// Timeout bounds one check; must be shorter than Interval. Default 1s.
	Timeout *Duration `json:"timeout,omitempty"`
	// HealthyThreshold is how many passes in a row make an instance
	// healthy. Default 1.
	HealthyThreshold *int `json:"healthyThreshold,omitempty"`
	// UnhealthyThreshold is how many failures in a row make it unhealthy.
	// Default 3.
	UnhealthyThreshold *int `json:"unhealthyThreshold,omitempty"`
	// StatusCodes lists the answers that pass: codes (`204`) or ranges
	// (`200-299`). Default `200-399`.
	StatusCodes []string `json:"statusCodes,omitempty"`
}

// Strategy holds exactly one rollout strategy.
type Strategy struct {
	// Canary shifts a growing share of traffic to the candidate.
	Canary *CanaryStrategy `json:"canary,omitempty"`
	// BlueGreen runs the candidate at full size beside stable and switches
	// all traffic at once.
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
}

// CanaryStrategy moves traffic to the candidate step by step.
type CanaryStrategy struct {
	// Stickiness chooses the key that keeps a user on one revision.
	// Default: a cookie that the proxy sets itself.
	Stickiness *Stickiness `json:"stickiness,omitempty"`
	// Override lets testers force a revision with a header or cookie whose
	// value is `candidate` or `stable`.
	Override *Stickiness `json:"override,omitempty"`
	// Steps run in order. Empty means the default progression:
	// 1 % → 5 % → 25 % → 100 % with analysis between.
	Steps []CanaryStep `json:"steps,omitempty"`
	// Analysis runs in the background for the whole rollout.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// ScaleDownDelay keeps the old stable running after promotion, for an
	// instant undo. Default 10m.
	ScaleDownDelay *Duration `json:"scaleDownDelay,omitempty"`
}

// Stickiness names a request header or a cookie. At most one is set.
type Stickiness struct {
	// Header is a request header's name, such as X-User-ID.
	Header string `json:"header,omitempty"`
	// Cookie is a cookie's name.
	Cookie string `json:"cookie,omitempty"`
}

// CanaryStep is one step of a canary: exactly one field is set.
type CanaryStep struct {
	// SetWeight sets the candidate's share of traffic, in percent.
	SetWeight *Percent `json:"setWeight,omitempty"`
	// Pause waits for a duration, or for a human when none is given.
	Pause *Pause `json:"pause,omitempty"`
	// Analysis runs templates and waits for their verdict.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
}

// Pause waits; with no duration it waits for `sluice rollout promote`.
type Pause struct {
	// Duration is how long to wait. Unset means: until promoted.
	Duration *Duration `json:"duration,omitempty"`
}

// RolloutAnalysis refers to analysis templates and passes them arguments.
type RolloutAnalysis struct {
	// Templates are AnalysisTemplates by name. At least one.
	Templates []TemplateRef `json:"templates"`
	// Args are values for the templates' arguments.
	Args []AnalysisArg `json:"args,omitempty"`
}

// TemplateRef names an AnalysisTemplate.
type TemplateRef struct {
	// Name is the template's metadata.name.
	Name string `json:"name"`
}

// AnalysisArg is a named value passed to analysis templates.
type AnalysisArg struct {
	// Name is the argument's name.
	Name string `json:"name"`
	// Value is the argument's value.
	Value string `json:"value"`
}

// BlueGreenStrategy runs the candidate at full size, previews it on its own
// listener, then switches all traffic at once.
type BlueGreenStrategy struct {
	// PreviewListen is where the candidate is served before promotion.
	PreviewListen string `json:"previewListen,omitempty"`
	// AutoPromote promotes as soon as the candidate is healthy (after
	// AutoPromoteAfter and a passing pre-promotion analysis). Default true.
	AutoPromote *bool `json:"autoPromote,omitempty"`
	// AutoPromoteAfter waits this long after the candidate is healthy.
	AutoPromoteAfter *Duration `json:"autoPromoteAfter,omitempty"`
	// ScaleDownDelay keeps the old revision running after promotion, so
	// that `sluice rollout undo` is instant. Default 10m.
	ScaleDownDelay *Duration `json:"scaleDownDelay,omitempty"`
	// PrePromotionAnalysis must pass before traffic switches.
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`
	// PostPromotionAnalysis runs after the switch; failing it switches back.
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
}
