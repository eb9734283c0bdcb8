package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/internal/api"
	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/feed"
	"sluice.dev/sluice/internal/flags/ofrep"
	"sluice.dev/sluice/internal/spec"
	"sluice.dev/sluice/internal/store"
)

// StreamKeyFile holds the key that signs OFREP event-stream URLs (mode
// 0600), so that a URL handed out before a restart still works after it.
const StreamKeyFile = "ofrep-stream.key"

// flagPollEvery bounds how late a server learns of a FlagSet change made
// through another server sharing its store. Changes made through this
// server are published at once.
const flagPollEvery = time.Second

// flagSetSource is what the flag server needs of the resources service.
type flagSetSource interface {
	// List returns every resource of a kind.
	List(ctx context.Context, kind string) ([]store.Object, error)
	// Changed is closed at the next change of any resource.
	Changed() <-chan struct{}
}

// flagServer keeps the live flag set of every environment in step with
// the store's FlagSets, and serves them over OFREP. Its Run goroutine is
// the only writer of its feed.
type flagServer struct {
	src   flagSetSource
	feed  *feed.Feed
	ofrep *ofrep.Handler
	log   *slog.Logger
	poll  time.Duration

	// published maps each environment to the version last compiled for it,
	// whether it compiled or not (a stored set that no longer compiles is
	// reported once, and the previous one keeps being served).
	published map[string]string
}

// newFlagServer loads every FlagSet, so that OFREP answers with the stored
// flags from its first request, and builds the OFREP handler.
func newFlagServer(ctx context.Context, src flagSetSource, dataDir string, log *slog.Logger, reg prometheus.Registerer) (*flagServer, error) {
	key, err := loadStreamKey(filepath.Join(dataDir, StreamKeyFile))
	if err != nil {
		return nil, err
	}
	f := &flagServer{src: src, feed: feed.New(), log: log, poll: flagPollEvery, published: map[string]string{}}
	metrics := newFlagMetrics(reg, f.feed)
	f.ofrep = ofrep.NewHandler(f.feed, api.OFREPEnvironment, ofrep.WithStreamKey(key), ofrep.WithLogger(log),
		ofrep.WithOnEvaluate(metrics.observe))
	if err := f.sync(ctx); err != nil {
		return nil, fmt.Errorf("load flag sets: %w", err)
	}
	return f, nil
}

// routes are the OFREP routes to mount beside the API.
func (f *flagServer) routes() []api.Route { return api.OFREPRoutes(f.ofrep) }

// Run republishes FlagSets as they change, woken by changes made through
// this server and by a poll for changes made through others, until ctx
// ends. A failed reload is logged and retried at the next wake-up.
func (f *flagServer) Run(ctx context.Context) error {
	ticker := time.NewTicker(f.poll)
	defer ticker.Stop()
	for {
		changed := f.src.Changed()
		if err := f.sync(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("reload flag sets", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-ticker.C:
		}
	}
}

// sync reads every FlagSet and publishes the ones that changed, and
// removes the environments whose FlagSet is gone.
func (f *flagServer) sync(ctx context.Context) error {
	objs, err := f.src.List(ctx, spec.KindFlagSet)
	if err != nil {
		return err
	}
	changed, removed := planFlagSync(f.published, objs)
	for _, o := range changed {
		version := flagSetVersion(o)
		f.published[o.Name] = version
		set, err := f.compile(o)
		if err != nil {
			f.log.Error("a stored FlagSet does not compile; its environment keeps its previous flags",
				"env", o.Name, "resource_version", o.ResourceVersion, "error", err)
			continue
		}
		f.feed.Publish(o.Name, set, version)
		f.log.Debug("flags published", "env", o.Name, "version", version, "flags", set.Len())
	}
	for _, env := range removed {
		delete(f.published, env)
		f.feed.Remove(env)
		f.log.Info("flags removed", "env", env)
	}
	return nil
}

// compile builds a stored FlagSet. Stored sets passed the strict parser
// when they were applied; one that no longer does (written by another
// version of sluice) is loaded the way flagd would load it.
func (f *flagServer) compile(o store.Object) (*flags.Set, error) {
	set, err := flags.Parse(o.Spec)
	if err == nil {
		return set, nil
	}
	set, lenientErr := flags.ParseLenient(o.Spec)
	if lenientErr != nil {
		return nil, lenientErr
	}
	f.log.Warn("a stored FlagSet breaks the strict rules; serving what flagd would", "env", o.Name, "problems", err)
	return set, nil
}

// planFlagSync decides what a sync does: the FlagSets whose version differs
// from the one published for their environment, and the environments that
// have no FlagSet any more, sorted.
func planFlagSync(published map[string]string, objs []store.Object) (changed []store.Object, removed []string) {
	present := make(map[string]bool, len(objs))
	for _, o := range objs {
		present[o.Name] = true
		if v, ok := published[o.Name]; !ok || v != flagSetVersion(o) {
			changed = append(changed, o)
		}
	}
	for env := range published {
		if !present[env] {
			removed = append(removed, env)
		}
	}
	slices.Sort(removed)
	return changed, removed
}

// flagSetVersion identifies a stored FlagSet's content: its resource
// version, and its creation time so that a deleted and re-created set does
// not repeat a version clients have seen.
func flagSetVersion(o store.Object) string {
	return strconv.FormatInt(o.ResourceVersion, 10) + "-" + strconv.FormatInt(o.CreatedAt.UnixNano(), 36)
}

// loadStreamKey reads the event-stream signing key, making one on first
// use.
func loadStreamKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("%s does not hold a hex key of at least 16 bytes; delete it to make a new one", path)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read the OFREP stream key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make the OFREP stream key: %w", err)
	}
	if err := writePrivate(path, hex.EncodeToString(key)+"\n"); err != nil {
		return nil, fmt.Errorf("write the OFREP stream key: %w", err)
	}
	return key, nil
}
