// Package emit sends motion events to the sink (K_SINK) as binary-mode
// CloudEvents with the JPEG image as body, through a bounded per-camera queue
// that drops the oldest event when the sink falls behind a live camera, and
// makes a file wait for the sink instead.
package emit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net/http"
	"net/url"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/google/uuid"
)

// Config configures the Client. Zero fields take the defaults in brackets.
type Config struct {
	// Sink is the URL events are POSTed to (K_SINK).
	Sink string
	// Overrides is the raw K_CE_OVERRIDES JSON, {"extensions":{"k":"v"}}.
	Overrides string
	// CACerts is PEM (K_CA_CERTS) trusted in addition to the system roots.
	CACerts string
	// Retries is how many times a failed delivery is retried [5].
	Retries int
	// Backoff is the first wait between retries, doubled each time [200 ms].
	Backoff time.Duration
	// Timeout bounds one HTTP attempt [10 s].
	Timeout time.Duration
	// BackoffMax caps the wait between the queue's attempts at an event the
	// sink refused [2 s].
	BackoffMax time.Duration
	// BufferWindow is how much of a live camera's newest motion, by the
	// events' own times, the queue holds while the sink refuses [60 s].
	BufferWindow time.Duration
	// BufferBytes caps the JPEG bytes a camera's queue holds [16 MiB].
	BufferBytes int
}

// Defaults of the outage buffer (Config.BufferWindow, Config.BufferBytes,
// Config.BackoffMax).
const (
	DefaultBufferWindow = 60 * time.Second
	DefaultBufferBytes  = 16 << 20
	DefaultBackoffMax   = 2 * time.Second
)

// Motion is one region of motion to send.
type Motion struct {
	// ID is the event's id. The queue gives each event its id once, so that
	// a redelivery after a refusal is a duplicate of the same event, not a
	// new one; empty, Event makes one up.
	ID string
	// Camera is the camera id.
	Camera string
	// Time is the frame's time.
	Time time.Time
	// Region is the region's box in full-frame pixels.
	Region image.Rectangle
	// Frame is the full frame's size.
	Frame image.Point
	// Location is the camera's position, when it has one.
	Location *Location
	// Track is the id of the track that made the image due; Tracks are the
	// ids of every track the image shows (both empty when tracking is off).
	Track  uint64
	Tracks []uint64
	// Kind is "crop" (a region) or "frame" (the whole frame, letterboxed).
	Kind string
	// JPEG is the region's image.
	JPEG []byte
}

// Recorder is told of every event the sink acknowledged, with its id.
type Recorder interface {
	Sent(m Motion, id string)
}

// Location is a position in decimal degrees.
type Location struct {
	Lat, Lon float64
}

// Client delivers motion events to one sink.
type Client struct {
	ce        cloudevents.Client
	sink      string
	overrides map[string]string
	retries   int
	backoff   time.Duration
	buffer    bufferConfig
}

// bufferConfig bounds a queue while the sink refuses.
type bufferConfig struct {
	window     time.Duration
	bytes      int
	backoff    time.Duration
	backoffMax time.Duration
}

// NewClient validates cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Sink == "" {
		return nil, errors.New("emit: no sink (K_SINK)")
	}
	if cfg.Retries == 0 {
		cfg.Retries = 5
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.BufferWindow == 0 {
		cfg.BufferWindow = DefaultBufferWindow
	}
	if cfg.BufferBytes == 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.Backoff < 0 || cfg.BackoffMax < cfg.Backoff || cfg.BufferWindow < 0 || cfg.BufferBytes < 0 {
		return nil, errors.New("emit: the backoffs and buffer bounds must be positive, the first backoff at most the largest")
	}
	overrides, err := ParseOverrides(cfg.Overrides)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CACerts != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CACerts)) {
			return nil, errors.New("emit: K_CA_CERTS holds no PEM certificate")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	ce, err := cloudevents.NewClientHTTP(
		cehttp.WithTarget(cfg.Sink),
		cehttp.WithClient(http.Client{Transport: transport, Timeout: cfg.Timeout}),
		cehttp.WithIsRetriableFunc(retriable),
	)
	if err != nil {
		return nil, fmt.Errorf("emit: client: %w", err)
	}
	return &Client{ce: ce, sink: redactURL(cfg.Sink), overrides: overrides, retries: cfg.Retries, backoff: cfg.Backoff,
		buffer: bufferConfig{window: cfg.BufferWindow, bytes: cfg.BufferBytes, backoff: cfg.Backoff, backoffMax: cfg.BackoffMax}}, nil
}

