// Command yolo-model writes and fetches models for detect.
//
//	yolo-model generate --kind tiny|full|pattern|pattern-onnx-v5|pattern-onnx-v8 --dir DIR
//	yolo-model fetch --kind tiny|full --dir DIR [--mirror URL] [--pin NAME=SIZE:SHA256]...
//	yolo-model check --cfg F --weights F --names F
//	yolo-model check --onnx F --names F
//	yolo-model eval (--cfg F --weights F | --onnx F) --names F [--json FILE|-] DIR
//	yolo-model cfg --classes N --size S [--anchors-from DIR] [--base tiny|full] --out FILE
//	yolo-model dataset check DIR [--names F] [--valid 0.1] [--seed N]
//
// generate writes official-layout YOLOv4-tiny or YOLOv4 files with
// pseudo-random weights (right sizes and shapes, no training; for load and
// speed tests) or the crafted colour-pattern model (for tests and demos),
// as darknet files or as an ONNX export in YOLOv5's or YOLOv8's output
// layout.
// fetch downloads the official COCO models and verifies pinned sizes and
// SHA-256 sums. Every command ends by checking the files as detect's Start
// does and prints the MODEL_* settings that load them. eval measures a
// model on a labelled dataset (package evaluate), cfg writes a darknet
// training cfg and dataset check validates a dataset and writes its
// training lists (docs/training.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/modelfetch"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  yolo-model generate --kind tiny|full|pattern|pattern-onnx-v5|pattern-onnx-v8 --dir DIR
  yolo-model fetch --kind tiny|full --dir DIR [--mirror URL] [--pin NAME=SIZE:SHA256]...
  yolo-model check --cfg FILE --weights FILE --names FILE
  yolo-model check --onnx FILE --names FILE
  yolo-model eval (--cfg FILE --weights FILE | --onnx FILE) --names FILE [--class-map MAP] [--conf 0.5] [--json FILE|-] DIR
  yolo-model cfg --classes N [--size 416] [--anchors-from DIR] [--base tiny|full] [--seed N] --out FILE
  yolo-model dataset check DIR [--names FILE] [--valid 0.1] [--seed N]
