// Package cameraconfig reads the cameras a motion-source watches, from a YAML
// or JSON document (the CAMERAS_FILE file or the CAMERAS value), expanding
// ${VAR} references in URLs from the function's configuration so that
// passwords live in a Secret, never in the camera list.
package cameraconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/edgewatch/edgewatch/functions/motion-source/motion"
	"github.com/edgewatch/edgewatch/functions/motion-source/region"
	"github.com/edgewatch/edgewatch/functions/motion-source/track"
	"sigs.k8s.io/yaml"
)

// Camera is one camera's configuration.
type Camera struct {
	// ID names the camera in events (source /cameras/<id>), logs and metric
	// labels; it matches the contract's CameraIDPattern.
	ID string `json:"id"`
	// URL is a file path (or file:// URL), rtsp(s)://, http(s):// (MJPEG),
	// /dev/videoN or v4l2:N. ${VAR} is replaced by the configuration value
	// VAR; after Load it holds the expanded URL.
	URL string `json:"url"`
	// Transport is the RTSP transport: tcp (default) or udp.
	Transport string `json:"transport,omitempty"`
	// Location is where the camera is, when known.
	Location *Location `json:"location,omitempty"`
	// FPS is the analysis frame rate [5].
	FPS float64 `json:"fps,omitempty"`
	// Loop restarts a video file when it ends [false: read it once].
	Loop bool `json:"loop,omitempty"`
	// Realtime paces a video file at its own frame rate [true when Loop].
	Realtime *bool `json:"realtime,omitempty"`
	// Cooldown is the least time between two emitted motion frames of this
	// camera while motion persists [0: bounded by FPS alone].
	Cooldown Duration `json:"cooldown,omitempty"`
	// Queue is the size of the camera's send queue [16].
	Queue int `json:"queue,omitempty"`
	// Masks are polygons to ignore, in normalised coordinates ([0,0] top
	// left, [1,1] bottom right).
	Masks []motion.Polygon `json:"masks,omitempty"`
	// Motion tunes the motion gate.
	Motion MotionConfig `json:"motion,omitempty"`
	// Region tunes the crops.
	Region RegionConfig `json:"region,omitempty"`
	// Track tunes the tracking of motion blobs.
	Track TrackConfig `json:"track,omitempty"`

	// Secrets are the values substituted for ${VAR} references, to be
	// hidden in logs.
	Secrets []string `json:"-"`
}

// Location is a position in decimal degrees.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// MotionConfig is the part of motion.Config a camera may set; zero values
// take motion's defaults.
type MotionConfig struct {
	// Height is the analysed frame's height in pixels [100].
	Height int `json:"height,omitempty"`
	// Threshold is the grey-level change that counts [30].
	Threshold float32 `json:"threshold,omitempty"`
	// MinArea is the smallest blob in small-frame pixels [10].
	MinArea float64 `json:"min_area,omitempty"`
	// Alpha is the background's learning rate [0.01].
	Alpha float64 `json:"alpha,omitempty"`
	// LightingChange is the changed fraction taken as a lighting change [0.8].
	LightingChange float64 `json:"lighting_change,omitempty"`
	// StillFor is how long a changed area must stay still before it is
	// learnt into the background (ghosts of people who left, parked cars)
	// [1.5s]; a negative value turns this off.
	StillFor Duration `json:"still_for,omitempty"`
}

// TrackConfig is the part of track.Config a camera may set.
type TrackConfig struct {
	// Refresh is how often a blob that keeps moving is sent again [1s];
	// "off" (or a negative value) turns tracking off and sends every
	// analysed frame with motion.
	Refresh Duration `json:"refresh,omitempty"`
}

// Tracking reports whether the camera tracks blobs (the default).
func (c Camera) Tracking() bool { return c.Track.Refresh >= 0 }

// Tracker returns the camera's tracker configuration.
func (c Camera) Tracker() track.Config {
	cfg := track.Config{Refresh: time.Duration(c.Track.Refresh)}
	// A track is lost after a refresh interval unseen, and never sooner than
	// two analysed frames.
	cfg.Lost = max(cfg.Refresh, time.Second, time.Duration(2*float64(time.Second)/c.fps()))
	return cfg
}

// fps returns the analysis frame rate.
func (c Camera) fps() float64 {
	if c.FPS > 0 {
		return c.FPS
	}
	return DefaultFPS
}

// DefaultFPS is the analysis frame rate of a camera that sets none.
const DefaultFPS = 5

// RegionConfig is the part of region.Config a camera may set; zero values
// take region's defaults.
type RegionConfig struct {
	// MinSize is the smallest region side [MODEL_INPUT_SIZE].
	MinSize int `json:"min_size,omitempty"`
	// MaxRegions caps the crops per frame; a frame that needs more sends
	// the whole frame [4].
	MaxRegions int `json:"max_regions,omitempty"`
	// FullFrameAbove is the fraction of the frame which, covered by the
	// crops, makes the frame sent whole instead [0.5].
	FullFrameAbove float64 `json:"full_frame_above,omitempty"`
	// Quality is the JPEG quality [80].
	Quality int `json:"quality,omitempty"`
}

// maxCalibration is the longest the motion gate calibrates, at any frame
// rate.
const maxCalibration = 3 * time.Second

// DefaultStillFor is how long a changed area stays still before it is learnt
// into the background, unless a camera says otherwise.
const DefaultStillFor = 1500 * time.Millisecond

