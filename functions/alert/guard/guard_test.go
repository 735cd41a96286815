package guard

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// server runs the guard in front of the CloudEvents SDK's own receiver, as
// func-go hosts a function, and records what the handler saw.
func server(t *testing.T, max int64) (*httptest.Server, *[]string, *[]string) {
	t.Helper()
	var seen, refused []string
	p, err := cehttp.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := newReceiver(p, func(e event.Event) { seen = append(seen, e.ID()+":"+string(e.Data())) })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(h, Options{MaxBytes: max, Refused: func(reason string, status int, msg string) {
		refused = append(refused, reason)
	}}))
	t.Cleanup(srv.Close)
	return srv, &seen, &refused
}

func send(t *testing.T, url string, header map[string]string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var binary = map[string]string{"ce-specversion": "1.0", "ce-id": "e1", "ce-source": "/cameras/cam-1",
	"ce-type": "dev.example", "Content-Type": "application/json"}

func TestValidEventsPassWithTheirBody(t *testing.T) {
	srv, seen, refused := server(t, 1024)
	if code, body := send(t, srv.URL, binary, strings.NewReader(`{"a":1}`)); code/100 != 2 {
		t.Fatalf("binary: %d %s", code, body)
	}
	structured := `{"specversion":"1.0","id":"e2","source":"/cameras/cam-1","type":"dev.example","datacontenttype":"application/json","data":{"b":2}}`
	if code, body := send(t, srv.URL, map[string]string{"Content-Type": "application/cloudevents+json"}, strings.NewReader(structured)); code/100 != 2 {
		t.Fatalf("structured: %d %s", code, body)
	}
	if strings.Join(*seen, " ") != `e1:{"a":1} e2:{"b":2}` || len(*refused) != 0 {
		t.Fatalf("handler saw %v, refused %v", *seen, *refused)
	}
}

func TestOversizedBodiesAre413WithAReason(t *testing.T) {
	srv, seen, refused := server(t, 1024)
	big := bytes.Repeat([]byte("x"), 4096)
	code, body := send(t, srv.URL, binary, bytes.NewReader(big))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "more than the 1024") {
		t.Fatalf("declared length: %d %q", code, body)
	}
	// No Content-Length (chunked): the limit still holds while reading.
	code, body = send(t, srv.URL, binary, io.MultiReader(bytes.NewReader(big)))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "1024 bytes") {
		t.Fatalf("chunked: %d %q", code, body)
	}
	if len(*seen) != 0 || strings.Join(*refused, " ") != "too_large too_large" {
		t.Fatalf("handler saw %v, refused %v", *seen, *refused)
	}
}

func TestMalformedEventsAre4xxWithAReason(t *testing.T) {
	srv, seen, _ := server(t, 1<<20)
	for _, c := range []struct {
		name   string
		header map[string]string
		body   string
		code   int
		want   string
	}{
		{"structured, broken JSON", map[string]string{"Content-Type": "application/cloudevents+json"}, `{"specversion":"1.0",`, 400, "malformed structured-mode"},
		{"structured, no id", map[string]string{"Content-Type": "application/cloudevents+json"},
			`{"specversion":"1.0","source":"/x","type":"t"}`, 400, "id"},
		{"binary, bad time", map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-source": "/x", "ce-type": "t", "ce-time": "yesterday"}, `{}`, 400, "binary-mode"},
		{"not a CloudEvent", map[string]string{"Content-Type": "text/plain"}, `hello`, 400, "not a CloudEvent"},
		{"batch", map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			`[{"specversion":"1.0","id":"b","source":"/x","type":"t"}]`, 415, "batched"},
	} {
		code, body := send(t, srv.URL, c.header, strings.NewReader(c.body))
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, code, body, c.code, c.want)
		}
	}
	if len(*seen) != 0 {
		t.Fatalf("the handler saw %v", *seen)
	}
}

func TestOtherMethodsPass(t *testing.T) {
	called := false
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }), Options{MaxBytes: 1})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health/readiness", nil))
	if !called {
		t.Fatal("a GET did not reach the handler")
	}
}
