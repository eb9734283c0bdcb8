// Package benchkit holds what sluice's benchmark programs share: starting
// a real `sluice server` in a data directory and stopping it.
package benchkit

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sluice.dev/sluice/pkg/client"
)

// startTimeout bounds how long a server may take to write its URL.
const startTimeout = 30 * time.Second

// Server is a running `sluice server` on a free loopback port.
type Server struct {
	// Bin is the sluice binary; DataDir the server's data directory.
	Bin, DataDir string
	// URL is the API's URL; Token the admin token.
	URL, Token string
	// Cmd is the server's process.
	Cmd *exec.Cmd
	// Client talks to the API with the admin token.
	Client *client.Client
}

// StartServer runs `bin server` with its state in dataDir, JSON logs to
// stderr, and the extra flags given, and returns once the server wrote its
// URL and admin token.
func StartServer(ctx context.Context, bin, dataDir string, flags ...string) (*Server, error) {
	s := &Server{Bin: bin, DataDir: dataDir}
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"}, flags...)
	s.Cmd = exec.Command(bin, args...)
	s.Cmd.Stdout, s.Cmd.Stderr = os.Stderr, os.Stderr
	if err := s.Cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		b, err := os.ReadFile(filepath.Join(dataDir, "server.url"))
		if s.URL = strings.TrimSpace(string(b)); err == nil && s.URL != "" {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			return nil, errors.New("the server wrote no URL")
		}
		time.Sleep(time.Millisecond) // fine-grained: startup time is measured through this wait
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err == nil {
		s.Token = strings.TrimSpace(string(tok))
		s.Client, err = client.New(s.URL, s.Token)
	}
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop ends the server gracefully, or kills it after 15s.
func (s *Server) Stop() {
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = s.Cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-done
	}
}
