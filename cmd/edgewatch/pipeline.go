package main

import (
	"context"
	"fmt"
	"log/slog"
)

// Local ports, counted from --first-port.
const (
	offsetDetect = iota
	offsetAlert
	offsetCaption
	offsetDashboard
	offsetMotion
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
	lines = append(lines, [2]string{"metrics", fmt.Sprintf("http://%s:%d/metrics (broker, runner), ports %d-%d (functions)",
		o.host, o.metricsPort, o.metricsPort+1, o.metricsPort+len(p.services))})
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
	p.services = []service{
		{name: "alert", port: port(offsetAlert), env: []string{db,
			"NOTIFY_WEBHOOK_URL=" + webhookURL}},
		{name: "caption", port: port(offsetCaption), env: vlmEnv},
		{name: "dashboard", port: port(offsetDashboard), env: []string{db, "MAP_NOTICE=" + modelNote}},
		{name: "detect", port: port(offsetDetect), activated: o.idle > 0, env: append(modelEnv, "K_SINK="+brokerURL)},
	}
	if !o.noMotion {
		camEnv, err := prepareCameras(state)
		if err != nil {
			return nil, err
		}
		p.services = append(p.services, service{name: "motion-source", port: port(offsetMotion), source: true,
			env: append(camEnv, "K_SINK="+brokerURL, "STOP_TIMEOUT="+sourceStopBound(o.stopTimeout).String())})
	}
	for i := range p.services {
		p.services[i].metricsPort = o.metricsPort + 1 + i
	}
	return p, nil
}
