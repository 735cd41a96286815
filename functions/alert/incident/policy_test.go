package incident

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func det(id string, at time.Duration, conf float64) Detection {
	return Detection{EventID: id, Camera: "cam-1", Class: "fire", Confidence: conf, DetectedAt: t0.Add(at), Image: []byte{0xFF, 0xD8, 0xFF, byte(len(id))}}
}

func TestFoldOpensAfterMinHits(t *testing.T) {
	p := Policy{Gap: 10 * time.Second, Quiet: time.Minute, MinHits: 3, OpenScore: 0.9, Window: 10}
	inc := p.Start(det("a", 0, 0.5))
	for i, want := range []bool{false, false, true} {
		_, opened := p.Fold(&inc, det(string(rune('a'+i)), time.Duration(i)*time.Second, 0.5))
		if opened != want {
			t.Fatalf("detection %d: opened=%v, want %v", i, opened, want)
		}
	}
	if inc.Status != StatusOpen || inc.OpenedBy != "c" || inc.Hits != 3 || !inc.OpenedAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("incident after three hits: %+v", inc)
	}
	if _, opened := p.Fold(&inc, det("d", 3*time.Second, 0.5)); opened {
		t.Fatal("an open incident opened again")
	}
}

func TestFoldOpensOnMedianScore(t *testing.T) {
	p := Policy{Gap: 10 * time.Second, Quiet: time.Minute, MinHits: 100, OpenScore: 0.8, Window: 3}
	inc := p.Start(det("a", 0, 0.95))
	_, opened := p.Fold(&inc, det("a", 0, 0.95))
	if !opened {
		t.Fatal("one detection scoring 0.95 did not open with OpenScore 0.8")
	}
	// A low-scoring series keeps the median under the threshold.
	inc = p.Start(det("b", 0, 0.3))
	for i, c := range []float64{0.3, 0.9, 0.2, 0.1, 0.95} {
		if _, opened := p.Fold(&inc, det(string(rune('b'+i)), 0, c)); opened {
			t.Fatalf("opened at score %g with median %g", c, Median(inc.Scores))
		}
	}
	if len(inc.Scores) != 3 {
		t.Fatalf("window keeps %d scores, want 3", len(inc.Scores))
	}
}

func TestFoldKeepsBestSnapshot(t *testing.T) {
	p := DefaultPolicy()
	inc := p.Start(det("a", 0, 0.4))
	p.Fold(&inc, det("a", 0, 0.4))
	if best, _ := p.Fold(&inc, det("bb", time.Second, 0.7)); !best {
		t.Fatal("a more confident detection did not become the best")
	}
	if best, _ := p.Fold(&inc, det("c", 2*time.Second, 0.6)); best {
		t.Fatal("a less confident detection replaced the best")
	}
	if inc.BestDetectionID != "bb" || inc.MaxConfidence != 0.7 || inc.Snapshot[3] != 2 {
		t.Fatalf("best = %s %g", inc.BestDetectionID, inc.MaxConfidence)
	}
}

func TestEnded(t *testing.T) {
	p := Policy{Gap: 10 * time.Second, Quiet: time.Minute, MinHits: 3, OpenScore: 0.8, Window: 10}
	cand := Incident{Status: StatusCandidate, LastSeenAt: t0}
	if _, _, over := p.Ended(&cand, t0.Add(10*time.Second)); over {
		t.Fatal("candidate expired at exactly the gap")
	}
	if st, end, over := p.Ended(&cand, t0.Add(11*time.Second)); !over || st != StatusExpired || !end.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("candidate after the gap: %v %v %v", st, end, over)
	}
	open := Incident{Status: StatusOpen, LastSeenAt: t0}
	if _, _, over := p.Ended(&open, t0.Add(30*time.Second)); over {
		t.Fatal("open incident closed within its quiet period")
	}
	if st, _, over := p.Ended(&open, t0.Add(61*time.Second)); !over || st != StatusClosed {
		t.Fatal("open incident did not close after its quiet period")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{0.5}, 0.5}, {[]float64{0.9, 0.1, 0.5}, 0.5}, {[]float64{0.2, 0.8, 0.4, 0.6}, 0.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %g, want %g", c.in, got, c.want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Policy{}).Validate(); err == nil {
		t.Fatal("the zero policy validated")
	}
}
