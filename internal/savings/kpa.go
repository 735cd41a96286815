package savings

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"time"
)

// Config is the autoscaling of detect as the model sees it: the Knative
// annotations of its Service, the cluster's scale-to-zero grace period and
// what a pod costs.
type Config struct {
	// StableWindow is autoscaling.knative.dev/window.
	StableWindow time.Duration
	// GracePeriod is config-autoscaler's scale-to-zero-grace-period.
	GracePeriod time.Duration
	// Retention is autoscaling.knative.dev/scale-to-zero-pod-retention-period.
	Retention time.Duration
	// Target is autoscaling.knative.dev/target (in-flight events per pod)
	// and Utilization its target-utilization-percentage over 100.
	Target      float64
	Utilization float64
	// ContainerConcurrency is the most events one pod serves at once.
	ContainerConcurrency int
	// MinScale and MaxScale bound the pod count; MinScale 0 scales to zero.
	MinScale, MaxScale int
	// ColdStart is the time from a pod's creation to its readiness.
	ColdStart time.Duration
	// ServiceTime is the time one event takes once a pod serves it.
	ServiceTime time.Duration
	// GPUsPerPod and MiBPerPod are what one pod holds while it exists.
	GPUsPerPod float64
	MiBPerPod  float64
}

// tick is the autoscaler's decision interval (Knative's default).
const tick = 2 * time.Second

// Validate names the first impossible setting by its flag.
func (c Config) Validate() error {
	switch {
	case c.StableWindow < 6*time.Second || c.StableWindow > time.Hour:
		return fmt.Errorf("-window %s: Knative accepts 6s to 1h", c.StableWindow)
	case c.GracePeriod < 6*time.Second:
		return fmt.Errorf("-grace %s: Knative requires at least 6s", c.GracePeriod)
	case c.Retention < 0:
		return fmt.Errorf("-retention %s: must not be negative", c.Retention)
	case c.Target <= 0:
		return fmt.Errorf("-target %g: must be positive", c.Target)
	case c.Utilization <= 0 || c.Utilization > 1:
		return fmt.Errorf("-utilization %g: must be within (0, 100] percent", c.Utilization*100)
	case c.ContainerConcurrency < 1:
		return fmt.Errorf("-container-concurrency %d: need at least one", c.ContainerConcurrency)
	case c.MaxScale < 1:
		return fmt.Errorf("-max-scale %d: need at least one pod", c.MaxScale)
	case c.MinScale < 0 || c.MinScale > c.MaxScale:
		return fmt.Errorf("min scale %d: must be within 0..max-scale %d", c.MinScale, c.MaxScale)
	case c.ColdStart < 0:
		return fmt.Errorf("-cold-start %s: must not be negative", c.ColdStart)
	case c.ServiceTime <= 0:
		return fmt.Errorf("-service-time %s: must be positive", c.ServiceTime)
	case c.GPUsPerPod < 0:
		return fmt.Errorf("-gpus-per-pod %g: must not be negative", c.GPUsPerPod)
	case c.MiBPerPod < 0:
		return fmt.Errorf("-mib-per-pod %g: must not be negative", c.MiBPerPod)
	}
	return nil
}

// IdleToZero is how long the last pod outlives the last event: the stable
// window must empty before the autoscaler wants zero pods, and the pod is
// then kept for the longer of the grace period and the retention period.
func (c Config) IdleToZero() time.Duration {
	return c.StableWindow + max(c.GracePeriod, c.Retention)
}

// Result is one replay of a timeline.
type Result struct {
	// PodSeconds is the time pods existed (starting or ready), summed.
	PodSeconds float64
	// GPUSeconds and MiBHours are what those pods held.
	GPUSeconds float64
	MiBHours   float64
	// ColdStarts counts scale-ups from zero; PodStarts every pod created.
	ColdStarts int
	PodStarts  int
	// Delayed counts events that arrived while no pod was ready.
	Delayed int
	// Events is the number of events replayed.
	Events int
	// AddedP50 and AddedP99 are percentiles of the time events waited
	// before a pod served them; AddedMax the longest wait.
	AddedP50, AddedP99, AddedMax time.Duration
	// MaxPods is the most pods that existed at once.
	MaxPods int
}

