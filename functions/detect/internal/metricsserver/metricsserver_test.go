package metricsserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServesMetricsOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "edgewatch_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Add(3)
	s, err := Start("127.0.0.1:0", reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr()
	for _, tc := range []struct {
		method, path, body string
		want               int
		has                string
	}{
		{"GET", "/metrics", "", 200, "edgewatch_test_total 3"},
		{"POST", "/metrics", "", 405, "metrics are read with GET"},
		{"GET", "/", "", 404, "serves /metrics only"},
		{"GET", "/metrics", "x", 413, "no body"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		if tc.body == "" {
			req.Body = nil
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.has) {
			t.Errorf("%s %s: %d %q, want %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.want, tc.has)
		}
	}
}

func TestOffServesNothing(t *testing.T) {
	s, err := Start(Off, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil || s != nil || s.Addr() != "" || s.Shutdown(context.Background()) != nil {
		t.Fatalf("off: %v %v", s, err)
	}
}
