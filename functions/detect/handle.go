package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// cameraID is the contract's pattern for camera ids.
var cameraID = regexp.MustCompile(contract.CameraIDPattern)

// refusal is an error with the HTTP status Handle answers with.
func refuse(status int, format string, args ...any) error {
	return cehttp.NewResult(status, "detect: "+format, args...)
}

// motion is what detect needs from a motion event.
type motion struct {
	id, camera, source string
	// origin is the crop's top-left corner in the full frame; scale maps
	// crop pixels to frame pixels (the region may have been downscaled).
	origin         image.Point
	scaleX, scaleY float64
	frame          image.Point
	location       *contract.Location
	// track and tracks are the motion tracks the image shows, carried onto
	// the detections; empty when the source does not track.
	track, tracks string
}

// handle validates, detects, builds and delivers. Bad input answers 400,
// failures the broker should retry answer 5xx.
func (s *service) handle(ctx context.Context, e event.Event) (*event.Event, error) {
	data, reason, err := s.checkEvent(e)
	if err != nil {
		s.m.errors.WithLabelValues(reason).Inc()
		s.log.Warn("motion event refused", "id", e.ID(), "reason", reason, "err", err)
		return nil, err
	}
	img, reason, err := s.decode(data)
	if err != nil {
		s.m.errors.WithLabelValues(reason).Inc()
		s.log.Warn("motion event refused", "id", e.ID(), "reason", reason, "err", err)
		return nil, err
	}
	defer img.Close()
	mo, err := readMotion(e, image.Pt(img.Cols(), img.Rows()))
	if err != nil {
		s.m.errors.WithLabelValues(reasonBadExtension).Inc()
		s.log.Warn("motion event refused", "id", e.ID(), "reason", reasonBadExtension, "err", err)
		return nil, err
	}
	dets, err := s.batcher.Do(ctx, img)
	if err != nil {
		s.m.errors.WithLabelValues(reasonInference).Inc()
		s.log.Error("inference failed", "id", e.ID(), "err", err)
		return nil, refuse(http.StatusServiceUnavailable, "inference: %v", err)
	}
	events, err := s.build(mo, img, dets)
	if err != nil {
		s.m.errors.WithLabelValues(reasonEncode).Inc()
		s.log.Error("building detection events failed", "id", e.ID(), "err", err)
		return nil, refuse(http.StatusInternalServerError, "build detection events: %v", err)
	}
	if len(events) == 0 {
		return nil, nil
	}
	return s.deliver(ctx, e.ID(), events)
}

// checkEvent returns the JPEG bytes of a valid motion event.
func (s *service) checkEvent(e event.Event) ([]byte, string, error) {
	if e.Type() != contract.TypeMotionDetected {
		return nil, reasonWrongType, refuse(http.StatusBadRequest, "event type %q: want %s", e.Type(), contract.TypeMotionDetected)
	}
	mt, _, err := mime.ParseMediaType(e.DataContentType())
	if err != nil || mt != contract.ContentTypeJPEG {
		return nil, reasonContentType, refuse(http.StatusBadRequest, "content type %q: want %s (binary mode)", e.DataContentType(), contract.ContentTypeJPEG)
	}
	data := e.Data()
	if len(data) == 0 {
		return nil, reasonEmpty, refuse(http.StatusBadRequest, "empty image")
	}
	if len(data) > s.cfg.MaxImageBytes {
		return nil, reasonTooLarge, refuse(http.StatusBadRequest, "image of %d bytes exceeds MAX_IMAGE_BYTES=%d", len(data), s.cfg.MaxImageBytes)
	}
	return data, "", nil
}

// MaxImageSide is the longest side, in pixels, of an image detect decodes;
// the header is checked before any pixel is.
const MaxImageSide = 8192

// envelopeBytes is the room a request body gets beyond its image: a
// structured-mode event carries the image in base64 inside JSON.
const envelopeBytes = 64 << 10

// MaxRequestBytes is the longest request body detect reads when its images
// may take maxImageBytes (MAX_IMAGE_BYTES): the image in base64 plus the
// JSON around it, which also covers the image in binary mode.
func MaxRequestBytes(maxImageBytes int) int64 {
	return (int64(maxImageBytes)+2)/3*4 + envelopeBytes
}

