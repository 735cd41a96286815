package function

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	MetricsAddress string // "" = no metrics server
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

// parseConfig reads and checks the cfg map. A missing VLM_URL is not an
// error (the function then answers every event 503); a malformed value is.
func parseConfig(cfg map[string]string) (config, error) {
	get := func(k string) string { return strings.TrimSpace(cfg[k]) }
	c := config{
		URL:            get(KeyVLMURL),
		Model:          get(KeyVLMModel),
		APIKey:         get(KeyVLMAPIKey),
		Prompt:         get(KeyVLMPrompt),
		MetricsAddress: get(KeyMetricsAddress),
	}
	if c.URL != "" {
		if _, err := vlm.Endpoint(c.URL); err != nil {
			return c, fmt.Errorf("%s: %w", KeyVLMURL, err)
		}
		if c.Model == "" {
			return c, fmt.Errorf("%s is set but %s is not: name the model the endpoint serves", KeyVLMURL, KeyVLMModel)
		}
	}
	if c.Prompt == "" {
		c.Prompt = DefaultPrompt
	}
	switch c.MetricsAddress {
	case "":
		c.MetricsAddress = DefaultMetricsAddress
	case "off":
		c.MetricsAddress = ""
	}
	var err error
	if c.Timeout, err = duration(get(KeyVLMTimeout), KeyVLMTimeout, DefaultTimeout); err != nil {
		return c, err
	}
	if c.Timeout > MaxTimeout {
		return c, fmt.Errorf("%s %s is more than %s: func-go must write the answer within 30s", KeyVLMTimeout, c.Timeout, MaxTimeout)
	}
	if c.CacheTTL, err = duration(get(KeyCacheTTL), KeyCacheTTL, DefaultCacheTTL); err != nil {
		return c, err
	}
	if c.MaxTokens, err = integer(get(KeyVLMMaxTokens), KeyVLMMaxTokens, DefaultMaxTokens, maxMaxTokens); err != nil {
		return c, err
	}
	if c.CacheSize, err = integer(get(KeyCacheSize), KeyCacheSize, DefaultCacheSize, 1<<20); err != nil {
		return c, err
	}
	return c, nil
}

// duration reads a Go duration ("20s", "1m30s") or a plain number of
// seconds; it must be positive.
func duration(s, key string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, fmt.Errorf("%s %q is not a duration such as 20s", key, s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s %q must be positive", key, s)
	}
	return d, nil
}

func integer(s, key string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("%s %q must be a whole number from 1 to %d", key, s, max)
	}
	return n, nil
}
