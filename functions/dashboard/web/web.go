// Package web serves the live incident map: the page and its static files
// (Leaflet vendored, no CDN), the JSON API and the server-sent event stream.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/dashboard/incidentreader"
	"github.com/edgewatch/edgewatch/functions/dashboard/internal/contract"
	"github.com/edgewatch/edgewatch/functions/dashboard/live"
)

//go:embed static
var staticFiles embed.FS

//go:embed templates/*.html
var templateFiles embed.FS

// Store is what the server reads incidents from.
type Store interface {
	List(ctx context.Context, f incidentreader.Filter) ([]incidentreader.Incident, error)
	Snapshot(ctx context.Context, id string) ([]byte, error)
}

// Streams hands out live incident events.
type Streams interface {
	Subscribe() (<-chan live.Event, func())
}

// MapConfig is what the page needs to draw the map.
type MapConfig struct {
	Title string
	// Notice, when set, is shown above the map on every page, e.g. that the
	// detector runs a demonstration model rather than a trained one.
	Notice string
	// TileURL is a Leaflet tile URL template ({z}/{x}/{y}); empty draws no
	// base map.
	TileURL         string
	TileAttribution string
	// Lat, Lon and Zoom are the initial view.
	Lat, Lon float64
	Zoom     int
	// Basemap is what lies under the incidents: BasemapTiles (TileURL over
	// the built-in country outlines, which show when tiles cannot be
	// loaded), BasemapOutline (the outlines only, nothing fetched from
	// elsewhere) or BasemapImage (SitePlan stretched over SitePlanBounds).
	Basemap string
	// SitePlan is the site-plan image for BasemapImage.
	SitePlan SitePlan
}

// Basemaps.
const (
	BasemapTiles   = "tiles"
	BasemapOutline = "outline"
	BasemapImage   = "image"
)

// SitePlan is an image of a site (a floor or site plan showing where its
// cameras are) laid over the map between two corners.
type SitePlan struct {
	Image       []byte
	ContentType string
	// South, West, North and East bound the image in degrees.
	South, West, North, East float64
}

// OutlinePath is where the built-in country outlines are served.
const OutlinePath = "/static/vendor/world/countries-110m.geojson"

// Login outcomes, counted by Options.Logins.
const (
	LoginOK      = "ok"      // a right token opened a session
	LoginFailed  = "failed"  // wrong credentials: the login form, a bearer token or basic auth
	LoginLimited = "limited" // refused with 429: the client sent too many wrong ones
)

// Options are the server's login machinery; nil fields take defaults.
type Options struct {
	// Sessions holds the sessions the login form opens.
	Sessions *Sessions
	// Limiter refuses clients that sent too many wrong credentials.
	Limiter *Limiter
	// Logins is told of every login outcome (LoginOK, LoginFailed,
	// LoginLimited).
	Logins func(outcome string)
}

// Server is the dashboard's HTTP handler.
type Server struct {
	store     Store
	streams   Streams
	auth      Auth
	sessions  *Sessions
	limit     *Limiter
	logins    func(string)
	cfg       MapConfig
	logger    *slog.Logger
	templates *template.Template
	static    http.Handler
	heartbeat time.Duration
	mux       *http.ServeMux
}

// New returns the server.
func New(store Store, streams Streams, auth Auth, cfg MapConfig, logger *slog.Logger, o Options) (*Server, error) {
	if o.Sessions == nil {
		o.Sessions = NewSessions(SessionConfig{}, nil)
	}
	if o.Limiter == nil {
		o.Limiter = NewLimiter(LimitConfig{}, nil)
	}
	if o.Logins == nil {
		o.Logins = func(string) {}
	}
	t, err := template.ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	s := &Server{store: store, streams: streams, auth: auth, sessions: o.Sessions, limit: o.Limiter, logins: o.Logins,
		cfg: cfg, logger: logger, templates: t,
		static: http.StripPrefix("/static/", http.FileServerFS(sub)), heartbeat: 15 * time.Second, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.guard(s.page))
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.Handle("GET /static/", s.static)
	s.mux.HandleFunc("GET /api/incidents", s.guard(s.list))
	s.mux.HandleFunc("GET /api/incidents/{id}/snapshot.jpg", s.guard(s.snapshot))
	s.mux.HandleFunc("GET /api/events", s.guard(s.events))
	s.mux.HandleFunc("GET /site-plan", s.guard(s.sitePlan))
	return s, nil
}

