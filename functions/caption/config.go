package function

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/caption/internal/envconf"
	"github.com/edgewatch/edgewatch/functions/caption/vlm"
)

// Configuration keys read from the cfg map passed to Start (func-go fills it
// from the environment and ./cfg). docs/caption.md describes each.
const (
	KeyVLMURL         = "VLM_URL"
	KeyVLMModel       = "VLM_MODEL"
	KeyVLMAPIKey      = "VLM_API_KEY"
	KeyVLMTimeout     = "VLM_TIMEOUT"
	KeyVLMMaxTokens   = "VLM_MAX_TOKENS"
	KeyVLMPrompt      = "VLM_PROMPT"
	KeyCacheSize      = "CAPTION_CACHE_SIZE"
	KeyCacheTTL       = "CAPTION_CACHE_TTL"
	KeyMetricsAddress = "METRICS_ADDRESS"
)

// Defaults and bounds.
const (
	DefaultTimeout        = 20 * time.Second
	DefaultMaxTokens      = 160
	DefaultCacheSize      = 4096
	DefaultCacheTTL       = time.Hour
	DefaultMetricsAddress = ":9464"

	// MaxTimeout keeps a VLM call, and so every answer, inside func-go's
	// 30 s server write timeout: a slower answer could not be written.
	MaxTimeout   = 25 * time.Second
	maxMaxTokens = 4096
)

// DefaultPrompt asks for what helps someone find the person, and for nothing
// that guesses who they are. {class} becomes the incident class.
const DefaultPrompt = "This is a still from a security camera that flagged a possible {class}. " +
	"Describe the person or people in it so that someone arriving on the scene could pick them out: " +
	"clothing and its colours, headwear, build, what they are holding or carrying, and which way they are moving. " +
	"Describe only what is visible. Do not guess anyone's identity, name, ethnicity, religion or nationality. " +
	"If no person is visible, say so. Answer in at most three sentences."

// config is the parsed configuration.
type config struct {
	URL            string
	Model          string
	APIKey         string
	Timeout        time.Duration
	MaxTokens      int
	Prompt         string
	CacheSize      int
	CacheTTL       time.Duration
	MetricsAddress string // "off" = no metrics server
}

// configured reports whether a VLM endpoint is set.
func (c config) configured() bool { return c.URL != "" }

// LogValue describes the configuration for logs without the API key.
func (c config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("vlm_url", redactURL(c.URL)), slog.String("vlm_model", c.Model),
		slog.Bool("vlm_api_key_set", c.APIKey != ""), slog.String("vlm_timeout", c.Timeout.String()),
		slog.Int("vlm_max_tokens", c.MaxTokens), slog.Bool("custom_prompt", c.Prompt != DefaultPrompt),
		slog.Int("cache_size", c.CacheSize), slog.String("cache_ttl", c.CacheTTL.String()),
		slog.String("metrics_address", c.MetricsAddress),
	)
}

// redactURL hides a password in a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// prompt returns the prompt for an incident class.
func (c config) prompt(class string) string { return strings.ReplaceAll(c.Prompt, "{class}", class) }

// settings is the environment as read: one tagged field per key, with its
// default (VLM_PROMPT's is DefaultPrompt).
type settings struct {
	URL            string   `env:"VLM_URL"`
	Model          string   `env:"VLM_MODEL"`
	APIKey         string   `env:"VLM_API_KEY"`
	Timeout        duration `env:"VLM_TIMEOUT" envDefault:"20s"`
	MaxTokens      int      `env:"VLM_MAX_TOKENS" envDefault:"160"`
	Prompt         string   `env:"VLM_PROMPT"`
	CacheSize      int      `env:"CAPTION_CACHE_SIZE" envDefault:"4096"`
	CacheTTL       duration `env:"CAPTION_CACHE_TTL" envDefault:"1h"`
	MetricsAddress string   `env:"METRICS_ADDRESS" envDefault:":9464"`
}

// duration is a Go duration ("20s", "1m30s") or a plain number of seconds.
type duration time.Duration

// parseDuration reads a duration.
func parseDuration(s string) (any, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return nil, errors.New("not a duration such as 20s")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	return duration(d), nil
}

// parseConfig reads and checks the cfg map, reporting every bad key at once.
// A missing VLM_URL is not an error (the function then answers every event
// 503); a malformed value is.
func parseConfig(cfg map[string]string) (config, error) {
	s := settings{Prompt: DefaultPrompt}
	var p envconf.Problems
	p.Join(envconf.Parse(&s, cfg, envconf.Parsers{reflect.TypeOf(duration(0)): parseDuration}))
	c := config{URL: s.URL, Model: s.Model, APIKey: s.APIKey, Timeout: time.Duration(s.Timeout),
		MaxTokens: s.MaxTokens, Prompt: s.Prompt, CacheSize: s.CacheSize, CacheTTL: time.Duration(s.CacheTTL),
		MetricsAddress: s.MetricsAddress}
	if c.URL != "" {
		if _, err := vlm.Endpoint(c.URL); err != nil {
			p.Join(fmt.Errorf("%s: %w", KeyVLMURL, err))
		}
		if c.Model == "" {
			p.Addf("%s is set but %s is not: name the model the endpoint serves", KeyVLMURL, KeyVLMModel)
		}
	}
	envconf.Positive(&p, KeyVLMTimeout, c.Timeout)
	if c.Timeout > MaxTimeout {
		p.Addf("%s %s is more than %s: func-go must write the answer within 30s", KeyVLMTimeout, c.Timeout, MaxTimeout)
	}
	envconf.Positive(&p, KeyCacheTTL, c.CacheTTL)
	envconf.InRange(&p, KeyVLMMaxTokens, c.MaxTokens, 1, maxMaxTokens)
	envconf.InRange(&p, KeyCacheSize, c.CacheSize, 1, 1<<20)
	return c, p.Err()
}
