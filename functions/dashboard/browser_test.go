package function

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/edgewatch/edgewatch/functions/dashboard/internal/dbtest"
)

// chromium finds a headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH: install the Debian package chromium (hack/apt-packages.txt) to run the browser test")
	return ""
}

func testJPEG(t *testing.T, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tileServer serves one grey PNG for every /z/x/y.png tile and counts the
// requests; any other path is a 404.
func tileServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = 0xE0
		if x, y := i%256, i/256; x == 0 || y == 0 {
			img.Pix[i] = 0xB0 // a grid, so the tiles show
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	var n atomic.Int64
	tile := regexp.MustCompile(`^/[0-9]+/[0-9]+/[0-9]+\.png$`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tile.MatchString(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		n.Add(1)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestBrowserShowsIncidentsLive drives headless Chromium through the real
// page: log in with the token, see an existing incident with its snapshot
// and caption, and see a new incident appear without a reload.
func TestBrowserShowsIncidentsLive(t *testing.T) {
	exe := chromium(t)
	tiles, tileHits := tileServer(t)
	e := startDashboard(t, map[string]string{
		"DASHBOARD_TOKEN": "browser-token", "TILE_URL": tiles.URL + "/{z}/{x}/{y}.png",
		"TILE_ATTRIBUTION": "test tiles", "MAP_CENTER": "48.857,2.352,13",
	}, true)
	existing := dbtest.Insert(t, e.db, dbtest.Incident{Camera: "louvre-1", Class: "fire", Status: "open", Lat: 48.8606, Lon: 2.3376,
		Confidence: 0.93, OpenedAt: time.Now().Add(-10 * time.Minute), Snapshot: testJPEG(t, color.RGBA{200, 60, 20, 255}),
		Caption: "smoke above the <b>east</b> wing"})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	// Every request the page makes, to prove nothing comes from a CDN.
	var mu sync.Mutex
	var requested []string
	chromedp.ListenTarget(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, r.Request.URL)
			mu.Unlock()
		}
	})

	// Without credentials the page is refused: a login form, no map.
	var loginForms, maps int
	if err := chromedp.Run(ctx,
		network.Enable(),
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitReady("body"),
		chromedp.Evaluate(`document.querySelectorAll("form#login").length`, &loginForms),
		chromedp.Evaluate(`document.querySelectorAll("#map").length`, &maps),
	); err != nil {
		t.Fatal(err)
	}
	if loginForms != 1 || maps != 0 {
		t.Fatalf("unauthenticated page: %d login forms, %d maps", loginForms, maps)
	}

	existingMarker := `[data-incident="` + existing + `"].incident-marker`
	var caption string
	var snapshotWidth int
	step(t, ctx, "log in with the token",
		chromedp.SendKeys(`input[name="token"]`, "browser-token"),
		chromedp.Submit(`form#login`),
		chromedp.WaitVisible(`#map`),
		chromedp.WaitVisible(`#status.live`),
	)
	step(t, ctx, "show the existing incident",
		chromedp.WaitVisible(existingMarker),
		// A DOM click on the marker itself: Leaflet may still be moving the
		// map, so a click at screen coordinates could miss.
		chromedp.Evaluate(`document.querySelector('`+existingMarker+`').click()`, nil),
		chromedp.WaitVisible(`.popup .caption`),
		chromedp.Text(`.popup .caption`, &caption),
		chromedp.Poll(`(() => { const i = document.querySelector(".popup img"); return i && i.complete && i.naturalWidth > 0 })()`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`document.querySelector(".popup img").naturalWidth`, &snapshotWidth),
		// A mark that a reload would wipe out.
		chromedp.Evaluate(`window.edgewatchTestMark = "still here"`, nil),
	)
	if caption != "smoke above the <b>east</b> wing" || snapshotWidth != 160 {
		t.Fatalf("popup: caption %q, snapshot %d px wide", caption, snapshotWidth)
	}

	stored := time.Now()
	fresh := dbtest.Insert(t, e.db, dbtest.Incident{Camera: "gare-du-nord", Class: "knife", Status: "open", Lat: 48.8809, Lon: 2.3553,
		Confidence: 0.81, OpenedAt: time.Now(), Snapshot: testJPEG(t, color.RGBA{40, 40, 200, 255})})
	var mark string
	if err := chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('[data-incident="`+fresh+`"].incident-marker') !== null`, nil,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(2*time.Second)),
	); err != nil {
		t.Fatalf("the new incident did not appear within 2 s of being stored: %v", err)
	}
	latency := time.Since(stored)
	if err := chromedp.Run(ctx, chromedp.Evaluate(`window.edgewatchTestMark || ""`, &mark)); err != nil {
		t.Fatal(err)
	}
	if mark != "still here" {
		t.Fatal("the page reloaded to show the new incident")
	}
	t.Logf("new incident on the map %v after it was stored", latency.Round(time.Millisecond))

	var shot []byte
	step(t, ctx, "open the new incident from the list",
		chromedp.Click(`#list li[data-incident="`+fresh+`"]`),
		chromedp.WaitVisible(`.popup[data-incident="`+fresh+`"]`),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.CaptureScreenshot(&shot),
	)
	saveArtifact(t, "dashboard-map.png", shot)

	if tileHits.Load() == 0 {
		t.Fatal("no map tile /z/x/y.png was fetched from TILE_URL")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requested {
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "data" {
			continue
		}
		if origin := p.Scheme + "://" + p.Host; origin != e.srv.URL && origin != tiles.URL {
			t.Errorf("the page fetched %s from outside (CDN?)", u)
		}
	}
}

// step runs browser actions with a deadline of their own and names the step
// that failed.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// saveArtifact keeps a file with the test's artifacts (go test -artifacts)
// and copies it to $TEST_OUTPUT_DIR when that is set.
func saveArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	dirs := []string{t.ArtifactDir()}
	if d := os.Getenv("TEST_OUTPUT_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// newBrowser starts headless Chromium for one test.
func newBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	// The browser starts on the first Run and lives as long as the context
	// of that Run: start it here, not inside a step's shorter context.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// outlinesDrawn waits until the built-in country outlines are on the map.
const outlinesDrawn = `document.querySelectorAll("path.basemap-outline").length > 100`

// TestBrowserOfflineBasemap opens the map where the tile server cannot be
// reached, as on an isolated CCTV network: the built-in country outlines
// are drawn and a note says why there are no tiles. With BASEMAP=outline
// no tile is asked for at all, and BASEMAP=image lays the site plan under
// the incidents.
func TestBrowserOfflineBasemap(t *testing.T) {
	exe := chromium(t)
	unreachable := "http://127.0.0.1:1/{z}/{x}/{y}.png"
	e := startDashboard(t, map[string]string{"TILE_URL": unreachable, "MAP_CENTER": "46,8,4"}, true)
	dbtest.Insert(t, e.db, dbtest.Incident{Camera: "bern-1", Class: "accident", Status: "open", Lat: 46.948, Lon: 7.447,
		Confidence: 0.9, OpenedAt: time.Now(), Snapshot: testJPEG(t, color.RGBA{200, 200, 20, 255})})
	ctx := newBrowser(t, exe)
	var outlines int
	var noteText string
	var shot []byte
	step(t, ctx, "open the map without reachable tiles",
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(`#status.live`),
		chromedp.Poll(outlinesDrawn, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.WaitVisible(`#map-note`),
		chromedp.Text(`#map-note`, &noteText),
		chromedp.Evaluate(`document.querySelectorAll("path.basemap-outline").length`, &outlines),
		chromedp.WaitVisible(`.incident-marker`),
	)
	// Zoomed out far enough for the outlines to show around the pin, one
	// animated step at a time.
	for range 10 {
		step(t, ctx, "zoom out", chromedp.Click(`.leaflet-control-zoom-out`), chromedp.Sleep(300*time.Millisecond))
	}
	step(t, ctx, "screenshot", chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, "dashboard-offline.png", shot)
	if !regexp.MustCompile(`Map tiles from 127\.0\.0\.1:1 cannot be loaded .*built-in country outlines`).MatchString(noteText) {
		t.Errorf("note %q does not say that the tiles failed and what is shown instead", noteText)
	}
	t.Logf("%d country outlines drawn; note: %s", outlines, noteText)

	tiles, tileHits := tileServer(t)
	e2 := startDashboard(t, map[string]string{"BASEMAP": "outline", "TILE_URL": tiles.URL + "/{z}/{x}/{y}.png"}, true)
	var noteHidden bool
	step(t, ctx, "open the outline-only map",
		chromedp.Navigate(e2.srv.URL+"/"),
		chromedp.WaitVisible(`#status.live`),
		chromedp.Poll(outlinesDrawn, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.getElementById("map-note").hidden`, &noteHidden),
	)
	if n := tileHits.Load(); n != 0 || !noteHidden {
		t.Errorf("BASEMAP=outline: %d tile requests, note hidden %v; want none and hidden", n, noteHidden)
	}

	e3 := startDashboard(t, map[string]string{"BASEMAP": "image", "SITE_PLAN": writePlan(t), "SITE_PLAN_BOUNDS": "48.85,2.33,48.87,2.36"}, true)
	inside := dbtest.Insert(t, e3.db, dbtest.Incident{Camera: "gate-2", Class: "knife", Status: "open", Lat: 48.86, Lon: 2.345,
		Confidence: 0.8, OpenedAt: time.Now(), Snapshot: testJPEG(t, color.RGBA{40, 40, 200, 255})})
	var planWidth, outlinesOnPlan int
	step(t, ctx, "open the site-plan map",
		chromedp.Navigate(e3.srv.URL+"/"),
		chromedp.WaitVisible(`[data-incident="`+inside+`"].incident-marker`),
		chromedp.Poll(`(() => { const i = document.querySelector("img.site-plan"); return i && i.complete && i.naturalWidth > 0 })()`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`document.querySelector("img.site-plan").naturalWidth`, &planWidth),
		chromedp.Evaluate(`document.querySelectorAll("path.basemap-outline").length`, &outlinesOnPlan),
	)
	if planWidth != 64 || outlinesOnPlan != 0 {
		t.Errorf("BASEMAP=image: plan %d px wide, %d outlines; want 64 and none", planWidth, outlinesOnPlan)
	}
}
