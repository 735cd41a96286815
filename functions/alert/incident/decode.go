package incident

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"math"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
)

// ErrInvalid marks input that can never be processed: the caller should
// answer 4xx and store nothing.
var ErrInvalid = errors.New("invalid input")

// cameraID is the pattern of camera ids.
var cameraID = regexp.MustCompile(contract.CameraIDPattern)

// ValidCamera reports whether id is a well-formed camera id.
func ValidCamera(id string) bool { return cameraID.MatchString(id) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

type boxJSON struct {
	X *int `json:"x"`
	Y *int `json:"y"`
	W *int `json:"w"`
	H *int `json:"h"`
}

func (b *boxJSON) box(field string) (Box, error) {
	if b == nil || b.X == nil || b.Y == nil || b.W == nil || b.H == nil {
		return Box{}, invalid("%s needs x, y, w and h", field)
	}
	if *b.X < 0 || *b.Y < 0 || *b.W < 1 || *b.H < 1 {
		return Box{}, invalid("%s has a negative origin or an empty size", field)
	}
	return Box{X: *b.X, Y: *b.Y, W: *b.W, H: *b.H}, nil
}

type detectionJSON struct {
	Camera     string   `json:"camera"`
	Class      string   `json:"class"`
	Label      string   `json:"label"`
	Confidence *float64 `json:"confidence"`
	Box        *boxJSON `json:"box"`
	Frame      *struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"frame"`
	Image    *string `json:"image"`
	MotionID string  `json:"motion_id"`
	Location *struct {
		Lat *float64 `json:"lat"`
		Lon *float64 `json:"lon"`
	} `json:"location"`
	Model      string  `json:"model"`
	DetectedAt *string `json:"detected_at"`
	Objects    []struct {
		Label      string   `json:"label"`
		Confidence *float64 `json:"confidence"`
		Box        *boxJSON `json:"box"`
	} `json:"objects"`
}

// DecodeDetection checks and decodes the JSON data of a detection event with
// the given id, class (the class its type names) and time (its CloudEvent
// time attribute, zero when it has none), which stands for detected_at when
// the data leaves it out. Any error wraps ErrInvalid and says what is wrong.
func DecodeDetection(eventID, class string, eventTime time.Time, data []byte) (Detection, error) {
	if err := checkID("event id", eventID); err != nil {
		return Detection{}, err
	}
	var in detectionJSON
	if err := strictJSON(data, &in); err != nil {
		return Detection{}, err
	}
	if !ValidCamera(in.Camera) {
		return Detection{}, invalid("camera %s is not a camera id", quote(in.Camera))
	}
	if !ValidClass(in.Class) {
		return Detection{}, invalid("class %s is not one of accident, fire, gun, knife", quote(in.Class))
	}
	if in.Class != class {
		return Detection{}, invalid("data class %q does not match the event type's class %q", in.Class, class)
	}
	if err := checkText("label", in.Label, contract.MaxLabelLen, false); err != nil {
		return Detection{}, err
	}
	if err := checkText("model", in.Model, contract.MaxModelLen, false); err != nil {
		return Detection{}, err
	}
	if err := checkID("motion_id", in.MotionID); err != nil {
		return Detection{}, err
	}
	conf, err := checkScore("confidence", in.Confidence)
	if err != nil {
		return Detection{}, err
	}
	box, err := in.Box.box("box")
	if err != nil {
		return Detection{}, err
	}
	if in.Frame == nil || in.Frame.Width < 1 || in.Frame.Height < 1 || in.Frame.Width > contract.MaxFrameSide || in.Frame.Height > contract.MaxFrameSide {
		return Detection{}, invalid("frame needs a width and height from 1 to %d", contract.MaxFrameSide)
	}
	img, err := decodeJPEG(in.Image)
	if err != nil {
		return Detection{}, err
	}
	at := eventTime.UTC()
	switch {
	case in.DetectedAt != nil:
		if at, err = checkTime("detected_at", in.DetectedAt); err != nil {
			return Detection{}, err
		}
	case eventTime.IsZero():
		return Detection{}, invalid("detected_at is missing and the event has no time attribute to stand for it")
	}
	loc, err := checkLocation(in.Location)
	if err != nil {
		return Detection{}, err
	}
	if len(in.Objects) > contract.MaxObjects {
		return Detection{}, invalid("objects holds %d entries, more than %d", len(in.Objects), contract.MaxObjects)
	}
	for i, o := range in.Objects {
		if _, err := checkScore(fmt.Sprintf("objects[%d].confidence", i), o.Confidence); err != nil {
			return Detection{}, err
		}
		if _, err := o.Box.box(fmt.Sprintf("objects[%d].box", i)); err != nil {
			return Detection{}, err
		}
		if err := checkText(fmt.Sprintf("objects[%d].label", i), o.Label, contract.MaxLabelLen, false); err != nil {
			return Detection{}, err
		}
	}
	return Detection{
		EventID: eventID, Camera: in.Camera, Class: in.Class, Label: in.Label, Confidence: conf,
		Box: box, FrameWidth: in.Frame.Width, FrameHeight: in.Frame.Height, Image: img,
		MotionID: in.MotionID, Location: loc, Model: in.Model, DetectedAt: at, Objects: len(in.Objects),
	}, nil
}

type captionJSON struct {
	IncidentID  string  `json:"incident_id"`
	DetectionID string  `json:"detection_id"`
	Camera      string  `json:"camera"`
	Class       string  `json:"class"`
	Caption     string  `json:"caption"`
	Model       string  `json:"model"`
	CreatedAt   *string `json:"created_at"`
}

// DecodeCaption checks and decodes the JSON data of a caption event. Any
// error wraps ErrInvalid.
func DecodeCaption(eventID string, data []byte) (Caption, error) {
	if err := checkID("event id", eventID); err != nil {
		return Caption{}, err
	}
	var in captionJSON
	if err := strictJSON(data, &in); err != nil {
		return Caption{}, err
	}
	if err := checkID("incident_id", in.IncidentID); err != nil {
		return Caption{}, err
	}
	if in.DetectionID != "" {
		if err := checkID("detection_id", in.DetectionID); err != nil {
			return Caption{}, err
		}
	}
	if !ValidCamera(in.Camera) {
		return Caption{}, invalid("camera %s is not a camera id", quote(in.Camera))
	}
	if !ValidClass(in.Class) {
		return Caption{}, invalid("class %s is not one of accident, fire, gun, knife", quote(in.Class))
	}
	if err := checkText("caption", in.Caption, contract.MaxCaptionLen, true); err != nil {
		return Caption{}, err
	}
	if err := checkText("model", in.Model, contract.MaxModelLen, true); err != nil {
		return Caption{}, err
	}
	at, err := checkTime("created_at", in.CreatedAt)
	if err != nil {
		return Caption{}, err
	}
	return Caption{
		EventID: eventID, IncidentID: in.IncidentID, DetectionID: in.DetectionID, Camera: in.Camera,
		Class: in.Class, Caption: in.Caption, Model: in.Model, CreatedAt: at,
	}, nil
}

func strictJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return invalid("empty data")
	}
	if !utf8.Valid(data) {
		return invalid("data is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return invalid("data is not the expected JSON object: %v", err)
	}
	if dec.More() {
		return invalid("data holds more than one JSON value")
	}
	return nil
}

func checkID(field, s string) error {
	if s == "" {
		return invalid("%s is missing", field)
	}
	return checkText(field, s, contract.MaxIDLen, true)
}

func checkText(field, s string, max int, required bool) error {
	if required && s == "" {
		return invalid("%s is missing", field)
	}
	if len(s) > max {
		return invalid("%s is %d bytes long, more than %d", field, len(s), max)
	}
	if !utf8.ValidString(s) || bytes.ContainsRune([]byte(s), 0) {
		return invalid("%s is not clean UTF-8 text", field)
	}
	return nil
}

func checkScore(field string, v *float64) (float64, error) {
	if v == nil {
		return 0, invalid("%s is missing", field)
	}
	if math.IsNaN(*v) || *v < 0 || *v > 1 {
		return 0, invalid("%s %g is not between 0 and 1", field, *v)
	}
	return *v, nil
}

func checkTime(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, invalid("%s is missing", field)
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, invalid("%s %s is not an RFC 3339 time", field, quote(*s))
	}
	return t.UTC(), nil
}

func checkLocation(l *struct {
	Lat *float64 `json:"lat"`
	Lon *float64 `json:"lon"`
}) (*Location, error) {
	if l == nil {
		return nil, nil
	}
	if l.Lat == nil || l.Lon == nil {
		return nil, invalid("location needs lat and lon")
	}
	if *l.Lat < -90 || *l.Lat > 90 || *l.Lon < -180 || *l.Lon > 180 {
		return nil, invalid("location %g,%g is off the globe", *l.Lat, *l.Lon)
	}
	return &Location{Lat: *l.Lat, Lon: *l.Lon}, nil
}

func decodeJPEG(s *string) ([]byte, error) {
	if s == nil || len(*s) < 4 {
		return nil, invalid("image is missing")
	}
	if len(*s) > contract.MaxImageBase64Len {
		return nil, invalid("image is %d bytes of base64, more than %d", len(*s), contract.MaxImageBase64Len)
	}
	img, err := base64.StdEncoding.DecodeString(*s)
	if err != nil {
		return nil, invalid("image is not base64: %v", err)
	}
	if len(img) < 3 || img[0] != 0xFF || img[1] != 0xD8 || img[2] != 0xFF {
		return nil, invalid("image is not a JPEG")
	}
	if err := CheckJPEGHeader(img); err != nil {
		return nil, err
	}
	return img, nil
}

// CheckJPEGHeader reads only the header of a JPEG and refuses one whose
// header cannot be read or that claims more than contract.MaxImageSide pixels a side,
// so that nothing downstream (the map, a vision-language model) is handed an
// image that would take gigabytes to decode. It never decodes the pixels.
func CheckJPEGHeader(img []byte) error {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return invalid("image is not a readable JPEG: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > contract.MaxImageSide || cfg.Height > contract.MaxImageSide {
		return invalid("image is %dx%d pixels; at most %d a side is allowed", cfg.Width, cfg.Height, contract.MaxImageSide)
	}
	return nil
}

// quote shows a value in an error message without letting a huge or hostile
// value through whole.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}