// MaxRequestBytesFromEnv is MaxRequestBytes for MAX_IMAGE_BYTES as getenv
// reads it (default 8 MiB, as Config has it).
func MaxRequestBytesFromEnv(getenv func(string) string) (int64, error) {
	n := 8 << 20
	if v := getenv("MAX_IMAGE_BYTES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1<<30 {
			return 0, fmt.Errorf("MAX_IMAGE_BYTES=%q: want an integer from 1 to %d", v, 1<<30)
		}
	}
	return MaxRequestBytes(n), nil
}

// LimitRequests wraps detect's HTTP host so that no request body longer
// than max bytes is buffered: a body whose Content-Length says so is
// refused with 413 and the reason before a byte of it is read, and a body
// that turns out longer while it is read is refused at max+1 bytes, before
// the CloudEvents SDK decodes anything.
func LimitRequests(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r) // health checks carry no body
			return
		}
		if r.ContentLength > max {
			http.Error(w, fmt.Sprintf("detect: request body of %d bytes exceeds the limit of %d bytes (MAX_IMAGE_BYTES in base64 plus the event around it)", r.ContentLength, max), http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, fmt.Sprintf("detect: request body exceeds the limit of %d bytes (MAX_IMAGE_BYTES in base64 plus the event around it)", max), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "detect: reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// maxJPEGTrailer is how many bytes may follow a JPEG's end-of-image marker
// (some encoders pad).
const maxJPEGTrailer = 64

// decode checks the JPEG header (size limits before any pixel is decoded)
// and decodes it to BGR.
func (s *service) decode(data []byte) (gocv.Mat, string, error) {
	hdr, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return gocv.Mat{}, reasonCorrupt, refuse(http.StatusBadRequest, "not a JPEG image: %v", err)
	}
	if hdr.Width > MaxImageSide || hdr.Height > MaxImageSide {
		return gocv.Mat{}, reasonTooLarge, refuse(http.StatusBadRequest, "image of %d×%d pixels: a side exceeds %d pixels", hdr.Width, hdr.Height, MaxImageSide)
	}
	if px := hdr.Width * hdr.Height; px > s.cfg.MaxImagePixels || hdr.Width <= 0 || hdr.Height <= 0 {
		return gocv.Mat{}, reasonTooLarge, refuse(http.StatusBadRequest, "image of %d×%d pixels exceeds MAX_IMAGE_PIXELS=%d", hdr.Width, hdr.Height, s.cfg.MaxImagePixels)
	}
	// libjpeg decodes a truncated file with a warning and grey fill: demand
	// the end-of-image marker (only a little padding may follow it).
	if eoi := bytes.LastIndex(data, []byte{0xFF, 0xD9}); eoi < 0 || len(data)-eoi > 2+maxJPEGTrailer {
		return gocv.Mat{}, reasonCorrupt, refuse(http.StatusBadRequest, "truncated JPEG image (no end-of-image marker)")
	}
	img, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil || img.Empty() {
		img.Close()
		return gocv.Mat{}, reasonCorrupt, refuse(http.StatusBadRequest, "corrupt JPEG image")
	}
	if img.Cols() != hdr.Width || img.Rows() != hdr.Height {
		img.Close()
		return gocv.Mat{}, reasonCorrupt, refuse(http.StatusBadRequest, "JPEG decoded to %d×%d, header says %d×%d", img.Cols(), img.Rows(), hdr.Width, hdr.Height)
	}
	return img, "", nil
}

// readMotion reads the camera, region, frame and location of a motion event.
func readMotion(e event.Event, size image.Point) (motion, error) {
	ext := e.Extensions()
	mo := motion{id: e.ID(), source: e.Source(), scaleX: 1, scaleY: 1}
	mo.camera, _ = types.ToString(ext[contract.ExtCamera])
	if mo.camera == "" {
		mo.camera = strings.TrimPrefix(e.Source(), "/cameras/")
	}
	if !cameraID.MatchString(mo.camera) {
		return mo, refuse(http.StatusBadRequest, "camera %q (extension %s or source /cameras/<id>) is not a valid camera id", mo.camera, contract.ExtCamera)
	}
	if len(mo.id) > 200 {
		return mo, refuse(http.StatusBadRequest, "event id longer than 200 characters")
	}
	ints := map[string]int{}
	for _, k := range []string{contract.ExtRegionX, contract.ExtRegionY, contract.ExtRegionW, contract.ExtRegionH, contract.ExtFrameWidth, contract.ExtFrameHeight} {
		v, ok := ext[k]
		if !ok {
			continue
		}
		n, err := types.ToInteger(v)
		if err != nil || n < 0 || n > 1<<20 {
			return mo, refuse(http.StatusBadRequest, "extension %s=%v is not a non-negative integer", k, v)
		}
		ints[k] = int(n)
	}
	mo.origin = image.Pt(ints[contract.ExtRegionX], ints[contract.ExtRegionY])
	if w := ints[contract.ExtRegionW]; w > 0 {
		mo.scaleX = float64(w) / float64(size.X)
	}
	if h := ints[contract.ExtRegionH]; h > 0 {
		mo.scaleY = float64(h) / float64(size.Y)
	}
	mo.frame = image.Pt(ints[contract.ExtFrameWidth], ints[contract.ExtFrameHeight])
	if mo.frame.X == 0 || mo.frame.Y == 0 {
		mo.frame = mo.origin.Add(image.Pt(int(math.Round(float64(size.X)*mo.scaleX)), int(math.Round(float64(size.Y)*mo.scaleY))))
	}
	if mo.frame.X > contract.MaxFrameSide || mo.frame.Y > contract.MaxFrameSide {
		return mo, refuse(http.StatusBadRequest, "frame %d×%d larger than %d pixels", mo.frame.X, mo.frame.Y, contract.MaxFrameSide)
	}
	if err := readTracks(ext, &mo); err != nil {
		return mo, err
	}
	lat, latOK := ext[contract.ExtLat]
	lon, lonOK := ext[contract.ExtLon]
	if latOK && lonOK {
		la, err1 := parseDegrees(lat, 90)
		lo, err2 := parseDegrees(lon, 180)
		if err := errors.Join(err1, err2); err != nil {
			return mo, refuse(http.StatusBadRequest, "location: %v", err)
		}
		mo.location = &contract.Location{Lat: la, Lon: lo}
	}
	return mo, nil
}

// readTracks reads the track extensions: decimal ids, comma-separated in
// tracks, bounded in length.
func readTracks(ext map[string]any, mo *motion) error {
	for _, f := range []struct {
		name string
		dst  *string
		list bool
	}{{contract.ExtTrack, &mo.track, false}, {contract.ExtTracks, &mo.tracks, true}} {
		v, ok := ext[f.name]
		if !ok {
			continue
		}
		s, err := types.ToString(v)
		if err != nil || !trackIDs(s, f.list) {
			return refuse(http.StatusBadRequest, "extension %s=%v: want decimal track ids%s", f.name, v,
				map[bool]string{true: ", comma-separated, at most 32", false: ""}[f.list])
		}
		*f.dst = s
	}
	return nil
}

// trackIDs reports whether s is one decimal id, or with list a
// comma-separated list of at most 32.
func trackIDs(s string, list bool) bool {
	ids := []string{s}
	if list {
		ids = strings.Split(s, ",")
	}
	if len(ids) > 32 {
		return false
	}
	for _, id := range ids {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return false
		}
	}
	return true
}

