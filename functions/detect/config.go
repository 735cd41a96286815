package function

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
	"github.com/edgewatch/edgewatch/functions/detect/internal/envconf"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// Config is detect's configuration, read from the cfg map Start receives
// (environment plus the optional ./cfg file). docs/detect.md lists every key.
type Config struct {
	// Model names the darknet cfg, weights and names files (MODEL_CFG,
	// MODEL_WEIGHTS, MODEL_NAMES). With ONNX set, only Names is used.
	Model darknet.Files
	// ONNX is an ONNX export to run instead of darknet files (MODEL_ONNX,
	// with MODEL_NAMES; exclusive with MODEL_CFG and MODEL_WEIGHTS).
	ONNX string
	// ModelName is written to each detection's "model" field (MODEL_NAME;
	// default: the weights or ONNX file name without extension).
	ModelName string
	// InputSize is the square network input, a multiple of 32 (INPUT_SIZE;
	// default 0 = the cfg's width and height, or the ONNX model's input;
	// only an ONNX model with a dynamic input can be given another).
	InputSize int
	// Confidence is the minimum class score (CONF_THRESHOLD; default 0.5).
	Confidence float32
	// NMS is the non-maximum-suppression IoU threshold (NMS_THRESHOLD; default 0.45).
	NMS float32
	// ClassMap maps model labels to incident classes (CLASS_MAP, e.g.
	// "knife=knife,scissors=knife,fire=fire"; default: every model label that
	// is itself an incident class maps to itself). Unmapped labels are ignored.
	ClassMap map[string]string
	// Backend is the DNN backend asked for (DNN_BACKEND: auto, cpu or cuda;
	// default auto = CUDA when OpenCV has it and sees a device, else CPU).
	Backend yolo.Backend
	// Threads is OpenCV's thread count (DNN_THREADS; default 0 = OpenCV's choice).
	Threads int
	// BatchWindow is how long a lone request waits for others to share its
	// forward pass (BATCH_WINDOW; default 5ms).
	BatchWindow time.Duration
	// BatchMax is the largest batch of one forward pass (BATCH_MAX; default
	// 0: by backend, see BatchFor).
	BatchMax int
	// MaxImageBytes bounds the JPEG body (MAX_IMAGE_BYTES; default 8 MiB).
	MaxImageBytes int
	// MaxImagePixels bounds the decoded image (MAX_IMAGE_PIXELS; default 16,777,216 = 4096²).
	MaxImagePixels int
	// CropQuality is the JPEG quality of the object crop (CROP_JPEG_QUALITY; default 90).
	CropQuality int
	// Sink is where detection events are sent (K_SINK, injected by
	// Knative's SinkBinding or the local runner; empty = reply instead).
	Sink string
	// SendRetries and SendBackoff bound the retries of one send to the sink
	// (SEND_RETRIES default 3, SEND_BACKOFF default 100ms, exponential).
	SendRetries int
	SendBackoff time.Duration
	// SendTimeout bounds one delivery attempt (SEND_TIMEOUT; default 10s).
	SendTimeout time.Duration
	// MetricsAddress is the side port for /metrics (METRICS_ADDRESS;
	// default ":9464"; "off" disables it).
	MetricsAddress string
}

