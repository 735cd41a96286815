//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"testing"
)

// hostileResult is one row of the hostile suite's report: what a test did to
// the pipeline as an attacker or an operator would, and what it cost.
type hostileResult struct {
	// Test names the attack or fault, e.g. "PostgreSQL down 30 s in a burst".
	Test string
	// Load is the work the pipeline held meanwhile, e.g. "5 cameras × 3 fire detections".
	Load string
	// Faults is what was broken or forged, e.g. "1 outage of 30 s".
	Faults string
	// Inputs counts the hostile inputs tried, e.g. "64 forged events".
	Inputs string
	// Lost counts the valid events or incidents lost; anything but 0 fails the test that reports it.
	Lost int
	// Outcome says what the pipeline did, e.g. "5 incidents (5 without the outage)".
	Outcome string
}

// reportHostile logs one row of the hostile suite and appends it, as a
// Markdown table row, to the file named by HOSTILE_REPORT when it is set
// (`make test-hostile` sets it; docs/reliability.md quotes it).
func reportHostile(t testing.TB, r hostileResult) {
	t.Helper()
	line := fmt.Sprintf("| %s | %s | %s | %s | %d | %s |", r.Test, r.Load, r.Faults, r.Inputs, r.Lost, r.Outcome)
	t.Log(line)
	if path := os.Getenv("HOSTILE_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}
