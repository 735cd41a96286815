package incidentevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/caption/internal/contract"
)

func valid(t *testing.T) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 40, 30)), nil); err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"incident_id": "i-1", "camera": "cam.north-2", "class": "gun", "status": "open",
		"opened_at": "2026-11-29T10:00:00Z", "detection_id": "d-1",
		"image": base64.StdEncoding.EncodeToString(b.Bytes()),
	}
}

func encode(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValid(t *testing.T) {
	in, err := Decode(encode(t, valid(t)))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := in.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if in.IncidentID != "i-1" || in.Camera != "cam.north-2" || snap.Width != 40 || snap.Height != 30 {
		t.Errorf("%+v %dx%d", in, snap.Width, snap.Height)
	}
}

func TestRejects(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		reason string
	}{
		{"no id", func(m map[string]any) { delete(m, "incident_id") }, "incident_id"},
		{"long id", func(m map[string]any) { m["incident_id"] = strings.Repeat("x", 257) }, "incident_id"},
		{"camera path", func(m map[string]any) { m["camera"] = "a/b" }, "camera"},
		{"class", func(m map[string]any) { m["class"] = "dog" }, "class"},
		{"class type", func(m map[string]any) { m["class"] = 3 }, "valid JSON"},
		{"no image", func(m map[string]any) { m["image"] = "" }, "no image"},
		{"url-safe base64", func(m map[string]any) { m["image"] = "_-_-" }, "base64"},
		{"not jpeg", func(m map[string]any) { m["image"] = base64.StdEncoding.EncodeToString([]byte("GIF89a....")) }, "FF D8 FF"},
		{"jpeg header only", func(m map[string]any) {
			m["image"] = base64.StdEncoding.EncodeToString([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16})
		}, "readable"},
		{"too long", func(m map[string]any) { m["image"] = strings.Repeat("A", contract.MaxImageBase64Len+4) }, "allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := valid(t)
			c.mutate(m)
			in, err := Decode(encode(t, m))
			if err == nil {
				_, err = in.Snapshot()
			}
			if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("err %v, want an InputError about %q", err, c.reason)
			}
		})
	}
	for _, raw := range []string{"", "  ", "[]", "null", "{"} {
		if _, err := Decode([]byte(raw)); err == nil || !IsInputError(err) {
			t.Errorf("Decode(%q) = %v", raw, err)
		}
	}
}

// TestHugeClaimedSnapshotIsRefused feeds a JPEG whose frame header claims
// 60000x60000 pixels: it is refused from the header alone, before the VLM
// or anything else decodes it.
func TestHugeClaimedSnapshotIsRefused(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 8)), nil); err != nil {
		t.Fatal(err)
	}
	img := b.Bytes()
	i := bytes.Index(img, []byte{0xFF, 0xC0})
	img[i+5], img[i+6], img[i+7], img[i+8] = 0xEA, 0x60, 0xEA, 0x60 // 60000 x 60000
	m := valid(t)
	m["image"] = base64.StdEncoding.EncodeToString(img)
	in, err := Decode(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Snapshot(); err == nil || !strings.Contains(err.Error(), "60000x60000") {
		t.Fatalf("a 60000x60000 snapshot: %v", err)
	}
}
