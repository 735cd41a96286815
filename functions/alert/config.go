package function

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/notify/chat"
	"github.com/edgewatch/edgewatch/functions/alert/notify/ntfy"
	"github.com/edgewatch/edgewatch/functions/alert/notify/webhook"
	"github.com/edgewatch/edgewatch/functions/alert/notify/xpost"
)

// Config is the alert function's configuration, read from the cfg map that
// Start receives (environment plus the optional cfg file). docs/alert.md
// lists every key.
type Config struct {
	DatabaseURL    string
	MaxConns       int
	MetricsAddress string
	Policy         incident.Policy
	CloseInterval  time.Duration
	DashboardURL   string
	Cooldown       time.Duration
	NotifyOnClose  bool
	// MaxSkew is how far ahead of alert's clock a detection's time may be;
	// a later one is clamped to the time it was received, and counted.
	MaxSkew time.Duration
	// DeadLetterMaxBytes is how much of a dead-lettered event is stored;
	// the rest is cut off and the dead letter flagged as truncated.
	DeadLetterMaxBytes int
	Dispatch           notify.DispatcherConfig
	// Channels are the configured notification channels.
	Channels []Channel
}

// Channel is one configured notification channel.
type Channel struct {
	Name     string
	Classes  map[string]bool
	Notifier notify.Notifier
}

// cfgReader reads typed values from the cfg map and collects every error.
type cfgReader struct {
	cfg  map[string]string
	errs []error
}

func (r *cfgReader) str(key, def string) string {
	if v, ok := r.cfg[key]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (r *cfgReader) duration(key string, def time.Duration) time.Duration {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q is not a positive duration such as 30s", key, v))
		return def
	}
	return d
}

func (r *cfgReader) integer(key string, def int) int {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q is not a positive integer", key, v))
		return def
	}
	return n
}

func (r *cfgReader) float(key string, def float64) float64 {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q is not a positive number", key, v))
		return def
	}
	return f
}

func (r *cfgReader) boolean(key string, def bool) bool {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q is not true or false", key, v))
		return def
	}
	return b
}

func (r *cfgReader) classes(key, def string) map[string]bool {
	out := map[string]bool{}
	for _, c := range strings.Split(r.str(key, def), ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !incident.ValidClass(c) {
			r.errs = append(r.errs, fmt.Errorf("%s: %q is not an incident class", key, c))
			continue
		}
		out[c] = true
	}
	return out
}

// ParseConfig reads the configuration. Secrets (DATABASE_URL, webhook URLs,
// tokens) never appear in its errors.
func ParseConfig(cfg map[string]string, client *http.Client) (Config, error) {
	r := &cfgReader{cfg: cfg}
	c := Config{
		DatabaseURL:    r.str("DATABASE_URL", ""),
		MaxConns:       r.integer("DB_MAX_CONNS", 10),
		MetricsAddress: r.str("METRICS_ADDRESS", ":9464"),
		Policy: incident.Policy{
			Gap:       r.duration("INCIDENT_GAP", incident.DefaultPolicy().Gap),
			Quiet:     r.duration("INCIDENT_QUIET", incident.DefaultPolicy().Quiet),
			MinHits:   r.integer("MIN_HITS", incident.DefaultPolicy().MinHits),
			OpenScore: r.float("OPEN_SCORE", incident.DefaultPolicy().OpenScore),
			Window:    r.integer("SCORE_WINDOW", incident.DefaultPolicy().Window),
			Horizon:   r.duration("DELIVERY_HORIZON", incident.DefaultPolicy().Horizon),
		},
		MaxSkew:            r.duration("MAX_CLOCK_SKEW", 5*time.Minute),
		DeadLetterMaxBytes: r.integer("DEAD_LETTER_MAX_BYTES", 256<<10),
		CloseInterval:      r.duration("CLOSE_INTERVAL", 5*time.Second),
		DashboardURL:       r.str("DASHBOARD_URL", ""),
		Cooldown:           r.duration("NOTIFY_COOLDOWN", 5*time.Minute),
		NotifyOnClose:      r.boolean("NOTIFY_ON_CLOSE", false),
	}
	c.Dispatch = notify.DispatcherConfig{
		MapURL:      c.DashboardURL,
		MaxAttempts: r.integer("NOTIFY_MAX_ATTEMPTS", 8),
		Backoff:     r.duration("NOTIFY_BACKOFF", 2*time.Second),
		MaxBackoff:  r.duration("NOTIFY_MAX_BACKOFF", 10*time.Minute),
		Poll:        r.duration("NOTIFY_POLL", 2*time.Second),
		Timeout:     r.duration("NOTIFY_TIMEOUT", 15*time.Second),
	}
	if c.DatabaseURL == "" {
		r.errs = append(r.errs, errors.New("DATABASE_URL is not set"))
	}
	add := func(name, classKey, defClasses string, n notify.Notifier, err error) {
		if err != nil {
			r.errs = append(r.errs, err)
			return
		}
		c.Channels = append(c.Channels, Channel{Name: name, Classes: r.classes(classKey, defClasses), Notifier: n})
	}
	const all = "accident,fire,gun,knife"
	if u := r.str("NOTIFY_WEBHOOK_URL", ""); u != "" {
		n, err := webhook.New(webhook.Config{URL: u, Authorization: r.str("NOTIFY_WEBHOOK_AUTHORIZATION", ""),
			IncludeImage: r.boolean("NOTIFY_WEBHOOK_IMAGE", false)}, client)
		add("webhook", "NOTIFY_WEBHOOK_CLASSES", all, n, err)
	}
	if u := r.str("NOTIFY_CHAT_URL", ""); u != "" {
		n, err := chat.New(chat.Config{URL: u, Flavor: chat.Flavor(r.str("NOTIFY_CHAT_FLAVOR", ""))}, client)
		add("chat", "NOTIFY_CHAT_CLASSES", all, n, err)
	}
	if u := r.str("NOTIFY_NTFY_URL", ""); u != "" {
		prio := 0
		if r.str("NOTIFY_NTFY_PRIORITY", "") != "" {
			prio = r.integer("NOTIFY_NTFY_PRIORITY", 0)
		}
		n, err := ntfy.New(ntfy.Config{URL: u, Token: r.str("NOTIFY_NTFY_TOKEN", ""),
			Attach: r.boolean("NOTIFY_NTFY_ATTACH", false), Priority: prio}, client)
		add("ntfy", "NOTIFY_NTFY_CLASSES", all, n, err)
	}
	if tok := r.str("NOTIFY_X_TOKEN", ""); tok != "" {
		n, err := xpost.New(xpost.Config{BaseURL: r.str("NOTIFY_X_URL", ""), Token: tok}, client)
		add("x", "NOTIFY_X_CLASSES", "fire", n, err)
	}
	if err := c.Policy.Validate(); err != nil {
		r.errs = append(r.errs, err)
	}
	return c, errors.Join(r.errs...)
}

// channelsFor returns the names of the channels that carry a class.
func (c Config) channelsFor(class string) []string {
	var out []string
	for _, ch := range c.Channels {
		if ch.Classes[class] {
			out = append(out, ch.Name)
		}
	}
	return out
}
