package function

import (
	"context"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
	"github.com/edgewatch/edgewatch/functions/alert/internal/pgtest"
)

// alert's side of the read model contract: an incident it opens is a row of
// contract.ReadModelView, announced on contract.IncidentChannel of its schema with its id.
func TestReadModelAndChannelAsContracted(t *testing.T) {
	dsn, schema := pgtest.Schema(t)
	h := startOn(t, dsn, dsn, map[string]string{"OPEN_SCORE": "0.5"})
	l := pq.NewListener(dsn, 10*time.Millisecond, time.Second, nil)
	defer l.Close()
	if err := l.Listen(contract.IncidentChannel(schema)); err != nil {
		t.Fatal(err)
	}
	reply, err := h.f.Handle(context.Background(), detectionEvent(t, "m.1", "cam-1", "fire", 0.9, time.Now()))
	if err != nil || reply == nil {
		t.Fatalf("no incident opened: %v", err)
	}
	id := reply.Subject()
	select {
	case n := <-l.Notify:
		if n == nil || n.Extra != id {
			t.Fatalf("notification %+v, want the incident id %s", n, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no notification on %s", contract.IncidentChannel(schema))
	}
	var status string
	var hits int
	if err := h.db.QueryRow(`SELECT status, hits FROM `+contract.ReadModelView+` WHERE id = $1`, id).Scan(&status, &hits); err != nil {
		t.Fatal(err)
	}
	if status != "open" || hits != 1 {
		t.Fatalf("read model row: %s with %d hits, want open with 1", status, hits)
	}
}