func parseDegrees(v any, limit float64) (float64, error) {
	s, err := types.ToString(v)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > limit {
		return 0, fmt.Errorf("%q is not a decimal degree within ±%g", s, limit)
	}
	return f, nil
}

// toFrame maps a box in crop pixels to full-frame pixels, clipped to the frame.
func (mo motion) toFrame(r image.Rectangle) contract.Box {
	x0 := mo.origin.X + int(math.Round(float64(r.Min.X)*mo.scaleX))
	y0 := mo.origin.Y + int(math.Round(float64(r.Min.Y)*mo.scaleY))
	x1 := mo.origin.X + int(math.Round(float64(r.Max.X)*mo.scaleX))
	y1 := mo.origin.Y + int(math.Round(float64(r.Max.Y)*mo.scaleY))
	b := image.Rect(x0, y0, x1, y1).Intersect(image.Rect(0, 0, mo.frame.X, mo.frame.Y))
	if b.Empty() { // a region outside its declared frame: keep the box, at least 1 px
		b = image.Rect(max(x0, 0), max(y0, 0), max(x1, x0+1, 1), max(y1, y0+1, 1))
	}
	return contract.Box{X: b.Min.X, Y: b.Min.Y, W: b.Dx(), H: b.Dy()}
}

// build turns one image's detections into one event per incident class.
func (s *service) build(mo motion, img gocv.Mat, dets []yolo.Detection) ([]event.Event, error) {
	byClass := map[string][]yolo.Detection{}
	for _, d := range dets {
		if class := s.classes[d.Class]; class != "" {
			byClass[class] = append(byClass[class], d)
		}
	}
	classes := make([]string, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	now := s.now().UTC()
	var events []event.Event
	for _, class := range classes {
		ds := byClass[class] // already most confident first
		crop, err := s.cropJPEG(img, ds[0].Box)
		if err != nil {
			return nil, err
		}
		data := contract.Detection{
			Camera: mo.camera, Class: class, Label: ds[0].Label, Confidence: round4(ds[0].Confidence),
			Box: mo.toFrame(ds[0].Box), Frame: contract.Frame{Width: mo.frame.X, Height: mo.frame.Y},
			Image: crop, MotionID: mo.id, Location: mo.location, Model: s.cfg.ModelName, DetectedAt: now,
		}
		for _, d := range ds {
			data.Objects = append(data.Objects, contract.Object{Label: d.Label, Confidence: round4(d.Confidence), Box: mo.toFrame(d.Box)})
		}
		ev := cloudevents.NewEvent()
		ev.SetID(mo.id + "." + class)
		ev.SetType(contract.DetectionType(class))
		ev.SetSource(contract.CameraSource(mo.camera))
		ev.SetSubject(mo.id)
		ev.SetTime(now)
		ev.SetExtension(contract.ExtCamera, mo.camera)
		ev.SetExtension(contract.ExtClass, class)
		if mo.track != "" {
			ev.SetExtension(contract.ExtTrack, mo.track)
		}
		if mo.tracks != "" {
			ev.SetExtension(contract.ExtTracks, mo.tracks)
		}
		if err := ev.SetData(contract.ContentTypeJSON, data); err != nil {
			return nil, err
		}
		events = append(events, ev)
		s.m.detections.WithLabelValues(class).Add(float64(len(ds)))
	}
	return events, nil
}

func round4(f float32) float64 { return math.Round(float64(f)*1e4) / 1e4 }

// cropJPEG encodes the object's crop as base64 JPEG.
func (s *service) cropJPEG(img gocv.Mat, box image.Rectangle) (string, error) {
	box = box.Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if box.Empty() {
		return "", fmt.Errorf("object box %v outside the %d×%d image", box, img.Cols(), img.Rows())
	}
	region := img.Region(box)
	defer region.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, region, []int{gocv.IMWriteJpegQuality, s.cfg.CropQuality})
	if err != nil {
		return "", fmt.Errorf("encode crop: %w", err)
	}
	defer buf.Close()
	return base64.StdEncoding.EncodeToString(buf.GetBytes()), nil
}

