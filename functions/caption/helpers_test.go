package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/edgewatch/edgewatch/functions/caption/internal/contract"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/santhosh-tekuri/jsonschema/v6"
	fce "knative.dev/func-go/cloudevents"

	"github.com/edgewatch/edgewatch/functions/caption/internal/syncbuf"
)

// testJPEG encodes a w×h picture with a gradient, so different sizes give
// different bytes.
func testJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: uint8(x + y), A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// incidentData is the JSON of an incident as alert writes it.
func incidentData(id, class string, img []byte) map[string]any {
	return map[string]any{
		"incident_id": id, "camera": "cam-1", "class": class, "status": "open",
		"opened_at": "2026-11-29T10:00:00Z", "last_seen_at": "2026-11-29T10:00:02Z",
		"confidence": 0.91, "hits": 3, "detection_id": "m-17.knife",
		"location": map[string]any{"lat": 37.5, "lon": 127.0},
		"image":    base64.StdEncoding.EncodeToString(img),
	}
}

// incidentEvent is an incident.opened event as the broker delivers it.
func incidentEvent(tb testing.TB, data map[string]any) event.Event {
	tb.Helper()
	e := event.New()
	e.SetID("incident-" + data["incident_id"].(string) + ".opened")
	e.SetType(contract.TypeIncidentOpened)
	e.SetSource(contract.CameraSource(data["camera"].(string)))
	e.SetTime(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	e.SetExtension(contract.ExtCamera, data["camera"])
	e.SetExtension(contract.ExtClass, data["class"])
	e.SetExtension(contract.ExtIncident, data["incident_id"])
	if err := e.SetData(contract.ContentTypeJSON, data); err != nil {
		tb.Fatal(err)
	}
	return e
}

// host is a caption function served by func-go's own HTTP handler (the one
// `func` builds around an instance), started with cfg.
type host struct {
	f    *Function
	srv  *httptest.Server
	logs *syncbuf.Buffer
}

func startHost(tb testing.TB, cfg map[string]string) *host {
	tb.Helper()
	logs := &syncbuf.Buffer{}
	f := NewWithDeps(Deps{Logger: slog.New(slog.NewJSONHandler(io.MultiWriter(logs, testWriter{tb}), nil))})
	if _, ok := cfg[KeyMetricsAddress]; !ok {
		cfg[KeyMetricsAddress] = "off"
	}
	if err := f.Start(context.Background(), cfg); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	srv := httptest.NewServer(f.Guard(fce.New(f).Handler))
	tb.Cleanup(func() {
		srv.Close()
		_ = f.Stop(context.Background())
	})
	return &host{f: f, srv: srv, logs: logs}
}

// testWriter shows logs with -v only.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.tb.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// reply is what the function answered over HTTP.
type reply struct {
	status int
	body   string
	event  *event.Event
}

// post sends e in binary content mode, as the broker's dispatcher does.
func (h *host) post(tb testing.TB, e event.Event) reply {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&e), req); err != nil {
		tb.Fatal(err)
	}
	return h.do(tb, req)
}

func (h *host) do(tb testing.TB, req *http.Request) reply {
	tb.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := reply{status: resp.StatusCode}
	if resp.Header.Get("Ce-Id") != "" {
		ev, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpResponse(resp))
		if err != nil {
			tb.Fatalf("reply is not a CloudEvent: %v", err)
		}
		out.event = ev
		return out
	}
	b, _ := io.ReadAll(resp.Body)
	out.body = string(b)
	return out
}

// counter reads one labelled counter of the function's registry.
func (h *host) counter(name, label string) float64 {
	svc := h.f.svc.Load()
	switch name {
	case "events":
		return testutil.ToFloat64(svc.metrics.events.WithLabelValues(label))
	case "vlm":
		return testutil.ToFloat64(svc.metrics.vlmRequests.WithLabelValues(label))
	case "cache":
		return testutil.ToFloat64(svc.metrics.cacheHits.WithLabelValues(label))
	case "tokens":
		return testutil.ToFloat64(svc.metrics.tokens.WithLabelValues(label))
	}
	panic("unknown counter " + name)
}

// captionSchema compiles the contract's caption schema.
func captionSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	const path = "../../internal/contract/schemas/caption.schema.json"
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("caption.schema.json", doc); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile("caption.schema.json")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func decodeCaption(tb testing.TB, e *event.Event) contract.Caption {
	tb.Helper()
	var c contract.Caption
	if err := json.Unmarshal(e.Data(), &c); err != nil {
		tb.Fatalf("caption data: %v", err)
	}
	return c
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testingCount reads how many VLM calls succeeded.
func testingCount(m *metrics) float64 {
	return testutil.ToFloat64(m.vlmRequests.WithLabelValues("ok"))
}
