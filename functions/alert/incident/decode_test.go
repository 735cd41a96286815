package incident

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func validDetectionJSON() map[string]any {
	return map[string]any{
		"camera": "cam-1", "class": "knife", "label": "knife", "confidence": 0.9,
		"box":       map[string]any{"x": 10, "y": 20, "w": 30, "h": 40},
		"frame":     map[string]any{"width": 1920, "height": 1080},
		"image":     base64.StdEncoding.EncodeToString(smallJPEG),
		"motion_id": "m-1", "location": map[string]any{"lat": 37.5, "lon": 127.0},
		"detected_at": "2026-11-29T10:00:00Z",
		"objects":     []any{map[string]any{"label": "knife", "confidence": 0.9, "box": map[string]any{"x": 10, "y": 20, "w": 30, "h": 40}}},
	}
}

func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("../../../internal/contract/schemas/" + name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDecodeDetectionAgreesWithSchema checks every case against the
// contract's JSON Schema too: what the schema accepts, DecodeDetection
// accepts, and the other way round (apart from the JPEG check, which the
// schema cannot express).
func TestDecodeDetectionAgreesWithSchema(t *testing.T) {
	s := schema(t, "detection.schema.json")
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		ok     bool
	}{
		{"valid", func(map[string]any) {}, true},
		{"no location", func(m map[string]any) { delete(m, "location") }, true},
		{"SQL in the label is just text", func(m map[string]any) { m["label"] = "knife'); DROP TABLE incidents; --" }, true},
		{"missing image", func(m map[string]any) { delete(m, "image") }, false},
		{"missing box", func(m map[string]any) { delete(m, "box") }, false},
		{"missing detected_at: the event's time stands for it", func(m map[string]any) { delete(m, "detected_at") }, true},
		{"unknown class", func(m map[string]any) { m["class"] = "cat" }, false},
		{"confidence above 1", func(m map[string]any) { m["confidence"] = 1.5 }, false},
		{"negative box", func(m map[string]any) { m["box"] = map[string]any{"x": -1, "y": 0, "w": 1, "h": 1} }, false},
		{"camera with SQL", func(m map[string]any) { m["camera"] = "cam'; DROP TABLE incidents; --" }, false},
		{"camera with slash", func(m map[string]any) { m["camera"] = "../etc" }, false},
		{"bad time", func(m map[string]any) { m["detected_at"] = "yesterday" }, false},
		{"huge label", func(m map[string]any) { m["label"] = strings.Repeat("x", 129) }, false},
		{"huge motion id", func(m map[string]any) { m["motion_id"] = strings.Repeat("m", 257) }, false},
		{"huge image", func(m map[string]any) { m["image"] = strings.Repeat("A", 8<<20+4) }, false},
		{"too many objects", func(m map[string]any) {
			o := make([]any, 1001)
			for i := range o {
				o[i] = map[string]any{"label": "k", "confidence": 0.5, "box": map[string]any{"x": 0, "y": 0, "w": 1, "h": 1}}
			}
			m["objects"] = o
		}, false},
		{"location off the globe", func(m map[string]any) { m["location"] = map[string]any{"lat": 91, "lon": 0} }, false},
		{"jpeg header claims 8192x8192", func(m map[string]any) { m["image"] = base64.StdEncoding.EncodeToString(claimJPEG(8192, 8192)) }, true},
		{"frame too big", func(m map[string]any) { m["frame"] = map[string]any{"width": 20000, "height": 10} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := validDetectionJSON()
			c.mutate(m)
			raw, _ := json.Marshal(m)
			doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if schemaOK := s.Validate(doc) == nil; schemaOK != c.ok {
				t.Fatalf("the contract schema says valid=%v, the case says %v", schemaOK, c.ok)
			}
			d, err := DecodeDetection("m-1.knife", "knife", eventTime, raw)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				if d.Camera != "cam-1" || d.Box.W != 30 || len(d.Image) != len(smallJPEG) || d.Objects != 1 || d.DetectedAt.IsZero() {
					t.Fatalf("decoded %+v", d)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("the error message carries the huge input: %d bytes", len(err.Error()))
			}
		})
	}
}

// eventTime is the CloudEvent time of the detections decoded here.
var eventTime = time.Date(2026, 11, 29, 10, 0, 5, 0, time.UTC)

