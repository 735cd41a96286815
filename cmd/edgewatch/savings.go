package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/internal/savings"
)

// savingsOverrides are the flags that replace what the manifests say.
type savingsOverrides struct {
	window, grace, coldStart, serviceTime time.Duration
	target, utilization, gpus, mib        float64
	concurrency, maxScale                 int
}

// runSavings prints what scaling detect to zero saves on a timeline.
func runSavings(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("savings", flag.ContinueOnError)
	timeline := fs.String("timeline", "", "timeline of motion events (JSON lines sorted by time); empty: the built-in scenarios")
	png := fs.String("png", "", "write the chart of GPU saved against p99 added latency to this PNG file")
	scenarios := fs.String("scenario", "busy", "built-in scenarios without -timeline, comma-separated: busy, quiet")
	cameras := fs.Int("cameras", 16, "cameras of the built-in scenarios")
	duration := fs.Duration("duration", 24*time.Hour, "length of the built-in scenarios")
	seed := fs.Uint64("seed", 1, "seed of the built-in scenarios")
	service := fs.String("service", "config/services/detect.yaml", "detect's Knative Service manifest to read the autoscaling from")
	autoscaler := fs.String("autoscaler", "config/cluster/serving-autoscaler.yaml", "config-autoscaler ConfigMap to read the grace period from (empty: Knative's default)")
	retentions := fs.String("retentions", "0s,30s,1m,5m,10m,30m", "scale-to-zero-pod-retention-period values to compare, comma-separated")
	var o savingsOverrides
	fs.DurationVar(&o.window, "window", 0, "stable window (default: the manifest's autoscaling.knative.dev/window)")
	fs.DurationVar(&o.grace, "grace", 0, "scale-to-zero grace period (default: config-autoscaler's, else 30s)")
	fs.Float64Var(&o.target, "target", 0, "target in-flight events per pod (default: the manifest's)")
	fs.Float64Var(&o.utilization, "utilization", 0, "target utilization in percent (default: the manifest's)")
	fs.IntVar(&o.concurrency, "container-concurrency", 0, "most events one pod serves at once (default: the manifest's)")
	fs.IntVar(&o.maxScale, "max-scale", 0, "most pods (default: the manifest's)")
	fs.DurationVar(&o.coldStart, "cold-start", savings.DefaultColdStart, "time from pod creation to readiness")
	fs.DurationVar(&o.serviceTime, "service-time", savings.DefaultServiceTime, "time a pod takes per event")
	fs.Float64Var(&o.gpus, "gpus-per-pod", 0, "GPUs one pod holds (default: the manifest's nvidia.com/gpu limit)")
	fs.Float64Var(&o.mib, "mib-per-pod", savings.DefaultMiBPerPod, "GPU memory one loaded pod holds, MiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("savings: unexpected argument %q", fs.Arg(0))
	}
	c, err := deployedConfig(*service, *autoscaler)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { o.apply(&c, f.Name) })
	if err := c.Validate(); err != nil {
		return err
	}
	sweep, err := parseDurations("-retentions", *retentions)
	if err != nil {
		return err
	}
	var reports []savings.Report
	if *timeline != "" {
		rep, err := timelineReport(*timeline, c, sweep)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
	} else {
		for _, name := range strings.Split(*scenarios, ",") {
			s, err := savings.ScenarioByName(strings.TrimSpace(name), *cameras, scenarioStart, *duration, *seed)
			if err != nil {
				return fmt.Errorf("-scenario: %w", err)
			}
			events, err := savings.Generate(s)
			if err != nil {
				return fmt.Errorf("-scenario %s: %w", s.Name, err)
			}
			rep, err := savings.Sweep(s.Name, events, c, s.Start, s.Start.Add(s.Duration), sweep)
			if err != nil {
				return err
			}
			reports = append(reports, rep)
		}
	}
	for _, r := range reports {
		if err := r.WriteTable(stdout); err != nil {
			return err
		}
	}
	if *png != "" {
		var buf bytes.Buffer
		if err := savings.WriteChart(&buf, reports); err != nil {
			return err
		}
		return os.WriteFile(*png, buf.Bytes(), 0o644)
	}
	return nil
}

// apply copies the override flag name into c.
func (o savingsOverrides) apply(c *savings.Config, name string) {
	switch name {
	case "window":
		c.StableWindow = o.window
	case "grace":
		c.GracePeriod = o.grace
	case "target":
		c.Target = o.target
	case "utilization":
		c.Utilization = o.utilization / 100
	case "container-concurrency":
		c.ContainerConcurrency = o.concurrency
	case "max-scale":
		c.MaxScale = o.maxScale
	case "gpus-per-pod":
		c.GPUsPerPod = o.gpus
	}
	// These have no manifest value to replace: the flag's value always counts.
	c.ColdStart, c.ServiceTime, c.MiBPerPod = o.coldStart, o.serviceTime, o.mib
}

func deployedConfig(service, autoscaler string) (savings.Config, error) {
	svc, err := os.ReadFile(service)
	if err != nil {
		return savings.Config{}, fmt.Errorf("-service: %w", err)
	}
	var as []byte
	if autoscaler != "" {
		if as, err = os.ReadFile(autoscaler); err != nil && !errors.Is(err, os.ErrNotExist) {
			return savings.Config{}, fmt.Errorf("-autoscaler: %w", err)
		}
	}
	return savings.Deployed(svc, as)
}

func timelineReport(path string, c savings.Config, sweep []time.Duration) (savings.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return savings.Report{}, fmt.Errorf("-timeline: %w", err)
	}
	defer f.Close()
	events, err := savings.Read(f, savings.ReadOptions{})
	if err != nil {
		return savings.Report{}, fmt.Errorf("%s: %w", path, err)
	}
	start, end, err := savings.Span(events)
	if err != nil {
		return savings.Report{}, fmt.Errorf("%s: %w", path, err)
	}
	return savings.Sweep(path, events, c, start, end, sweep)
}

func parseDurations(flagName, list string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(list, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: %q is not a duration of zero or more", flagName, f)
		}
		out = append(out, d)
	}
	return out, nil
}
