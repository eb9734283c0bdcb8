package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"sluice.dev/sluice/pkg/apiv1"
)

func (a *app) applyCommand() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update resources from YAML or JSON",
		Long: `Create or update resources from YAML or JSON documents (separated by ---).
A directory means every .yaml, .yml and .json file in it. All documents are
applied together: if any is invalid, nothing changes and every problem is
listed with its field path.`,
		Example: "  sluice apply -f examples/hello/app.yaml\n  cat app.yaml | sluice apply -f -",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return usagef("apply needs -f FILE, -f DIR or -f -")
			}
			format, err := a.format()
			if err != nil {
				return err
			}
			body, err := a.readDocuments(files)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.Apply(cmd.Context(), body)
			if err != nil {
				return err
			}
			if format != outTable {
				return printData(a.io.Out, format, res)
			}
			for _, r := range res.Resources {
				line := appliedSummary(r)
				if r.Revision != 0 {
					line += fmt.Sprintf(" (revision %d)", r.Revision)
				}
				fmt.Fprintln(a.io.Out, line)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file, directory, or - for standard input (repeatable)")
	return cmd
}

// readDocuments reads every named source into one stream of documents.
func (a *app) readDocuments(sources []string) ([]byte, error) {
	var parts [][]byte
	for _, src := range sources {
		if src == "-" {
			b, err := io.ReadAll(a.io.In)
			if err != nil {
				return nil, fmt.Errorf("read standard input: %w", err)
			}
			parts = append(parts, b)
			continue
		}
		paths, err := expand(src)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			parts = append(parts, b)
		}
	}
	var out bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			out.WriteString("\n---\n")
		}
		out.Write(p)
	}
	return out.Bytes(), nil
}

// expand turns a directory into its spec files, sorted.
func expand(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				out = append(out, filepath.Join(path, e.Name()))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no .yaml, .yml or .json files", path)
	}
	sort.Strings(out)
	return out, nil
}

// appliedSummary says what an apply did to one resource.
func appliedSummary(r apiv1.Applied) string {
	return fmt.Sprintf("%s/%s %s", strings.ToLower(r.Kind), r.Name, r.Action)
}
