package savings

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Scenario describes a synthetic timeline: cameras whose motion follows a
// daily activity curve, each visit (a person or car crossing the view) a
// burst of events while it is tracked.
type Scenario struct {
	// Name labels the scenario in reports.
	Name string
	// Cameras is the number of cameras.
	Cameras int
	// Start and Duration bound the timeline.
	Start    time.Time
	Duration time.Duration
	// PeakVisitsPerHour is one camera's visit rate at the busiest hour; the
	// daily curve scales it down to NightShare of it at 03:00.
	PeakVisitsPerHour float64
	NightShare        float64
	// VisitEvents is the mean number of events per visit (at least one).
	VisitEvents float64
	// EventGap is the mean time between a visit's events.
	EventGap time.Duration
	// Seed makes the timeline reproducible.
	Seed uint64
}

// Busy is a street or gate camera: peaks of 30 visits an hour per camera at
// the rush hours, rarely a quiet minute by day.
func Busy(cameras int, start time.Time, d time.Duration, seed uint64) Scenario {
	return Scenario{Name: "busy", Cameras: cameras, Start: start, Duration: d,
		PeakVisitsPerHour: 30, NightShare: 0.05, VisitEvents: 6, EventGap: 2 * time.Second, Seed: seed}
}

// Quiet is a yard or back door: two visits an hour per camera at the peak,
// next to none at night.
func Quiet(cameras int, start time.Time, d time.Duration, seed uint64) Scenario {
	return Scenario{Name: "quiet", Cameras: cameras, Start: start, Duration: d,
		PeakVisitsPerHour: 2, NightShare: 0.02, VisitEvents: 4, EventGap: 2 * time.Second, Seed: seed}
}

// ScenarioByName returns Busy or Quiet.
func ScenarioByName(name string, cameras int, start time.Time, d time.Duration, seed uint64) (Scenario, error) {
	switch name {
	case "busy":
		return Busy(cameras, start, d, seed), nil
	case "quiet":
		return Quiet(cameras, start, d, seed), nil
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q (busy or quiet)", name)
}

// Validate reports the first impossible setting.
func (s Scenario) Validate() error {
	switch {
	case s.Cameras < 1:
		return fmt.Errorf("cameras %d: need at least one", s.Cameras)
	case s.Duration <= 0:
		return fmt.Errorf("duration %s: must be positive", s.Duration)
	case s.PeakVisitsPerHour <= 0:
		return fmt.Errorf("peak visits per hour %g: must be positive", s.PeakVisitsPerHour)
	case s.NightShare < 0 || s.NightShare > 1:
		return fmt.Errorf("night share %g: must be within 0..1", s.NightShare)
	case s.VisitEvents < 1:
		return fmt.Errorf("events per visit %g: need at least one", s.VisitEvents)
	case s.EventGap <= 0:
		return fmt.Errorf("event gap %s: must be positive", s.EventGap)
	}
	return nil
}

// Activity is the daily curve, 0..1 at the given time of day: a morning
// and an evening peak over a daytime plateau, lowest at 03:00.
func (s Scenario) Activity(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	bump := func(center, width float64) float64 {
		d := h - center
		return math.Exp(-d * d / (2 * width * width))
	}
	day := 0.5 * (1 - math.Cos(2*math.Pi*(h-3)/24)) // 0 at 03:00, 1 at 15:00
	curve := 0.55*day + 0.45*math.Max(bump(8.5, 1.2), bump(17.5, 1.5))
	return s.NightShare + (1-s.NightShare)*math.Min(curve, 1)
}

// Generate returns the scenario's events sorted by time.
func Generate(s Scenario) ([]Event, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x65646765))
	var events []Event
	peak := s.PeakVisitsPerHour / 3600 // visits per second at activity 1
	end := s.Start.Add(s.Duration)
	for c := range s.Cameras {
		camera := fmt.Sprintf("cam-%02d", c+1)
		// Visits arrive as a Poisson process whose rate follows the daily
		// curve, drawn by thinning one at the peak rate.
		t := s.Start
		for {
			t = t.Add(time.Duration(rng.ExpFloat64() / peak * float64(time.Second)))
			if !t.Before(end) {
				break
			}
			if rng.Float64() > s.Activity(t) {
				continue
			}
			events = s.visit(events, rng, camera, t, end)
		}
	}
	Sort(events)
	return events, nil
}

// visit appends one tracked visit's burst of events.
func (s Scenario) visit(events []Event, rng *rand.Rand, camera string, t, end time.Time) []Event {
	n := 1 + int(rng.ExpFloat64()*(s.VisitEvents-1)+0.5)
	track := strconv.FormatInt(t.UnixMicro(), 10)
	for i := range n {
		if !t.Before(end) {
			break
		}
		events = append(events, Event{
			Time: t, Camera: camera, ID: fmt.Sprintf("%s-%s-%d", camera, track, i),
			Bytes: 20_000 + rng.IntN(30_000), Kind: "crop", Track: track, Tracks: []string{track},
		})
		t = t.Add(time.Duration((0.5 + rng.Float64()) * float64(s.EventGap)))
	}
	return events
}
