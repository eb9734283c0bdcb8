package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice.dev/sluice/pkg/apiv1"
)

// measureReady starts the server rounds times, each on a new data
// directory, and times each start until /readyz answers 200.
func measureReady(ctx context.Context, bins binaries, dir string, rounds int) ([]time.Duration, error) {
	var out []time.Duration
	for i := range rounds {
		start := time.Now()
		s, err := startServer(ctx, bins, filepath.Join(dir, fmt.Sprintf("ready-%d", i)))
		if err != nil {
			return nil, err
		}
		err = poll(ctx, 10*time.Second, time.Millisecond, func() bool { return readyOnce(ctx, s.URL+"/readyz") })
		elapsed := time.Since(start)
		s.Stop()
		if err != nil {
			return nil, fmt.Errorf("/readyz: %w", err)
		}
		out = append(out, elapsed)
	}
	return out, nil
}

// memory is what an idle server holds.
type memory struct {
	sluice, children int64 // resident bytes
	count            int   // child processes
}

// measureIdle serves n apps (one instance each), lets the server idle,
// and reads the resident memory of sluice and of its children.
func measureIdle(ctx context.Context, bins binaries, dir string, n int, idle time.Duration) (memory, error) {
	s, err := startServer(ctx, bins, filepath.Join(dir, "idle"))
	if err != nil {
		return memory{}, err
	}
	defer s.Stop()
	for i := range n {
		addr, err := freeAddr()
		if err != nil {
			return memory{}, err
		}
		if _, err := s.Client.Apply(ctx, appDoc(bins, fmt.Sprintf("app-%d", i), addr, "autoPromote: true")); err != nil {
			return memory{}, err
		}
	}
	for i := range n {
		if err := waitApp(ctx, s, fmt.Sprintf("app-%d", i), 60*time.Second, func(st apiv1.AppStatus) bool {
			return st.StableRevision == 1 && st.Phase == apiv1.PhaseHealthy
		}); err != nil {
			return memory{}, err
		}
	}
	select {
	case <-ctx.Done():
		return memory{}, errStopped
	case <-time.After(idle):
	}
	pid := s.Cmd.Process.Pid
	var m memory
	if m.sluice, err = rss(pid); err != nil {
		return m, err
	}
	for _, child := range children(pid) {
		if b, err := rss(child); err == nil {
			m.children += b
			m.count++
		}
	}
	return m, nil
}

// rss reads a process's resident set size from /proc (Linux).
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at its ')'.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// measureSwitch times promotions and undos under load: each round deploys
// a new version, waits until it is healthy and previewed, then times
// `rollout promote` to the first answer from it, and `rollout undo` to the
// first answer from the warm old revision.
func measureSwitch(ctx context.Context, bins binaries, dir string, rounds int) (promote, undo []time.Duration, err error) {
	s, err := startServer(ctx, bins, filepath.Join(dir, "switch"))
	if err != nil {
		return nil, nil, err
	}
	defer s.Stop()
	listen, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.Client.Apply(ctx, appDoc(bins, "switch", listen, "autoPromote: false, scaleDownDelay: 1h")); err != nil {
		return nil, nil, err
	}
	if err := waitApp(ctx, s, "switch", 60*time.Second, func(st apiv1.AppStatus) bool { return st.StableRevision == 1 }); err != nil {
		return nil, nil, err
	}
	w := newWatcher(ctx, "http://"+listen+"/", 4)
	defer w.stop()
	timeTo := func(version, action string) (time.Duration, error) {
		seen := w.expect(version)
		start := time.Now()
		if _, err := s.Client.Rollout(ctx, "switch", action); err != nil {
			return 0, err
		}
		select {
		case at := <-seen:
			return at.Sub(start), nil
		case <-time.After(10 * time.Second):
			return 0, fmt.Errorf("%s: no answer from %s within 10s", action, version)
		case <-ctx.Done():
			return 0, errStopped
		}
	}
	for i := range rounds {
		version := fmt.Sprintf("v%d", i+2)
		res, err := s.Client.Deploy(ctx, "switch", apiv1.DeployRequest{Env: map[string]string{"VERSION": version}})
		if err != nil {
			return nil, nil, err
		}
		if err := waitApp(ctx, s, "switch", 60*time.Second, func(st apiv1.AppStatus) bool {
			return st.CandidateRevision == res.Revision && st.Phase == apiv1.PhasePaused
		}); err != nil {
			return nil, nil, err
		}
		d, err := timeTo(version, apiv1.ActionPromote)
		if err != nil {
			return nil, nil, err
		}
		promote = append(promote, d)
		if d, err = timeTo("v1", apiv1.ActionUndo); err != nil {
			return nil, nil, err
		}
		undo = append(undo, d)
	}
	if err := w.err(); err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	return promote, undo, nil
}

// watcher sends requests in a loop from several keep-alive clients and
// reports when a wanted version first answers.
type watcher struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	want   string
	seen   chan time.Time
	failed error
}

func newWatcher(ctx context.Context, url string, clients int) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{cancel: cancel}
	for range clients {
		w.wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				version, err := fetch(ctx, c, url)
				now := time.Now()
				w.mu.Lock()
				switch {
				case err != nil && ctx.Err() == nil && w.failed == nil:
					w.failed = err
				case err == nil && w.want != "" && version == w.want:
					w.want = ""
					w.seen <- now
				}
				w.mu.Unlock()
			}
		})
	}
	return w
}

// expect arms the watcher for version; the channel receives when the
// first response from it arrived.
func (w *watcher) expect(version string) <-chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want, w.seen = version, make(chan time.Time, 1)
	return w.seen
}

func (w *watcher) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

func (w *watcher) stop() {
	w.cancel()
	w.wg.Wait()
}

// fetch GETs url and returns the version in the answer.
func fetch(ctx context.Context, c *http.Client, url string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var r struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", err
	}
	return r.Version, nil
}
