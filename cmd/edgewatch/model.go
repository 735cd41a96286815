package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
)

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
