package function

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/internal/envconf"
	"github.com/edgewatch/edgewatch/functions/alert/lifecycle"
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
	// Sink is K_SINK, where the incident's updated and closed events go;
	// empty leaves them off.
	Sink string
	// UpdateInterval is the shortest time between two lifecycle events of
	// one incident.
	UpdateInterval time.Duration
	// Events configures the sending of the incident events.
	Events lifecycle.Config
	// Channels are the configured notification channels.
	Channels []Channel
}

// Channel is one configured notification channel.
type Channel struct {
	Name     string
	Classes  map[string]bool
	Notifier notify.Notifier
}

// settings is the environment as read: one tagged field per key, with its
// default; docs/alert.md lists every key.
type settings struct {
	DatabaseURL    string `env:"DATABASE_URL"`
	MaxConns       int    `env:"DB_MAX_CONNS" envDefault:"10"`
	MetricsAddress string `env:"METRICS_ADDRESS" envDefault:":9464"`

	// The incident policy's defaults are incident.DefaultPolicy's.
	Gap       time.Duration `env:"INCIDENT_GAP"`
	Quiet     time.Duration `env:"INCIDENT_QUIET"`
	MinHits   int           `env:"MIN_HITS"`
	OpenScore float64       `env:"OPEN_SCORE"`
	Window    int           `env:"SCORE_WINDOW"`
	Horizon   time.Duration `env:"DELIVERY_HORIZON"`

	MaxSkew            time.Duration `env:"MAX_CLOCK_SKEW" envDefault:"5m"`
	DeadLetterMaxBytes int           `env:"DEAD_LETTER_MAX_BYTES" envDefault:"262144"`
	CloseInterval      time.Duration `env:"CLOSE_INTERVAL" envDefault:"5s"`
	DashboardURL       string        `env:"DASHBOARD_URL"`
	Cooldown           time.Duration `env:"NOTIFY_COOLDOWN" envDefault:"5m"`
	NotifyOnClose      bool          `env:"NOTIFY_ON_CLOSE" envDefault:"false"`

	MaxAttempts int           `env:"NOTIFY_MAX_ATTEMPTS" envDefault:"8"`
	Backoff     time.Duration `env:"NOTIFY_BACKOFF" envDefault:"2s"`
	MaxBackoff  time.Duration `env:"NOTIFY_MAX_BACKOFF" envDefault:"10m"`
	Poll        time.Duration `env:"NOTIFY_POLL" envDefault:"2s"`
	Timeout     time.Duration `env:"NOTIFY_TIMEOUT" envDefault:"15s"`

	Sink             string        `env:"K_SINK"`
	UpdateInterval   time.Duration `env:"INCIDENT_UPDATE_INTERVAL" envDefault:"10s"`
	EventsBackoff    time.Duration `env:"EVENTS_BACKOFF" envDefault:"1s"`
	EventsMaxBackoff time.Duration `env:"EVENTS_MAX_BACKOFF" envDefault:"1m"`
	EventsPoll       time.Duration `env:"EVENTS_POLL" envDefault:"1s"`
	EventsTimeout    time.Duration `env:"EVENTS_TIMEOUT" envDefault:"10s"`

	WebhookURL           string  `env:"NOTIFY_WEBHOOK_URL"`
	WebhookAuthorization string  `env:"NOTIFY_WEBHOOK_AUTHORIZATION"`
	WebhookImage         bool    `env:"NOTIFY_WEBHOOK_IMAGE" envDefault:"false"`
	WebhookClasses       classes `env:"NOTIFY_WEBHOOK_CLASSES" envDefault:"accident,fire,gun,knife"`

	ChatURL     string  `env:"NOTIFY_CHAT_URL"`
	ChatFlavor  string  `env:"NOTIFY_CHAT_FLAVOR"`
	ChatClasses classes `env:"NOTIFY_CHAT_CLASSES" envDefault:"accident,fire,gun,knife"`

	NtfyURL      string  `env:"NOTIFY_NTFY_URL"`
	NtfyToken    string  `env:"NOTIFY_NTFY_TOKEN"`
	NtfyAttach   bool    `env:"NOTIFY_NTFY_ATTACH" envDefault:"false"`
	NtfyPriority int     `env:"NOTIFY_NTFY_PRIORITY"`
	NtfyClasses  classes `env:"NOTIFY_NTFY_CLASSES" envDefault:"accident,fire,gun,knife"`

	XToken   string  `env:"NOTIFY_X_TOKEN"`
	XURL     string  `env:"NOTIFY_X_URL"`
	XClasses classes `env:"NOTIFY_X_CLASSES" envDefault:"fire"`
}

// classes is a comma-separated list of incident classes.
type classes map[string]bool

// parseClasses reads a class list; blank entries are skipped.
func parseClasses(v string) (any, error) {
	out := classes{}
	var bad []string
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
		case incident.ValidClass(c):
			out[c] = true
		default:
			bad = append(bad, strconv.Quote(c))
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s not an incident class", strings.Join(bad, ", "))
	}
	return out, nil
}