`

// run executes one command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "generate":
		err = generate(args[1:], stdout, stderr)
	case "fetch":
		err = fetch(ctx, args[1:], stdout, stderr)
	case "check":
		err = check(args[1:], stdout, stderr)
	case "eval":
		err = evalCmd(ctx, args[1:], stdout, stderr)
	case "cfg":
		err = cfgCmd(args[1:], stdout, stderr)
	case "dataset":
		err = datasetCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "yolo-model: %v\n", err)
		return 1
	}
	return 0
}

func generate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "pattern", "tiny, full, pattern, pattern-onnx-v5 or pattern-onnx-v8")
	dir := fs.String("dir", "models", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if k := onnx.Kind(*kind); k == onnx.KindPatternV5 || k == onnx.KindPatternV8 {
		g, err := onnx.Generate(k, *dir)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote edgewatch's colour-pattern model as ONNX: a crafted test network that reacts to solid yellow/red/green/blue squares, NOT a trained detector")
		return reportONNX(g.Model, g.Names, stdout)
	}
	g, err := darknet.Generate(darknet.Kind(*kind), *dir)
	if err != nil {
		return err
	}
	switch darknet.Kind(*kind) {
	case darknet.KindPattern:
		fmt.Fprintln(stderr, "wrote edgewatch's colour-pattern model: a crafted test network that reacts to solid yellow/red/green/blue squares, NOT a trained detector")
	default:
		fmt.Fprintln(stderr, "wrote an official-layout model with pseudo-random weights: right size and speed, no trained detections")
	}
	return report(g.Files, stdout)
}

func fetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "tiny", "tiny (YOLOv4-tiny) or full (YOLOv4)")
	dir := fs.String("dir", "models", "output directory")
	mirror := fs.String("mirror", "", "fetch every file from MIRROR/<file name> instead of the official URLs")
	pins := pinFlags{}
	fs.Var(pins, "pin", "override a file's pin: NAME=SIZE:SHA256 (repeatable), e.g. yolov4-tiny.weights=24251276:<hex>")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set, err := modelfetch.Official(*kind)
	if err != nil {
		return err
	}
	if *mirror != "" {
		set = set.Mirror(*mirror)
	}
	if err := pins.apply(&set); err != nil {
		return err
	}
	ft := modelfetch.Fetcher{Progress: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	if err := ft.FetchSet(ctx, set, *dir); err != nil {
		return err
	}
	return report(darknet.Files{
		Cfg:     filepath.Join(*dir, set.Cfg.Name),
		Weights: filepath.Join(*dir, set.Weights.Name),
		Names:   filepath.Join(*dir, set.Names.Name),
	}, stdout)
}

// pinFlags collects --pin NAME=SIZE:SHA256 overrides.
type pinFlags map[string]modelfetch.File

func (p pinFlags) String() string { return fmt.Sprint(len(p), " pins") }

func (p pinFlags) Set(v string) error {
	name, pin, ok := strings.Cut(v, "=")
	size, sum, ok2 := strings.Cut(pin, ":")
	n, err := strconv.ParseInt(size, 10, 64)
	if !ok || !ok2 || err != nil || n <= 0 || len(sum) != 64 {
		return fmt.Errorf("pin %q: want NAME=SIZE:SHA256", v)
	}
	p[name] = modelfetch.File{Name: name, Size: n, SHA256: strings.ToLower(sum)}
	return nil
}

// apply overrides the pins of the set's files; a pin naming no file is an error.
func (p pinFlags) apply(s *modelfetch.Set) error {
	used := 0
	for _, f := range []*modelfetch.File{&s.Cfg, &s.Weights, &s.Names} {
		if pin, ok := p[f.Name]; ok {
			f.Size, f.SHA256 = pin.Size, pin.SHA256
			used++
		}
	}
	if used != len(p) {
		return fmt.Errorf("a --pin names no file of this model (files: %s, %s, %s)", s.Cfg.Name, s.Weights.Name, s.Names.Name)
	}
	return nil
}

func check(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f darknet.Files
	fs.StringVar(&f.Cfg, "cfg", "", "darknet .cfg")
	fs.StringVar(&f.Weights, "weights", "", "darknet .weights")
	fs.StringVar(&f.Names, "names", "", ".names, one label per line")
	model := fs.String("onnx", "", "ONNX export (instead of --cfg and --weights)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model != "" {
		if f.Cfg != "" || f.Weights != "" {
			return errors.New("check: --onnx cannot be combined with --cfg or --weights")
		}
		return reportONNX(*model, f.Names, stdout)
	}
	return report(f, stdout)
}

// reportONNX loads an ONNX model as detect would (structure check, guarded
// OpenCV probe, output layout against the names) and prints the settings
// that load it.
func reportONNX(model, names string, stdout io.Writer) error {
	n, err := yolo.LoadONNX(model, names, yolo.Options{Confidence: 0.5, NMS: 0.45, Backend: yolo.BackendCPU})
	if err != nil {
		return err
	}
	defer n.Close()
	fmt.Fprintf(stdout, "MODEL_ONNX=%s\nMODEL_NAMES=%s\n", absPath(model), absPath(names))
	fmt.Fprintf(stdout, "# %d classes, input %dx%d, %s output layout\n", len(n.Labels()), n.InputSize().X, n.InputSize().Y, n.Layout())
	return nil
}

// absPath returns path made absolute, or as given when that fails.
func absPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// report checks the files as detect would and prints the settings that
// load them.
func report(f darknet.Files, stdout io.Writer) error {
	m, err := darknet.Check(f)
	if err != nil {
		return err
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	fmt.Fprintf(stdout, "MODEL_CFG=%s\nMODEL_WEIGHTS=%s\nMODEL_NAMES=%s\n", abs(f.Cfg), abs(f.Weights), abs(f.Names))
	fmt.Fprintf(stdout, "# %d classes, input %dx%d, %d parameters, %d [yolo] layers\n",
		len(m.Labels), m.Network.Width, m.Network.Height, m.Network.Params(), len(m.Network.Yolos))
	return nil
}
