package function

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/dashboard/incidentreader"
	"github.com/edgewatch/edgewatch/functions/dashboard/internal/dbtest"
)

var tinyJPEG = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0, 0xFF, 0xD9}

type env struct {
	f   *Function
	srv *httptest.Server
	db  *sql.DB
}

// startDashboard runs the function behind a server with a short write
// timeout (func-go's is 30 s) on a schema alert has migrated, unless
// migrated is false.
func startDashboard(t *testing.T, cfg map[string]string, migrated bool) *env {
	t.Helper()
	dsn := dbtest.Schema(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if migrated {
		dbtest.Migrate(t, db)
	}
	// The dashboard connects as a role that can read the read model only.
	full := map[string]string{"DATABASE_URL": dbtest.ReaderURL(t, dsn), "TILE_URL": "", "METRICS_ADDRESS": "off"}
	for k, v := range cfg {
		full[k] = v
	}
	f := NewWithDeps(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := f.Start(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.Handle))
	srv.Config.WriteTimeout = 2 * time.Second
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		_ = f.Stop(context.Background())
	})
	if migrated {
		waitReady(t, f)
	}
	return &env{f: f, srv: srv, db: db}
}

func waitReady(t *testing.T, f *Function) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ok, _ := f.Ready(context.Background()); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard did not get ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func list(t *testing.T, e *env, query string) []incidentreader.Incident {
	t.Helper()
	resp, body := get(t, http.DefaultClient, e.srv.URL+"/api/incidents"+query)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
	}
	var out struct{ Incidents []incidentreader.Incident }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Incidents
}

