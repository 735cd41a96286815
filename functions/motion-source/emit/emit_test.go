package emit_test

import (
	"context"
	"encoding/pem"
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// stuckSink is a CloudEvents sink that holds every request until release
// is closed, then records the event's regionx.
type stuckSink struct {
	srv     *httptest.Server
	release chan struct{}
	mu      sync.Mutex
	got     []int
}

func newStuckSink(t *testing.T) *stuckSink {
	t.Helper()
	s := &stuckSink{release: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		<-s.release
		x, err := types.ToInteger(e.Extensions()[contract.ExtRegionX])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, int(x))
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stuckSink) received() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.got...)
}

func TestQueueDropsTheOldestWhenTheSinkIsStuck(t *testing.T) {
	sink := newStuckSink(t)
	srv, release := sink.srv, sink.release
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	client, err := emit.NewClient(emit.Config{Sink: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.Discard("cam")
	q := emit.NewQueue(client, 3, emit.DropOldest, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	done := make(chan struct{})
	go func() { q.Run(context.Background()); close(done) }()

	push := func(i int) bool {
		return q.Push(context.Background(), emit.Motion{Camera: "cam", Time: time.Now(), Region: image.Rect(i, 0, i+10, 10), Frame: image.Pt(100, 100), JPEG: []byte{0xff, 0xd8}})
	}
	push(0)
	deadline := time.Now().Add(5 * time.Second)
	for q.Len() != 1 || testutil.ToFloat64(m.QueueDepth) != 0 { // event 0 is in flight
		if time.Now().After(deadline) {
			t.Fatal("first event never left the queue")
		}
		time.Sleep(5 * time.Millisecond)
	}
	dropped := 0
	for i := 1; i <= 10; i++ {
		if push(i) {
			dropped++
		}
	}
	if dropped != 7 || testutil.ToFloat64(m.EventsDropped) != 7 || q.Len() != 4 {
		t.Fatalf("dropped %d (metric %v), queue %d; want 7 dropped, 3 waiting + 1 in flight", dropped, testutil.ToFloat64(m.EventsDropped), q.Len())
	}
	unblock()
	q.Close()
	<-done
	want := []int{0, 8, 9, 10}
	got := sink.received()
	if len(got) != len(want) {
		t.Fatalf("sink got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sink got %v, want %v (newest kept, in order)", got, want)
		}
	}
	if s := testutil.ToFloat64(m.EventsSent); s != 4 {
		t.Fatalf("sent metric %v", s)
	}
}

func TestQueueMakesAFileWaitInsteadOfDropping(t *testing.T) {
	sink := newStuckSink(t)
	srv, release := sink.srv, sink.release
	client, err := emit.NewClient(emit.Config{Sink: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.Discard("cam")
	q := emit.NewQueue(client, 2, emit.Wait, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	done := make(chan struct{})
	go func() { q.Run(context.Background()); close(done) }()

	pushed := make(chan int, 20)
	go func() {
		for i := 0; i < 10; i++ {
			if q.Push(context.Background(), emit.Motion{Camera: "cam", Time: time.Now(), Region: image.Rect(i, 0, i+10, 10),
				Frame: image.Pt(100, 100), JPEG: []byte{0xff, 0xd8}}) {
				t.Errorf("event %d dropped", i)
			}
			pushed <- i
		}
		close(pushed)
	}()
	// With the sink stuck, the pusher gets to 1 in flight + 2 waiting, and
	// no further.
	deadline := time.Now().Add(5 * time.Second)
	for len(pushed) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(pushed); n != 3 {
		t.Fatalf("%d pushes returned while the sink was stuck, want 3 (then the pusher waits)", n)
	}
	close(release)
	for range pushed {
	}
	q.Close()
	<-done
	got := sink.received()
	if len(got) != 10 || testutil.ToFloat64(m.EventsDropped) != 0 {
		t.Fatalf("sink got %v, dropped %v; want all 10 in order, none dropped", got, testutil.ToFloat64(m.EventsDropped))
	}
	for i := range got {
		if got[i] != i {
			t.Fatalf("sink got %v out of order", got)
		}
	}

	// A waiting push gives up, counted, when its context ends.
	q2 := emit.NewQueue(client, 1, emit.Wait, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	mo := emit.Motion{Camera: "cam", Region: image.Rect(0, 0, 1, 1), JPEG: []byte{1}}
	q2.Push(ctx, mo)
	if !q2.Push(ctx, mo) || testutil.ToFloat64(m.EventsDropped) != 1 {
		t.Fatal("a push waiting on a full queue did not give up when its context ended")
	}
}

func TestTrackExtensions(t *testing.T) {
	client, err := emit.NewClient(emit.Config{Sink: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, 40)
	for i := range ids {
		ids[i] = uint64(1000 + i)
	}
	e, err := client.Event(emit.Motion{Camera: "c", Time: time.Now(), Region: image.Rect(0, 0, 1, 1), Frame: image.Pt(1, 1),
		Track: 1003, Tracks: ids, JPEG: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	ext := e.Extensions()
	if ext[contract.ExtTrack] != "1003" {
		t.Fatalf("track = %v", ext[contract.ExtTrack])
	}
	list, _ := types.ToString(ext[contract.ExtTracks])
	if want := 32*5 - 1; len(list) != want || list[:10] != "1000,1001," {
		t.Fatalf("tracks = %q (%d chars), want the first 32 ids (%d chars)", list, len(list), want)
	}
	e, _ = client.Event(emit.Motion{Camera: "c", Time: time.Now(), Region: image.Rect(0, 0, 1, 1), Frame: image.Pt(1, 1), JPEG: []byte{1}})
	if _, ok := e.Extensions()[contract.ExtTrack]; ok {
		t.Fatal("an untracked event carries a track")
	}
}

func TestOverrides(t *testing.T) {
	o, err := emit.ParseOverrides(`{"extensions":{"site":"north","zone":"a1"}}`)
	if err != nil || o["site"] != "north" || o["zone"] != "a1" {
		t.Fatalf("%v %v", o, err)
	}
	for _, bad := range []string{`{`, `{"extensions":{"camera":"x"}}`, `{"extensions":{"Bad-Name":"x"}}`, `{"extensions":{"regionx":"1"}}`} {
		if _, err := emit.ParseOverrides(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestSendJudgesTheAnswer(t *testing.T) {
	for _, c := range []struct {
		code     int
		ok       bool
		attempts int
	}{{202, true, 1}, {400, false, 1}, {500, false, 3}, {503, false, 3}, {429, false, 3}} {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			mu.Unlock()
			w.WriteHeader(c.code)
		}))
		client, err := emit.NewClient(emit.Config{Sink: srv.URL, Retries: 2, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e, err := client.Event(emit.Motion{Camera: "c", Time: time.Now(), Region: image.Rect(0, 0, 1, 1), Frame: image.Pt(1, 1), JPEG: []byte{1}})
		if err != nil {
			t.Fatal(err)
		}
		err = client.Send(context.Background(), e)
		srv.Close()
		if (err == nil) != c.ok || n != c.attempts {
			t.Errorf("status %d: err %v after %d attempts; want ok=%v after %d", c.code, err, n, c.ok, c.attempts)
		}
	}
	client, _ := emit.NewClient(emit.Config{Sink: "http://127.0.0.1:1/", Retries: 1, Backoff: time.Millisecond})
	e, _ := client.Event(emit.Motion{Camera: "c", Region: image.Rect(0, 0, 1, 1), JPEG: []byte{1}})
	if err := client.Send(context.Background(), e); err == nil {
		t.Error("a refused connection counted as delivered")
	}
}

func TestCACertsFromTheSinkBinding(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	defer srv.Close()
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	motion := emit.Motion{Camera: "c", Time: time.Now(), Region: image.Rect(0, 0, 1, 1), Frame: image.Pt(1, 1), JPEG: []byte{1}}

	untrusted, _ := emit.NewClient(emit.Config{Sink: srv.URL, Retries: 1, Backoff: time.Millisecond})
	e, _ := untrusted.Event(motion)
	if err := untrusted.Send(context.Background(), e); err == nil {
		t.Fatal("a sink with an unknown CA was trusted")
	}
	trusted, err := emit.NewClient(emit.Config{Sink: srv.URL, CACerts: string(pemCert)})
	if err != nil {
		t.Fatal(err)
	}
	if err := trusted.Send(context.Background(), e); err != nil {
		t.Fatalf("K_CA_CERTS not used: %v", err)
	}
	if _, err := emit.NewClient(emit.Config{Sink: srv.URL, CACerts: "not PEM"}); err == nil {
		t.Fatal("accepted K_CA_CERTS without a certificate")
	}
}
