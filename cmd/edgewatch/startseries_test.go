package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	alert "github.com/edgewatch/edgewatch/functions/alert"
	caption "github.com/edgewatch/edgewatch/functions/caption"
	dashboard "github.com/edgewatch/edgewatch/functions/dashboard"
	detect "github.com/edgewatch/edgewatch/functions/detect"
	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	motionmetrics "github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"github.com/edgewatch/edgewatch/internal/broker"
	"github.com/edgewatch/edgewatch/internal/supervisor"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

// startSeriesFile declares the labelled counters and histograms whose
// series all exist from the start; tools/validate reads it to refuse a
// dashboard rate() or increase() over any other labelled counter.
const startSeriesFile = "../../config/monitoring/series-at-start.txt"

// readStartSeries reads the declared family names.
func readStartSeries(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(startSeriesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape reads the text exposition at http://addr/metrics.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	var lastErr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("status %d, %v", resp.StatusCode, err)
			continue
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("scrape %s: %v", addr, err)
		}
		return mfs
	}
	t.Fatalf("scrape %s: %v", addr, lastErr)
	return nil
}

// gather reads a registry.
func gather(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// seriesAtStart starts every component of the pipeline the way `edgewatch
// up` does, without RabbitMQ, PostgreSQL or any event, and returns what
// each exports right after its start.
func seriesAtStart(t *testing.T) map[string]map[string]*dto.MetricFamily {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	out := map[string]map[string]*dto.MetricFamily{}
	unreachableDB := "postgres://nobody@127.0.0.1:1/none?sslmode=disable"

	g, err := darknet.Generate(darknet.KindPattern, filepath.Join(t.TempDir(), "model"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	d := detect.NewWithDeps(detect.Deps{Logger: quiet})
	if err := d.Start(ctx, map[string]string{"MODEL_CFG": g.Files.Cfg, "MODEL_WEIGHTS": g.Files.Weights,
		"MODEL_NAMES": g.Files.Names, "METRICS_ADDRESS": addr}); err != nil {
		t.Fatal(err)
	}
	out["detect"] = scrape(t, addr)
	_ = d.Stop(ctx)

	addr = freeAddr(t)
	a := alert.New()
	if err := a.Start(ctx, map[string]string{"DATABASE_URL": unreachableDB, "METRICS_ADDRESS": addr,
		"NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9/hook"}); err != nil {
		t.Fatal(err)
	}
	out["alert"] = scrape(t, addr)
	_ = a.Stop(ctx)

	addr = freeAddr(t)
	c := caption.NewWithDeps(caption.Deps{Logger: quiet})
	if err := c.Start(ctx, map[string]string{"VLM_URL": "http://127.0.0.1:9/", "VLM_MODEL": "m", "METRICS_ADDRESS": addr}); err != nil {
		t.Fatal(err)
	}
	out["caption"] = scrape(t, addr)
	_ = c.Stop(ctx)

	addr = freeAddr(t)
	db := dashboard.New()
	if err := db.Start(ctx, map[string]string{"DATABASE_URL": unreachableDB, "METRICS_ADDRESS": addr}); err != nil {
		t.Fatal(err)
	}
	out["dashboard"] = scrape(t, addr)
	_ = db.Stop(ctx)

	ts, err := triggers.LoadDir("../../config/triggers")
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]string{}
	for _, tr := range ts {
		for _, dst := range []*triggers.Destination{&tr.Subscriber, tr.DeadLetterSink()} {
			if dst != nil && dst.Ref != nil {
				services[dst.Ref.Name] = "http://127.0.0.1:9/"
			}
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := broker.New(broker.Config{AMQPURL: "amqp://127.0.0.1:9/", Namespace: ts[0].Namespace, Name: ts[0].Broker,
		UID: "start", IngressURL: "http://127.0.0.1:9/", Triggers: ts, Resolver: triggers.NewStaticResolver(services),
		Logger: quiet, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	r := newRunner(quiet, upOptions{host: "127.0.0.1", idle: time.Minute}, "/bin/false", t.TempDir(), io.Discard)
	defer r.group.Close()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	s := service{name: "detect", activated: true}
	s.port, _ = strconv.Atoi(port)
	u, err := r.activate(s, supervisor.New(processSpec("/bin/false", s, "127.0.0.1", t.TempDir(), r.group), quiet, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	out["broker and runner"] = gather(t, prometheus.Gatherers{reg, r.reg})
	if err := u.stop(ctx); err != nil {
		t.Error(err)
	}

	reg = prometheus.NewRegistry()
	ms, err := motionmetrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	ms.For("cam-1")
	out["motion-source"] = gather(t, reg)
	return out
}

// TestSeriesAtStartAsDeclared starts every component and checks the
// declared list against what they export before any event: every declared
// family has series, and every edgewatch counter or histogram with labels
// that has series at start is declared.
func TestSeriesAtStartAsDeclared(t *testing.T) {
	declared := readStartSeries(t)
	found := map[string]string{} // family -> component
	all := map[string]string{}
	for comp, mfs := range seriesAtStart(t) {
		for name, mf := range mfs {
			all[name] = comp
			if !strings.HasPrefix(name, "edgewatch_") || len(mf.GetMetric()) == 0 {
				continue
			}
			if mf.GetType() != dto.MetricType_COUNTER && mf.GetType() != dto.MetricType_HISTOGRAM {
				continue
			}
			if len(mf.GetMetric()[0].GetLabel()) > 0 {
				found[name] = comp
			}
		}
	}
	for _, n := range declared {
		if _, ok := found[n]; !ok {
			t.Errorf("%s is declared in %s but no component exports a series of it at start", n, startSeriesFile)
		}
	}
	var missing []string
	for n, comp := range found {
		if !slices.Contains(declared, n) {
			missing = append(missing, n+" ("+comp+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s exports its series at start but is not declared in %s", m, startSeriesFile)
	}
	for _, want := range []string{"process_resident_memory_bytes", "edgewatch_dashboard_event_streams"} {
		if _, ok := all[want]; !ok {
			t.Errorf("%s is not exported", want)
		}
	}
	t.Logf("%d labelled counters and histograms export every series at start", len(found))
}
