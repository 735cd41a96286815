package function

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/edgewatch/edgewatch/functions/motion-source/camera"
	"github.com/edgewatch/edgewatch/functions/motion-source/cameraconfig"
	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"github.com/edgewatch/edgewatch/functions/motion-source/motion"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"github.com/edgewatch/edgewatch/functions/motion-source/watch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gocv.io/x/gocv"
)

// analysedFPS is the analysis rate of the busy-scene runs (the default).
const analysedFPS = 5

// busyClip is a written busy scene and its ground truth.
type busyClip struct {
	path  string
	truth samplevideo.Truth
}

// writeBusy writes a busy scene with ghosts into dir.
func writeBusy(tb testing.TB, dir, name string, scene samplevideo.Busy) busyClip {
	tb.Helper()
	scene.Stander = true
	path := filepath.Join(dir, name+".mp4")
	truth, err := samplevideo.WriteBusy(path, scene)
	if err != nil {
		tb.Fatal(err)
	}
	return busyClip{path: path, truth: truth}
}

// sent is one motion event as the sink received it.
type sent struct {
	frame  int             // the clip's frame index, from the event's media time
	region image.Rectangle // frame pixels the image stands for
	bytes  int
}

// busyRun is what one pass of the camera loop over a clip sent.
type busyRun struct {
	events   []sent
	analysed int64
	dropped  int64
	cpu      time.Duration
	due      map[string]float64 // tracks sent, by reason
}

// runBusy runs the real camera loop (decode, gate, tracking, encoding,
// CloudEvents over HTTP to a sink on 127.0.0.1) over the clip, as fast as it
// decodes, and returns what reached the sink.
func runBusy(tb testing.TB, clip busyClip, cam cameraconfig.Camera) busyRun {
	tb.Helper()
	var mu sync.Mutex
	var events []sent
	var times []time.Time
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ext := e.Extensions()
		num := func(k string) int { n, _ := strconv.Atoi(toString(ext[k])); return n }
		ev := sent{bytes: len(e.Data()),
			region: image.Rect(num(contract.ExtRegionX), num(contract.ExtRegionY), num(contract.ExtRegionX)+num(contract.ExtRegionW), num(contract.ExtRegionY)+num(contract.ExtRegionH))}
		mu.Lock()
		events = append(events, ev)
		times = append(times, e.Time())
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	client, err := emit.NewClient(emit.Config{Sink: sink.URL})
	if err != nil {
		tb.Fatal(err)
	}
	cam.ID, cam.URL, cam.FPS = "busy", clip.path, analysedFPS
	set, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	m := set.For("busy")
	opened := &openedAt{}
	w, err := watch.New(watch.Deps{Camera: cam, Opener: camera.NewOpener(), Client: client, ModelInput: DefaultModelInputSize,
		Metrics: m, Log: slog.New(opened)})
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	cpu0 := cpuTime()
	w.Run(context.Background(), context.Background())
	cpu := cpuTime() - cpu0
	st := w.Status()
	mu.Lock()
	defer mu.Unlock()
	// Event times are the clip's media time from when the file opened:
	// frame k is at opened + k/fps.
	at := opened.time()
	if at.IsZero() {
		tb.Fatal("the camera never logged its opening")
	}
	for i := range events {
		events[i].frame = int(math.Round(times[i].Sub(at).Seconds() * clip.truth.FPS))
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].frame < events[j].frame })
	due := map[string]float64{}
	for _, r := range []string{"new", "split", "grown", "refresh", "nearby", "entering"} {
		due[r] = testutil.ToFloat64(m.TracksDue(r))
	}
	return busyRun{events: events, analysed: st.FramesAnalysed, dropped: st.EventsDropped + st.EventsFailed, cpu: cpu, due: due}
}

// openedAt is a log handler that keeps the time of the first "camera open"
// record: when the stream's media clock started.
type openedAt struct {
	mu sync.Mutex
	at time.Time
}

func (o *openedAt) Enabled(context.Context, slog.Level) bool { return true }
func (o *openedAt) WithAttrs([]slog.Attr) slog.Handler       { return o }
func (o *openedAt) WithGroup(string) slog.Handler            { return o }
func (o *openedAt) Handle(_ context.Context, r slog.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Message == "camera open" && o.at.IsZero() {
		o.at = r.Time
	}
	return nil
}

