package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

func (a *app) secretsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Keep versioned, encrypted key/values for apps",
		Long: `Secrets are versioned key/values, encrypted at rest under a master key that
never enters the store. Apps reference them in their env:

  env:
    - name: DB_PASSWORD
      valueFrom: {secret: {path: hello/db, key: password}}

Only admin tokens may write secrets or see their values; deployers and
viewers see paths, versions and key names with the values masked.`,
	}
	cmd.AddCommand(a.secretsPutCommand(), a.secretsGetCommand(), a.secretsListCommand(), a.secretsVersionsCommand(),
		a.secretsRollbackCommand(), a.secretsRmCommand(), a.secretsRotateCommand())
	return cmd
}

func (a *app) secretsPutCommand() *cobra.Command {
	var fromFile string
	cmd := &cobra.Command{
		Use:   "put PATH [KEY=VALUE...] [--from-file FILE]",
		Short: "Write a new version of a secret",
		Long: `Write a new version of a secret. The new version holds exactly the keys given:
keys of the previous version that are not repeated are not carried over.

--from-file reads a JSON object of strings, or KEY=VALUE lines (blank lines
and lines starting with # are skipped); '-' reads standard input. Prefer it
to KEY=VALUE arguments, which shells keep in their history and other users
of the machine can see in the process list. Arguments override the file.`,
		Example: "  sluice secrets put hello/db user=web --from-file db.env\n  printf 'password=%s\\n' \"$PW\" | sluice secrets put hello/db --from-file -",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := map[string]string{}
			if fromFile != "" {
				var err error
				if data, err = readSecretFile(fromFile, a.io.In); err != nil {
					return err
				}
			}
			for i, kv := range args[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("argument %d after the path is not KEY=VALUE", i+1)
				}
				data[k] = v
			}
			if len(data) == 0 {
				return usagef("secrets put needs KEY=VALUE arguments or --from-file")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			v, err := c.PutSecret(cmd.Context(), args[0], data)
			clear(data)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "secret %s version %d written\n", args[0], v.Version)
			a.printSecretRollouts(v.Rollouts)
			return nil
		},
	}
	cmd.Flags().StringVar(&fromFile, "from-file", "", "read KEY=VALUE lines or a JSON object from FILE ('-': standard input)")
	return cmd
}

