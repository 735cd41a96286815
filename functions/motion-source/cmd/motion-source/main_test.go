package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	function "github.com/edgewatch/edgewatch/functions/motion-source"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	fhttp "knative.dev/func-go/http"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The function hosted by func-go as the container runs it: configuration
// from the environment, readiness through /health/readiness, the status page
// on every other path, Stop when the context ends.
func TestHostedByFuncGo(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	clip := filepath.Join(t.TempDir(), "yard.avi")
	if err := samplevideo.Write(clip, samplevideo.Scene{Frames: 50, Object: true, ObjectStart: 5}); err != nil {
		t.Fatal(err)
	}
	addr, metrics := freeAddr(t), freeAddr(t)
	t.Setenv("LISTEN_ADDRESS", addr)
	t.Setenv("METRICS_ADDRESS", metrics)
	t.Setenv("K_SINK", sink.URL)
	t.Setenv("CAMERAS", fmt.Sprintf(`[{"id": "yard", "url": %q, "loop": true}]`, clip))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fhttp.New(function.NewWithDeps(function.Deps{Progress: io.Discard})).Start(ctx) }()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, _ := get("/health/readiness"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get("/"); code != http.StatusOK || !strings.Contains(body, `"id":"yard"`) {
		t.Fatalf("status page: %d %s", code, body)
	}
	if code, body := get("/any/path"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Fatalf("status page on another path: %d %s", code, body)
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("func-go returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop")
	}
	if _, err := http.Get("http://" + metrics + "/metrics"); err == nil {
		t.Error("metrics still served after stop: Stop was not called")
	}
}
