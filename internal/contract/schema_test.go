package contract

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func validDetection() Detection {
	return Detection{
		Camera: "cam-1", Class: "knife", Label: "knife", Confidence: 0.9,
		Box: Box{X: 10, Y: 20, W: 30, H: 40}, Frame: Frame{Width: 1920, Height: 1080},
		Image: "/9j/4AAQ", MotionID: "m-1", Location: &Location{Lat: 37.5, Lon: 127},
		DetectedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
	}
}

func TestSchemasAcceptValidPayloads(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	cases := map[string]any{
		TypeDetectionKnife: validDetection(),
		TypeIncidentOpened: Incident{IncidentID: "i-1", Camera: "cam-1", Class: "fire", Status: "open",
			OpenedAt: now, LastSeenAt: now, Confidence: 0.8, Hits: 3, DetectionID: "d-1"},
		TypeCaptionCreated: Caption{IncidentID: "i-1", Camera: "cam-1", Class: "gun", Caption: "a person in a red coat",
			Model: "smolvlm", CreatedAt: now},
	}
	for typ, v := range cases {
		raw, _ := json.Marshal(v)
		if err := s.Validate(typ, raw); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

func TestSchemasRejectBadPayloads(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(m map[string]any)) []byte {
		raw, _ := json.Marshal(validDetection())
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		f(m)
		out, _ := json.Marshal(m)
		return out
	}
	cases := []struct {
		name, typ string
		data      []byte
	}{
		{"not JSON", TypeDetectionKnife, []byte("{nope")},
		{"missing image", TypeDetectionKnife, mutate(func(m map[string]any) { delete(m, "image") })},
		{"unknown class", TypeDetectionKnife, mutate(func(m map[string]any) { m["class"] = "cat" })},
		{"class differs from type", TypeDetectionFire, mutate(func(m map[string]any) {})},
		{"confidence above 1", TypeDetectionKnife, mutate(func(m map[string]any) { m["confidence"] = 1.5 })},
		{"negative box", TypeDetectionKnife, mutate(func(m map[string]any) { m["box"] = map[string]any{"x": -1, "y": 0, "w": 1, "h": 1} })},
		{"camera with slash", TypeDetectionKnife, mutate(func(m map[string]any) { m["camera"] = "../etc" })},
		{"bad time", TypeDetectionKnife, mutate(func(m map[string]any) { m["detected_at"] = "yesterday" })},
		{"motion type has no JSON schema", TypeMotionDetected, []byte("{}")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Validate(c.typ, c.data); err == nil {
				t.Fatalf("accepted %s", c.data)
			}
		})
	}
}

func TestTypesAreExactAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range Types() {
		if seen[typ] {
			t.Errorf("duplicate type %s", typ)
		}
		seen[typ] = true
		if !strings.HasPrefix(typ, "dev.edgewatch.") || strings.ContainsAny(typ, "*? ") {
			t.Errorf("type %q is not an exact dev.edgewatch type", typ)
		}
	}
	if len(seen) != 9 {
		t.Fatalf("want 9 types, got %d", len(seen))
	}
}

// TestDocumentedExampleIsValid keeps the example the README posts with curl
// valid against the contract.
func TestDocumentedExampleIsValid(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../docs/examples/detection-fire.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(TypeDetectionFire, raw); err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleSchemas holds updated events to an open incident and closed
// events to a closed one with its end, and keeps the documented examples
// valid.
func TestLifecycleSchemas(t *testing.T) {
	s, err := LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	open := Incident{IncidentID: "i-1", Camera: "cam-1", Class: "fire", Status: "open",
		OpenedAt: now, LastSeenAt: now, Confidence: 0.8, Hits: 3, DetectionID: "d-1", Image: "/9j/4AAQ"}
	closed := open
	closed.Status, closed.ClosedAt, closed.Image = "closed", &now, ""
	valid := func(typ string, v any) error {
		raw, _ := json.Marshal(v)
		return s.Validate(typ, raw)
	}
	if err := valid(TypeIncidentUpdated, open); err != nil {
		t.Errorf("open incident as updated: %v", err)
	}
	if err := valid(TypeIncidentClosed, closed); err != nil {
		t.Errorf("closed incident as closed: %v", err)
	}
	if valid(TypeIncidentUpdated, closed) == nil {
		t.Error("a closed incident accepted as updated")
	}
	if valid(TypeIncidentClosed, open) == nil {
		t.Error("an open incident accepted as closed")
	}
	noEnd := closed
	noEnd.ClosedAt = nil
	if valid(TypeIncidentClosed, noEnd) == nil {
		t.Error("a closed event without closed_at accepted")
	}
	withImage := closed
	withImage.Image = "/9j/4AAQ"
	if valid(TypeIncidentClosed, withImage) == nil {
		t.Error("a closed event with an image accepted")
	}
	for file, typ := range map[string]string{"incident-updated.json": TypeIncidentUpdated, "incident-closed.json": TypeIncidentClosed} {
		raw, err := os.ReadFile("../../docs/examples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(typ, raw); err != nil {
			t.Errorf("docs/examples/%s: %v", file, err)
		}
	}
}
