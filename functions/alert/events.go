package function

// Event types, extension names and content types this function uses. They
// are a copy of the constants in the repository's internal/contract package,
// whose tests keep the two in step.
const (
	// TypeMotionDetected is a region of motion cut from a camera frame; alert
	// sees it only as a dead letter.
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
	// TypeIncidentUpdated announces a change of an open incident, at most
	// one per update interval.
	TypeIncidentUpdated = "dev.edgewatch.incident.updated"
	// TypeIncidentClosed announces the end of an incident, once per
	// incident.
	TypeIncidentClosed = "dev.edgewatch.incident.closed"
	// TypeCaptionCreated carries a description of the suspect of an incident.
	TypeCaptionCreated = "dev.edgewatch.caption.created"
	// DetectionTypePrefix is the common prefix of the four detection types.
	DetectionTypePrefix = "dev.edgewatch.detection."

	// ExtCamera is the camera id extension.
	ExtCamera = "camera"
	// ExtClass is the incident class extension.
	ExtClass = "class"
	// ExtIncident is the incident id extension.
	ExtIncident = "incident"
	// ExtErrorDest names the subscriber that failed on a dead-lettered event.
	ExtErrorDest = "knativeerrordest"
	// ExtErrorCode is the last status of a dead-lettered event's delivery.
	ExtErrorCode = "knativeerrorcode"
	// ExtErrorData is the failed reply of a dead-lettered event.
	ExtErrorData = "knativeerrordata"

	// ContentTypeJSON is the content type of every JSON event.
	ContentTypeJSON = "application/json"
)

// IncidentChannel returns the PostgreSQL NOTIFY channel on which alert's
// schema announces every change to a row of the dashboard's read model,
// with the incident id as payload.
func IncidentChannel(schema string) string { return "edgewatch." + schema + ".incidents" }

// ReadModelView is the view alert's migrations keep for the dashboard.
const ReadModelView = "dashboard_incidents"

// CameraSource returns the CloudEvent source of a camera-originated event.
func CameraSource(camera string) string { return "/cameras/" + camera }

// Limits of events, copies of the contract's.
const (
	// MaxImageSide is the most pixels a side of a JPEG in an event may
	// claim in its header.
	MaxImageSide = 8192
	// MaxEventBytes is the largest request body read for one event.
	MaxEventBytes = 10 << 20
)