func TestAPIFilters(t *testing.T) {
	e := startDashboard(t, nil, true)
	now := time.Now().UTC().Truncate(time.Second)
	fire := dbtest.Insert(t, e.db, dbtest.Incident{Camera: "north", Class: "fire", Status: "open", Lat: 48.8, Lon: 2.3, Confidence: 0.9, OpenedAt: now.Add(-time.Hour), Snapshot: tinyJPEG})
	dbtest.Insert(t, e.db, dbtest.Incident{Camera: "south", Class: "gun", Status: "closed", Lat: 48.9, Lon: 2.4, Confidence: 0.8, OpenedAt: now.Add(-2 * time.Hour)})
	dbtest.Insert(t, e.db, dbtest.Incident{Camera: "south", Class: "knife", Status: "open", Lat: 48.9, Lon: 2.4, Confidence: 0.7, OpenedAt: now})
	if _, err := e.db.Exec(`INSERT INTO incidents (camera, class, status, first_seen_at, last_seen_at, max_confidence, hits, scores, best_detection_id)
		VALUES ('east', 'fire', 'candidate', now(), now(), 0.3, 1, '{}', 'x')`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"", 3}, {"?class=fire", 1}, {"?class=fire,gun", 2}, {"?class=fire&class=knife", 2}, {"?camera=south", 2},
		{"?status=closed", 1}, {"?status=open&camera=south", 1}, {"?limit=1", 1},
		{"?since=" + url.QueryEscape(now.Add(-90*time.Minute).Format(time.RFC3339)), 2},
		{"?until=" + url.QueryEscape(now.Add(-90*time.Minute).Format(time.RFC3339)), 1},
	} {
		if got := list(t, e, c.query); len(got) != c.want {
			t.Errorf("%q: %d incidents, want %d", c.query, len(got), c.want)
		}
	}
	all := list(t, e, "")
	if all[0].Class != "knife" || all[2].Class != "gun" {
		t.Fatalf("not newest first: %+v", all)
	}
	for _, bad := range []string{"?class=cat", "?camera=..%2Fetc", "?since=yesterday", "?status=gone", "?limit=0", "?limit=5000",
		"?camera=" + url.QueryEscape("x' OR '1'='1")} {
		if resp, body := get(t, http.DefaultClient, e.srv.URL+"/api/incidents"+bad); resp.StatusCode != http.StatusBadRequest || body == "" {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
	resp, body := get(t, http.DefaultClient, e.srv.URL+"/api/incidents/"+fire+"/snapshot.jpg")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || body != string(tinyJPEG) {
		t.Fatalf("snapshot: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for path, code := range map[string]int{
		"/api/incidents/" + all[0].ID + "/snapshot.jpg":                    http.StatusNotFound, // no snapshot
		"/api/incidents/00000000-0000-4000-8000-000000000000/snapshot.jpg": http.StatusNotFound,
		"/api/incidents/not-an-id/snapshot.jpg":                            http.StatusBadRequest,
	} {
		if resp, _ := get(t, http.DefaultClient, e.srv.URL+path); resp.StatusCode != code {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, code)
		}
	}
}

func TestReadOnly(t *testing.T) {
	e := startDashboard(t, nil, true)
	db, err := sql.Open("postgres", incidentreader.ReadOnly(dbtestDSN(t, e)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM incidents`); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write through the dashboard's connection: %v", err)
	}
}

func dbtestDSN(t *testing.T, e *env) string {
	t.Helper()
	var schema string
	if err := e.db.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dbtest.BaseURL())
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestWaitsForMigrations(t *testing.T) {
	e := startDashboard(t, nil, false)
	time.Sleep(300 * time.Millisecond)
	if ok, _ := e.f.Ready(context.Background()); ok {
		t.Fatal("ready without the schema")
	}
	if resp, _ := get(t, http.DefaultClient, e.srv.URL+"/api/incidents"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("before the schema: %d, want 503", resp.StatusCode)
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the dashboard created %d tables (%v)", n, err)
	}
	dbtest.Migrate(t, e.db)
	waitReady(t, e.f)
	if got := list(t, e, ""); len(got) != 0 {
		t.Fatalf("%d incidents in a new schema", len(got))
	}
}

func TestAuth(t *testing.T) {
	e := startDashboard(t, map[string]string{"DASHBOARD_TOKEN": "tok-123", "DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": "pw"}, true)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/api/incidents", "/api/events", "/api/incidents/00000000-0000-4000-8000-000000000000/snapshot.jpg"} {
		resp, body := get(t, noRedirect, e.srv.URL+p)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "tok-123") {
			t.Errorf("%s without credentials: %d", p, resp.StatusCode)
		}
		if resp, _ := get(t, noRedirect, e.srv.URL+p, "Authorization", "Bearer wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", p, resp.StatusCode)
		}
		if resp, _ := get(t, noRedirect, e.srv.URL+p+"?token=tok-123"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with the token in the URL was let in: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, noRedirect, e.srv.URL+"/api/incidents", "Authorization", "Bearer tok-123"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/incidents", nil)
	req.SetBasicAuth("ops", "pw")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("basic: %v %v", resp, err)
	}
	// The static files carry nothing secret and load before login.
	if resp, _ := get(t, noRedirect, e.srv.URL+"/static/vendor/leaflet/leaflet.js"); resp.StatusCode != http.StatusOK {
		t.Fatalf("leaflet: %d", resp.StatusCode)
	}
	resp, err := noRedirect.PostForm(e.srv.URL+"/login", url.Values{"token": {"wrong"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 0 {
		t.Fatalf("bad login: %v %v", resp, err)
	}
	resp, err = noRedirect.PostForm(e.srv.URL+"/login", url.Values{"token": {"tok-123"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %v %v", resp, err)
	}
	c := resp.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || strings.Contains(c.Value, "tok-123") {
		t.Fatalf("session cookie %+v", c)
	}
	if resp, _ := get(t, noRedirect, e.srv.URL+"/api/incidents", "Cookie", c.Name+"="+c.Value); resp.StatusCode != http.StatusOK {
		t.Fatalf("cookie: %d", resp.StatusCode)
	}
}

// readEvent reads SSE lines until one "incident" event arrives.
func readEvent(t *testing.T, r *bufio.Reader, deadline time.Duration) (incidentreader.Incident, bool) {
	t.Helper()
	type res struct {
		inc incidentreader.Incident
		ok  bool
	}
	ch := make(chan res, 1)
	go func() {
		name := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				ch <- res{}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == "incident":
				var inc incidentreader.Incident
				ch <- res{inc, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &inc) == nil}
				return
			}
		}
	}()
	select {
	case v := <-ch:
		return v.inc, v.ok
	case <-time.After(deadline):
		return incidentreader.Incident{}, false
	}
}

func TestEventsStreamChanges(t *testing.T) {
	e := startDashboard(t, nil, true)
	resp, err := http.Get(e.srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); line != "retry: 2000\n" {
		t.Fatalf("first line %q", line)
	}
	// Outlive the server's 2 s write timeout: the stream must stay open.
	time.Sleep(2500 * time.Millisecond)
	id := dbtest.Insert(t, e.db, dbtest.Incident{Camera: "gate", Class: "gun", Status: "open", Lat: 1, Lon: 2, Confidence: 0.9, OpenedAt: time.Now()})
	inc, ok := readEvent(t, r, 2*time.Second)
	if !ok || inc.ID != id || inc.Class != "gun" || inc.Location == nil {
		t.Fatalf("no incident event within 2 s of the insert: %+v", inc)
	}
	if _, err := e.db.Exec(`UPDATE incidents SET caption = 'a man in a red coat', updated_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	inc, ok = readEvent(t, r, 2*time.Second)
	if !ok || inc.Caption != "a man in a red coat" {
		t.Fatalf("no update event: %+v", inc)
	}
}

func TestConfig(t *testing.T) {
	c, err := ParseConfig(map[string]string{"DATABASE_URL": "postgres://h/db", "MAP_CENTER": "48.85, 2.35, 12"})
	if err != nil || c.Map.Lat != 48.85 || c.Map.Zoom != 12 || c.Map.TileURL != DefaultTileURL {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []map[string]string{{}, {"DATABASE_URL": "x", "MAP_CENTER": "1,2"}, {"DATABASE_URL": "x", "DASHBOARD_USER": "u"}} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

// writePlan writes a small PNG site plan and returns its path.
func writePlan(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = 0xF0
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "plan.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBasemapConfig(t *testing.T) {
	plan := writePlan(t)
	c, err := ParseConfig(map[string]string{"DATABASE_URL": "x"})
	if err != nil || c.Map.Basemap != "tiles" {
		t.Fatalf("default basemap %q, %v", c.Map.Basemap, err)
	}
	c, err = ParseConfig(map[string]string{"DATABASE_URL": "x", "BASEMAP": "image", "SITE_PLAN": plan, "SITE_PLAN_BOUNDS": "48.85,2.33,48.87,2.36"})
	if err != nil || c.Map.SitePlan.ContentType != "image/png" || len(c.Map.SitePlan.Image) == 0 || c.Map.SitePlan.North != 48.87 {
		t.Fatalf("site plan: %+v %v", c.Map.SitePlan, err)
	}
	for want, bad := range map[string]map[string]string{
		"is not tiles, outline or image": {"BASEMAP": "satellite"},
		"needs SITE_PLAN":                {"BASEMAP": "image", "SITE_PLAN_BOUNDS": "1,2,3,4"},
		"is not south,west,north,east":   {"BASEMAP": "image", "SITE_PLAN": plan, "SITE_PLAN_BOUNDS": "3,2,1,4"},
		"not a .png":                     {"BASEMAP": "image", "SITE_PLAN": plan + ".gif", "SITE_PLAN_BOUNDS": "1,2,3,4"},
		"no such file":                   {"BASEMAP": "image", "SITE_PLAN": plan + ".missing.png", "SITE_PLAN_BOUNDS": "1,2,3,4"},
	} {
		bad["DATABASE_URL"] = "x"
		if _, err := ParseConfig(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one saying %q", bad, err, want)
		}
	}
}

func TestSitePlanServed(t *testing.T) {
	plan := writePlan(t)
	e := startDashboard(t, map[string]string{"BASEMAP": "image", "SITE_PLAN": plan, "SITE_PLAN_BOUNDS": "48.85,2.33,48.87,2.36"}, true)
	resp, body := get(t, http.DefaultClient, e.srv.URL+"/site-plan")
	want, _ := os.ReadFile(plan)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || body != string(want) {
		t.Fatalf("site plan: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	_, page := get(t, http.DefaultClient, e.srv.URL+"/")
	if !strings.Contains(page, `data-basemap="image"`) || !strings.Contains(page, `data-plan-bounds="48.85,2.33,48.87,2.36"`) {
		t.Fatalf("page lacks the site plan's settings")
	}
	e2 := startDashboard(t, map[string]string{}, true)
	if resp, body := get(t, http.DefaultClient, e2.srv.URL+"/site-plan"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no site plan") {
		t.Fatalf("without a site plan: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, http.DefaultClient, e2.srv.URL+"/static/vendor/world/countries-110m.geojson"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the built-in outlines are not served: %d", resp.StatusCode)
	}
}

func TestNoticeShownAboveTheMap(t *testing.T) {
	e := startDashboard(t, map[string]string{"MAP_NOTICE": "DEMO MODEL: <not a trained detector>"}, true)
	resp, body := get(t, http.DefaultClient, e.srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `id="notice"`) || !strings.Contains(body, "DEMO MODEL: &lt;not a trained detector&gt;") {
		t.Fatalf("notice missing or not escaped in the page:\n%s", body)
	}
	e2 := startDashboard(t, map[string]string{}, true)
	if _, body := get(t, http.DefaultClient, e2.srv.URL+"/"); strings.Contains(body, `id="notice"`) {
		t.Fatal("a notice shown without MAP_NOTICE")
	}
}