// sitePlan serves the configured site-plan image.
func (s *Server) sitePlan(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Basemap != BasemapImage || len(s.cfg.SitePlan.Image) == 0 {
		http.Error(w, "no site plan is configured (BASEMAP=image with SITE_PLAN)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", s.cfg.SitePlan.ContentType)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.cfg.SitePlan.Image)))
	_, _ = w.Write(s.cfg.SitePlan.Image)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data: http: https:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	s.mux.ServeHTTP(w, r)
}

// guard refuses requests without valid credentials: the page answers with a
// login form, the API and the stream with a plain 401, and a client that
// sent too many wrong credentials with 429 until its window ends.
func (s *Server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.Enabled() || s.hasSession(r) {
			next(w, r)
			return
		}
		v := s.auth.credentials(r)
		if v != noCredentials {
			client := s.limit.Client(r)
			if wait, blocked := s.limit.Blocked(client); blocked {
				s.tooMany(w, r, client, wait)
				return
			}
			if v == rightCredentials {
				s.limit.Succeed(client)
				next(w, r)
				return
			}
			if wait, over := s.failed(r, client); over {
				s.tooMany(w, r, client, wait)
				return
			}
		}
		s.auth.challenge(w)
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_ = s.templates.ExecuteTemplate(w, "login.html", map[string]any{"Title": s.cfg.Title, "Token": s.auth.Token != "", "Failed": r.URL.Query().Has("failed")})
			return
		}
		http.Error(w, "unauthorized: send the dashboard token as a Bearer token, log in on the page, or use basic auth", http.StatusUnauthorized)
	}
}

// hasSession reports whether r carries the cookie of a live session.
func (s *Server) hasSession(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	return err == nil && s.auth.Token != "" && s.sessions.Valid(c.Value)
}

// failed counts and logs wrong credentials from client, and reports
// whether they went past the limit (then they count as limited, and the
// caller answers 429).
func (s *Server) failed(r *http.Request, client string) (time.Duration, bool) {
	wait, over := s.limit.Fail(client)
	if over {
		return wait, true
	}
	s.logins(LoginFailed)
	s.logger.Warn("dashboard: failed login", "client", client, "path", r.URL.Path)
	return 0, false
}

// tooMany refuses a client over the failed-login limit with 429 and the
// seconds it must wait.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, client string, wait time.Duration) {
	s.logins(LoginLimited)
	secs := int((wait + time.Second - 1) / time.Second)
	s.logger.Warn("dashboard: login refused: too many failed logins", "client", client, "retry_after_s", secs, "path", r.URL.Path)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	http.Error(w, fmt.Sprintf("too many failed logins from this client: try again in %d s", secs), http.StatusTooManyRequests)
}

func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// login checks the token posted by the login form and opens a session: a
// random id kept here, set as the cookie. The token travels in the form
// body, never in a URL.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	client := s.limit.Client(r)
	if wait, blocked := s.limit.Blocked(client); blocked {
		s.tooMany(w, r, client, wait)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the login form is not a form of at most 4 KiB", http.StatusBadRequest)
		return
	}
	if !s.auth.TokenValid(r.PostForm.Get("token")) {
		if wait, over := s.failed(r, client); over {
			s.tooMany(w, r, client, wait)
			return
		}
		http.Redirect(w, r, "/?failed", http.StatusSeeOther)
		return
	}
	id, err := s.sessions.Create()
	if err != nil {
		s.logger.Error("dashboard: cannot open a session", "err", err)
		http.Error(w, "cannot open a session", http.StatusInternalServerError)
		return
	}
	s.limit.Succeed(client)
	s.logins(LoginOK)
	http.SetCookie(w, sessionCookieFor(id, int(s.sessions.MaxAge()/time.Second), secure(r)))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session here, so its cookie is worthless even if kept,
