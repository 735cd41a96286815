package function

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(map[string]string{"DATABASE_URL": "postgres://h/db", "MIN_HITS": "  "}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConns != 10 || c.MetricsAddress != ":9464" || c.Policy.MinHits != 3 || c.Cooldown != 5*time.Minute ||
		c.DeadLetterMaxBytes != 256<<10 || c.Dispatch.MaxAttempts != 8 || len(c.Channels) != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseConfigReportsEveryBadKey(t *testing.T) {
	_, err := ParseConfig(map[string]string{"DATABASE_URL": "postgres://h/db", "INCIDENT_GAP": "soon",
		"MIN_HITS": "0", "NOTIFY_WEBHOOK_URL": "https://hooks.example/x", "NOTIFY_WEBHOOK_CLASSES": "fire,flood"}, http.DefaultClient)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{`INCIDENT_GAP="soon"`, `MIN_HITS="0"`, `NOTIFY_WEBHOOK_CLASSES="fire,flood"`, `"flood"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}

func TestParseConfigChannelClasses(t *testing.T) {
	c, err := ParseConfig(map[string]string{"DATABASE_URL": "postgres://h/db", "NOTIFY_X_TOKEN": "tok",
		"NOTIFY_NTFY_URL": "https://ntfy.example/topic", "NOTIFY_NTFY_CLASSES": " gun , knife,"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.channelsFor("fire"); len(got) != 1 || got[0] != "x" {
		t.Errorf("fire goes to %v, want [x]", got)
	}
	if got := c.channelsFor("knife"); len(got) != 1 || got[0] != "ntfy" {
		t.Errorf("knife goes to %v, want [ntfy]", got)
	}
}
