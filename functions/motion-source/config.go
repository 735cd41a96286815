package function

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/envconf"
)

// settings is the environment as read: one tagged field per key, with its
// default (besides CAMERAS and CAMERAS_FILE, which package cameraconfig
// reads); docs/motion-source.md lists every key.
type settings struct {
	Sink             string        `env:"K_SINK"`
	Overrides        string        `env:"K_CE_OVERRIDES"`
	CACerts          string        `env:"K_CA_CERTS"`
	MetricsAddress   string        `env:"METRICS_ADDRESS" envDefault:":9464"`
	ModelInputSize   int           `env:"MODEL_INPUT_SIZE" envDefault:"416"`
	SendBackoff      time.Duration `env:"SEND_BACKOFF" envDefault:"200ms"`
	SendBackoffMax   time.Duration `env:"SEND_BACKOFF_MAX" envDefault:"2s"`
	BufferWindow     time.Duration `env:"SEND_BUFFER_WINDOW" envDefault:"60s"`
	BufferBytes      int           `env:"SEND_BUFFER_BYTES" envDefault:"16777216"`
	SendTimeout      time.Duration `env:"SEND_TIMEOUT" envDefault:"10s"`
	ReconnectInitial time.Duration `env:"RECONNECT_BACKOFF" envDefault:"500ms"`
	ReconnectMax     time.Duration `env:"RECONNECT_BACKOFF_MAX" envDefault:"30s"`
	LogLevel         string        `env:"LOG_LEVEL"`
	EventLog         string        `env:"EVENT_LOG"`
	// StopTimeout is 0 unless set: Stop then waits as long as its context.
	StopTimeout time.Duration `env:"STOP_TIMEOUT"`
}

// parseSettings reads the environment part of the configuration and reports
// every bad key at once.
func parseSettings(cfg map[string]string) (settings, error) {
	var s settings
	var p envconf.Problems
	p.Join(envconf.Parse(&s, cfg, nil))
	if s.ModelInputSize < 0 {
		p.Add(KeyModelInputSize, strconv.Itoa(s.ModelInputSize), "must not be negative")
	}
	for key, d := range map[string]time.Duration{KeySendBackoff: s.SendBackoff, KeySendBackoffMax: s.SendBackoffMax,
		KeyBufferWindow: s.BufferWindow, KeySendTimeout: s.SendTimeout, KeyReconnectInitial: s.ReconnectInitial,
		KeyReconnectMax: s.ReconnectMax} {
		envconf.Positive(&p, key, d)
	}
	if strings.TrimSpace(cfg[KeyStopTimeout]) != "" {
		envconf.Positive(&p, KeyStopTimeout, s.StopTimeout)
	}
	if s.SendBackoffMax < s.SendBackoff {
		p.Addf("%s (%s) is less than %s (%s)", KeySendBackoffMax, s.SendBackoffMax, KeySendBackoff, s.SendBackoff)
	}
	if s.BufferBytes < 1<<20 {
		p.Add(KeyBufferBytes, strconv.Itoa(s.BufferBytes), "must be at least 1048576 (1 MiB)")
	}
	return s, p.Err()
}

// emitConfig is the sending part of the settings.
func (s settings) emitConfig() emit.Config {
	return emit.Config{Sink: s.Sink, Overrides: s.Overrides, CACerts: s.CACerts, Backoff: s.SendBackoff,
		BackoffMax: s.SendBackoffMax, BufferWindow: s.BufferWindow, BufferBytes: s.BufferBytes, Timeout: s.SendTimeout}
}

// logLevel is LOG_LEVEL's level; anything unknown is info.
func (s settings) logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}