func TestDetectedAtFallsBackToTheEventTime(t *testing.T) {
	m := validDetectionJSON()
	raw, _ := json.Marshal(m)
	d, err := DecodeDetection("id", "knife", eventTime, raw)
	if err != nil || !d.DetectedAt.Equal(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("detected_at given: %v %v, want the data's time", d.DetectedAt, err)
	}
	delete(m, "detected_at")
	raw, _ = json.Marshal(m)
	local := eventTime.In(time.FixedZone("KST", 9*3600))
	if d, err = DecodeDetection("id", "knife", local, raw); err != nil || !d.DetectedAt.Equal(eventTime) || d.DetectedAt.Location() != time.UTC {
		t.Fatalf("detected_at absent: %v %v, want the event's time %v in UTC", d.DetectedAt, err, eventTime)
	}
	_, err = DecodeDetection("id", "knife", time.Time{}, raw)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "detected_at is missing") || !strings.Contains(err.Error(), "no time attribute") {
		t.Fatalf("neither detected_at nor an event time: %v", err)
	}
	m["detected_at"] = "yesterday"
	raw, _ = json.Marshal(m)
	if _, err = DecodeDetection("id", "knife", eventTime, raw); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a bad detected_at is not replaced by the event time: %v", err)
	}
}

func TestDecodeDetectionRejectsNonJPEGAndMismatch(t *testing.T) {
	m := validDetectionJSON()
	m["image"] = base64.StdEncoding.EncodeToString([]byte("GIF89a not a jpeg"))
	raw, _ := json.Marshal(m)
	if _, err := DecodeDetection("id", "knife", eventTime, raw); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a GIF passed as JPEG: %v", err)
	}
	raw, _ = json.Marshal(validDetectionJSON())
	if _, err := DecodeDetection("id", "fire", eventTime, raw); !errors.Is(err, ErrInvalid) {
		t.Fatal("a knife payload passed as fire")
	}
	for _, bad := range []string{"", "{nope", "[]", `{"camera":"a"} {"camera":"b"}`, "\xff\xfe"} {
		if _, err := DecodeDetection("id", "knife", eventTime, []byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: want ErrInvalid, got %v", bad, err)
		}
	}
	if _, err := DecodeDetection("", "knife", eventTime, raw); !errors.Is(err, ErrInvalid) {
		t.Error("an empty event id passed")
	}
}

func TestDecodeCaption(t *testing.T) {
	s := schema(t, "caption.schema.json")
	valid := map[string]any{"incident_id": "5b0f7f0e-0000-4000-8000-000000000001", "camera": "cam-1", "class": "gun",
		"caption": "a person in a red coat", "model": "smolvlm", "created_at": "2026-11-29T10:00:00Z"}
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		ok     bool
	}{
		{"valid", func(map[string]any) {}, true},
		{"missing caption", func(m map[string]any) { delete(m, "caption") }, false},
		{"empty model", func(m map[string]any) { m["model"] = "" }, false},
		{"huge caption", func(m map[string]any) { m["caption"] = strings.Repeat("c", 8193) }, false},
		{"bad class", func(m map[string]any) { m["class"] = "dog" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range valid {
				m[k] = v
			}
			c.mutate(m)
			raw, _ := json.Marshal(m)
			doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if schemaOK := s.Validate(doc) == nil; schemaOK != c.ok {
				t.Fatalf("schema says %v, case says %v", schemaOK, c.ok)
			}
			_, err := DecodeCaption("caption-1", raw)
			if (err == nil) != c.ok {
				t.Fatalf("DecodeCaption: %v", err)
			}
		})
	}
}

// smallJPEG is a real 16x8 JPEG.
var smallJPEG = func() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 8)), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

// claimJPEG returns smallJPEG with its frame header (SOF0) claiming w x h
// pixels, as a hostile sender would write it: the header is all a size
// check reads.
func claimJPEG(w, h int) []byte {
	img := bytes.Clone(smallJPEG)
	i := bytes.Index(img, []byte{0xFF, 0xC0})
	img[i+5], img[i+6], img[i+7], img[i+8] = byte(h>>8), byte(h), byte(w>>8), byte(w)
	return img
}

func TestCheckJPEGHeaderReadsOnlyTheHeader(t *testing.T) {
	if err := CheckJPEGHeader(claimJPEG(60000, 60000)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "60000x60000") {
		t.Fatalf("a 60000x60000 header: %v", err)
	}
	if err := CheckJPEGHeader(claimJPEG(8193, 10)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("8193 a side: %v", err)
	}
	if err := CheckJPEGHeader(smallJPEG); err != nil {
		t.Fatal(err)
	}
	m := validDetectionJSON()
	m["image"] = base64.StdEncoding.EncodeToString(claimJPEG(60000, 60000))
	raw, _ := json.Marshal(m)
	if _, err := DecodeDetection("id", "knife", eventTime, raw); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "8192") {
		t.Fatalf("a detection with a 60000x60000 crop: %v", err)
	}
}
