package function

import "time"

// The part of edgewatch's event contract (docs/events.md) the caption
// function speaks; internal/contract's tests keep these in step with it.
const (
	// TypeIncidentOpened announces a new incident, once per incident.
	TypeIncidentOpened = "dev.edgewatch.incident.opened"
	// TypeCaptionCreated carries a description of the suspect of an incident.
	TypeCaptionCreated = "dev.edgewatch.caption.created"

	// ExtCamera is the camera id; every event carries it.
	ExtCamera = "camera"
	// ExtClass is the incident class on detection and incident events.
	ExtClass = "class"
	// ExtIncident is the incident id on incident and caption events.
	ExtIncident = "incident"

	// ContentTypeJSON is the content type of incident and caption data.
	ContentTypeJSON = "application/json"
)

// CameraSource returns the CloudEvent source of a camera-originated event.
func CameraSource(camera string) string { return "/cameras/" + camera }

// CaptionID returns the id of the caption event of an incident; it is the
// same on every delivery, so the caption's consumers can drop repeats.
func CaptionID(incidentID string) string { return "caption-" + incidentID }

// Caption is the data of a dev.edgewatch.caption.created event
// (internal/contract/schemas/caption.schema.json).
type Caption struct {
	IncidentID  string    `json:"incident_id"`
	DetectionID string    `json:"detection_id,omitempty"`
	Camera      string    `json:"camera"`
	Class       string    `json:"class"`
	Caption     string    `json:"caption"`
	Model       string    `json:"model"`
	CreatedAt   time.Time `json:"created_at"`
}

// Limits of events, copies of the contract's.
const (
	// MaxImageSide is the most pixels a side of a JPEG in an event may
	// claim in its header.
	MaxImageSide = 8192
	// MaxEventBytes is the largest request body read for one event.
	MaxEventBytes = 10 << 20
)
