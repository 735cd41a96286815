package function

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
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

// ParseConfig reads a Config from a cfg map, applying defaults and
// refusing bad values with the key's name.
func ParseConfig(cfg map[string]string) (Config, error) {
	p := parser{cfg: cfg}
	c := Config{
		Model: darknet.Files{
			Cfg:     p.str("MODEL_CFG", ""),
			Weights: p.str("MODEL_WEIGHTS", ""),
			Names:   p.str("MODEL_NAMES", ""),
		},
		ONNX:           p.str("MODEL_ONNX", ""),
		ModelName:      p.str("MODEL_NAME", ""),
		InputSize:      p.int("INPUT_SIZE", 0, 0, 4096),
		Confidence:     p.unit("CONF_THRESHOLD", 0.5),
		NMS:            p.unit("NMS_THRESHOLD", 0.45),
		Threads:        p.int("DNN_THREADS", 0, 0, 1024),
		BatchWindow:    p.duration("BATCH_WINDOW", 5*time.Millisecond),
		BatchMax:       p.int("BATCH_MAX", 0, 1, 256),
		MaxImageBytes:  p.int("MAX_IMAGE_BYTES", 8<<20, 1, 1<<30),
		MaxImagePixels: p.int("MAX_IMAGE_PIXELS", 4096*4096, 1, 1<<30),
		CropQuality:    p.int("CROP_JPEG_QUALITY", 90, 1, 100),
		Sink:           p.str("K_SINK", ""),
		SendRetries:    p.int("SEND_RETRIES", 3, 0, 100),
		SendBackoff:    p.duration("SEND_BACKOFF", 100*time.Millisecond),
		SendTimeout:    p.duration("SEND_TIMEOUT", 10*time.Second),
		MetricsAddress: p.str("METRICS_ADDRESS", ":9464"),
	}
	if p.err != nil {
		return Config{}, p.err
	}
	var err error
	if c.Backend, err = yolo.ParseBackend(strings.ToLower(p.str("DNN_BACKEND", "auto"))); err != nil {
		return Config{}, fmt.Errorf("DNN_BACKEND: %w", err)
	}
	if err := c.checkModel(); err != nil {
		return Config{}, err
	}
	if c.InputSize%32 != 0 {
		return Config{}, fmt.Errorf("INPUT_SIZE=%d: must be a multiple of 32", c.InputSize)
	}
	if c.ClassMap, err = ParseClassMap(p.str("CLASS_MAP", "")); err != nil {
		return Config{}, fmt.Errorf("CLASS_MAP: %w", err)
	}
	if c.Sink != "" {
		if u, err := url.Parse(c.Sink); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("K_SINK=%q: not an http(s) URL", c.Sink)
		}
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

type parser struct {
	cfg map[string]string
	err error
}

func (p *parser) str(key, def string) string {
	if v, ok := p.cfg[key]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) fail(key, v, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s=%q: %s", key, v, want)
	}
}

func (p *parser) int(key string, def, lo, hi int) int {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(key, v, fmt.Sprintf("want an integer in %d–%d", lo, hi))
	}
	return n
}

func (p *parser) unit(key string, def float32) float32 {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 32)
	if err != nil || f < 0 || f > 1 {
		p.fail(key, v, "want a number in 0–1")
	}
	return float32(f)
}

func (p *parser) duration(key string, def time.Duration) time.Duration {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(key, v, "want a duration such as 5ms")
	}
	return d
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
