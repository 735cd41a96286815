package xpost

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/notify/notifytest"
)

func TestPostsTweet(t *testing.T) {
	var text, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2/tweets" {
			http.NotFound(w, r)
			return
		}
		auth = r.Header.Get("Authorization")
		var body map[string]string
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, `{"title":"Invalid Request"}`, http.StatusBadRequest)
			return
		}
		text = body["text"]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"data":{"id":"1445880548472328192","text":"x"}}`)
	}))
	defer srv.Close()
	n, err := New(Config{BaseURL: srv.URL, Token: "user-token"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message(notify.KindOpened)
	m.Text += strings.Repeat(" more", 100)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer user-token" || !strings.HasPrefix(text, "Gun detected on camera gate-2") || !strings.HasSuffix(text, m.Link) {
		t.Fatalf("auth %q text %q", auth, text)
	}
	// X counts a link as 23 characters.
	if n := utf8.RuneCountInString(strings.TrimSuffix(text, m.Link)) + linkChars; n > maxChars {
		t.Fatalf("post of %d characters", n)
	}
}

func TestRateLimitReset(t *testing.T) {
	reset := time.Now().Add(90 * time.Second).Unix()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-rate-limit-reset", strconv.FormatInt(reset, 10))
		http.Error(w, `{"title":"Too Many Requests","status":429}`, http.StatusTooManyRequests)
	}))
	defer srv.Close()
	n, _ := New(Config{BaseURL: srv.URL, Token: "user-token"}, srv.Client())
	err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened))
	retry, after := notify.Retryable(err)
	if !retry || after < 80*time.Second || after > 91*time.Second {
		t.Fatalf("429: retry %v after %v (%v)", retry, after, err)
	}
	if strings.Contains(err.Error(), "user-token") {
		t.Fatal("the token is in the error")
	}
}

func TestForbiddenIsFinal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"detail":"You are not allowed to create a Tweet with duplicate content.","status":403}`, http.StatusForbidden)
	}))
	defer srv.Close()
	n, _ := New(Config{BaseURL: srv.URL, Token: "t"}, srv.Client())
	err := n.Notify(context.Background(), notifytest.Message(notify.KindOpened))
	if retry, _ := notify.Retryable(err); err == nil || retry {
		t.Fatalf("403: %v retry %v", err, retry)
	}
}

func TestNeedsToken(t *testing.T) {
	if _, err := New(Config{}, http.DefaultClient); err == nil {
		t.Fatal("no token accepted")
	}
}
