package process

import (
	"context"
	"errors"
	"testing"
	"time"

	"sluice.dev/sluice/internal/runtime"
)

func TestAliveFollowsRun(t *testing.T) {
	d, err := New(Config{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Alive(context.Background()); err == nil {
		t.Fatal("a driver that does not run yet is alive")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	eventually(t, "the driver answers", func() bool {
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		defer pcancel()
		return d.Alive(pctx) == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Alive(context.Background()); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("after Run: %v, want ErrClosed", err)
	}
}
