package main

import (
	"fmt"
	"time"

	"github.com/edgewatch/edgewatch/internal/supervisor"
)

// service is one function of the local pipeline.
type service struct {
	name        string
	port        int
	metricsPort int
	env         []string
	// activated services sit behind an activator on port and run on
	// port+1000 when they are up.
	activated bool
	// source services send events of their own (motion-source); they are
	// started last and stopped first.
	source bool
}

func (s service) publicURL(host string) string {
	return fmt.Sprintf("http://%s:%d/", host, s.port)
}

func (s service) processAddr(host string) string {
	if s.activated {
		return fmt.Sprintf("%s:%d", host, s.port+1000)
	}
	return fmt.Sprintf("%s:%d", host, s.port)
}

// processSpec describes a function's process in group: `edgewatch function
// NAME` with the address, metrics port and configuration a cluster would
// give it.
func processSpec(exe string, s service, host string, state string, group *supervisor.Group) supervisor.Spec {
	addr := s.processAddr(host)
	env := append([]string{
		"LISTEN_ADDRESS=" + addr,
		fmt.Sprintf("METRICS_ADDRESS=%s:%d", host, s.metricsPort),
	}, s.env...)
	return supervisor.Spec{
		Name:      s.name,
		Path:      exe,
		Args:      []string{"function", s.name},
		Env:       env,
		Dir:       state,
		ReadyURL:  "http://" + addr + "/health/readiness",
		Restart:   !s.activated,
		StopGrace: 15 * time.Second,
		Group:     group,
	}
}
