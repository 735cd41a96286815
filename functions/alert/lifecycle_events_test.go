package function

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
	"github.com/edgewatch/edgewatch/functions/alert/internal/pgtest"
)

// sink is a CloudEvents receiver in binary mode that refuses every event
// with 503 until it is opened.
type sink struct {
	srv     *httptest.Server
	open    atomic.Bool
	refused atomic.Int64
	mu      sync.Mutex
	got     []sunk
}

type sunk struct {
	id, typ, subject string
	data             contract.Incident
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.open.Load() {
			s.refused.Add(1)
			http.Error(w, "broker away", http.StatusServiceUnavailable)
			return
		}
		var d contract.Incident
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, sunk{id: r.Header.Get("Ce-Id"), typ: r.Header.Get("Ce-Type"), subject: r.Header.Get("Ce-Subject"), data: d})
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) received() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.got...)
}

// The updated and closed events of an incident wait in the outbox while
// the sink refuses them, outlive the function's restart, and reach the sink
// afterwards in order, with the ids they were written with.
func TestIncidentEventsOutliveAFailingSinkAndARestart(t *testing.T) {
	sk := newSink(t)
	dsn, _ := pgtest.Schema(t)
	cfg := map[string]string{"K_SINK": sk.srv.URL, "INCIDENT_UPDATE_INTERVAL": "1ns", "INCIDENT_QUIET": "300ms",
		"DELIVERY_HORIZON": "1ms", "EVENTS_POLL": "50ms", "EVENTS_BACKOFF": "20ms", "EVENTS_MAX_BACKOFF": "100ms"}
	h := startOn(t, dsn, dsn, cfg)
	ctx := context.Background()
	now := time.Now()
	var incidentID string
	for i, id := range []string{"m.1", "m.2", "m.3"} {
		reply, err := h.f.Handle(ctx, detectionEvent(t, id, "cam-1", "fire", 0.99, now.Add(time.Duration(i)*10*time.Millisecond)))
		if err != nil {
			t.Fatalf("%v\n%s", err, h.logs.String())
		}
		if reply != nil {
			incidentID = reply.Subject()
		}
	}
	if incidentID == "" {
		t.Fatal("no incident opened")
	}
	waitFor(t, 10*time.Second, "the closed event queued and refused", func() bool {
		return h.count(t, `SELECT count(*) FROM incident_events WHERE type = 'closed'`) == 1 && sk.refused.Load() >= 3
	})
	if !strings.Contains(scrape(t, h.f), `edgewatch_alert_incident_events_retried_total{type="updated"}`) ||
		strings.Contains(scrape(t, h.f), `edgewatch_alert_incident_events_retried_total{type="updated"} 0`+"\n") {
		t.Fatalf("refused sends not counted as retried:\n%s", grep(scrape(t, h.f), "incident_events"))
	}
	if err := h.f.Stop(ctx); err != nil {
		t.Log(err)
	}

	sk.open.Store(true)
	h2 := startOn(t, dsn, dsn, cfg)
	want := []struct{ id, typ, status string }{
		{"incident-" + incidentID + ".updated.1", contract.TypeIncidentUpdated, "open"},
		{"incident-" + incidentID + ".updated.2", contract.TypeIncidentUpdated, "open"},
		{"incident-" + incidentID + ".closed", contract.TypeIncidentClosed, "closed"},
	}
	waitFor(t, 10*time.Second, "the events at the sink", func() bool { return len(sk.received()) >= len(want) })
	got := sk.received()
	for i, w := range want {
		g := got[i]
		if g.id != w.id || g.typ != w.typ || g.subject != incidentID || g.data.IncidentID != incidentID || g.data.Status != w.status {
			t.Errorf("event %d at the sink: %+v, want %s %s (%s)", i, g, w.typ, w.id, w.status)
		}
	}
	if got[2].data.ClosedAt == nil || got[2].data.Hits != 3 {
		t.Errorf("closed event data %+v, want closed_at and 3 hits", got[2].data)
	}
	waitFor(t, 5*time.Second, "every event marked sent", func() bool {
		return h2.count(t, `SELECT count(*) FROM incident_events WHERE status = 'sent'`) == len(want)
	})
	if !strings.Contains(scrape(t, h2.f), `edgewatch_alert_incident_events_sent_total{type="closed"} 1`) {
		t.Fatalf("sent events not counted:\n%s", grep(scrape(t, h2.f), "incident_events"))
	}
}

// Without K_SINK no incident event is queued: nothing would ever send it.
func TestNoIncidentEventsWithoutSink(t *testing.T) {
	h := start(t, map[string]string{"INCIDENT_UPDATE_INTERVAL": "1ns", "INCIDENT_QUIET": "300ms", "DELIVERY_HORIZON": "1ms"})
	now := time.Now()
	for i, id := range []string{"m.1", "m.2", "m.3"} {
		if _, err := h.f.Handle(context.Background(), detectionEvent(t, id, "cam-1", "fire", 0.99, now.Add(time.Duration(i)*10*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the closer", func() bool {
		return h.count(t, `SELECT count(*) FROM incidents WHERE status = 'closed'`) == 1
	})
	if n := h.count(t, `SELECT count(*) FROM incident_events`); n != 0 {
		t.Fatalf("%d incident events queued without a sink", n)
	}
}
