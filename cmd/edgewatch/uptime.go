package main

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// upTime records how long each scaled-to-zero function has been up (from
// the start of its cold start to its stop), for
// edgewatch_runner_function_up_seconds_total and the session's savings.
type upTime struct {
	now   func() time.Time
	desc  *prometheus.Desc
	mu    sync.Mutex
	begin time.Time
	fns   map[string]*functionUp
}

// functionUp is one function's up-time so far.
type functionUp struct {
	total      time.Duration
	upSince    time.Time
	up         bool
	coldStarts int
}

func newUpTime(now func() time.Time) *upTime {
	return &upTime{now: now, begin: now(), fns: map[string]*functionUp{},
		desc: prometheus.NewDesc("edgewatch_runner_function_up_seconds_total",
			"Seconds a scaled-to-zero function's process has been up, from the start of each cold start to its stop.",
			[]string{"function"}, nil)}
}

// track adds a function at zero seconds up.
func (u *upTime) track(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fns[name] == nil {
		u.fns[name] = &functionUp{}
	}
}

// scaled records a scale event as the activator reports it: replicas 1
// after a cold start that took took, 0 after a scale to zero.
func (u *upTime) scaled(name string, replicas int, took time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f := u.fns[name]
	if f == nil {
		f = &functionUp{}
		u.fns[name] = f
	}
	now := u.now()
	switch {
	case replicas > 0 && !f.up:
		f.up, f.upSince = true, now.Add(-took)
		f.coldStarts++
	case replicas == 0 && f.up:
		f.up = false
		f.total += now.Sub(f.upSince)
	}
}

// seconds returns a function's up-time so far.
func (u *upTime) seconds(f *functionUp, now time.Time) float64 {
	d := f.total
	if f.up {
		d += now.Sub(f.upSince)
	}
	return d.Seconds()
}

// Describe implements prometheus.Collector.
func (u *upTime) Describe(ch chan<- *prometheus.Desc) { ch <- u.desc }

// Collect implements prometheus.Collector.
func (u *upTime) Collect(ch chan<- prometheus.Metric) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	for name, f := range u.fns {
		ch <- prometheus.MustNewConstMetric(u.desc, prometheus.CounterValue, u.seconds(f, now), name)
	}
}

// summary writes, per function, its up-time against a session-long
// always-on process: what scaling to zero saved this session.
func (u *upTime) summary(w io.Writer) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	session := now.Sub(u.begin).Seconds()
	names := make([]string, 0, len(u.fns))
	for name := range u.fns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := u.fns[name]
		up := u.seconds(f, now)
		saved := 0.0
		if session > 0 {
			saved = 100 * (1 - up/session)
		}
		fmt.Fprintf(w, "%s was up %.0f s of this %.0f s session in %d cold starts: %.0f %% less than always on\n",
			name, up, session, f.coldStarts, saved)
	}
}