func (o *openedAt) time() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.at
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int32:
		return strconv.Itoa(int(x))
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

// startUp is how long the gate learns a new scene before it reports motion;
// people who come into view before then are not judged on how soon they are
// first seen, nor is someone standing in the first frame.
const startUp = time.Second

// coverage judges the events against the ground truth: each walker must be
// inside an emitted region within 0.5 s of entering (half in view), and
// again at least every 2 s while it moves in full view. It returns the fraction of walkers
// that met both, and the worst delays seen.
func coverage(truth samplevideo.Truth, events []sent) (ok float64, firstWorst, gapWorst time.Duration, missed []string) {
	fps := truth.FPS
	frameDur := func(n int) time.Duration { return time.Duration(float64(n) / fps * float64(time.Second)) }
	covered := func(id, f int) bool { // some event of frame f holds walker id
		var box image.Rectangle
		for _, wk := range truth.Frames[f] {
			if wk.ID == id {
				box = wk.Box
			}
		}
		for _, e := range events {
			if e.frame == f && area(box.Intersect(e.region)) >= 0.9*area(box) {
				return true
			}
		}
		return false
	}
	inView := func(b image.Rectangle) bool {
		return b.Min.X > 0 && b.Min.Y > 0 && b.Max.X < truth.Size.X && b.Max.Y < truth.Size.Y
	}
	// A walker has entered once half of them is in view.
	full := map[int]float64{}
	for _, walkers := range truth.Frames {
		for _, wk := range walkers {
			full[wk.ID] = max(full[wk.ID], area(wk.Box))
		}
	}
	type life struct {
		entered, last  int  // first frame half in view; last covered frame
		firstOK, gapOK bool // within 0.5 s of entering; every 2 s while moving
	}
	lives := map[int]*life{}
	for f, walkers := range truth.Frames {
		for _, wk := range walkers {
			l := lives[wk.ID]
			if l == nil {
				if area(wk.Box) < 0.5*full[wk.ID] {
					continue
				}
				l = &life{entered: f, last: -1, gapOK: true}
				lives[wk.ID] = l
			}
			if covered(wk.ID, f) {
				if l.last < 0 && frameDur(l.entered) < startUp {
					l.firstOK = true // entered while the gate was still learning the scene
				} else if l.last < 0 {
					l.firstOK = frameDur(f-l.entered) <= 500*time.Millisecond
					firstWorst = max(firstWorst, frameDur(f-l.entered))
				}
				l.last = f
				continue
			}
			if l.last < 0 || !wk.Moving || !inView(wk.Box) {
				continue
			}
			if gap := frameDur(f - l.last); gap > 2*time.Second {
				l.gapOK = false
				gapWorst = max(gapWorst, gap)
			}
		}
	}
	good, total := 0, 0
	for id, l := range lives {
		// A walker that entered in the last half second of the clip cannot
		// be judged.
		if frameDur(len(truth.Frames)-l.entered) < time.Second {
			continue
		}
		total++
		if l.firstOK && l.gapOK {
			good++
		} else {
			missed = append(missed, fmt.Sprintf("walker %d (entered %.2f s, first seen %v, gaps ok %v)", id, float64(l.entered)/fps, l.firstOK, l.gapOK))
		}
	}
	if total == 0 {
		return 0, firstWorst, gapWorst, missed
	}
	return float64(good) / float64(total), firstWorst, gapWorst, missed
}

func area(r image.Rectangle) float64 { return float64(r.Dx() * r.Dy()) }

// ghostSeconds runs the motion gate alone over the clip at the analysed rate
// and returns the longest time a vacated spot kept a motion box that no
// person in view explains, counted from when the spot was last disturbed:
// its stander leaving, or anyone (or their shadow) crossing it since.
func ghostSeconds(tb testing.TB, clip busyClip, cfg motion.Config) float64 {
	tb.Helper()
	vc, err := gocv.VideoCaptureFile(clip.path)
	if err != nil {
		tb.Fatal(err)
	}
	defer vc.Close()
	g, err := motion.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer g.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	stride := int(math.Round(clip.truth.FPS / analysedFPS))
	disturbed := make([]int, len(clip.truth.Vacated))
	worst := 0.0
	for f := 0; vc.Read(&frame) && f < len(clip.truth.Frames); f++ {
		for i, v := range clip.truth.Vacated {
			if f <= v.Left || explained(v.Spot, clip.truth.Frames[f]) {
				disturbed[i] = f
			}
		}
		if f%stride != 0 {
			continue
		}
		boxes := g.Detect(frame).Boxes
		for i, v := range clip.truth.Vacated {
			if f < v.Left {
				continue
			}
			for _, b := range boxes {
				if iou(b, v.Spot) < 0.3 || explained(b, clip.truth.Frames[f]) {
					continue
				}
				worst = max(worst, float64(f-disturbed[i]+stride)/clip.truth.FPS)
			}
		}
	}
	return worst
}

