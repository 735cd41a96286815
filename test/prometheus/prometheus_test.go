// Package prometheus_test runs a real Prometheus (Debian's prometheus
// package) against the /metrics of detect and caption and checks what an
// operator's dashboard sees: the first error of a kind is an increase that
// rate() and increase() report, and the dashboard's own queries show it.
package prometheus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	caption "github.com/edgewatch/edgewatch/functions/caption"
	detect "github.com/edgewatch/edgewatch/functions/detect"
	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/internal/contract"
)

// scrapeInterval is short so that the test needs few seconds of samples.
const scrapeInterval = 250 * time.Millisecond

// window is the range of the queries, standing in for Grafana's
// $__rate_interval.
const window = "30s"

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a running Prometheus.
type server struct {
	url string
}

// startPrometheus runs Prometheus with one job per target until the test ends.
func startPrometheus(t *testing.T, targets map[string]string) *server {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package prometheus, listed in hack/apt-packages.txt)")
	}
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n", scrapeInterval, scrapeInterval)
	for job, addr := range targets {
		fmt.Fprintf(&cfg, "  - job_name: %s\n    static_configs:\n      - targets: [%q]\n", job, addr)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	s := &server{url: "http://" + addr}
	waitFor(t, "prometheus ready", func() (bool, string) {
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(s.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return s
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(scrapeInterval / 2) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("%s: still not after a minute (last: %s)", what, last)
}

// query evaluates an instant query and returns each series' value by the
// value of label (or "" for a series without it).
func (s *server) query(t *testing.T, q, label string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" {
		t.Fatalf("query %s: %s", q, body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		v, err := strconv.ParseFloat(fmt.Sprint(r.Value[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Metric[label]] = v
	}
	return out
}

// dashboardQuery returns the expression of a panel target of the pipeline
// dashboard, with Grafana's $__rate_interval replaced by window.
func dashboardQuery(t *testing.T, title, legend string) string {
	t.Helper()
	data, err := os.ReadFile("../../config/monitoring/dashboards/edgewatch-pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr   string `json:"expr"`
				Legend string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if p.Title == title && tg.Legend == legend {
				return strings.ReplaceAll(tg.Expr, "$__rate_interval", window)
			}
		}
	}
	t.Fatalf("the dashboard has no panel %q with a target %q", title, legend)
	return ""
}

// TestFirstOccurrenceIsSeen scrapes detect, caption and, for contrast, a
// counter created on its first increment (as every labelled counter was
// before), lets Prometheus take samples, makes the first error of a kind
// happen in each, and reads the increase as the dashboards do.
func TestFirstOccurrenceIsSeen(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	g, err := darknet.Generate(darknet.KindPattern, filepath.Join(t.TempDir(), "model"))
	if err != nil {
		t.Fatal(err)
	}
	detectAddr := freeAddr(t)
	d := detect.NewWithDeps(detect.Deps{Logger: quiet})
	if err := d.Start(ctx, map[string]string{"MODEL_CFG": g.Files.Cfg, "MODEL_WEIGHTS": g.Files.Weights,
		"MODEL_NAMES": g.Files.Names, "METRICS_ADDRESS": detectAddr}); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(ctx)

	c := caption.NewWithDeps(caption.Deps{Logger: quiet})
	if err := c.Start(ctx, map[string]string{"VLM_URL": "http://127.0.0.1:9/v1/chat/completions", "VLM_MODEL": "m",
		"METRICS_ADDRESS": "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)

	reg := prometheus.NewRegistry()
	bornAtOne := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "born_at_one_total", Help: "Created on its first increment."}, []string{"reason"})
	reg.MustRegister(bornAtOne)
	contrast := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer contrast.Close()

	prom := startPrometheus(t, map[string]string{
		"edgewatch-detect":  detectAddr,
		"edgewatch-caption": c.MetricsAddr(),
		"born-at-one":       strings.TrimPrefix(contrast.URL, "http://"),
	})
	// Samples before the event: the zero the first increase starts from.
	waitFor(t, "three scrapes of every target", func() (bool, string) {
		n := prom.query(t, "count_over_time(up[1m]) >= 3 and up == 1", "job")
		return len(n) == 3, fmt.Sprint(n)
	})

	bad := event.New()
	bad.SetID("m-1")
	bad.SetType(contract.TypeMotionDetected)
	bad.SetSource("/cameras/cam-1")
	if err := bad.SetData(contract.ContentTypeJPEG, []byte("not a JPEG")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Handle(ctx, bad); err == nil {
		t.Fatal("detect took a corrupt image")
	}
	inc := event.New()
	inc.SetID("incident-x.opened")
	inc.SetType(contract.TypeIncidentOpened)
	inc.SetSource("/cameras/cam-1")
	if err := inc.SetData(contract.ContentTypeJSON, []byte(`{"incident_id": 7}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Handle(ctx, inc); err == nil {
		t.Fatal("caption took a malformed incident")
	}
	bornAtOne.WithLabelValues("first").Inc()

	// Wait until Prometheus holds at least three samples of each at 1.
	for _, q := range []string{
		`edgewatch_detect_errors_total{reason="corrupt_image"}`,
		`edgewatch_caption_events_total{outcome="bad_input"}`,
		`born_at_one_total{reason="first"}`,
	} {
		waitFor(t, q+" at 1", func() (bool, string) {
			n := prom.query(t, q+" == 1", "")
			return len(n) == 1, fmt.Sprint(n)
		})
		samples := prom.query(t, "count_over_time("+q+"[1m])", "")[""]
		waitFor(t, "two more samples of "+q, func() (bool, string) {
			n := prom.query(t, "count_over_time("+q+"[1m])", "")
			return n[""] >= samples+2, fmt.Sprint(n)
		})
	}

	detectErrors := dashboardQuery(t, "Errors by reason, model load time", "{{reason}}")
	if v := prom.query(t, detectErrors, "reason")["corrupt_image"]; v <= 0 {
		t.Errorf("dashboard query %s: corrupt_image = %v, want > 0", detectErrors, v)
	} else {
		t.Logf("%s → corrupt_image %.4g/s", detectErrors, v)
	}
	captionEvents := dashboardQuery(t, "Incident events per outcome", "{{outcome}}")
	if v := prom.query(t, captionEvents, "outcome")["bad_input"]; v <= 0 {
		t.Errorf("dashboard query %s: bad_input = %v, want > 0", captionEvents, v)
	} else {
		t.Logf("%s → bad_input %.4g/s", captionEvents, v)
	}
	for _, q := range []string{
		`increase(edgewatch_detect_errors_total{reason="corrupt_image"}[` + window + `])`,
		`increase(edgewatch_caption_events_total{outcome="bad_input"}[` + window + `])`,
	} {
		v, ok := prom.query(t, q, "")[""]
		if !ok || v <= 0 {
			t.Errorf("%s = %v (present %v), want > 0", q, v, ok)
		}
		t.Logf("%s = %.4g", q, v)
	}
	// The contrast: the same first increment of a series born at 1 is no
	// increase at all, which is what every labelled counter showed before.
	q := `increase(born_at_one_total{reason="first"}[` + window + `])`
	v, ok := prom.query(t, q, "")[""]
	if !ok || v != 0 {
		t.Errorf("%s = %v (present %v): a series born at 1 should show no increase", q, v, ok)
	}
	t.Logf("%s = %v (a series born at 1)", q, v)
}
