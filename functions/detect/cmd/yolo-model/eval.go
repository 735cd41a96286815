package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	function "github.com/edgewatch/edgewatch/functions/detect"
	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/dataset"
	"github.com/edgewatch/edgewatch/functions/detect/evaluate"
	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// model is a loaded model eval can run and release.
type model interface {
	evaluate.Detector
	Close() error
}

// evalFlags are eval's settings.
type evalFlags struct {
	files               darknet.Files
	onnx                string
	classMap            string
	threshold, minScore float64
	nms                 float64
	size                int
	backend             string
	json                string
}

func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f evalFlags
	fs.StringVar(&f.files.Cfg, "cfg", "", "darknet .cfg")
	fs.StringVar(&f.files.Weights, "weights", "", "darknet .weights")
	fs.StringVar(&f.files.Names, "names", "", ".names, one label per line (the dataset's class ids index it)")
	fs.StringVar(&f.onnx, "onnx", "", "ONNX model (instead of --cfg and --weights)")
	fs.StringVar(&f.classMap, "class-map", "", "CLASS_MAP as detect reads it, e.g. knife=knife,scissors=knife (default: labels that are incident classes)")
	fs.Float64Var(&f.threshold, "conf", 0.5, "operating confidence (detect's CONF_THRESHOLD) for precision, recall and the confusion")
	fs.Float64Var(&f.minScore, "min-conf", 0.005, "lowest confidence kept for the AP curves (OpenCV gives darknet models none under 0.2)")
	fs.Float64Var(&f.nms, "nms", 0.45, "NMS IoU threshold (detect's NMS_THRESHOLD)")
	fs.IntVar(&f.size, "size", 0, "network input size, a multiple of 32 (detect's INPUT_SIZE; 0 = the model's)")
	fs.StringVar(&f.backend, "backend", "auto", "auto, cpu or cuda (detect's DNN_BACKEND)")
	fs.StringVar(&f.json, "json", "", "also write the report as JSON to FILE; - writes JSON to stdout instead of the table")
	dir, err := parseWithDir(fs, args)
	if err != nil {
		return err
	}
	m, err := f.load()
	if err != nil {
		return err
	}
	defer m.Close()
	incident, err := function.ResolveClassMap(f.classMap, m.Labels())
	if err != nil {
		return fmt.Errorf("eval: --class-map: %w", err)
	}
	ds, err := dataset.Read(dir, len(m.Labels()))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "evaluating %d images, %d objects\n", len(ds.Items), ds.Boxes())
	r, err := evaluate.Run(ctx, m, ds, evaluate.Options{Threshold: f.threshold, Incident: incident, IncidentClasses: contract.Classes()}, time.Now)
	if err != nil {
		return err
	}
	return writeReport(r, f.json, stdout)
}

// load validates the model flags and loads the model as detect would, with
// the low confidence floor the AP curves need.
func (f evalFlags) load() (model, error) {
	if !(f.threshold > 0 && f.threshold <= 1) || !(f.minScore > 0 && f.minScore <= f.threshold) || !(f.nms > 0 && f.nms <= 1) {
		return nil, fmt.Errorf("eval: want 0 < --min-conf (%g) ≤ --conf (%g) ≤ 1 and 0 < --nms (%g) ≤ 1", f.minScore, f.threshold, f.nms)
	}
	backend, err := yolo.ParseBackend(f.backend)
	if err != nil {
		return nil, err
	}
	opts := yolo.Options{InputSize: f.size, Confidence: float32(f.minScore), NMS: float32(f.nms), Backend: backend}
	if f.onnx != "" {
		if f.files.Cfg != "" || f.files.Weights != "" {
			return nil, errors.New("eval: give either --onnx or --cfg and --weights, not both")
		}
		if f.files.Names == "" {
			return nil, errors.New("eval: --onnx needs --names")
		}
		for _, p := range []string{f.onnx, f.files.Names} {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("eval: %w", err)
			}
		}
		return loadONNX(f.onnx, f.files.Names, opts)
	}
	checked, err := darknet.Check(f.files)
	if err != nil {
		return nil, fmt.Errorf("eval: %w (give --cfg, --weights and --names, or --onnx and --names)", err)
	}
	return yolo.Load(checked, opts)
}

// writeReport prints the table to stdout and the JSON to path ("" none, "-"
// stdout in place of the table).
func writeReport(r evaluate.Report, path string, stdout io.Writer) error {
	if path == "-" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if err := r.WriteTable(stdout); err != nil {
		return err
	}
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
