package function

import (
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/dashboard/web"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(map[string]string{"DATABASE_URL": "postgres://h/db", "DASHBOARD_TITLE": " "})
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddress != ":9464" || c.Map.Title != "edgewatch incidents" || c.Map.TileAttribution != DefaultTileAttribution ||
		c.Sessions.Idle != web.DefaultSessionIdle || c.Limit.Failures != web.DefaultLoginFailures || c.Map.Zoom != 2 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseConfigReportsEveryBadKey(t *testing.T) {
	_, err := ParseConfig(map[string]string{"DATABASE_URL": "x", "MAP_CENTER": "1,2", "DASHBOARD_SESSION_MAX": "long",
		"DASHBOARD_LOGIN_FAILURES": "0"})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{`MAP_CENTER="1,2"`, `DASHBOARD_SESSION_MAX="long"`, `DASHBOARD_LOGIN_FAILURES="0"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}