// deliver sends every event to K_SINK before returning, or replies with the
// single event when there is no sink.
func (s *service) deliver(ctx context.Context, motionID string, events []event.Event) (*event.Event, error) {
	if s.client == nil {
		if len(events) == 1 {
			s.m.events.WithLabelValues(viaReply).Inc()
			return &events[0], nil
		}
		s.m.errors.WithLabelValues(reasonNoSink).Inc()
		s.log.Error("several detection events and no K_SINK to send them to", "id", motionID, "events", len(events))
		return nil, refuse(http.StatusInternalServerError, "%d detection events for %s but K_SINK is not set: a reply carries one event only", len(events), motionID)
	}
	for i := range events {
		sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
		if s.cfg.SendRetries > 0 {
			sctx = cloudevents.ContextWithRetriesExponentialBackoff(sctx, s.cfg.SendBackoff, s.cfg.SendRetries)
		}
		res := s.client.Send(sctx, events[i])
		cancel()
		if !cloudevents.IsACK(res) {
			s.m.errors.WithLabelValues(reasonDelivery).Inc()
			s.log.Error("detection event not delivered; the motion event will be retried", "id", events[i].ID(), "sink", redactURL(s.cfg.Sink), "err", res)
			return nil, refuse(http.StatusBadGateway, "deliver %s to K_SINK: %v", events[i].ID(), res)
		}
		s.m.events.WithLabelValues(viaSink).Inc()
	}
	return nil, nil
}

// redactURL returns u with any password replaced, for logs: a sink URL may
// carry the credential the sender presents to the broker.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
