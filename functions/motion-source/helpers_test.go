package function

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/syncbuf"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"github.com/edgewatch/edgewatch/functions/motion-source/watch"
	"github.com/prometheus/client_golang/prometheus"
)

// sink is a real CloudEvents receiver on 127.0.0.1:0.
type sink struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []received
	posts  atomic.Int64
}

type received struct {
	header http.Header
	event  event.Event
}

func newSink(t *testing.T, status int) *sink {
	t.Helper()
	s := &sink{}
	s.status.Store(int32(status))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.posts.Add(1)
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		code := int(s.status.Load())
		if code < 300 {
			s.mu.Lock()
			s.got = append(s.got, received{header: r.Header.Clone(), event: *e})
			s.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) events() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func (s *sink) byCamera() map[string][]received {
	out := map[string][]received{}
	for _, r := range s.events() {
		cam, _ := r.event.Extensions()[contract.ExtCamera].(string)
		out[cam] = append(out[cam], r)
	}
	return out
}

// clip writes a sample clip into the test's temporary directory.
func clip(t *testing.T, name string, scene samplevideo.Scene) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := samplevideo.Write(path, scene); err != nil {
		t.Fatal(err)
	}
	return path
}

// started runs a Source with cfg until the test ends; it returns the
// source, its registry and its log.
func started(t *testing.T, cfg map[string]string) (*Source, *prometheus.Registry, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	reg := prometheus.NewRegistry()
	if _, ok := cfg[KeyMetricsAddress]; !ok {
		cfg[KeyMetricsAddress] = "127.0.0.1:0"
	}
	s := NewWithDeps(Deps{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: reg, Progress: logs})
	if err := s.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s, reg, logs
}

// metric returns the value of a counter or gauge with the given labels
// (summed over label sets that match).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// eventually polls cond every 20 ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status fetches the Source's status page through Handle.
func status(t *testing.T, s *Source) (StatusPage, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handle(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body, _ := io.ReadAll(rec.Body)
	var page StatusPage
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("status page: %v: %s", err, body)
	}
	return page, string(body)
}

func camStatus(page StatusPage, id string) (st watch.Status) {
	for _, c := range page.Cameras {
		if c.ID == id {
			return c
		}
	}
	return st
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
