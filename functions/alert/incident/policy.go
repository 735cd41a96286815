package incident

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Policy decides how detections make incidents, in the manner of Frigate's
// tracked objects: detections of one camera and class that follow each other
// within Gap build one candidate; the candidate opens once it has MinHits
// detections or the median of its last Window scores reaches OpenScore; an
// open incident takes every detection until it has been quiet for Quiet, and
// then closes.
type Policy struct {
	// Gap is the longest pause between two detections of one candidate.
	Gap time.Duration
	// Quiet is how long an open incident lasts without a detection.
	Quiet time.Duration
	// MinHits is the number of detections that opens a candidate.
	MinHits int
	// OpenScore is the median score that opens a candidate at once.
	OpenScore float64
	// Window is how many recent scores the median is taken over.
	Window int
	// Horizon is how late, by alert's clock, a detection may still arrive
	// after it was made: the broker's retry horizon. An incident whose
	// camera stops sending ends only once Gap or Quiet plus Horizon have
	// passed since its newest detection was received (see Abandoned).
	Horizon time.Duration
}

// DefaultPolicy returns the policy used when nothing is configured.
func DefaultPolicy() Policy {
	return Policy{Gap: 10 * time.Second, Quiet: 60 * time.Second, MinHits: 3, OpenScore: 0.8, Window: 10,
		Horizon: DefaultHorizon}
}

// DefaultHorizon is the delivery horizon of the shipped Triggers: retry 10
// with exponential backoff from 0.2 s waits 0.4 s + 0.8 s + ... + 204.8 s =
// 409 s, and 11 attempts of at most 10 s each add 110 s; 519 s in all,
// rounded up to 10 minutes.
const DefaultHorizon = 10 * time.Minute

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	var errs []error
	if p.Gap <= 0 {
		errs = append(errs, fmt.Errorf("gap %s must be positive", p.Gap))
	}
	if p.Quiet <= 0 {
		errs = append(errs, fmt.Errorf("quiet period %s must be positive", p.Quiet))
	}
	if p.MinHits < 1 {
		errs = append(errs, fmt.Errorf("min hits %d must be at least 1", p.MinHits))
	}
	if p.OpenScore <= 0 {
		errs = append(errs, fmt.Errorf("open score %g must be positive (above 1 turns it off)", p.OpenScore))
	}
	if p.Window < 1 {
		errs = append(errs, fmt.Errorf("score window %d must be at least 1", p.Window))
	}
	if p.Horizon < 0 {
		errs = append(errs, fmt.Errorf("delivery horizon %s must not be negative", p.Horizon))
	}
	return errors.Join(errs...)
}

// Ended reports whether the active incident a is over by t, a detection time
// of its camera (event time, never alert's clock), and the state it ends in:
// a candidate expires after Gap without a detection, an open incident closes
// after Quiet. The end time is when the silence ran out.
func (p Policy) Ended(a *Incident, t time.Time) (Status, time.Time, bool) {
	status, span, ok := p.span(a)
	if end := a.LastSeenAt.Add(span); ok && t.After(end) {
		return status, end, true
	}
	return a.Status, time.Time{}, false
}

// Abandoned reports whether the active incident a is over by now, alert's
// own clock, because its camera has sent nothing more: Gap or Quiet plus
// Horizon have passed since its newest detection was received, so no
// detection that could still extend it can be on its way. The end time is
// still the event time when the silence ran out.
func (p Policy) Abandoned(a *Incident, now time.Time) (Status, time.Time, bool) {
	status, span, ok := p.span(a)
	if ok && now.After(a.LastReceivedAt.Add(span+p.Horizon)) {
		return status, a.LastSeenAt.Add(span), true
	}
	return a.Status, time.Time{}, false
}

// span returns the state an active incident ends in and the silence that
// ends it.
func (p Policy) span(a *Incident) (Status, time.Duration, bool) {
	switch a.Status {
	case StatusCandidate:
		return StatusExpired, p.Gap, true
	case StatusOpen:
		return StatusClosed, p.Quiet, true
	}
	return a.Status, 0, false
}

// Start returns a new candidate for detection d, not yet folded in.
func (p Policy) Start(d Detection) Incident {
	return Incident{
		Camera: d.Camera, Class: d.Class, Status: StatusCandidate,
		FirstSeenAt: d.DetectedAt, LastSeenAt: d.DetectedAt, LastReceivedAt: d.ReceivedAt,
	}
}

// Fold adds detection d to the active incident a. It reports whether d became
// the incident's best detection (so its image is the new snapshot) and whether
// d opened the incident.
func (p Policy) Fold(a *Incident, d Detection) (best, opened bool) {
	a.Hits++
	if d.DetectedAt.After(a.LastSeenAt) {
		a.LastSeenAt = d.DetectedAt
	}
	if d.DetectedAt.Before(a.FirstSeenAt) {
		a.FirstSeenAt = d.DetectedAt
	}
	if d.ReceivedAt.After(a.LastReceivedAt) {
		a.LastReceivedAt = d.ReceivedAt
	}
	a.Scores = append(a.Scores, d.Confidence)
	if over := len(a.Scores) - p.Window; over > 0 {
		a.Scores = slices.Clone(a.Scores[over:])
	}
	if d.Location != nil {
		loc := *d.Location
		a.Location = &loc
	}
	if a.BestDetectionID == "" || d.Confidence > a.MaxConfidence {
		a.MaxConfidence = d.Confidence
		a.BestDetectionID = d.EventID
		a.Snapshot = d.Image
		best = true
	}
	if a.Status == StatusCandidate && (a.Hits >= p.MinHits || Median(a.Scores) >= p.OpenScore) {
		a.Status = StatusOpen
		at := d.DetectedAt
		a.OpenedAt = &at
		a.OpenedBy = d.EventID
		opened = true
	}
	return best, opened
}

// Median returns the median of scores, 0 when there are none.
func Median(scores []float64) float64 {
	n := len(scores)
	if n == 0 {
		return 0
	}
	s := slices.Clone(scores)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
