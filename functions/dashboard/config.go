package function

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/dashboard/internal/envconf"
	"github.com/edgewatch/edgewatch/functions/dashboard/web"
)

// Default map settings: OpenStreetMap's public tiles (fine for a look,
// not for heavy use: set TILE_URL to your own tile server).
const (
	// DefaultTileURL is the tile URL template used without TILE_URL.
	DefaultTileURL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	// DefaultTileAttribution is the attribution used without TILE_ATTRIBUTION.
	DefaultTileAttribution = "&copy; OpenStreetMap contributors"
)

// Config is the dashboard's configuration from the cfg map; docs/alert.md
// lists every key.
type Config struct {
	DatabaseURL string
	Auth        web.Auth
	Sessions    web.SessionConfig
	Limit       web.LimitConfig
	Map         web.MapConfig
	// MetricsAddress is where /metrics is served (METRICS_ADDRESS; default
	// ":9464", "off" serves none).
	MetricsAddress string
}

// settings is the environment as read: one tagged field per key, with its
// default; the defaults kept as constants elsewhere are filled in first.
type settings struct {
	DatabaseURL     string        `env:"DATABASE_URL"`
	MetricsAddress  string        `env:"METRICS_ADDRESS" envDefault:":9464"`
	Token           string        `env:"DASHBOARD_TOKEN"`
	User            string        `env:"DASHBOARD_USER"`
	Password        string        `env:"DASHBOARD_PASSWORD"`
	Title           string        `env:"DASHBOARD_TITLE" envDefault:"edgewatch incidents"`
	Notice          string        `env:"MAP_NOTICE"`
	TileURL         string        `env:"TILE_URL"`
	TileAttribution string        `env:"TILE_ATTRIBUTION"`
	SessionIdle     time.Duration `env:"DASHBOARD_SESSION_IDLE"`
	SessionMax      time.Duration `env:"DASHBOARD_SESSION_MAX"`
	LoginWindow     time.Duration `env:"DASHBOARD_LOGIN_WINDOW"`
	LoginFailures   int           `env:"DASHBOARD_LOGIN_FAILURES"`
	TrustedProxies  int           `env:"DASHBOARD_TRUSTED_PROXIES" envDefault:"0"`
	Basemap         string        `env:"BASEMAP"`
	SitePlan        string        `env:"SITE_PLAN"`
	SitePlanBounds  string        `env:"SITE_PLAN_BOUNDS"`
	Center          *mapCenter    `env:"MAP_CENTER"`
}

// mapCenter is MAP_CENTER: "lat,lon,zoom".
type mapCenter struct {
	Lat, Lon float64
	Zoom     int
}

// parseMapCenter reads "lat,lon,zoom".
func parseMapCenter(v string) (any, error) {
	var nums []float64
	for _, p := range strings.Split(v, ",") {
		n, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			break
		}
		nums = append(nums, n)
	}
	if len(nums) != 3 || nums[0] < -90 || nums[0] > 90 || nums[1] < -180 || nums[1] > 180 || nums[2] < 0 || nums[2] > 19 {
		return nil, errors.New("is not lat,lon,zoom")
	}
	return mapCenter{Lat: nums[0], Lon: nums[1], Zoom: int(nums[2])}, nil
}