// Simulate replays events (sorted by time) through the autoscaler model
// over [start, end). Pods held after end are not counted; events still
// waiting at end are served after it, so that each one's wait counts.
func Simulate(events []Event, c Config, start, end time.Time) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	if !end.After(start) {
		return Result{}, fmt.Errorf("timeline span %s..%s is empty", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	s := newSim(c, start, end)
	for i, e := range events {
		if e.Time.Before(start) || !e.Time.Before(end) {
			return Result{}, fmt.Errorf("event %d at %s lies outside the span %s..%s", i+1,
				e.Time.Format(time.RFC3339Nano), start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
		if i > 0 && e.Time.Before(events[i-1].Time) {
			return Result{}, fmt.Errorf("event %d at %s is before the one before it; sort the timeline", i+1, e.Time.Format(time.RFC3339Nano))
		}
	}
	return s.run(events), nil
}

// pod is one detect pod; it serves from readyAt.
type pod struct{ readyAt time.Time }

// waiting is an event held until a pod can serve it.
type waiting struct {
	arrived time.Time
	cold    bool
}

type sim struct {
	c          Config
	start, end time.Time
	now        time.Time
	pods       []pod
	busy       timeHeap // completion times of events being served
	queue      []waiting
	area       []float64 // in-flight plus held events, integrated per second
	lastBusy   time.Time // when the system last had an event in it
	panicUntil time.Time
	nextTick   time.Time
	waits      []time.Duration
	held       time.Duration // pod time, summed
	res        Result
}

func newSim(c Config, start, end time.Time) *sim {
	s := &sim{c: c, start: start, end: end, now: start, lastBusy: start, nextTick: start.Add(tick),
		area: make([]float64, int(end.Sub(start)/time.Second)+2)}
	for range c.MinScale {
		s.pods = append(s.pods, pod{readyAt: start})
	}
	return s
}

func (s *sim) run(events []Event) Result {
	i := 0
	for {
		next := s.nextTick
		if i < len(events) && events[i].Time.Before(next) {
			next = events[i].Time
		}
		if len(s.busy) > 0 && s.busy[0].Before(next) {
			next = s.busy[0]
		}
		if r, ok := s.nextReady(); ok && r.Before(next) {
			next = r
		}
		// Past the end, events still held are served so that every one
		// has a wait; pod time stops counting at the end.
		if !next.Before(s.end) && s.inSystem() == 0 {
			s.advance(later(s.end, s.now))
			break
		}
		s.advance(next)
		if s.inSystem() > 0 {
			s.lastBusy = s.now
		}
		for len(s.busy) > 0 && !s.busy[0].After(s.now) {
			heap.Pop(&s.busy)
		}
		for i < len(events) && !events[i].Time.After(s.now) {
			s.arrive()
			i++
		}
		if !s.nextTick.After(s.now) {
			s.autoscale()
			s.nextTick = s.nextTick.Add(tick)
		}
		s.dispatch()
		if s.inSystem() > 0 {
			s.lastBusy = s.now
		}
	}
	return s.result()
}

// advance moves the clock, integrating pods held and events in the system.
func (s *sim) advance(to time.Time) {
	if d := earlier(to, s.end).Sub(s.now); d > 0 {
		s.held += time.Duration(len(s.pods)) * d
	}
	if to.After(s.now) {
		s.addArea(s.now, to, float64(s.inSystem()))
		s.now = to
	}
}

func (s *sim) addArea(from, to time.Time, n float64) {
	if n == 0 {
		return
	}
	for from.Before(to) {
		sec := from.Sub(s.start) / time.Second
		for int(sec) >= len(s.area) {
			s.area = append(s.area, 0)
		}
		edge := s.start.Add((sec + 1) * time.Second)
		if to.Before(edge) {
			edge = to
		}
		s.area[sec] += n * edge.Sub(from).Seconds()
		from = edge
	}
}

// average is the mean concurrency over the window ending now.
func (s *sim) average(window time.Duration) float64 {
	last := int(s.now.Sub(s.start) / time.Second)
	n := int(window / time.Second)
	sum := 0.0
	for sec := max(0, last-n); sec < last; sec++ {
		sum += s.area[sec]
	}
	return sum / float64(n)
}

func (s *sim) inSystem() int { return len(s.busy) + len(s.queue) }

func (s *sim) ready() int {
	n := 0
	for _, p := range s.pods {
		if !p.readyAt.After(s.now) {
			n++
		}
	}
	return n
}

func (s *sim) nextReady() (time.Time, bool) {
	var first time.Time
	for _, p := range s.pods {
		if p.readyAt.After(s.now) && (first.IsZero() || p.readyAt.Before(first)) {
			first = p.readyAt
		}
	}
	return first, !first.IsZero()
}

// arrive holds an event; with no pod at all the activator asks for one at once.
func (s *sim) arrive() {
	s.res.Events++
	if len(s.pods) == 0 {
		s.addPods(1)
		s.res.ColdStarts++
	}
	s.queue = append(s.queue, waiting{arrived: s.now, cold: s.ready() == 0})
}

// dispatch starts held events on free pod capacity, oldest first.
func (s *sim) dispatch() {
	free := s.ready()*s.c.ContainerConcurrency - len(s.busy)
	for ; free > 0 && len(s.queue) > 0; free-- {
		w := s.queue[0]
		s.queue = s.queue[1:]
		s.waits = append(s.waits, s.now.Sub(w.arrived))
		if w.cold {
			s.res.Delayed++
		}
		heap.Push(&s.busy, s.now.Add(s.c.ServiceTime))
	}
}

func (s *sim) addPods(n int) {
	for range n {
		s.pods = append(s.pods, pod{readyAt: s.now.Add(s.c.ColdStart)})
		s.res.PodStarts++
	}
	s.res.MaxPods = max(s.res.MaxPods, len(s.pods))
}

// autoscale is one KPA decision: the stable window's average concurrency
// sets the pod count, the panic window (a tenth of it) scales up faster
// when it asks for twice the ready pods, and the last pod goes only once
// the system has been empty for IdleToZero.
func (s *sim) autoscale() {
	perPod := s.c.Target * s.c.Utilization
	want := int(math.Ceil(s.average(s.c.StableWindow)/perPod - 1e-9))
	panicWant := int(math.Ceil(s.average(s.c.StableWindow/10)/perPod - 1e-9))
	if ready := s.ready(); ready > 0 && float64(panicWant) >= 2*float64(ready) {
		s.panicUntil = s.now.Add(s.c.StableWindow)
	}
	if s.now.Before(s.panicUntil) {
		want = max(want, panicWant, len(s.pods))
	}
	if want == 0 && len(s.pods) > 0 && (s.inSystem() > 0 || s.now.Sub(s.lastBusy) < s.c.IdleToZero()) {
		want = 1
	}
	want = min(max(want, s.c.MinScale), s.c.MaxScale)
	switch {
	case want > len(s.pods):
		s.addPods(want - len(s.pods))
	case want < len(s.pods):
		s.removePods(len(s.pods) - want)
	}
}

// removePods removes up to n pods, starting ones first, never one whose
// capacity events are using.
func (s *sim) removePods(n int) {
	slices.SortFunc(s.pods, func(a, b pod) int { return b.readyAt.Compare(a.readyAt) })
	for ; n > 0 && len(s.pods) > 0; n-- {
		p := s.pods[0]
		if !p.readyAt.After(s.now) && (s.ready()-1)*s.c.ContainerConcurrency < len(s.busy) {
			return
		}
		s.pods = s.pods[1:]
	}
}

func (s *sim) result() Result {
	r := s.res
	r.PodSeconds = s.held.Seconds()
	r.GPUSeconds = r.PodSeconds * s.c.GPUsPerPod
	r.MiBHours = r.PodSeconds * s.c.MiBPerPod / 3600
	slices.Sort(s.waits)
	r.AddedP50, r.AddedP99 = percentile(s.waits, 0.50), percentile(s.waits, 0.99)
	if len(s.waits) > 0 {
		r.AddedMax = s.waits[len(s.waits)-1]
	}
	return r
}

// percentile of sorted durations by the nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// timeHeap is a min-heap of times.
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
