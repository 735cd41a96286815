// Package incidentevent reads the data of a dev.edgewatch.incident.opened event
// (schema internal/contract/schemas/incident.schema.json) and checks what the
// caption function relies on: the ids, the camera id, the class and a
// snapshot that really is a JPEG.
package incidentevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"regexp"
	"slices"
	"time"

	"github.com/edgewatch/edgewatch/functions/caption/internal/contract"
)

// Incident is the part of an incident's data the caption function uses.
type Incident struct {
	IncidentID  string    `json:"incident_id"`
	Camera      string    `json:"camera"`
	Class       string    `json:"class"`
	Status      string    `json:"status"`
	OpenedAt    time.Time `json:"opened_at"`
	Image       string    `json:"image"`
	DetectionID string    `json:"detection_id"`
}

// Snapshot is a decoded, checked JPEG snapshot.
type Snapshot struct {
	JPEG          []byte
	Width, Height int
}

// InputError says why an incident cannot be captioned. Sending it again will
// not help.
type InputError struct {
	Reason string
}

// Error returns the reason.
func (e *InputError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

var cameraID = regexp.MustCompile(contract.CameraIDPattern)

// Decode reads an incident from JSON and checks its ids, camera and class.
// Every error it returns is an *InputError.
func Decode(data []byte) (Incident, error) {
	var in Incident
	if len(bytes.TrimSpace(data)) == 0 {
		return in, invalid("incident data is empty")
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return in, invalid("incident data is not valid JSON for an incident: %v", err)
	}
	switch {
	case in.IncidentID == "" || len(in.IncidentID) > contract.MaxIDLen:
		return in, invalid("incident_id must be 1 to %d characters, got %d", contract.MaxIDLen, len(in.IncidentID))
	case !cameraID.MatchString(in.Camera):
		return in, invalid("camera %q is not a valid camera id", in.Camera)
	case !slices.Contains(contract.Classes(), in.Class):
		return in, invalid("class %q is not an incident class", in.Class)
	case len(in.DetectionID) > contract.MaxIDLen:
		return in, invalid("detection_id is longer than %d characters", contract.MaxIDLen)
	}
	return in, nil
}

// Snapshot decodes the incident's base64 image and checks that it is a JPEG
// whose header decodes. Every error it returns is an *InputError.
func (in Incident) Snapshot() (Snapshot, error) {
	switch {
	case in.Image == "":
		return Snapshot{}, invalid("incident %s has no image", in.IncidentID)
	case len(in.Image) > contract.MaxImageBase64Len:
		return Snapshot{}, invalid("image is %d base64 characters, more than the %d allowed", len(in.Image), contract.MaxImageBase64Len)
	}
	raw, err := base64.StdEncoding.DecodeString(in.Image)
	if err != nil {
		return Snapshot{}, invalid("image is not standard base64: %v", err)
	}
	if !bytes.HasPrefix(raw, []byte{0xFF, 0xD8, 0xFF}) {
		return Snapshot{}, invalid("image is not a JPEG (no FF D8 FF start of image)")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return Snapshot{}, invalid("image is not a readable JPEG: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return Snapshot{}, invalid("image has no pixels (%dx%d)", cfg.Width, cfg.Height)
	}
	// A larger image is refused before the VLM, or anything else, decodes it.
	if cfg.Width > contract.MaxImageSide || cfg.Height > contract.MaxImageSide {
		return Snapshot{}, invalid("image is %dx%d pixels; at most %d a side is allowed", cfg.Width, cfg.Height, contract.MaxImageSide)
	}
	return Snapshot{JPEG: raw, Width: cfg.Width, Height: cfg.Height}, nil
}
