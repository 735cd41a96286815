package postgres

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
)

// eventOptions write each event's payload as the incident's id, status,
// hits and whether it carries the image.
func eventOptions(interval time.Duration) *EventOptions {
	return &EventOptions{UpdateInterval: interval, Data: func(inc incident.Incident, withImage bool) ([]byte, error) {
		return json.Marshal(map[string]any{"id": inc.ID, "status": inc.Status, "hits": inc.Hits, "image": withImage && len(inc.Snapshot) > 0})
	}}
}

type queuedEvent struct {
	ID, Kind string
	Time     time.Time
	Data     map[string]any
}

func queuedEvents(t *testing.T, s *Store) []queuedEvent {
	t.Helper()
	rows, err := s.db.Query(`SELECT id, type, event_time, data FROM incident_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []queuedEvent
	for rows.Next() {
		var (
			e   queuedEvent
			raw []byte
		)
		if err := rows.Scan(&e.ID, &e.Kind, &e.Time, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &e.Data); err != nil {
			t.Fatal(err)
		}
		e.Time = e.Time.UTC()
		out = append(out, e)
	}
	return out
}

// A detection every second for 25 s makes an updated event at most every
// 10 s of receive time after the opening, whatever the redeliveries.
func TestUpdatedEventsAreRateLimited(t *testing.T) {
	s, _, _ := newStore(t, Options{Events: eventOptions(10 * time.Second)})
	ctx := context.Background()
	var id string
	for i := range 26 {
		d := det("d"+string(rune('a'+i)), "cam-1", "fire", time.Duration(i)*time.Second, 0.99)
		out, err := s.StoreDetection(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		id = out.Incident.ID
		// A redelivery never queues anything.
		again, err := s.StoreDetection(ctx, d)
		if err != nil || !again.Duplicate || again.Events {
			t.Fatalf("redelivery of %s: %+v, %v", d.EventID, again, err)
		}
	}
	got := queuedEvents(t, s)
	// Opened by the first detection (0.99 is above the open score) at 0 s;
	// updated at 10 s and 20 s.
	want := []struct {
		id   string
		at   time.Duration
		hits float64
	}{{UpdatedID(id, 1), 10 * time.Second, 11}, {UpdatedID(id, 2), 20 * time.Second, 21}}
	if len(got) != len(want) {
		t.Fatalf("queued events %+v, want %d updated", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Kind != "updated" || !g.Time.Equal(t0.Add(w.at)) || g.Data["hits"] != w.hits || g.Data["status"] != "open" {
			t.Errorf("event %d: %+v, want id %s at +%s with %v hits", i, g, w.id, w.at, w.hits)
		}
	}
}

// The updated event carries the snapshot only when a better detection
// replaced it since the last lifecycle event.
func TestUpdatedEventCarriesAChangedSnapshotOnly(t *testing.T) {
	s, _, _ := newStore(t, Options{Events: eventOptions(time.Second)})
	ctx := context.Background()
	for i, c := range []float64{0.96, 0.97, 0.98, 0.90, 0.99} {
		if _, err := s.StoreDetection(ctx, det("e"+string(rune('a'+i)), "cam-1", "fire", time.Duration(i)*2*time.Second, c)); err != nil {
			t.Fatal(err)
		}
	}
	// Opened by 0.96; 0.97, 0.98 and 0.99 are new bests, 0.90 is not.
	got := queuedEvents(t, s)
	want := []bool{true, true, false, true}
	if len(got) != len(want) {
		t.Fatalf("queued events %+v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].Data["image"] != w {
			t.Errorf("updated event %d carries the image: %v, want %v", i+1, got[i].Data["image"], w)
		}
	}
}

// An incident closes once, by the closer or by a later detection, and its
// closed event has the incident's stable id whatever runs again.
func TestClosedEventOnceWithStableID(t *testing.T) {
	s, _, _ := newStore(t, Options{Events: eventOptions(time.Hour)})
	ctx := context.Background()
	var id string
	for i := range 3 {
		out, err := s.StoreDetection(ctx, det("c"+string(rune('a'+i)), "cam-1", "fire", time.Duration(i)*time.Second, 0.99))
		if err != nil {
			t.Fatal(err)
		}
		id = out.Incident.ID
	}
	for range 2 {
		if _, _, err := s.CloseQuiet(ctx, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	got := queuedEvents(t, s)
	if len(got) != 1 || got[0].ID != ClosedID(id) || got[0].Kind != "closed" || got[0].Data["status"] != "closed" ||
		!got[0].Time.Equal(t0.Add(2*time.Second+testPolicy().Quiet)) {
		t.Fatalf("queued events %+v, want one closed event %s at the end of the quiet period", got, ClosedID(id))
	}

	// Ended by the camera's clock: a detection long after the last one.
	for i := range 3 {
		if _, err := s.StoreDetection(ctx, det("g"+string(rune('a'+i)), "cam-2", "gun", time.Duration(i)*time.Second, 0.99)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.StoreDetection(ctx, det("later", "cam-2", "gun", 10*time.Minute, 0.99))
	if err != nil || len(out.Ended) != 1 || !out.Events {
		t.Fatalf("late detection: %+v, %v", out, err)
	}
	got = queuedEvents(t, s)
	if len(got) != 2 || got[1].ID != ClosedID(out.Ended[0].ID) {
		t.Fatalf("queued events %+v, want the second incident's closed event", got)
	}
}

// Claim hands out an incident's events one at a time in order: a later
// event waits while an earlier one is retried.
func TestEventOutboxKeepsOrderPerIncident(t *testing.T) {
	s, _, _ := newStore(t, Options{Events: eventOptions(time.Second)})
	ctx := context.Background()
	var id string
	for i := range 6 {
		out, err := s.StoreDetection(ctx, det("o"+string(rune('a'+i)), "cam-1", "fire", time.Duration(i)*time.Second, 0.99))
		if err != nil {
			t.Fatal(err)
		}
		id = out.Incident.ID
	}
	if _, _, err := s.CloseQuiet(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	box := s.Events()
	var sent []string
	for round := 0; round < 50; round++ {
		jobs, err := box.Claim(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 1 {
			t.Fatalf("claimed %d events of one incident at once", len(jobs))
		}
		if len(jobs) == 0 {
			break
		}
		j := jobs[0]
		if j.Attempts == 1 && j.Kind == "updated" {
			// The first try of each updated event fails.
			if err := box.Retry(ctx, j.Seq, time.Now().Add(-time.Second), "sink down"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := box.Sent(ctx, j.Seq); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, j.ID)
	}
	// Opened at 0 s, updated at 1 s to 5 s, then closed.
	want := []string{UpdatedID(id, 1), UpdatedID(id, 2), UpdatedID(id, 3), UpdatedID(id, 4), UpdatedID(id, 5), ClosedID(id)}
	if len(sent) != len(want) {
		t.Fatalf("sent %v, want %v", sent, want)
	}
	for i := range want {
		if sent[i] != want[i] {
			t.Fatalf("sent %v, want %v", sent, want)
		}
	}
}
