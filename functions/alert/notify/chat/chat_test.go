package chat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/notify/notifytest"
)

func TestSlackFormat(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	n, err := New(Config{URL: srv.URL + "/services/T0/B0/XXXX", Flavor: Slack}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened)); err != nil {
		t.Fatal(err)
	}
	text, _ := got["text"].(string)
	if !strings.HasPrefix(text, "*Gun detected on camera gate-2*") || !strings.Contains(text, "&lt;!channel&gt;") ||
		strings.Contains(text, "<!channel>") || !strings.Contains(text, "<https://map.example/?incident=") {
		t.Fatalf("slack text %q", text)
	}
}

func TestDiscordFormat(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n, _ := New(Config{URL: srv.URL + "/api/webhooks/1/tok", Flavor: Discord}, srv.Client())
	if err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened)); err != nil {
		t.Fatal(err)
	}
	content, _ := got["content"].(string)
	mentions, _ := got["allowed_mentions"].(map[string]any)
	if !strings.HasPrefix(content, "**Gun detected") || mentions == nil || len(mentions["parse"].([]any)) != 0 {
		t.Fatalf("discord body %v", got)
	}
	m := notifytest.Message(notify.KindOpened)
	m.Text = strings.Repeat("é", 3000)
	body, _ := n.Body(m)
	var long map[string]any
	_ = json.Unmarshal(body, &long)
	if c := []rune(long["content"].(string)); len(c) > discordLimit {
		t.Fatalf("content of %d characters", len(c))
	}
}

func TestFlavorFromHost(t *testing.T) {
	n, err := New(Config{URL: "https://discord.com/api/webhooks/1/secret"}, http.DefaultClient)
	if err != nil || n.flavor != Discord {
		t.Fatalf("discord.com picked %v (%v)", n.flavor, err)
	}
	n, _ = New(Config{URL: "https://hooks.slack.com/services/T/B/secret"}, http.DefaultClient)
	if n.flavor != Slack {
		t.Fatalf("slack picked %v", n.flavor)
	}
	if _, err := New(Config{URL: "https://x/", Flavor: "teams"}, http.DefaultClient); err == nil {
		t.Fatal("an unknown flavor was accepted")
	}
}

func TestRateLimitAndSecretInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "12")
		http.Error(w, `{"message": "You are being rate limited.", "retry_after": 12}`, http.StatusTooManyRequests)
	}))
	defer srv.Close()
	n, _ := New(Config{URL: srv.URL + "/api/webhooks/1/very-secret", Flavor: Discord}, srv.Client())
	err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened))
	if retry, after := notify.Retryable(err); !retry || after != 12*time.Second {
		t.Fatalf("429: %v retry %v after %v", err, retry, after)
	}
	if strings.Contains(err.Error(), "very-secret") {
		t.Fatalf("error shows the secret: %v", err)
	}
	srv.Close()
	err = n.Notify(context.Background(), notifytest.Message(notify.KindOpened))
	if retry, _ := notify.Retryable(err); !retry || strings.Contains(err.Error(), "very-secret") {
		t.Fatalf("network error: %v (retry %v)", err, retry)
	}
}
