package function

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
)

// serveHTTP hosts f's Handle behind sdk-go's HTTP receive handler, as
// func-go does, on 127.0.0.1:0.
func serveHTTP(t *testing.T, f *Function) string {
	t.Helper()
	p, err := cloudevents.NewHTTP()
	if err != nil {
		t.Fatal(err)
	}
	h, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, f.Handle)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// post sends e in binary mode as a broker dispatcher does and returns the
// HTTP status and the reply's ce-id header.
func post(t *testing.T, url string, e event.Event) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(e.Data()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", e.DataContentType())
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", e.ID())
	req.Header.Set("ce-type", e.Type())
	req.Header.Set("ce-source", e.Source())
	for k, v := range e.Extensions() {
		req.Header.Set("ce-"+k, fmt.Sprint(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("ce-id")
}

func TestWireStatuses(t *testing.T) {
	f := NewWithDeps(Deps{Logger: testLogger(t)})
	url := serveHTTP(t, f)
	good := patternJPEG(t, 416, 416, square{image.Rect(32, 32, 64, 64), red})

	if code, _ := post(t, url, motionEvent(t, "early", good, nil)); code != http.StatusServiceUnavailable {
		t.Fatalf("before ready: HTTP %d, want 503", code)
	}
	if err := f.Start(context.Background(), patternConfig(t, nil)); err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	if code, _ := post(t, url, motionEvent(t, "bad", []byte{0xff, 0xd8, 0xff, 1, 2, 3}, nil)); code != http.StatusBadRequest {
		t.Fatalf("corrupt JPEG: HTTP %d, want 400", code)
	}
	if code, replyID := post(t, url, motionEvent(t, "good", good, nil)); code != http.StatusOK || replyID != "good.fire" {
		t.Fatalf("good event: HTTP %d, reply %q", code, replyID)
	}
}