// retriable says which sink answers are worth another try: the broker
// answers 5xx while RabbitMQ is away, 429 when overloaded, 404 while a
// Broker or Trigger is being created.
func retriable(code int) bool {
	switch code {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500
}

// ParseOverrides reads K_CE_OVERRIDES. Overrides may add extensions but not
// change those of the event contract.
func ParseOverrides(raw string) (map[string]string, error) {
	if raw == "" {
		return nil, nil
	}
	var o struct {
		Extensions map[string]string `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return nil, fmt.Errorf("emit: K_CE_OVERRIDES is not {\"extensions\":{...}}: %w", err)
	}
	for k := range o.Extensions {
		if reserved(k) {
			return nil, fmt.Errorf("emit: K_CE_OVERRIDES may not override the contract's %q extension", k)
		}
		if err := validExtensionName(k); err != nil {
			return nil, err
		}
	}
	return o.Extensions, nil
}

func validExtensionName(k string) error {
	if k == "" || len(k) > 20 {
		return fmt.Errorf("emit: extension name %q must be 1–20 characters", k)
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return fmt.Errorf("emit: extension name %q must be lower-case letters and digits", k)
		}
	}
	return nil
}

// Event builds the CloudEvent of a motion region.
func (c *Client) Event(m Motion) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	e.SetID(m.ID)
	e.SetType(contract.TypeMotionDetected)
	e.SetSource("/cameras/" + m.Camera)
	e.SetTime(m.Time.UTC())
	for k, v := range c.overrides {
		e.SetExtension(k, v)
	}
	e.SetExtension(contract.ExtCamera, m.Camera)
	e.SetExtension(contract.ExtRegionX, m.Region.Min.X)
	e.SetExtension(contract.ExtRegionY, m.Region.Min.Y)
	e.SetExtension(contract.ExtRegionW, m.Region.Dx())
	e.SetExtension(contract.ExtRegionH, m.Region.Dy())
	e.SetExtension(contract.ExtFrameWidth, m.Frame.X)
	e.SetExtension(contract.ExtFrameHeight, m.Frame.Y)
	if m.Track != 0 {
		e.SetExtension(contract.ExtTrack, strconv.FormatUint(m.Track, 10))
		e.SetExtension(contract.ExtTracks, joinIDs(m.Tracks))
	}
	if m.Location != nil {
		e.SetExtension(contract.ExtLat, strconv.FormatFloat(m.Location.Lat, 'f', -1, 64))
		e.SetExtension(contract.ExtLon, strconv.FormatFloat(m.Location.Lon, 'f', -1, 64))
	}
	if err := e.SetData(contract.ContentTypeJPEG, m.JPEG); err != nil {
		return e, err
	}
	return e, e.Validate()
}

// maxTracks bounds the ids listed in the tracks extension, so that an
// event's attributes stay small whatever the scene.
const maxTracks = 32

// joinIDs writes at most maxTracks ids, comma-separated.
func joinIDs(ids []uint64) string {
	b := make([]byte, 0, 20*min(len(ids), maxTracks))
	for i, id := range ids {
		if i == maxTracks {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}

// Send delivers one event, retrying with exponential backoff. It returns nil
// only when the sink acknowledged the event.
func (c *Client) Send(ctx context.Context, e cloudevents.Event) error {
	ctx = cloudevents.ContextWithRetriesExponentialBackoff(ctx, c.backoff, c.retries)
	res := c.ce.Send(ctx, e)
	if protocol.IsACK(res) {
		return nil
	}
	if protocol.IsUndelivered(res) {
		return fmt.Errorf("emit: undelivered to %s: %w", c.sink, res)
	}
	return fmt.Errorf("emit: rejected by %s: %w", c.sink, res)
}

// Attempt delivers e once. It returns nil when the sink acknowledged the
// event; otherwise the error, and whether the same event is worth sending
// again later: the sink could not be reached, or answered as a broker does
// while RabbitMQ is away or it is overloaded (see retriable).
func (c *Client) Attempt(ctx context.Context, e cloudevents.Event) (again bool, err error) {
	res := c.ce.Send(ctx, e)
	if protocol.IsACK(res) {
		return false, nil
	}
	var h *cehttp.Result
	if errors.As(res, &h) {
		return retriable(h.StatusCode), fmt.Errorf("emit: %s answered %d: %w", c.sink, h.StatusCode, res)
	}
	return true, fmt.Errorf("emit: undelivered to %s: %w", c.sink, res)
}

// redactURL hides a password in the sink URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable sink URL)"
	}
	return u.Redacted()
}