// explained reports whether a person in view, or their shadow (within a
// third of their size around them), overlaps a tenth of box b.
func explained(b image.Rectangle, walkers []samplevideo.Walker) bool {
	for _, wk := range walkers {
		grown := wk.Box.Inset(-max(wk.Box.Dx(), wk.Box.Dy()) / 3)
		if area(b.Intersect(grown)) >= 0.1*area(b) {
			return true
		}
	}
	return false
}

func iou(a, b image.Rectangle) float64 {
	in := area(a.Intersect(b))
	return in / (area(a) + area(b) - in)
}

// fullFrameBytes returns the mean size of the clip's analysed frames as
// full-frame JPEGs of quality 80: what a gate that forwarded every analysed
// frame whole would send.
func fullFrameBytes(tb testing.TB, path string) float64 {
	tb.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	total, n := 0, 0
	for f := 0; vc.Read(&frame); f++ {
		if f%25 != 0 {
			continue
		}
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, []int{gocv.IMWriteJpegQuality, 80})
		if err != nil {
			tb.Fatal(err)
		}
		total += buf.Len()
		n++
		buf.Close()
	}
	return float64(total) / float64(n)
}

// TestBusySceneIsCoveredCheaply runs the default configuration over 12 s of
// a busy standard-definition street (8 people at once, pauses, ghosts,
// noise, H.264 at 1.5 Mbit/s): walkers are covered, nothing a file sent is
// dropped, the bytes stay under a quarter of full frames, and the detector is
// called far less often than frame by frame. CPU is measured by
// BenchmarkBusy, not here.
func TestBusySceneIsCoveredCheaply(t *testing.T) {
	clip := writeBusy(t, t.TempDir(), "busy-sd", samplevideo.Busy{Frames: 12 * 25, Seed: 7})
	seconds := float64(len(clip.truth.Frames)) / clip.truth.FPS
	run := runBusy(t, clip, cameraconfig.Camera{})
	if run.dropped != 0 {
		t.Errorf("%d events dropped or failed reading a file", run.dropped)
	}
	// Every walker is shown again at least every 2 s while it moves; most
	// are first shown within 0.5 s of coming into view, and none later than
	// a refresh interval and a frame.
	ok, first, gap, missed := coverage(clip.truth, run.events)
	if ok < 0.8 || first > 1200*time.Millisecond || gap > 0 {
		t.Errorf("%.0f %% of walkers covered (worst first sight %v, worst gap over 2 s %v); missed %v", 100*ok, first, gap, missed)
	}
	bytes := 0
	for _, e := range run.events {
		bytes += e.bytes
	}
	full := fullFrameBytes(t, clip.path) * analysedFPS * seconds
	if share := float64(bytes) / full; share > 0.25 {
		t.Errorf("sent %.0f %% of the bytes of full q80 frames at %d fps, want ≤ 25 %%", 100*share, analysedFPS)
	}
	perFrame := runBusy(t, clip, cameraconfig.Camera{Track: cameraconfig.TrackConfig{Refresh: -1}})
	if 2*len(run.events) > len(perFrame.events) {
		t.Errorf("%d events tracked against %d frame by frame, want at most half", len(run.events), len(perFrame.events))
	}
	t.Logf("tracks sent by reason: %v", run.due)
	t.Logf("%.1f events/s (frame by frame %.1f), %.0f KB/s against %.0f KB/s of full frames, worst first sight %v, missed %v",
		float64(len(run.events))/seconds, float64(len(perFrame.events))/seconds, float64(bytes)/seconds/1e3, full/seconds/1e3, first, missed)
	if g := ghostSeconds(t, clip, cameraconfig.Camera{FPS: analysedFPS}.Gate()); g > 3 {
		t.Errorf("ghost boxes lasted %.1f s, want ≤ 3 s", g)
	}
}
