package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestMain turns the test binary into the child process when asked, so the
// tests supervise a real process that serves a readiness endpoint.
func TestMain(m *testing.M) {
	if addr := os.Getenv("SUPERVISOR_TEST_CHILD"); addr != "" {
		runChild(addr)
		return
	}
	if runMode() {
		return
	}
	os.Exit(m.Run())
}

func runChild(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(3)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "READY")
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("child serving", addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	fmt.Println("child got SIGTERM")
	os.Exit(0)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestProcessStartsBecomesReadyRestartsAndStops(t *testing.T) {
	addr := freeAddr(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := New(Spec{
		Name:      "child",
		Path:      exe,
		Env:       []string{"SUPERVISOR_TEST_CHILD=" + addr},
		ReadyURL:  "http://" + addr + "/health/readiness",
		Restart:   true,
		StopGrace: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	for p.Starts() < 2 {
		select {
		case <-ctx.Done():
			t.Fatal("killed process was not restarted")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := p.WaitReady(ctx); err != nil {
		t.Fatalf("restarted process not ready: %v", err)
	}

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("process still running after Stop")
	}
	time.Sleep(700 * time.Millisecond)
	if p.Starts() != 2 || p.Running() {
		t.Fatalf("stopped process was restarted: starts=%d", p.Starts())
	}
}

func TestWaitReadyFailsWhenProcessExits(t *testing.T) {
	p := New(Spec{Name: "false", Path: "/bin/false", ReadyURL: "http://" + freeAddr(t) + "/"},
		slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("want an exit error before the deadline, got %v", err)
	}
}
