package contract

import "time"

// Box is a rectangle in full-frame pixels.
type Box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Frame is the size of the full camera frame in pixels.
type Frame struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Object is one detected object of a detection event.
type Object struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
	Box        Box     `json:"box"`
}

// Detection is the data of a dev.edgewatch.detection.<class> event. The top
// level describes the most confident object of the class in the frame;
// Objects lists every object of the class.
type Detection struct {
	Camera     string    `json:"camera"`
	Class      string    `json:"class"`
	Label      string    `json:"label"`
	Confidence float64   `json:"confidence"`
	Box        Box       `json:"box"`
	Frame      Frame     `json:"frame"`
	Image      string    `json:"image"`
	MotionID   string    `json:"motion_id"`
	Location   *Location `json:"location,omitempty"`
	Model      string    `json:"model,omitempty"`
	// DetectedAt is when the object was detected; left out, the event's
	// time attribute stands for it.
	DetectedAt time.Time `json:"detected_at,omitzero"`
	Objects    []Object  `json:"objects,omitempty"`
}

// Incident is the data of a dev.edgewatch.incident.opened, .updated or
// .closed event.
type Incident struct {
	IncidentID  string     `json:"incident_id"`
	Camera      string     `json:"camera"`
	Class       string     `json:"class"`
	Status      string     `json:"status"`
	OpenedAt    time.Time  `json:"opened_at"`
	LastSeenAt  time.Time  `json:"last_seen_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	Confidence  float64    `json:"confidence"`
	Hits        int        `json:"hits"`
	Location    *Location  `json:"location,omitempty"`
	Image       string     `json:"image,omitempty"`
	DetectionID string     `json:"detection_id"`
}

// Caption is the data of a dev.edgewatch.caption.created event.
type Caption struct {
	IncidentID  string    `json:"incident_id"`
	DetectionID string    `json:"detection_id,omitempty"`
	Camera      string    `json:"camera"`
	Class       string    `json:"class"`
	Caption     string    `json:"caption"`
	Model       string    `json:"model"`
	CreatedAt   time.Time `json:"created_at"`
}
