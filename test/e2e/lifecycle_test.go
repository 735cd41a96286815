//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/contract"
)

// lifecycleConsumer is a consumer of incident events added to the broker as
// `kn trigger create` would add one: it records every event in the order
// the broker delivers it.
type lifecycleConsumer struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []consumed
}

type consumed struct{ id, typ, incident string }

func newLifecycleConsumer(t *testing.T) *lifecycleConsumer {
	c := &lifecycleConsumer{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.got = append(c.got, consumed{id: r.Header.Get("Ce-Id"), typ: r.Header.Get("Ce-Type"), incident: r.Header.Get("Ce-Incident")})
		c.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// events returns what the consumer received, each id once, in the order
// it first arrived (delivery is at least once).
func (c *lifecycleConsumer) events() []consumed {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	var out []consumed
	for _, e := range c.got {
		if !seen[e.id] {
			seen[e.id] = true
			out = append(out, e)
		}
	}
	return out
}

// deliveries counts every delivery, redeliveries included.
func (c *lifecycleConsumer) deliveries() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// withConsumerTriggers copies the committed Triggers and adds one per
// incident lifecycle type with the consumer as subscriber.
func withConsumerTriggers(t *testing.T, consumer string) string {
	t.Helper()
	src := filepath.Join(repoRoot(t), "config", "triggers")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, typ := range []string{contract.TypeIncidentOpened, contract.TypeIncidentUpdated, contract.TypeIncidentClosed} {
		name := "lifecycle-" + typ[strings.LastIndex(typ, ".")+1:]
		y := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: %s
  namespace: edgewatch
spec:
  broker: default
  filter:
    attributes:
      type: %s
  subscriber:
    uri: %s
`, name, typ, consumer)
		if err := os.WriteFile(filepath.Join(dst, name+".yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestIncidentLifecycleEvents follows one incident through the broker to a
// consumer added with a Trigger per lifecycle type: it sees the incident
// opened, updated while detections go on, and closed once the camera falls
// silent, in that order and all with the incident's id.
func TestIncidentLifecycleEvents(t *testing.T) {
	consumer := newLifecycleConsumer(t)
	in, v := newInbox(t), vlm(t)
	env := append(outsideEnv(in, v), "INCIDENT_QUIET=3s", "DELIVERY_HORIZON=1s", "CLOSE_INTERVAL=500ms",
		"INCIDENT_UPDATE_INTERVAL=1s")
	p := startPipeline(t, options{env: env, triggers: withConsumerTriggers(t, consumer.srv.URL+"/")})
	post := newPoster(t, p.brokerURL(), knifeCrop(t, 416))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	post.sendAll(ctx, t, []string{"cam-life"}, 12, 400*time.Millisecond, "life")

	var rows []incidentRow
	eventually(t, 90*time.Second, "the incident closed", func() bool {
		rows = incidents(t, p.db, "cam-life")
		return len(rows) == 1 && rows[0].status == "closed"
	})
	id := rows[0].id
	eventually(t, 30*time.Second, "the closed event at the consumer", func() bool {
		for _, e := range consumer.events() {
			if e.typ == contract.TypeIncidentClosed {
				return true
			}
		}
		return false
	})
	got := consumer.events()
	t.Logf("consumer received %d events (%d deliveries) for incident %s", len(got), consumer.deliveries(), id)
	if len(got) < 3 {
		t.Fatalf("events %+v, want opened, updated…, closed", got)
	}
	for i, e := range got {
		if e.incident != id {
			t.Errorf("event %d %+v is not of incident %s", i, e, id)
		}
		want := ""
		switch {
		case i == 0:
			want = "incident-" + id + ".opened"
		case i == len(got)-1:
			want = "incident-" + id + ".closed"
		default:
			want = fmt.Sprintf("incident-%s.updated.%d", id, i)
		}
		if e.id != want {
			t.Errorf("event %d: id %s (%s), want %s", i, e.id, e.typ, want)
		}
	}
	if got[0].typ != contract.TypeIncidentOpened || got[len(got)-1].typ != contract.TypeIncidentClosed {
		t.Errorf("events %+v do not run from opened to closed", got)
	}
	var pending int
	if err := p.db.QueryRow(`SELECT count(*) FROM incident_events WHERE status <> 'sent'`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("incident events not sent: %d (%v)", pending, err)
	}
	if n := p.metric("alert", "edgewatch_alert_incident_events_sent_total", `type="closed"`); n != 1 {
		t.Errorf("closed events sent: %v, want 1", n)
	}
}
