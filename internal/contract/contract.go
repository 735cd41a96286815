// Package contract is the single written definition of the CloudEvents that
// flow between edgewatch's functions: their exact types, their extension
// attributes and the JSON Schemas of their payloads.
//
// This package and its schemas are the only hand-written definition of the
// contract. Function modules cannot import it (each builds from the module
// proxy alone), so `go generate ./...` in the repository root copies it into
// each function's internal/contract package (cmd/contractgen); a test fails
// while a copy is stale.
package contract

// Event types. RabbitMQ Triggers match on exact attribute values only, so
// every class of event has one exact type.
const (
	// TypeMotionDetected is a region of motion cut from a camera frame.
	TypeMotionDetected = "dev.edgewatch.motion.detected"
	// TypeDetectionAccident is a detection of the accident class.
	TypeDetectionAccident = "dev.edgewatch.detection.accident"
	// TypeDetectionFire is a detection of the fire class.
	TypeDetectionFire = "dev.edgewatch.detection.fire"
	// TypeDetectionGun is a detection of the gun class.
	TypeDetectionGun = "dev.edgewatch.detection.gun"
	// TypeDetectionKnife is a detection of the knife class.
	TypeDetectionKnife = "dev.edgewatch.detection.knife"
	// TypeIncidentOpened announces a new incident, once per incident.
	TypeIncidentOpened = "dev.edgewatch.incident.opened"
	// TypeIncidentUpdated announces a change of an open incident (more
	// sightings, a better snapshot), at most one per alert's update
	// interval; its id is incident-<id>.updated.<n>.
	TypeIncidentUpdated = "dev.edgewatch.incident.updated"
	// TypeIncidentClosed announces the end of an incident, once per
	// incident; its id is incident-<id>.closed.
	TypeIncidentClosed = "dev.edgewatch.incident.closed"
	// TypeCaptionCreated carries a description of the suspect of an incident.
	TypeCaptionCreated = "dev.edgewatch.caption.created"
)

// ExternalTypes are published for consumers outside edgewatch, who add
// their own Triggers (docs/events.md, "Consuming an incident's lifecycle");
// no committed Trigger needs to take them.
func ExternalTypes() []string { return []string{TypeIncidentUpdated, TypeIncidentClosed} }

// DetectionTypePrefix is the common prefix of the four detection types.
const DetectionTypePrefix = "dev.edgewatch.detection."

// Classes returns the incident classes, in the order of the types above.
// Each class needs its TypeDetection* constant and its place in the
// schemas' class enums, in the same order.
func Classes() []string { return []string{"accident", "fire", "gun", "knife"} }

// DetectionType returns the exact event type for an incident class.
func DetectionType(class string) string { return DetectionTypePrefix + class }

// Extension attribute names. CloudEvents extension names are lower-case
// letters and digits only.
const (
	// ExtCamera is the camera id; every event carries it.
	ExtCamera = "camera"
	// ExtClass is the incident class on detection and incident events.
	ExtClass = "class"
	// ExtIncident is the incident id on incident and caption events.
	ExtIncident = "incident"
	// ExtRegionX, ExtRegionY, ExtRegionW and ExtRegionH give the frame
	// pixels a motion event's image stands for (integers): the region's box,
	// or for a whole frame letterboxed into a square, the square of the
	// frame's longer side at (0, 0), partly past the frame's edge. An image
	// pixel (x, y) is frame pixel (regionx + x·regionw/width,
	// regiony + y·regionh/height).
	ExtRegionX = "regionx"
	ExtRegionY = "regiony"
	ExtRegionW = "regionw"
	ExtRegionH = "regionh"
	// ExtFrameWidth and ExtFrameHeight give the full frame's size in pixels.
	ExtFrameWidth  = "framewidth"
	ExtFrameHeight = "frameheight"
	// ExtLat and ExtLon give the camera's location as decimal strings, when
	// the camera has one.
	ExtLat = "lat"
	ExtLon = "lon"
	// ExtTrack is the id of the motion track that made a motion event's
	// image due, and ExtTracks the comma-separated ids of every track the
	// image shows (at most 32). detect carries both onto its detections.
	ExtTrack  = "track"
	ExtTracks = "tracks"
	// ExtErrorDest, ExtErrorCode and ExtErrorData are added by the broker to
	// a dead-lettered event (same names as Knative's).
	ExtErrorDest = "knativeerrordest"
	ExtErrorCode = "knativeerrorcode"
	ExtErrorData = "knativeerrordata"
)

// CameraSource returns the CloudEvent source of a camera-originated event.
func CameraSource(camera string) string { return "/cameras/" + camera }

// The dashboard's read model, owned by alert's migrations (docs/alert.md,
// "Read model"): the dashboard reads this view and nothing else of alert's
// schema, and LISTENs on IncidentChannel for changes to it.
const ReadModelView = "dashboard_incidents"

// IncidentChannel returns the PostgreSQL NOTIFY channel on which alert's
// schema announces every change to a row of the read model; the payload is
// the incident id.
func IncidentChannel(schema string) string { return "edgewatch." + schema + ".incidents" }

// Content types.
const (
	ContentTypeJPEG = "image/jpeg"
	ContentTypeJSON = "application/json"
)

// Limits that the JSON Schemas cannot state.
const (
	// MaxImageSide is the most pixels a side of any JPEG that an event
	// carries (a detection's crop, an incident's snapshot) may claim in its
	// header; larger images are refused before anything decodes them.
	MaxImageSide = 8192
	// MaxEventBytes is the largest request body alert and caption read for
	// one event: the schemas' largest payload (8 MiB of base64 image, 1000
	// objects of escaped labels and the other fields) with room to spare.
	// A larger body is refused with 413 before it is read whole.
	MaxEventBytes = 10 << 20
)