// Gate returns the camera's motion gate configuration.
func (c Camera) Gate() motion.Config {
	still := time.Duration(c.Motion.StillFor)
	if still == 0 {
		still = DefaultStillFor
	}
	frames := -1
	if still > 0 {
		frames = max(2, int(math.Round(still.Seconds()*c.fps())))
	}
	return motion.Config{Height: c.Motion.Height, Threshold: c.Motion.Threshold, MinArea: c.Motion.MinArea,
		Alpha: c.Motion.Alpha, LightingChange: c.Motion.LightingChange, Masks: c.Masks, StillFrames: frames,
		CalibrationFrames: max(2, int(math.Round(maxCalibration.Seconds()*c.fps())))}
}

// Regions returns the camera's region configuration; minSize is the
// process-wide default (MODEL_INPUT_SIZE) used when the camera sets none.
func (c Camera) Regions(minSize int) region.Config {
	r := region.Config{MinSize: c.Region.MinSize, MaxRegions: c.Region.MaxRegions, Quality: c.Region.Quality,
		FullFrameAbove: c.Region.FullFrameAbove}
	if r.MinSize == 0 {
		r.MinSize = minSize
	}
	return r
}

// IsRealtime reports whether a file is paced at its own frame rate.
func (c Camera) IsRealtime() bool {
	if c.Realtime != nil {
		return *c.Realtime
	}
	return c.Loop
}

// Duration is a time.Duration written as "1.5s" or a number of seconds.
type Duration time.Duration

// UnmarshalJSON reads "1.5s", 1.5 or "off" (a negative duration: the
// feature is turned off).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s == "off" {
			*d = -1
			return nil
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("duration must be a string like \"2s\" or a number of seconds")
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string, "off" when negative.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d < 0 {
		return json.Marshal("off")
	}
	return json.Marshal(time.Duration(d).String())
}

var (
	idPattern  = regexp.MustCompile(contract.CameraIDPattern)
	refPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// Config keys read by Load.
const (
	KeyCamerasFile = "CAMERAS_FILE"
	KeyCameras     = "CAMERAS"
)

// Load reads the cameras from cfg: CAMERAS (inline YAML or JSON) when set,
// else the file named by CAMERAS_FILE.
func Load(cfg map[string]string) ([]Camera, error) {
	doc := cfg[KeyCameras]
	origin := KeyCameras
	if doc == "" {
		path := cfg[KeyCamerasFile]
		if path == "" {
			return nil, errors.New("cameraconfig: set CAMERAS (YAML/JSON) or CAMERAS_FILE (path)")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cameraconfig: %w", err)
		}
		doc, origin = string(b), path
	}
	cams, err := Parse([]byte(doc), cfg)
	if err != nil {
		return nil, fmt.Errorf("cameraconfig: %s: %w", origin, err)
	}
	return cams, nil
}

// Parse reads a camera list — either a list of cameras or an object with a
// "cameras" list — and expands ${VAR} in URLs from vars.
func Parse(doc []byte, vars map[string]string) ([]Camera, error) {
	raw, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var cams []Camera
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "[") {
		err = strictUnmarshal(raw, &cams)
	} else {
		var wrapped struct {
			Cameras []Camera `json:"cameras"`
		}
		err = strictUnmarshal(raw, &wrapped)
		cams = wrapped.Cameras
	}
	if err != nil {
		return nil, err
	}
	if len(cams) == 0 {
		return nil, errors.New("no cameras")
	}
	seen := map[string]bool{}
	for i := range cams {
		c := &cams[i]
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("camera %d (%q): %w", i, c.ID, err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("camera id %q appears twice", c.ID)
		}
		seen[c.ID] = true
		if err := c.expand(vars); err != nil {
			return nil, fmt.Errorf("camera %q: %w", c.ID, err)
		}
	}
	return cams, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (c *Camera) validate() error {
	if !idPattern.MatchString(c.ID) {
		return errors.New("id must match " + contract.CameraIDPattern)
	}
	if c.URL == "" {
		return errors.New("url is required")
	}
	if c.FPS < 0 || c.FPS > 60 {
		return errors.New("fps must be in (0, 60]")
	}
	if c.Transport != "" && c.Transport != "tcp" && c.Transport != "udp" {
		return errors.New("transport must be tcp or udp")
	}
	if c.Location != nil && (c.Location.Lat < -90 || c.Location.Lat > 90 || c.Location.Lon < -180 || c.Location.Lon > 180) {
		return errors.New("location must have lat in [-90, 90] and lon in [-180, 180]")
	}
	if c.Cooldown < 0 || c.Queue < 0 {
		return errors.New("cooldown and queue must be ≥ 0")
	}
	if r := time.Duration(c.Track.Refresh); r > 0 && r < 100*time.Millisecond {
		return errors.New("track.refresh must be at least 100ms, or off")
	}
	if err := c.Gate().Validate(); err != nil {
		return err
	}
	return c.Regions(0).Validate()
}

// expand replaces ${VAR} in the URL and remembers the values as secrets.
func (c *Camera) expand(vars map[string]string) error {
	var missing []string
	c.URL = refPattern.ReplaceAllStringFunc(c.URL, func(ref string) string {
		name := refPattern.FindStringSubmatch(ref)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		c.Secrets = append(c.Secrets, v)
		return v
	})
	if len(missing) > 0 {
		return fmt.Errorf("url refers to unset %s", strings.Join(missing, ", "))
	}
	return nil
}

// String describes the camera for logs, with no credentials.
func (c Camera) String() string {
	return c.ID + " (fps " + strconv.FormatFloat(c.FPS, 'f', -1, 64) + ")"
}