// settings is the environment as read: one tagged field per key, with its
// default.
type settings struct {
	Cfg            string        `env:"MODEL_CFG"`
	Weights        string        `env:"MODEL_WEIGHTS"`
	Names          string        `env:"MODEL_NAMES"`
	ONNX           string        `env:"MODEL_ONNX"`
	ModelName      string        `env:"MODEL_NAME"`
	InputSize      int           `env:"INPUT_SIZE" envDefault:"0"`
	Confidence     float32       `env:"CONF_THRESHOLD" envDefault:"0.5"`
	NMS            float32       `env:"NMS_THRESHOLD" envDefault:"0.45"`
	ClassMap       classMap      `env:"CLASS_MAP"`
	Backend        yolo.Backend  `env:"DNN_BACKEND" envDefault:"auto"`
	Threads        int           `env:"DNN_THREADS" envDefault:"0"`
	BatchWindow    time.Duration `env:"BATCH_WINDOW" envDefault:"5ms"`
	BatchMax       int           `env:"BATCH_MAX" envDefault:"0"`
	MaxImageBytes  int           `env:"MAX_IMAGE_BYTES" envDefault:"8388608"`
	MaxImagePixels int           `env:"MAX_IMAGE_PIXELS" envDefault:"16777216"`
	CropQuality    int           `env:"CROP_JPEG_QUALITY" envDefault:"90"`
	Sink           sinkURL       `env:"K_SINK"`
	SendRetries    int           `env:"SEND_RETRIES" envDefault:"3"`
	SendBackoff    time.Duration `env:"SEND_BACKOFF" envDefault:"100ms"`
	SendTimeout    time.Duration `env:"SEND_TIMEOUT" envDefault:"10s"`
	MetricsAddress string        `env:"METRICS_ADDRESS" envDefault:":9464"`
}

// classMap is CLASS_MAP, read by ParseClassMap.
type classMap map[string]string

// sinkURL is K_SINK: an http(s) URL.
type sinkURL string

// parsers returns the parsers of the special types of settings.
func parsers() envconf.Parsers {
	return envconf.Parsers{
		reflect.TypeOf(classMap{}): func(v string) (any, error) {
			m, err := ParseClassMap(v)
			return classMap(m), err
		},
		reflect.TypeOf(yolo.Backend("")): func(v string) (any, error) { return yolo.ParseBackend(strings.ToLower(v)) },
		reflect.TypeOf(sinkURL("")): func(v string) (any, error) {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, errors.New("not an http(s) URL")
			}
			return sinkURL(v), nil
		},
	}
}

