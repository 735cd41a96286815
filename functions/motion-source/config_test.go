package function

import (
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
)

func TestParseSettingsDefaults(t *testing.T) {
	s, err := parseSettings(map[string]string{KeyStopTimeout: " "})
	if err != nil {
		t.Fatal(err)
	}
	c := s.emitConfig()
	if s.MetricsAddress != DefaultMetricsAddress || s.ModelInputSize != DefaultModelInputSize || s.StopTimeout != 0 ||
		c.BackoffMax != emit.DefaultBackoffMax || c.BufferWindow != emit.DefaultBufferWindow ||
		c.BufferBytes != emit.DefaultBufferBytes || c.Backoff != 200*time.Millisecond || c.Timeout != 10*time.Second ||
		s.ReconnectInitial != 500*time.Millisecond || s.ReconnectMax != 30*time.Second {
		t.Errorf("defaults: %+v", s)
	}
}

func TestParseSettingsReportsEveryBadKey(t *testing.T) {
	_, err := parseSettings(map[string]string{KeySendTimeout: "later", KeyModelInputSize: "-1",
		KeyBufferBytes: "1024", KeyStopTimeout: "0s"})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{`SEND_TIMEOUT="later"`, `MODEL_INPUT_SIZE="-1"`, `SEND_BUFFER_BYTES="1024"`, `STOP_TIMEOUT="0s"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}
