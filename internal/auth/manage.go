package auth

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/internal/store"
)

var tokenName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$`)

// CheckNewToken validates a request for a token and returns what it is
// wrong with, field by field (empty when it is fine).
func CheckNewToken(name, role, env, expires string) (NewToken, map[string]string) {
	problems := map[string]string{}
	nt := NewToken{Name: name, Env: env}
	if len(name) > 63 || !tokenName.MatchString(name) {
		problems["name"] = fmt.Sprintf("%q is not a token name (lowercase letters, digits, '-', '_' and '.', at most 63)", name)
	}
	r, err := ParseRole(role)
	if err != nil {
		problems["role"] = err.Error()
	}
	nt.Role = r
	if r == RoleSDK && env == "" {
		problems["env"] = "an sdk token needs the environment it may evaluate"
	}
	if expires != "" {
		d, err := ParseExpiry(expires)
		if err != nil {
			problems["expiresIn"] = err.Error()
		}
		nt.Expires = d
	}
	return nt, problems
}

// ParseExpiry reads a lifetime: a Go duration (`12h`) or days (`30d`).
func ParseExpiry(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3650 {
			return 0, fmt.Errorf("%q is not a number of days from 1 to 3650", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 12h or 30d", s)
	}
	return d, nil
}

// List returns every token, by name.
func (t *Tokens) List(ctx context.Context) ([]store.Token, error) {
	var out []store.Token
	err := t.store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ListTokens(ctx)
		return err
	})
	return out, err
}

// Revoke deletes the token with this ID or name; ErrNotFound when none.
func (t *Tokens) Revoke(ctx context.Context, idOrName string) (store.Token, error) {
	var gone store.Token
	err := t.store.Write(ctx, func(tx store.Tx) error {
		list, err := tx.ListTokens(ctx)
		if err != nil {
			return err
		}
		for _, tok := range list {
			if tok.ID == idOrName || tok.Name == idOrName {
				gone = tok
				return tx.DeleteToken(ctx, tok.ID)
			}
		}
		return fmt.Errorf("token %q: %w", idOrName, store.ErrNotFound)
	})
	return gone, err
}
