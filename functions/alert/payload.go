package function

import "time"

// location is a WGS84 position in an event payload.
type location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// incidentData is the data of a dev.edgewatch.incident.opened event, a copy
// of the contract's Incident payload.
type incidentData struct {
	IncidentID  string     `json:"incident_id"`
	Camera      string     `json:"camera"`
	Class       string     `json:"class"`
	Status      string     `json:"status"`
	OpenedAt    time.Time  `json:"opened_at"`
	LastSeenAt  time.Time  `json:"last_seen_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	Confidence  float64    `json:"confidence"`
	Hits        int        `json:"hits"`
	Location    *location  `json:"location,omitempty"`
	Image       string     `json:"image,omitempty"`
	DetectionID string     `json:"detection_id"`
}
