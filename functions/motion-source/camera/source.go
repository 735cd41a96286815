// Package camera opens, reads and reopens one video stream (a video file, an
// RTSP or HTTP MJPEG URL, or a V4L2 device), decoding every frame but handing
// out only those to analyse, at the analysis frame rate, in one reused Mat.
package camera

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Kind is the kind of a camera source.
type Kind int

// The kinds of source.
const (
	KindFile   Kind = iota // a video file, read once or in a loop
	KindRTSP               // rtsp:// or rtsps://, through FFmpeg
	KindHTTP               // http:// or https:// (MJPEG), through FFmpeg
	KindDevice             // a V4L2 device: /dev/videoN or v4l2:N
)

// String names the kind.
func (k Kind) String() string {
	return [...]string{"file", "rtsp", "http", "device"}[k]
}

// Source says where a stream comes from.
type Source struct {
	// Kind is the kind of source.
	Kind Kind
	// Target is what is handed to OpenCV: a path, a URL (with credentials).
	Target string
	// Device is the V4L2 device index for KindDevice.
	Device int
}

// ParseSource classifies a camera URL.
func ParseSource(raw string) (Source, error) {
	if raw == "" {
		return Source{}, errors.New("camera: empty url")
	}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "rtsp://"), strings.HasPrefix(lower, "rtsps://"):
		return Source{Kind: KindRTSP, Target: raw}, nil
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return Source{Kind: KindHTTP, Target: raw}, nil
	case strings.HasPrefix(lower, "v4l2:"):
		n, err := strconv.Atoi(raw[len("v4l2:"):])
		if err != nil || n < 0 {
			return Source{}, fmt.Errorf("camera: bad device %q (want v4l2:N)", raw)
		}
		return Source{Kind: KindDevice, Target: raw, Device: n}, nil
	case strings.HasPrefix(raw, "/dev/video"):
		n, err := strconv.Atoi(raw[len("/dev/video"):])
		if err != nil || n < 0 {
			return Source{}, fmt.Errorf("camera: bad device %q (want /dev/videoN)", raw)
		}
		return Source{Kind: KindDevice, Target: raw, Device: n}, nil
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Source{}, fmt.Errorf("camera: bad file url: %w", err)
		}
		return Source{Kind: KindFile, Target: u.Path}, nil
	case strings.Contains(raw, "://"):
		return Source{}, fmt.Errorf("camera: unsupported scheme in %q", Redact(raw))
	}
	return Source{Kind: KindFile, Target: raw}, nil
}

// Live reports whether the source is a live stream (not a file).
func (s Source) Live() bool { return s.Kind != KindFile }

// Redact returns the URL with any password and any credential-like query
// values replaced by "xxxxx", fit for logs. Paths come back unchanged.
func Redact(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Unparsable: keep only the scheme.
		if i := strings.Index(raw, "://"); i >= 0 {
			return raw[:i+3] + "xxxxx"
		}
		return "xxxxx"
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch strings.ToLower(k) {
		case "password", "pass", "pwd", "passwd", "token", "key", "auth", "secret", "apikey", "api_key":
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
