// Package incident turns detections into incidents: it holds the domain
// types shared by the alert function's packages, checks incoming payloads,
// and decides when detections of one camera and class join an incident, when
// a candidate opens, and when an incident ends. It does no I/O.
package incident

import (
	"slices"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
)

// Status is the life-cycle state of an incident.
type Status string

// The states of an incident. A candidate collects detections until it opens
// or expires; only open and closed incidents are shown and announced.
const (
	// StatusCandidate collects detections that have not yet made an incident.
	StatusCandidate Status = "candidate"
	// StatusOpen is a real incident that is still going on.
	StatusOpen Status = "open"
	// StatusClosed is an incident that went quiet.
	StatusClosed Status = "closed"
	// StatusExpired is a candidate that never opened.
	StatusExpired Status = "expired"
)

// Active reports whether detections can still join an incident in state s.
func (s Status) Active() bool { return s == StatusCandidate || s == StatusOpen }

// ValidClass reports whether c is one of the contract's incident classes.
func ValidClass(c string) bool { return slices.Contains(contract.Classes(), c) }

// Box is a rectangle in full-frame pixels.
type Box struct {
	X, Y, W, H int
}

// Location is a WGS84 position.
type Location struct {
	Lat, Lon float64
}

// Detection is one detection event, checked and decoded.
type Detection struct {
	// EventID is the CloudEvent id; with Source it is the key that makes
	// storing idempotent, as CloudEvents identifies an event by both.
	EventID string
	// Source is the CloudEvent source.
	Source      string
	Camera      string
	Class       string
	Label       string
	Confidence  float64
	Box         Box
	FrameWidth  int
	FrameHeight int
	// Image is the decoded JPEG of the crop.
	Image      []byte
	MotionID   string
	Location   *Location
	Model      string
	DetectedAt time.Time
	// ReceivedAt is when alert received the detection, by its own clock.
	ReceivedAt time.Time
	// Objects is how many objects of the class the frame held.
	Objects int
}

// Incident is one incident (or candidate) of one camera and class.
type Incident struct {
	ID          string
	Camera      string
	Class       string
	Status      Status
	FirstSeenAt time.Time
	// LastSeenAt is the newest detection time of the incident, by the
	// camera's clock: the watermark of its camera and class.
	LastSeenAt time.Time
	// LastReceivedAt is when the newest-received detection of the incident
	// arrived, by alert's clock.
	LastReceivedAt time.Time
	OpenedAt       *time.Time
	ClosedAt       *time.Time
	MaxConfidence  float64
	Hits           int
	// Scores holds the confidences of the most recent detections, oldest
	// first, at most Policy.Window of them.
	Scores   []float64
	Location *Location
	// Snapshot is the JPEG of the most confident detection; it may be left
	// unloaded (nil) by queries that do not need it.
	Snapshot []byte
	// BestDetectionID is the event id of the most confident detection.
	BestDetectionID string
	// OpenedBy is the event id of the detection that opened the incident.
	OpenedBy     string
	Caption      string
	CaptionModel string
}

// Caption is a description of an incident's suspect, checked and decoded.
type Caption struct {
	EventID     string
	Source      string
	IncidentID  string
	DetectionID string
	Camera      string
	Class       string
	Caption     string
	Model       string
	CreatedAt   time.Time
}
