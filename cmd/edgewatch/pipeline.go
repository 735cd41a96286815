package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/caption/vlmtest"
	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
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
			"NOTIFY_WEBHOOK_URL=" + webhookURL, "K_SINK=" + brokerURL}},
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

// prepareModel picks detect's model: files named by MODEL_CFG, MODEL_WEIGHTS
// and MODEL_NAMES or by MODEL_ONNX and MODEL_NAMES, else the official COCO
// files hack/fetch-model.sh fetched (into its default cache directory or the
// state directory's models/), else the generated colour-pattern model (see
// demoModel).
func prepareModel(state string) ([]string, string, error) {
	if cfg, weights, names := os.Getenv("MODEL_CFG"), os.Getenv("MODEL_WEIGHTS"), os.Getenv("MODEL_NAMES"); cfg != "" && weights != "" && names != "" {
		return nil, "detect uses the configured model " + weights, nil
	}
	if model, names := os.Getenv("MODEL_ONNX"), os.Getenv("MODEL_NAMES"); model != "" && names != "" {
		return nil, "detect uses the configured ONNX model " + model, nil
	}
	for _, dir := range modelDirs(state) {
		for _, name := range []string{"yolov4", "yolov4-tiny"} {
			files := darknet.Files{Cfg: filepath.Join(dir, name+".cfg"), Weights: filepath.Join(dir, name+".weights"), Names: filepath.Join(dir, "coco.names")}
			if _, err := darknet.Check(files); err == nil {
				return modelFileEnv(files, "CLASS_MAP=knife=knife,scissors=knife", "MODEL_NAME="+name+"-coco"),
					"detect uses the COCO " + name + " model from " + dir + " (only knife maps to an incident class)", nil
			}
		}
	}
	return demoModel(filepath.Join(state, "pattern-model"), os.Getenv("DEMO_MODEL"))
}

// demoModel generates the colour-pattern model into dir in the format
// DEMO_MODEL names: darknet files (pattern, the default) or an ONNX export
// with YOLOv5's or YOLOv8's output layout (pattern-onnx-v5, pattern-onnx-v8).
func demoModel(dir, kind string) ([]string, string, error) {
	const note = "DEMO MODEL: no trained weights found, detect runs a generated colour-pattern network (yellow=accident, red=fire, green=gun, blue=knife), not a trained detector; see docs/models.md"
	switch kind {
	case "", "pattern":
		g, err := darknet.Generate(darknet.KindPattern, dir)
		if err != nil {
			return nil, "", fmt.Errorf("generate the demo model: %w", err)
		}
		return modelFileEnv(g.Files), note, nil
	case string(onnx.KindPatternV5), string(onnx.KindPatternV8):
		g, err := onnx.Generate(onnx.Kind(kind), dir)
		if err != nil {
			return nil, "", fmt.Errorf("generate the demo model: %w", err)
		}
		return []string{"MODEL_ONNX=" + g.Model, "MODEL_NAMES=" + g.Names}, note + " (as ONNX, " + kind + ")", nil
	}
	return nil, "", fmt.Errorf("DEMO_MODEL=%q: want pattern, %s or %s", kind, onnx.KindPatternV5, onnx.KindPatternV8)
}

// modelDirs lists where fetched official models are looked for, best first.
func modelDirs(state string) []string {
	dirs := []string{filepath.Join(state, "models")}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	if cache != "" {
		dirs = append(dirs, filepath.Join(cache, "edgewatch", "models", "full"), filepath.Join(cache, "edgewatch", "models", "tiny"))
	}
	return dirs
}

func modelFileEnv(f darknet.Files, extra ...string) []string {
	return append([]string{"MODEL_CFG=" + f.Cfg, "MODEL_WEIGHTS=" + f.Weights, "MODEL_NAMES=" + f.Names}, extra...)
}

// prepareCameras writes the sample clip (a blue object crossing a street
// scene, which the demo model reports as a knife) and one camera reading it
// in a loop.
func prepareCameras(state string) ([]string, error) {
	if os.Getenv("CAMERAS_FILE") != "" || os.Getenv("CAMERAS") != "" {
		return nil, nil // motion-source reads them from the environment
	}
	clip := filepath.Join(state, "sample-street.avi")
	if _, err := os.Stat(clip); err != nil {
		scene := samplevideo.Scene{Width: 1280, Height: 720, FPS: 25, Frames: 200, Object: true,
			ObjectSize: 160, ObjectStart: 50, ObjectColor: color.RGBA{B: 255, A: 255}}
		// Written aside and renamed, so that a run killed while writing
		// leaves no truncated clip for the next one to reuse.
		tmp := filepath.Join(state, "sample-street.partial.avi")
		if err := samplevideo.Write(tmp, scene); err != nil {
			return nil, fmt.Errorf("write the sample clip: %w", err)
		}
		if err := os.Rename(tmp, clip); err != nil {
			return nil, err
		}
	}
	cams := []map[string]any{{"id": "cam-1", "url": clip, "loop": true, "fps": 5, "cooldown": "2s",
		"location": map[string]float64{"lat": 37.5665, "lon": 126.9780}}}
	raw, err := json.Marshal(cams)
	if err != nil {
		return nil, err
	}
	return []string{"CAMERAS=" + string(raw)}, nil
}

// startVLM serves the demo stand-in for a vision-language model, clearly
// labelled in every caption it writes, unless VLM_URL names a real one
// (caption then reads VLM_URL, VLM_MODEL and VLM_API_KEY from the environment).
func (p *pipeline) startVLM(o upOptions, port int) ([]string, error) {
	if os.Getenv("VLM_URL") != "" {
		return nil, nil
	}
	addr := fmt.Sprintf("%s:%d", o.host, port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("VLM stand-in: %w", err)
	}
	srv := boundedServer(vlmtest.NewHandler(vlmtest.Options{}), o.readTimeout, o.readTimeout+time.Minute)
	go func() { _ = srv.Serve(ln) }()
	p.closers = append(p.closers, func() { _ = srv.Close() })
	p.extra = append(p.extra, [2]string{"VLM stand-in", "http://" + addr + vlmtest.Path})
	p.notes = append(p.notes, "captions come from a stand-in that runs no model; set VLM_URL and VLM_MODEL for a real one")
	return []string{"VLM_URL=http://" + addr, "VLM_MODEL=" + vlmtest.Model}, nil
}

// startWebhookInbox receives alert's generic-webhook notifications and
// prints them, standing in for a team's chat or paging system.
func (p *pipeline) startWebhookInbox(o upOptions, port int, log *slog.Logger) (string, error) {
	if u := os.Getenv("NOTIFY_WEBHOOK_URL"); u != "" {
		return u, nil
	}
	addr := fmt.Sprintf("%s:%d", o.host, port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("webhook inbox: %w", err)
	}
	srv := boundedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var n map[string]any
		summary := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &n) == nil {
			delete(n, "image")
			delete(n, "snapshot")
			b, _ := json.Marshal(n)
			summary = string(b)
		}
		log.Info("notification received", "inbox", addr, "body", summary)
		w.WriteHeader(http.StatusNoContent)
	}), o.readTimeout, o.readTimeout+10*time.Second)
	go func() { _ = srv.Serve(ln) }()
	p.closers = append(p.closers, func() { _ = srv.Close() })
	p.extra = append(p.extra, [2]string{"notification inbox", "http://" + addr + "/"})
	return "http://" + addr + "/", nil
}