// and deletes the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.Revoke(c.Value)
	}
	http.SetCookie(w, sessionCookieFor("", -1, secure(r)))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	deg := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	sp := s.cfg.SitePlan
	if err := s.templates.ExecuteTemplate(w, "index.html", map[string]any{
		"Cfg": s.cfg, "Lat": deg(s.cfg.Lat), "Lon": deg(s.cfg.Lon), "Outline": OutlinePath,
		"PlanBounds": strings.Join([]string{deg(sp.South), deg(sp.West), deg(sp.North), deg(sp.East)}, ","),
		"Logout":     s.auth.Token != "",
	}); err != nil {
		s.logger.Error("dashboard: page", "err", err)
	}
}

var (
	cameraPattern = regexp.MustCompile(contract.CameraIDPattern)
	uuidPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// oneOf lists words as English prose: "a, b or c".
func oneOf(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// maxLimit caps one API answer.
const maxLimit = 1000

// ParseFilter reads the API's query parameters: class (repeated or comma
// separated), camera, since and until (RFC 3339), status (open, closed) and
// limit (1–1000, default 500).
func ParseFilter(q map[string][]string) (incidentreader.Filter, error) {
	f := incidentreader.Filter{Limit: 500}
	for _, v := range q["class"] {
		for _, c := range strings.Split(v, ",") {
			switch c = strings.TrimSpace(c); {
			case slices.Contains(contract.Classes(), c):
				f.Classes = append(f.Classes, c)
			case c == "":
			default:
				return f, fmt.Errorf("class %q is not %s", clip(c), oneOf(contract.Classes()))
			}
		}
	}
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	if c := get("camera"); c != "" {
		if !cameraPattern.MatchString(c) {
			return f, fmt.Errorf("camera %q is not a camera id", clip(c))
		}
		f.Camera = c
	}
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := get(p.key); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, fmt.Errorf("%s %q is not an RFC 3339 time", p.key, clip(v))
			}
			*p.dst = t
		}
	}
	switch st := get("status"); st {
	case "", "open", "closed":
		f.Status = st
	default:
		return f, fmt.Errorf("status %q is not open or closed", clip(st))
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return f, fmt.Errorf("limit %q is not from 1 to %d", clip(v), maxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	incs, err := s.store.List(r.Context(), f)
	if err != nil {
		s.logger.Error("dashboard: listing incidents failed", "err", err)
		http.Error(w, "the incident database is unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"incidents": incs})
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !uuidPattern.MatchString(id) {
		http.Error(w, "not an incident id", http.StatusBadRequest)
		return
	}
	img, err := s.store.Snapshot(r.Context(), id)
	switch {
	case errors.Is(err, incidentreader.ErrNotFound):
		http.Error(w, "no snapshot for this incident", http.StatusNotFound)
		return
	case err != nil:
		s.logger.Error("dashboard: snapshot", "err", err)
		http.Error(w, "the incident database is unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=60")
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	_, _ = w.Write(img)
}

// events streams incident changes as server-sent events until the client
// goes away. It lifts the server's write deadline for this response only.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.logger.Warn("dashboard: cannot lift the write deadline for the event stream", "err", err)
	}
	ch, done := s.streams.Subscribe()
	defer done()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The retry hint and a first comment open the stream at once.
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case e, ok := <-ch:
			if !ok {
				// Dropped (too slow) or shutting down: the client
				// reconnects and reloads.
				return
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Name, e.Data); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
