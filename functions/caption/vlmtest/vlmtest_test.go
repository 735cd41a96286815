package vlmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"
)

func jpegBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func body(model, imageURL string, extra string) string {
	return `{"model":"` + model + `","max_tokens":32` + extra + `,"messages":[{"role":"user","content":[` +
		`{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"` + imageURL + `"}}]}]}`
}

func TestChecksTheWireFormat(t *testing.T) {
	s := NewServer(Options{APIKey: "k", Model: "m"})
	defer s.Close()
	img := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpegBytes(t, 8, 8))
	png := "data:image/png;base64,iVBORw0KGgo="
	cases := []struct {
		name, method, path, ctype, auth, body string
		want                                  int
	}{
		{"valid", "POST", Path, "application/json", "Bearer k", body("m", img, ""), 200},
		{"GET", "GET", Path, "", "Bearer k", "", 405},
		{"other path", "POST", "/v1/completions", "application/json", "Bearer k", body("m", img, ""), 404},
		{"no key", "POST", Path, "application/json", "", body("m", img, ""), 401},
		{"text body", "POST", Path, "text/plain", "Bearer k", body("m", img, ""), 400},
		{"not JSON", "POST", Path, "application/json", "Bearer k", "{", 400},
		{"other model", "POST", Path, "application/json", "Bearer k", body("x", img, ""), 404},
		{"png", "POST", Path, "application/json", "Bearer k", body("m", png, ""), 400},
		{"stream", "POST", Path, "application/json", "Bearer k", body("m", img, `,"stream":true`), 400},
		{"zero max tokens", "POST", Path, "application/json", "Bearer k", strings.Replace(body("m", img, ""), `"max_tokens":32`, `"max_tokens":0`, 1), 400},
		{"no image", "POST", Path, "application/json", "Bearer k", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d (%v), want %d", resp.StatusCode, out, c.want)
			}
			if c.want != 200 && out["error"] == nil {
				t.Errorf("error reply without an OpenAI error object: %v", out)
			}
		})
	}
	if len(s.Requests()) != 1 {
		t.Errorf("%d valid requests recorded, want 1", len(s.Requests()))
	}
}

func TestCaptionIsDeterministicAndLabelled(t *testing.T) {
	a := jpegBytes(t, 16, 8)
	first := Caption(a)
	if !strings.HasPrefix(first, CaptionPrefix) || !strings.Contains(first, "16x8") {
		t.Errorf("caption %q lacks the prefix or the size", first)
	}
	// A fresh encoding of the same picture, captioned after another picture, reads the same.
	other := Caption(jpegBytes(t, 8, 16))
	if again := Caption(jpegBytes(t, 16, 8)); again != first {
		t.Errorf("the same picture captioned twice: %q, then %q", first, again)
	}
	if other == first {
		t.Error("pictures of different sizes have the same caption")
	}
	// Same size, one pixel lit: the caption follows the content, not only the size.
	img := image.NewGray(image.Rect(0, 0, 16, 8))
	img.SetGray(3, 2, color.Gray{Y: 255})
	var lit bytes.Buffer
	if err := jpeg.Encode(&lit, img, nil); err != nil {
		t.Fatal(err)
	}
	if Caption(lit.Bytes()) == first {
		t.Error("pictures of the same size and different content have the same caption")
	}
	if got := Caption([]byte("not a jpeg")); !strings.Contains(got, "not a readable JPEG") {
		t.Errorf("caption of a non-JPEG %q", got)
	}
}

func TestSetStatusAndHold(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	img := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpegBytes(t, 8, 8))
	post := func() int {
		resp, err := http.Post(s.URL+Path, "application/json", strings.NewReader(body("m", img, "")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	s.SetStatus(503)
	if got := post(); got != 503 {
		t.Fatalf("status %d", got)
	}
	s.SetStatus(0)
	release := s.Hold()
	done := make(chan int)
	go func() { done <- post() }()
	select {
	case got := <-done:
		t.Fatalf("held reply came back: %d", got)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if got := <-done; got != 200 {
		t.Fatalf("status %d after release", got)
	}
	if s.Calls() != 2 {
		t.Errorf("calls %d", s.Calls())
	}
}
