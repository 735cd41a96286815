package main

import (
	"os"
	"time"
)

// scenarioStart is where generated timelines begin, so that a scenario and
// seed always give the same timeline.
var scenarioStart = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)

// envOr returns the environment variable key, or def when it is empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
