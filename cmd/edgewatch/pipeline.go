package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/edgewatch/edgewatch/internal/functions"
)

// Local ports of the stand-ins for outside services, counted from
// --first-port; the functions' come from the function table.
const (
	offsetVLM     = 9
	offsetWebhook = 10
)

// pipeline is the plan of a local run: its services and the stand-ins for
// outside services it started.
type pipeline struct {
	services []service
	notes    []string
	closers  []func()
	extra    [][2]string
}

func (p *pipeline) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

func (p *pipeline) serviceURLs(host string) map[string]string {
	m := map[string]string{}
	for _, s := range p.services {
		m[s.name] = s.publicURL(host)
	}
	return m
}

func (p *pipeline) bannerLines(o upOptions, brokerURL string) [][2]string {
	lines := [][2]string{{"broker ingress", brokerURL}}
	for _, s := range p.services {
		label := s.name
		if s.activated {
			label += " (scales to zero)"
		}
		lines = append(lines, [2]string{label, s.publicURL(o.host)})
	}
	for _, s := range p.services {
		if s.name == "dashboard" {
			lines = append(lines, [2]string{"dashboard (map)", s.publicURL(o.host)})
		}
	}
	lines = append(lines, p.extra...)
	lowest, highest := o.metricsPort, o.metricsPort
	for i, s := range p.services {
		if i == 0 || s.metricsPort < lowest {
			lowest = s.metricsPort
		}
		highest = max(highest, s.metricsPort)
	}
	lines = append(lines, [2]string{"metrics", fmt.Sprintf("http://%s:%d/metrics (broker, runner), ports %d-%d (functions)",
		o.host, o.metricsPort, lowest, highest)})
	return lines
}

// planPipeline prepares the model, the sample clip and the stand-ins for
// outside services, and describes every function's process.
func planPipeline(ctx context.Context, log *slog.Logger, o upOptions, state string) (*pipeline, error) {
	p := &pipeline{}
	port := func(offset int) int { return o.firstPort + offset }
	brokerURL := fmt.Sprintf("http://%s:%d/", o.host, o.brokerPort)

	modelEnv, modelNote, err := prepareModel(state)
	if err != nil {
		return nil, err
	}
	p.notes = append(p.notes, modelNote)

	vlmEnv, err := p.startVLM(o, port(offsetVLM))
	if err != nil {
		return nil, err
	}
	webhookURL, err := p.startWebhookInbox(o, port(offsetWebhook), log)
	if err != nil {
		return nil, err
	}

	db := "DATABASE_URL=" + o.databaseURL
	// Configuration only the local run supplies, by function.
	env := map[string][]string{
		"alert":     {db, "NOTIFY_WEBHOOK_URL=" + webhookURL, "K_SINK=" + brokerURL},
		"caption":   vlmEnv,
		"dashboard": {db, "MAP_NOTICE=" + modelNote},
		"detect":    append(modelEnv, "K_SINK="+brokerURL),
	}
	if !o.noMotion {
		camEnv, err := prepareCameras(state)
		if err != nil {
			return nil, err
		}
		env["motion-source"] = append(camEnv, "K_SINK="+brokerURL, "STOP_TIMEOUT="+sourceStopBound(o.stopTimeout).String())
	}
	for _, f := range plannedFunctions(o) {
		p.services = append(p.services, service{name: f.Name, port: port(f.Port), metricsPort: o.metricsPort + f.Metrics,
			activated: f.Role == functions.ScaleToZero && o.idle > 0, source: f.Role == functions.Source, env: env[f.Name]})
	}
	return p, nil
}

// plannedFunctions lists the functions of the table a run starts: all but
// the sources under -no-motion.
func plannedFunctions(o upOptions) []functions.Function {
	var out []functions.Function
	for _, f := range functions.All() {
		if f.Role == functions.Source && o.noMotion {
			continue
		}
		out = append(out, f)
	}
	return out
}
