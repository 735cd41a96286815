package function

import (
	"strings"
	"testing"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != DefaultTimeout || c.MaxTokens != DefaultMaxTokens || c.CacheSize != DefaultCacheSize ||
		c.CacheTTL != DefaultCacheTTL || c.MetricsAddress != DefaultMetricsAddress || c.Prompt != DefaultPrompt || c.configured() {
		t.Errorf("defaults: %+v", c)
	}
	if c, err = parseConfig(map[string]string{KeyMetricsAddress: "off", KeyVLMTimeout: "2.5"}); err != nil ||
		c.MetricsAddress != "off" || c.Timeout.Seconds() != 2.5 {
		t.Errorf("off and plain seconds: %+v, %v", c, err)
	}
}

func TestParseConfigReportsEveryBadKey(t *testing.T) {
	_, err := parseConfig(map[string]string{KeyVLMURL: "http://vlm:8000/v1", KeyVLMTimeout: "forever",
		KeyVLMMaxTokens: "0", KeyCacheTTL: "-1s"})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{`VLM_TIMEOUT="forever"`, `VLM_MAX_TOKENS="0"`, `CAPTION_CACHE_TTL="-1s"`, "VLM_MODEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}
