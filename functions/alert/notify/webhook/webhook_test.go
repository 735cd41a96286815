package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/notify/notifytest"
)

func TestPostsJSON(t *testing.T) {
	var got Payload
	var auth, ct string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s", r.Method)
		}
		auth, ct = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("body is not JSON: %v", err)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n, err := New(Config{URL: srv.URL + "/in", Authorization: "Token abc", IncludeImage: true}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened)); err != nil {
		t.Fatal(err)
	}
	img, _ := base64.StdEncoding.DecodeString(got.Image)
	if auth != "Token abc" || ct != "application/json" || got.Kind != "opened" || got.Incident.Camera != "gate-2" ||
		got.Incident.Hits != 4 || got.Incident.Location == nil || string(img) != string(notifytest.Snapshot) ||
		got.Link != "https://map.example/?incident=6f1c2b9e-5d7a-4c1e-9a0b-2f3e4d5c6b7a" || got.Incident.OpenedAt == nil {
		t.Fatalf("payload %+v auth %q ct %q", got, auth, ct)
	}
}

func TestStatusDecidesRetry(t *testing.T) {
	for _, c := range []struct {
		code  int
		retry bool
		after time.Duration
	}{{500, true, 0}, {503, true, 0}, {429, true, 30 * time.Second}, {400, false, 0}, {404, false, 0}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.code == 429 {
				w.Header().Set("Retry-After", "30")
			}
			w.WriteHeader(c.code)
		}))
		n, _ := New(Config{URL: srv.URL}, srv.Client())
		err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened))
		srv.Close()
		retry, after := notify.Retryable(err)
		if err == nil || retry != c.retry || after != c.after {
			t.Errorf("status %d: err %v retry %v after %v", c.code, err, retry, after)
		}
	}
}
