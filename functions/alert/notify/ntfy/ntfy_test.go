package ntfy

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/notify/notifytest"
)

// published is what a test ntfy server saw, with headers decoded as ntfy
// decodes them (RFC 2047 encoded words allowed).
type published struct {
	method, path, title, priority, tags, click, filename, message, auth string
	body                                                                []byte
}

func server(t *testing.T, got *published) *httptest.Server {
	dec := new(mime.WordDecoder)
	h := func(r *http.Request, k string) string {
		v, err := dec.DecodeHeader(r.Header.Get(k))
		if err != nil {
			t.Errorf("header %s: %v", k, err)
		}
		return v
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		*got = published{method: r.Method, path: r.URL.Path, title: h(r, "Title"), priority: h(r, "Priority"),
			tags: h(r, "Tags"), click: h(r, "Click"), filename: h(r, "Filename"), message: h(r, "Message"),
			auth: r.Header.Get("Authorization"), body: body}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"hwQ2YpKdmg","time":1764410400,"event":"message","topic":"edgewatch"}`)
	}))
}

func TestPublishesText(t *testing.T) {
	var got published
	srv := server(t, &got)
	defer srv.Close()
	n, err := New(Config{URL: srv.URL + "/edgewatch", Token: "tk_abc"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message(notify.KindOpened)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got.method != http.MethodPost || got.path != "/edgewatch" || got.title != m.Title || got.priority != "5" ||
		got.tags != "rotating_light,gun,gate-2" || got.click != m.Link || got.auth != "Bearer tk_abc" || string(got.body) != m.Text {
		t.Fatalf("published %+v", got)
	}
}

func TestPublishesAttachment(t *testing.T) {
	var got published
	srv := server(t, &got)
	defer srv.Close()
	n, _ := New(Config{URL: srv.URL + "/edgewatch", Attach: true, Priority: 2}, srv.Client())
	m := notifytest.Message(notify.KindOpened)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got.method != http.MethodPut || string(got.body) != string(notifytest.Snapshot) || got.priority != "2" ||
		!strings.HasSuffix(got.filename, ".jpg") || got.message != m.Text || !strings.Contains(got.message, "café") {
		t.Fatalf("published %+v", got)
	}
	if got.auth != "" {
		t.Fatal("an Authorization header without a token")
	}
}

func TestClosingIsQuieter(t *testing.T) {
	var got published
	srv := server(t, &got)
	defer srv.Close()
	n, _ := New(Config{URL: srv.URL + "/t"}, srv.Client())
	if err := n.Notify(context.Background(), notifytest.Message(notify.KindClosed)); err != nil {
		t.Fatal(err)
	}
	if got.priority != "3" || !strings.HasPrefix(got.tags, "white_check_mark") || !strings.Contains(got.title, "closed") {
		t.Fatalf("published %+v", got)
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []Config{{URL: "https://ntfy.sh"}, {URL: "https://ntfy.sh/"}, {URL: "not a url"}, {URL: "https://ntfy.sh/t", Priority: 6}} {
		if _, err := New(c, http.DefaultClient); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
