// Package lifecycle sends the incident lifecycle events that alert keeps in
// its PostgreSQL outbox (dev.edgewatch.incident.updated and .closed) to
// K_SINK: oldest first, one incident's events in order, each retried with
// backoff until the sink takes it, so every event is sent at least once with
// the same id.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of lifecycle event, as the outbox stores them.
const (
	KindUpdated = "updated"
	KindClosed  = "closed"
)

// Kinds lists every kind, for metric labels.
func Kinds() []string { return []string{KindUpdated, KindClosed} }

// Job is one outbox row to send.
type Job struct {
	// Seq orders the outbox.
	Seq int64
	// ID is the CloudEvents id, the same on every attempt.
	ID         string
	IncidentID string
	Kind       string
	Camera     string
	Class      string
	// Time is the event time: the incident's last sighting (updated) or
	// its end (closed), by the camera's clock.
	Time time.Time
	// Data is the event's JSON payload.
	Data []byte
	// Attempts counts the tries, this one included.
	Attempts int
}

// Outbox is where lifecycle events wait until they are sent. Claim leases
// due jobs, at most the oldest pending one of each incident, so an
// incident's events go out in the order they were written.
type Outbox interface {
	Claim(ctx context.Context, limit int, lease time.Duration) ([]Job, error)
	Sent(ctx context.Context, seq int64) error
	Retry(ctx context.Context, seq int64, at time.Time, reason string) error
	Failed(ctx context.Context, seq int64, reason string) error
}

// SendFunc delivers one job. An error wrapped by Permanent is not retried.
type SendFunc func(ctx context.Context, j Job) error

// permanentError marks a refusal that a retry cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one a retry cannot fix (the sink refused the
// event as bad, 4xx); the job is then marked failed.
func Permanent(err error) error { return permanentError{err} }

// Config configures a Sender. Zero durations take the defaults named on
// each field.
type Config struct {
	Outbox Outbox
	Send   SendFunc
	Logger *slog.Logger
	// Sent, Retried and Failed count per kind (label "type").
	Sent, Retried, Failed *prometheus.CounterVec
	// Backoff is the wait before the second attempt, doubled after each
	// failure (1 s), up to MaxBackoff (1 min). A job is retried until it
	// is sent or refused for good.
	Backoff, MaxBackoff time.Duration
	// Poll is how often the outbox is checked without a Kick (1 s).
	Poll time.Duration
	// Timeout bounds one send (10 s); the lease is twice as long.
	Timeout time.Duration
}

// Sender drains the outbox.
type Sender struct {
	cfg  Config
	kick chan struct{}
}

// NewSender returns a sender; Run starts it.
func NewSender(cfg Config) *Sender {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Backoff, time.Second)
	def(&cfg.MaxBackoff, time.Minute)
	def(&cfg.Poll, time.Second)
	def(&cfg.Timeout, 10*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, kick: make(chan struct{}, 1)}
}

// Kick asks the sender to look at the outbox now.
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run sends jobs until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		for s.drain(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		}
	}
}

// drain sends one batch and reports whether there may be more.
func (s *Sender) drain(ctx context.Context) bool {
	const batch = 16
	jobs, err := s.cfg.Outbox.Claim(ctx, batch, 2*s.cfg.Timeout)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("alert: claiming incident events failed", "err", err)
		}
		return false
	}
	for _, j := range jobs {
		s.send(ctx, j)
	}
	return len(jobs) > 0 && ctx.Err() == nil
}

func (s *Sender) send(ctx context.Context, j Job) {
	log := s.cfg.Logger.With("id", j.ID, "incident", j.IncidentID, "type", j.Kind, "attempt", j.Attempts)
	sendCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	err := s.cfg.Send(sendCtx, j)
	cancel()
	// Recording the result must survive the end of ctx (shutdown), or a
	// sent job would be sent again.
	rec, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if err == nil {
		if err := s.cfg.Outbox.Sent(rec, j.Seq); err != nil {
			log.Warn("alert: incident event sent, but marking it failed; it may be sent again", "err", err)
		}
		count(s.cfg.Sent, j.Kind)
		log.Info("alert: incident event sent")
		return
	}
	if errors.As(err, new(permanentError)) {
		if ferr := s.cfg.Outbox.Failed(rec, j.Seq, err.Error()); ferr != nil {
			log.Warn("alert: marking the incident event failed did not work", "err", ferr)
		}
		count(s.cfg.Failed, j.Kind)
		log.Error("alert: incident event refused by the sink for good", "err", err)
		return
	}
	wait := s.backoff(j.Attempts)
	if rerr := s.cfg.Outbox.Retry(rec, j.Seq, time.Now().Add(wait), err.Error()); rerr != nil {
		log.Warn("alert: rescheduling the incident event failed", "err", rerr)
	}
	count(s.cfg.Retried, j.Kind)
	log.Warn("alert: sending the incident event failed, will retry", "err", err, "retry_in", wait)
}

func (s *Sender) backoff(attempts int) time.Duration {
	w := s.cfg.Backoff
	for i := 1; i < attempts && w < s.cfg.MaxBackoff; i++ {
		w *= 2
	}
	return min(w, s.cfg.MaxBackoff)
}

func count(c *prometheus.CounterVec, kind string) {
	if c != nil {
		c.WithLabelValues(kind).Inc()
	}
}