// ParseConfig reads the configuration and reports every bad key at once.
func ParseConfig(cfg map[string]string) (Config, error) {
	s := settings{TileURL: DefaultTileURL, TileAttribution: DefaultTileAttribution, SessionIdle: web.DefaultSessionIdle,
		SessionMax: web.DefaultSessionMax, LoginWindow: web.DefaultLoginWindow, LoginFailures: web.DefaultLoginFailures,
		Basemap: web.BasemapTiles}
	var p envconf.Problems
	p.Join(envconf.Parse(&s, cfg, envconf.Parsers{reflect.TypeOf(mapCenter{}): parseMapCenter}))
	c := Config{
		DatabaseURL:    s.DatabaseURL,
		MetricsAddress: s.MetricsAddress,
		Auth:           web.Auth{Token: s.Token, User: s.User, Password: s.Password},
		Sessions:       web.SessionConfig{Idle: s.SessionIdle, Max: s.SessionMax},
		Limit:          web.LimitConfig{Window: s.LoginWindow, Failures: s.LoginFailures, TrustedHops: s.TrustedProxies},
		Map: web.MapConfig{Title: s.Title, Notice: s.Notice, TileURL: s.TileURL, TileAttribution: s.TileAttribution,
			Zoom: 2, Basemap: s.Basemap},
	}
	if s.Center != nil {
		c.Map.Lat, c.Map.Lon, c.Map.Zoom = s.Center.Lat, s.Center.Lon, s.Center.Zoom
	}
	if c.DatabaseURL == "" {
		p.Addf("DATABASE_URL is not set")
	}
	if (c.Auth.User == "") != (c.Auth.Password == "") {
		p.Addf("DASHBOARD_USER and DASHBOARD_PASSWORD go together")
	}
	envconf.Positive(&p, "DASHBOARD_SESSION_IDLE", c.Sessions.Idle)
	envconf.Positive(&p, "DASHBOARD_SESSION_MAX", c.Sessions.Max)
	envconf.Positive(&p, "DASHBOARD_LOGIN_WINDOW", c.Limit.Window)
	envconf.InRange(&p, "DASHBOARD_LOGIN_FAILURES", c.Limit.Failures, 1, 1000)
	envconf.InRange(&p, "DASHBOARD_TRUSTED_PROXIES", c.Limit.TrustedHops, 0, 10)
	if c.Sessions.Idle > c.Sessions.Max {
		p.Addf("DASHBOARD_SESSION_IDLE is longer than DASHBOARD_SESSION_MAX")
	}
	switch c.Map.Basemap {
	case web.BasemapTiles, web.BasemapOutline:
	case web.BasemapImage:
		plan, err := readSitePlan(s.SitePlan, s.SitePlanBounds)
		p.Join(err)
		c.Map.SitePlan = plan
	default:
		p.Add("BASEMAP", c.Map.Basemap, "is not tiles, outline or image")
	}
	return c, p.Err()
}

// maxSitePlanBytes caps the site-plan image, which is held in memory.
const maxSitePlanBytes = 16 << 20

// sitePlanTypes maps the file extensions of a site plan to content types.
var sitePlanTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".svg": "image/svg+xml", ".webp": "image/webp"}

// readSitePlan reads the site-plan image at path and its bounds
// "south,west,north,east" in degrees.
func readSitePlan(path, bounds string) (web.SitePlan, error) {
	var p web.SitePlan
	if path == "" || bounds == "" {
		return p, errors.New("BASEMAP=image needs SITE_PLAN (an image file) and SITE_PLAN_BOUNDS (south,west,north,east)")
	}
	var nums []float64
	for _, f := range strings.Split(bounds, ",") {
		n, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			break
		}
		nums = append(nums, n)
	}
	if len(nums) != 4 || nums[0] < -90 || nums[2] > 90 || nums[0] >= nums[2] || nums[1] < -180 || nums[3] > 180 || nums[1] >= nums[3] {
		return p, fmt.Errorf("SITE_PLAN_BOUNDS=%q is not south,west,north,east in degrees", bounds)
	}
	p.South, p.West, p.North, p.East = nums[0], nums[1], nums[2], nums[3]
	ext := strings.ToLower(filepath.Ext(path))
	if p.ContentType = sitePlanTypes[ext]; p.ContentType == "" {
		return p, fmt.Errorf("SITE_PLAN %s: not a .png, .jpg, .svg or .webp image", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return p, fmt.Errorf("SITE_PLAN: %w", err)
	}
	if st.Size() > maxSitePlanBytes {
		return p, fmt.Errorf("SITE_PLAN %s: %d bytes, more than %d", path, st.Size(), maxSitePlanBytes)
	}
	if p.Image, err = os.ReadFile(path); err != nil {
		return p, fmt.Errorf("SITE_PLAN: %w", err)
	}
	return p, nil
}
