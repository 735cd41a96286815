package function

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// request sends one request and returns the status and body.
func request(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsServedOnSidePort starts the dashboard without a reachable
// database (it waits for one in the background) and reads its metrics.
func TestMetricsServedOnSidePort(t *testing.T) {
	f := NewWithDeps(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	err := f.Start(context.Background(), map[string]string{
		"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?sslmode=disable", "METRICS_ADDRESS": "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	base := "http://" + f.metrics.Addr()
	status, body := request(t, http.MethodGet, base+"/metrics", "")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	for _, want := range []string{"edgewatch_dashboard_event_streams 0", "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		reason             string
	}{
		{http.MethodPost, "/metrics", "", http.StatusMethodNotAllowed, "read with GET"},
		{http.MethodGet, "/", "", http.StatusNotFound, "serves /metrics only"},
		{http.MethodGet, "/metrics", "x", http.StatusRequestEntityTooLarge, "no body"},
	} {
		status, body := request(t, c.method, base+c.path, c.body)
		if status != c.status || !strings.Contains(body, c.reason) {
			t.Errorf("%s %s: %d %q, want %d with %q", c.method, c.path, status, body, c.status, c.reason)
		}
	}
}

func TestMetricsOff(t *testing.T) {
	f := NewWithDeps(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	err := f.Start(context.Background(), map[string]string{
		"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?sslmode=disable", "METRICS_ADDRESS": "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	if f.metrics.Addr() != "" {
		t.Errorf("metrics served on %s with METRICS_ADDRESS=off", f.metrics.Addr())
	}
}