// ParseConfig reads a Config from a cfg map, applying defaults and
// refusing bad values; every bad key is reported at once, by name.
func ParseConfig(cfg map[string]string) (Config, error) {
	var s settings
	var p envconf.Problems
	p.Join(envconf.Parse(&s, cfg, parsers()))
	c := Config{
		Model:          darknet.Files{Cfg: s.Cfg, Weights: s.Weights, Names: s.Names},
		ONNX:           s.ONNX,
		ModelName:      s.ModelName,
		InputSize:      s.InputSize,
		Confidence:     s.Confidence,
		NMS:            s.NMS,
		ClassMap:       s.ClassMap,
		Backend:        s.Backend,
		Threads:        s.Threads,
		BatchWindow:    s.BatchWindow,
		BatchMax:       s.BatchMax,
		MaxImageBytes:  s.MaxImageBytes,
		MaxImagePixels: s.MaxImagePixels,
		CropQuality:    s.CropQuality,
		Sink:           string(s.Sink),
		SendRetries:    s.SendRetries,
		SendBackoff:    s.SendBackoff,
		SendTimeout:    s.SendTimeout,
		MetricsAddress: s.MetricsAddress,
	}
	envconf.InRange(&p, "INPUT_SIZE", c.InputSize, 0, 4096)
	if c.InputSize%32 != 0 {
		p.Add("INPUT_SIZE", strconv.Itoa(c.InputSize), "must be a multiple of 32")
	}
	envconf.InRange(&p, "CONF_THRESHOLD", c.Confidence, 0, 1)
	envconf.InRange(&p, "NMS_THRESHOLD", c.NMS, 0, 1)
	envconf.InRange(&p, "DNN_THREADS", c.Threads, 0, 1024)
	if strings.TrimSpace(cfg["BATCH_MAX"]) != "" {
		envconf.InRange(&p, "BATCH_MAX", c.BatchMax, 1, 256)
	}
	envconf.InRange(&p, "MAX_IMAGE_BYTES", c.MaxImageBytes, 1, 1<<30)
	envconf.InRange(&p, "MAX_IMAGE_PIXELS", c.MaxImagePixels, 1, 1<<30)
	envconf.InRange(&p, "CROP_JPEG_QUALITY", c.CropQuality, 1, 100)
	envconf.InRange(&p, "SEND_RETRIES", c.SendRetries, 0, 100)
	for key, d := range map[string]time.Duration{"BATCH_WINDOW": c.BatchWindow, "SEND_BACKOFF": c.SendBackoff,
		"SEND_TIMEOUT": c.SendTimeout} {
		if d < 0 {
			p.Add(key, d.String(), "must not be negative")
		}
	}
	p.Join(c.checkModel())
	if err := p.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// checkModel requires one model format: MODEL_ONNX with MODEL_NAMES, or
// MODEL_CFG, MODEL_WEIGHTS and MODEL_NAMES; and names the model.
func (c *Config) checkModel() error {
	const demo = "generate a demo model with: go run ./cmd/yolo-model generate --kind pattern|pattern-onnx-v5|pattern-onnx-v8 --dir DIR"
	file := c.Model.Weights
	switch {
	case c.ONNX != "" && (c.Model.Cfg != "" || c.Model.Weights != ""):
		return fmt.Errorf("MODEL_ONNX cannot be combined with MODEL_CFG or MODEL_WEIGHTS: set MODEL_ONNX and MODEL_NAMES for an ONNX export, or MODEL_CFG, MODEL_WEIGHTS and MODEL_NAMES for a darknet model")
	case c.ONNX != "" && c.Model.Names == "":
		return fmt.Errorf("MODEL_ONNX needs MODEL_NAMES, the labels file (one label per line, in class order)")
	case c.ONNX != "":
		file = c.ONNX
	case c.Model.Cfg == "" || c.Model.Weights == "" || c.Model.Names == "":
		return fmt.Errorf("MODEL_CFG, MODEL_WEIGHTS and MODEL_NAMES are required, or MODEL_ONNX and MODEL_NAMES (%s)", demo)
	}
	if c.ModelName == "" {
		c.ModelName = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return nil
}

// ParseClassMap reads "label=class,label=class". Labels may contain spaces
// (COCO's "cell phone"); classes must be incident classes. An empty string
// gives nil: the identity map over the model's labels (see Config.ClassMap).
func ParseClassMap(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		label, class, ok := strings.Cut(pair, "=")
		label, class = strings.TrimSpace(label), strings.TrimSpace(class)
		if !ok || label == "" {
			return nil, fmt.Errorf("%q: want label=class", pair)
		}
		if !slices.Contains(contract.Classes(), class) {
			return nil, fmt.Errorf("%q: class %q is not one of %v", pair, class, contract.Classes())
		}
		m[label] = class
	}
	return m, nil
}

// classesFor resolves the class map against a model's labels: index i of
// the result is label i's incident class, or "" when the label is ignored.
func classesFor(m map[string]string, labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		if m == nil {
			if slices.Contains(contract.Classes(), l) {
				out[i] = l
			}
			continue
		}
		out[i] = m[l]
	}
	return out
}

// DefaultGPUBatch is the batch size on a GPU when BATCH_MAX is not set.
const DefaultGPUBatch = 8

// BatchFor returns the largest batch for the chosen backend: BATCH_MAX when
// it is set; otherwise DefaultGPUBatch on CUDA, where one forward pass over
// several images is where throughput comes from, and 1 on the CPU, where a
// batch gains nothing over single images (docs/detect.md) and the batching
// window would only add latency.
func (c Config) BatchFor(backend yolo.Backend) int {
	switch {
	case c.BatchMax > 0:
		return c.BatchMax
	case backend == yolo.BackendCUDA:
		return DefaultGPUBatch
	default:
		return 1
	}
}