// validate checks what the types alone do not, recording every problem.
func (s settings) validate(p *envconf.Problems, cfg map[string]string) {
	for key, v := range map[string]time.Duration{"INCIDENT_GAP": s.Gap, "INCIDENT_QUIET": s.Quiet,
		"DELIVERY_HORIZON": s.Horizon, "MAX_CLOCK_SKEW": s.MaxSkew, "CLOSE_INTERVAL": s.CloseInterval,
		"NOTIFY_COOLDOWN": s.Cooldown, "NOTIFY_BACKOFF": s.Backoff, "NOTIFY_MAX_BACKOFF": s.MaxBackoff,
		"NOTIFY_POLL": s.Poll, "NOTIFY_TIMEOUT": s.Timeout, "INCIDENT_UPDATE_INTERVAL": s.UpdateInterval,
		"EVENTS_BACKOFF": s.EventsBackoff, "EVENTS_MAX_BACKOFF": s.EventsMaxBackoff, "EVENTS_POLL": s.EventsPoll,
		"EVENTS_TIMEOUT": s.EventsTimeout} {
		envconf.Positive(p, key, v)
	}
	for key, v := range map[string]int{"DB_MAX_CONNS": s.MaxConns, "MIN_HITS": s.MinHits, "SCORE_WINDOW": s.Window,
		"DEAD_LETTER_MAX_BYTES": s.DeadLetterMaxBytes, "NOTIFY_MAX_ATTEMPTS": s.MaxAttempts} {
		envconf.Positive(p, key, v)
	}
	envconf.Positive(p, "OPEN_SCORE", s.OpenScore)
	if strings.TrimSpace(cfg["NOTIFY_NTFY_PRIORITY"]) != "" {
		envconf.Positive(p, "NOTIFY_NTFY_PRIORITY", s.NtfyPriority)
	}
	if s.DatabaseURL == "" {
		p.Addf("DATABASE_URL is not set")
	}
}

// ParseConfig reads the configuration and reports every bad key at once.
// Secrets (DATABASE_URL, webhook URLs, tokens) never appear in its errors.
func ParseConfig(cfg map[string]string, client *http.Client) (Config, error) {
	def := incident.DefaultPolicy()
	s := settings{Gap: def.Gap, Quiet: def.Quiet, MinHits: def.MinHits, OpenScore: def.OpenScore,
		Window: def.Window, Horizon: def.Horizon}
	var p envconf.Problems
	p.Join(envconf.Parse(&s, cfg, envconf.Parsers{reflect.TypeOf(classes{}): parseClasses}))
	s.validate(&p, cfg)
	c := Config{
		DatabaseURL:    s.DatabaseURL,
		MaxConns:       s.MaxConns,
		MetricsAddress: s.MetricsAddress,
		Policy: incident.Policy{Gap: s.Gap, Quiet: s.Quiet, MinHits: s.MinHits, OpenScore: s.OpenScore,
			Window: s.Window, Horizon: s.Horizon},
		MaxSkew:            s.MaxSkew,
		DeadLetterMaxBytes: s.DeadLetterMaxBytes,
		CloseInterval:      s.CloseInterval,
		DashboardURL:       s.DashboardURL,
		Cooldown:           s.Cooldown,
		NotifyOnClose:      s.NotifyOnClose,
		Dispatch: notify.DispatcherConfig{MapURL: s.DashboardURL, MaxAttempts: s.MaxAttempts, Backoff: s.Backoff,
			MaxBackoff: s.MaxBackoff, Poll: s.Poll, Timeout: s.Timeout},
		Sink:           strings.TrimSpace(s.Sink),
		UpdateInterval: s.UpdateInterval,
		Events: lifecycle.Config{Backoff: s.EventsBackoff, MaxBackoff: s.EventsMaxBackoff, Poll: s.EventsPoll,
			Timeout: s.EventsTimeout},
	}
	add := func(name string, cls classes, n notify.Notifier, err error) {
		if err != nil {
			p.Join(err)
			return
		}
		c.Channels = append(c.Channels, Channel{Name: name, Classes: cls, Notifier: n})
	}
	if s.WebhookURL != "" {
		n, err := webhook.New(webhook.Config{URL: s.WebhookURL, Authorization: s.WebhookAuthorization,
			IncludeImage: s.WebhookImage}, client)
		add("webhook", s.WebhookClasses, n, err)
	}
	if s.ChatURL != "" {
		n, err := chat.New(chat.Config{URL: s.ChatURL, Flavor: chat.Flavor(s.ChatFlavor)}, client)
		add("chat", s.ChatClasses, n, err)
	}
	if s.NtfyURL != "" {
		n, err := ntfy.New(ntfy.Config{URL: s.NtfyURL, Token: s.NtfyToken, Attach: s.NtfyAttach,
			Priority: s.NtfyPriority}, client)
		add("ntfy", s.NtfyClasses, n, err)
	}
	if s.XToken != "" {
		n, err := xpost.New(xpost.Config{BaseURL: s.XURL, Token: s.XToken}, client)
		add("x", s.XClasses, n, err)
	}
	if err := c.Policy.Validate(); err != nil && p.Err() == nil {
		p.Join(err)
	}
	return c, p.Err()
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