// readSecretFile reads key/values from a file or stdin: a JSON object of
// strings, or KEY=VALUE lines. Errors name lines, never values.
func readSecretFile(name string, stdin io.Reader) (map[string]string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 2<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer clear(b)
	data := map[string]string{}
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &data); err != nil {
			return nil, usagef("%s: not a JSON object of strings", name)
		}
		return data, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "export "))
		if !ok || k == "" {
			return nil, usagef("%s line %d: not KEY=VALUE", name, n)
		}
		data[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

func (a *app) secretsGetCommand() *cobra.Command {
	var version int64
	var reveal bool
	cmd := &cobra.Command{
		Use:   "get PATH [--version N] [--reveal]",
		Short: "Show a secret's keys, masked unless --reveal",
		Long: `Show one version of a secret (the newest by default). Values are masked;
--reveal shows them, for admin tokens only, and the read is audited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := a.format()
			if err != nil {
				return err
			}
			if version < 0 {
				return usagef("--version must be a positive number")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var sec apiv1.Secret
			if reveal {
				sec, err = c.Secret(cmd.Context(), args[0], version)
			} else {
				var md apiv1.SecretMetadata
				md, err = c.SecretMetadata(cmd.Context(), args[0], version)
				sec = md.Secret
			}
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, sec)
			}
			fmt.Fprintf(a.io.Out, "%s version %d\n", sec.Path, sec.Version)
			t := newTable(a.io.Out, "KEY", "VALUE")
			keys := make([]string, 0, len(sec.Data))
			for k := range sec.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				t.row(k, sec.Data[k])
			}
			return t.flush()
		},
	}
	cmd.Flags().Int64Var(&version, "version", 0, "the version to show (default: the newest)")
	cmd.Flags().BoolVar(&reveal, "reveal", false, "show the values (admin tokens only; audited)")
	return cmd
}

func (a *app) secretsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List secrets (paths and versions, never values)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			list, err := c.Secrets(cmd.Context())
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, apiv1.SecretList{Items: list})
			}
			now := time.Now()
			t := newTable(a.io.Out, "PATH", "VERSION", "UPDATED")
			for _, s := range list {
				t.row(s.Path, s.LatestVersion, age(s.UpdatedAt, now)+" ago")
			}
			return t.flush()
		},
	}
}

func (a *app) secretsVersionsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "versions PATH",
		Short: "List a secret's versions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			md, err := c.SecretMetadata(cmd.Context(), args[0], 0)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, md.Versions)
			}
			now := time.Now()
			t := newTable(a.io.Out, "VERSION", "CREATED", "BY", "NOTE")
			for _, v := range md.Versions {
				note := "-"
				if v.RestoredFrom > 0 {
					note = fmt.Sprintf("rollback to version %d", v.RestoredFrom)
				}
				t.row(v.Version, age(v.CreatedAt, now)+" ago", dash(v.Actor), note)
			}
			return t.flush()
		},
	}
}

func (a *app) secretsRollbackCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rollback PATH VERSION",
		Short: "Make an earlier version's data the newest version",
		Long: `Write the data of an earlier version as a new version. Nothing is lost: the
versions in between stay readable, and the rollback can itself be undone.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || version < 1 {
				return usagef("VERSION must be a version number, got %q", args[1])
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			v, err := c.RollbackSecret(cmd.Context(), args[0], version)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "secret %s version %d restores version %d\n", args[0], v.Version, version)
			a.printSecretRollouts(v.Rollouts)
			return nil
		},
	}
}

// printSecretRollouts names the revisions a secret change made in apps
// with rolloutOnSecretChange.
func (a *app) printSecretRollouts(made []apiv1.SecretRollout) {
	for _, r := range made {
		fmt.Fprintf(a.io.Out, "app %s: revision %d rolls out the change\n", r.App, r.Revision)
	}
}

func (a *app) secretsRmCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rm PATH",
		Short: "Destroy every version of a secret",
		Long: `Remove a secret: every version's encrypted data and data key is deleted from
the store and cannot be recovered. Its version numbers are not reused if the
path is written again. Apps with rolloutOnSecretChange that refer to it get a
new revision, which cannot start until the path is written again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "secret %s removed\n", args[0])
			return nil
		},
	}
}

func (a *app) secretsRotateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-master-key",
		Short: "Make a new master key and re-wrap every data key under it",
		Long: `Make a new master key and re-wrap every secret's data key under it, in one
transaction; the encrypted data is not rewritten.

When the server keeps its master key in a file, the file is replaced. When
the key came from SLUICE_MASTER_KEY, the new key is printed, alone, on
standard output, once: store it and set SLUICE_MASTER_KEY to it before the
server's next start, or the server will refuse to start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, c, err := a.connect()
			if err != nil {
				return err
			}
			res, err := c.RotateMasterKey(cmd.Context())
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, res)
			}
			if res.NewKey != "" {
				fmt.Fprintln(a.io.Out, res.NewKey)
				fmt.Fprintf(a.io.Err, "Re-wrapped %d data keys under master key %s.\n"+
					"The server took its key from SLUICE_MASTER_KEY: set it to the key printed above\n"+
					"before the server's next start. The old key no longer opens anything.\n", res.Rewrapped, res.KeyID)
				return nil
			}
			fmt.Fprintf(a.io.Out, "re-wrapped %d data keys under master key %s (written to %s)\n", res.Rewrapped, res.KeyID, res.KeyFile)
			return nil
		},
	}
}
