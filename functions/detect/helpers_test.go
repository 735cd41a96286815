package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
)

// testLogger returns a logger that discards everything.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// patternConfig generates the pattern model in a temp dir and returns a
// cfg map that loads it, plus overrides.
func patternConfig(t testing.TB, overrides map[string]string) map[string]string {
	t.Helper()
	g, err := darknet.Generate(darknet.KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{
		"MODEL_CFG": g.Files.Cfg, "MODEL_WEIGHTS": g.Files.Weights, "MODEL_NAMES": g.Files.Names,
		"DNN_BACKEND": "cpu", "METRICS_ADDRESS": "127.0.0.1:0",
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	return cfg
}

// startDetect starts a detect instance and stops it at the end of the test.
func startDetect(t testing.TB, cfg map[string]string) (*Function, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	f := NewWithDeps(Deps{Logger: testLogger(t), Registry: reg})
	if err := f.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Stop(context.Background()) })
	return f, reg
}

// square is a filled RGB rectangle drawn into a test image.
type square struct {
	rect image.Rectangle
	rgb  [3]uint8
}

// patternJPEG draws squares on a black w×h image and encodes it as JPEG.
func patternJPEG(t testing.TB, w, h int, squares ...square) []byte {
	t.Helper()
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), h, w, gocv.MatTypeCV8UC3)
	defer img.Close()
	for _, s := range squares {
		gocv.Rectangle(&img, s.rect.Sub(image.Pt(0, 0)), color.RGBA{R: s.rgb[0], G: s.rgb[1], B: s.rgb[2], A: 255}, -1)
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, 95})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// motionEvent builds a binary-mode motion event as motion-source sends it.
func motionEvent(t testing.TB, id string, jpeg []byte, ext map[string]any) event.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(contract.TypeMotionDetected)
	e.SetSource(contract.CameraSource("cam-1"))
	e.SetTime(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	e.SetExtension(contract.ExtCamera, "cam-1")
	for k, v := range ext {
		e.SetExtension(k, v)
	}
	if err := e.SetData(contract.ContentTypeJPEG, jpeg); err != nil {
		t.Fatal(err)
	}
	return e
}

// statusOf returns the HTTP status a Handle error answers with.
func statusOf(err error) int {
	var r *cehttp.Result
	if errors.As(err, &r) {
		return r.StatusCode
	}
	if err == nil {
		return 200
	}
	return 500
}

// sink is a real CloudEvents HTTP receiver on 127.0.0.1:0.
type sink struct {
	URL    string
	mu     sync.Mutex
	events []event.Event
	status int // answered to every event; 0 = 202
}

func newSink(t testing.TB, status int) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{URL: "http://" + ln.Addr().String() + "/", status: status}
	c, err := cloudevents.NewClientHTTP(cloudevents.WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.StartReceiver(ctx, func(e event.Event) protocol.Result {
			s.mu.Lock()
			s.events = append(s.events, e)
			s.mu.Unlock()
			if s.status != 0 {
				return cehttp.NewResult(s.status, "sink refuses")
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func (s *sink) received() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

// detectionSchema compiles the contract's Detection schema.
func detectionSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile("../../internal/contract/schemas/detection.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks a detection event's data against the contract schema and
// decodes it.
func validate(t testing.TB, schema *jsonschema.Schema, e event.Event) contract.Detection {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Data()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("event %s violates the contract: %v", e.ID(), err)
	}
	var d contract.Detection
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// counter reads a counter's value from the registry.
func counter(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	return 0
}
