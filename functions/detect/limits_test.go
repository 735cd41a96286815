package function

import (
	"bytes"
	"context"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// claimSize rewrites the frame header (SOF0) of a baseline JPEG so that it
// claims w×h pixels; the data after it stays as encoded.
func claimSize(t *testing.T, jpg []byte, w, h int) []byte {
	t.Helper()
	out := append([]byte(nil), jpg...)
	i := bytes.Index(out, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker in the test JPEG")
	}
	// FF C0, length (2), precision (1), height (2), width (2).
	out[i+5], out[i+6] = byte(h>>8), byte(h)
	out[i+7], out[i+8] = byte(w>>8), byte(w)
	return out
}

func TestHeaderClaimingTooManyPixelsASideIs400BeforeDecoding(t *testing.T) {
	f, reg := startDetect(t, patternConfig(t, map[string]string{"MAX_IMAGE_PIXELS": "1073741824"}))
	good := patternJPEG(t, 64, 64, square{image.Rect(0, 0, 32, 32), red})
	for _, c := range []struct{ w, h int }{{60000, 60000}, {8193, 16}, {16, 8193}} {
		before := counter(t, reg, "edgewatch_detect_errors_total", "reason", reasonTooLarge)
		reply, err := f.Handle(context.Background(), motionEvent(t, "big", claimSize(t, good, c.w, c.h), nil))
		if reply != nil || statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "exceeds 8192 pixels") {
			t.Fatalf("%d×%d header: Handle = %v, %v; want 400 naming the 8192-pixel side limit", c.w, c.h, reply, err)
		}
		if after := counter(t, reg, "edgewatch_detect_errors_total", "reason", reasonTooLarge); after != before+1 {
			t.Errorf("%d×%d header: errors{reason=too_large} went %v → %v", c.w, c.h, before, after)
		}
	}
	if reply, err := f.Handle(context.Background(), motionEvent(t, "after", good, nil)); err != nil || reply == nil {
		t.Fatalf("a good event after the refused ones: %v, %v", reply, err)
	}
}

func TestLimitRequestsRefusesLongBodiesWith413AndPassesTheRest(t *testing.T) {
	var got []byte
	h := LimitRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}), 1000)
	srv := httptest.NewServer(h)
	defer srv.Close()

	post := func(body io.Reader, length int64) (int, string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}
	got = nil
	if status, msg := post(bytes.NewReader(make([]byte, 1001)), 1001); status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "1001 bytes exceeds the limit of 1000") || got != nil {
		t.Errorf("declared 1001 bytes: %d %q (handler saw %d bytes); want 413 with the reason, unread", status, msg, len(got))
	}
	// A chunked body declares no length: it is cut at the limit.
	if status, msg := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 1001))), -1); status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "exceeds the limit of 1000") || got != nil {
		t.Errorf("chunked 1001 bytes: %d %q; want 413 with the reason, unread", status, msg)
	}
	if status, _ := post(io.MultiReader(strings.NewReader(strings.Repeat("y", 1000))), -1); status != http.StatusAccepted || string(got) != strings.Repeat("y", 1000) {
		t.Errorf("chunked 1000 bytes: %d, handler saw %d bytes; want 202 and the whole body", status, len(got))
	}
}

func TestMaxRequestBytesCoversTheImageInBase64(t *testing.T) {
	if n := MaxRequestBytes(3 << 20); n != 4<<20+envelopeBytes {
		t.Errorf("MaxRequestBytes(3 MiB) = %d, want %d", n, 4<<20+envelopeBytes)
	}
	n, err := MaxRequestBytesFromEnv(func(string) string { return "" })
	if err != nil || n != MaxRequestBytes(8<<20) {
		t.Errorf("default = %d, %v; want MaxRequestBytes(8 MiB)", n, err)
	}
	if _, err := MaxRequestBytesFromEnv(func(string) string { return "-1" }); err == nil {
		t.Error("MAX_IMAGE_BYTES=-1 accepted")
	}
}
