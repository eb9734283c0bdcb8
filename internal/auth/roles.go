package auth

import "fmt"

// Role is what a token may do.
type Role string

// The roles.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleDeployer manages apps, rollouts and flags, but not tokens or
	// secret values.
	RoleDeployer Role = "deployer"
	// RoleViewer reads everything but secret values.
	RoleViewer Role = "viewer"
	// RoleSDK evaluates the flags of one environment, nothing else.
	RoleSDK Role = "sdk"
)

// Permission is what a route requires.
type Permission string

// The permissions routes declare.
const (
	// PermNone: no token needed (health probes).
	PermNone Permission = "none"
	// PermRead: read resources, revisions and events.
	PermRead Permission = "read"
	// PermWrite: change resources and steer rollouts.
	PermWrite Permission = "write"
	// PermAdmin: manage tokens and read secret values.
	PermAdmin Permission = "admin"
	// PermEvaluate: evaluate flags over OFREP.
	PermEvaluate Permission = "evaluate"
)

// grants is the role table.
func grants(r Role) []Permission {
	switch r {
	case RoleAdmin:
		return []Permission{PermRead, PermWrite, PermAdmin, PermEvaluate}
	case RoleDeployer:
		return []Permission{PermRead, PermWrite, PermEvaluate}
	case RoleViewer:
		return []Permission{PermRead}
	case RoleSDK:
		return []Permission{PermEvaluate}
	}
	return nil
}

// Allows reports whether the role grants p.
func (r Role) Allows(p Permission) bool {
	if p == PermNone {
		return true
	}
	for _, g := range grants(r) {
		if g == p {
			return true
		}
	}
	return false
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if grants(r) == nil {
		return "", fmt.Errorf("unknown role %q (admin, deployer, viewer or sdk)", s)
	}
	return r, nil
}

// Identity is who made a request.
type Identity struct {
	// TokenID is the token's public ID.
	TokenID string
	// Name is the token's name, used as the actor in events.
	Name string
	// Role is the token's role.
	Role Role
	// Env is the environment an sdk token may evaluate; empty otherwise.
	Env string
}
