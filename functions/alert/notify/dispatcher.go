package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
)

// Job is one outbox row to send: an incident event on one channel.
type Job struct {
	ID      int64
	Channel string
	Kind    Kind
	// Attempts counts the tries, this one included.
	Attempts int
	Incident incident.Incident
}

// Outbox is where queued notifications wait until they are sent. Claimed
// jobs are leased: a job whose sender died is claimed again when its lease
// runs out.
type Outbox interface {
	// Claim leases up to limit due jobs of one channel.
	Claim(ctx context.Context, channel string, limit int, lease time.Duration) ([]Job, error)
	// Sent marks a job done.
	Sent(ctx context.Context, id int64) error
	// Retry puts a job back to be tried again at the given time.
	Retry(ctx context.Context, id int64, at time.Time, reason string) error
	// Failed gives up on a job.
	Failed(ctx context.Context, id int64, reason string) error
}

// DispatcherConfig configures a Dispatcher. Zero durations and counts take
// the defaults named on each field.
type DispatcherConfig struct {
	Outbox Outbox
	// Notifiers maps channel names to their notifiers.
	Notifiers map[string]Notifier
	Logger    *slog.Logger
	// Sent, Failed and Retried count per channel (label "channel").
	Sent, Failed, Retried *prometheus.CounterVec
	// MapURL is the live map's base URL for links, if any.
	MapURL string
	// MaxAttempts is how often a job is tried before it fails (8).
	MaxAttempts int
	// Backoff is the wait before the second attempt, doubled after each
	// failure (2 s), up to MaxBackoff (10 min).
	Backoff, MaxBackoff time.Duration
	// Poll is how often the outbox is checked without a Kick (2 s).
	Poll time.Duration
	// Timeout bounds one send (15 s); the lease is twice as long.
	Timeout time.Duration
}

// Dispatcher sends the outbox's jobs, one independent loop per channel, so a
// slow or failing channel never holds up another.
type Dispatcher struct {
	cfg   DispatcherConfig
	kicks map[string]chan struct{}
}

// NewDispatcher returns a dispatcher; Run starts it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Backoff, 2*time.Second)
	def(&cfg.MaxBackoff, 10*time.Minute)
	def(&cfg.Poll, 2*time.Second)
	def(&cfg.Timeout, 15*time.Second)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg, kicks: map[string]chan struct{}{}}
	for name := range cfg.Notifiers {
		d.kicks[name] = make(chan struct{}, 1)
	}
	return d
}

// Kick asks every channel to look at the outbox now.
func (d *Dispatcher) Kick() {
	for _, k := range d.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// Run sends jobs until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for name, n := range d.cfg.Notifiers {
		wg.Go(func() { d.loop(ctx, name, n) })
	}
	wg.Wait()
}

func (d *Dispatcher) loop(ctx context.Context, channel string, n Notifier) {
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	for {
		for d.drain(ctx, channel, n) {
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.kicks[channel]:
		}
	}
}

// drain sends one batch and reports whether there may be more.
func (d *Dispatcher) drain(ctx context.Context, channel string, n Notifier) bool {
	const batch = 8
	jobs, err := d.cfg.Outbox.Claim(ctx, channel, batch, 2*d.cfg.Timeout)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("notify: claiming jobs failed", "channel", channel, "err", err)
		}
		return false
	}
	for _, j := range jobs {
		d.send(ctx, n, j)
	}
	return len(jobs) == batch && ctx.Err() == nil
}

func (d *Dispatcher) send(ctx context.Context, n Notifier, j Job) {
	log := d.cfg.Logger.With("channel", j.Channel, "incident", j.Incident.ID, "kind", string(j.Kind), "attempt", j.Attempts)
	sendCtx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	err := n.Notify(sendCtx, NewMessage(j.Kind, j.Incident, d.cfg.MapURL))
	cancel()
	// Recording the result must survive the end of ctx (shutdown), or a
	// sent job would be sent again.
	rec, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if err == nil {
		if err := d.cfg.Outbox.Sent(rec, j.ID); err != nil {
			log.Warn("notify: sent, but marking the job failed; it may be sent again", "err", err)
		}
		d.count(d.cfg.Sent, j.Channel)
		log.Info("notify: sent")
		return
	}
	retry, after := Retryable(err)
	if retry && j.Attempts < d.cfg.MaxAttempts {
		wait := d.backoff(j.Attempts)
		if after > wait {
			wait = min(after, time.Hour)
		}
		if rerr := d.cfg.Outbox.Retry(rec, j.ID, time.Now().Add(wait), err.Error()); rerr != nil {
			log.Warn("notify: rescheduling failed", "err", rerr)
		}
		d.count(d.cfg.Retried, j.Channel)
		log.Warn("notify: failed, will retry", "err", err, "retry_in", wait)
		return
	}
	if ferr := d.cfg.Outbox.Failed(rec, j.ID, err.Error()); ferr != nil {
		log.Warn("notify: marking the job failed did not work", "err", ferr)
	}
	d.count(d.cfg.Failed, j.Channel)
	log.Error("notify: failed for good", "err", err)
}

func (d *Dispatcher) backoff(attempts int) time.Duration {
	w := d.cfg.Backoff
	for i := 1; i < attempts && w < d.cfg.MaxBackoff; i++ {
		w *= 2
	}
	return min(w, d.cfg.MaxBackoff)
}

func (d *Dispatcher) count(c *prometheus.CounterVec, channel string) {
	if c != nil {
		c.WithLabelValues(channel).Inc()
	}
}
