package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

func (a *app) tokensCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke API tokens",
	}
	cmd.AddCommand(a.tokensCreateCommand(), a.tokensListCommand(), a.tokensRevokeCommand())
	return cmd
}

func (a *app) tokensCreateCommand() *cobra.Command {
	var req apiv1.TokenRequest
	cmd := &cobra.Command{
		Use:   "create --name NAME --role ROLE [--env ENV] [--expires 30d]",
		Short: "Create a token and print its secret, alone, once",
		Long: `Create a token. Its secret is printed alone on standard output, once; the
server keeps only its hash. Roles: admin (everything), deployer (apps,
rollouts, flags), viewer (read only), sdk (flag evaluation for one --env).`,
		Example: "  KEY=$(sluice tokens create --name web --role sdk --env production)\n  sluice tokens create --name ci --role deployer --expires 90d",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Name == "" || req.Role == "" {
				return usagef("tokens create needs --name and --role")
			}
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			created, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, created)
			}
			fmt.Fprintln(a.io.Out, created.Secret)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "unique name of the token (shown as the actor in events)")
	f.StringVar(&req.Role, "role", "", "admin, deployer, viewer or sdk")
	f.StringVar(&req.Env, "env", "", "the environment an sdk token evaluates")
	f.StringVar(&req.ExpiresIn, "expires", "", "lifetime, such as 12h or 30d (default: never)")
	return cmd
}

func (a *app) tokensListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			toks, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, apiv1.TokenList{Items: toks})
			}
			now := time.Now()
			t := newTable(a.io.Out, "NAME", "ID", "ROLE", "ENV", "AGE", "EXPIRES", "LAST USED")
			for _, tok := range toks {
				t.row(tok.Name, tok.ID, tok.Role, dash(tok.Env), age(tok.CreatedAt, now), when(tok.ExpiresAt, now), when(tok.LastUsedAt, now))
			}
			return t.flush()
		},
	}
}

func (a *app) tokensRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME|ID",
		Short: "Revoke a token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "token %s revoked\n", args[0])
			return nil
		},
	}
}

// when renders an optional time relative to now.
func when(t *time.Time, now time.Time) string {
	switch {
	case t == nil:
		return "-"
	case t.After(now):
		return "in " + age(now, *t)
	}
	return age(*t, now) + " ago"
}
