package web

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// LimitConfig bounds failed logins per client. Zero fields take the
// defaults.
type LimitConfig struct {
	// Failures is how many wrong credentials a client may send within
	// Window before it is refused with 429 [5].
	Failures int
	// Window is the span failures are counted over, and how long a client
	// that reached the limit is refused from its first failure [1 min].
	Window time.Duration
	// TrustedHops is how many proxies in front of the dashboard append the
	// address they received from to X-Forwarded-For: the client is the
	// TrustedHops-th address from its right; 0 (the default) takes the
	// connection's remote address and ignores the header.
	TrustedHops int
	// Capacity caps the clients followed; past it the stalest are
	// forgotten [100000].
	Capacity int
}

// Limit defaults.
const (
	DefaultLoginFailures = 5
	DefaultLoginWindow   = time.Minute
	DefaultLimitCapacity = 100000
)

// failures is one client's record.
type failures struct {
	first time.Time
	n     int
}

// Limiter counts failed logins per client and refuses a client that sent
// too many wrong credentials until its window ends. Other clients are not
// affected, and a right login clears the client's record.
type Limiter struct {
	cfg LimitConfig
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*failures
}

// NewLimiter returns a limiter with no failures.
func NewLimiter(cfg LimitConfig, now func() time.Time) *Limiter {
	if cfg.Failures <= 0 {
		cfg.Failures = DefaultLoginFailures
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultLoginWindow
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultLimitCapacity
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{cfg: cfg, now: now, clients: map[string]*failures{}}
}

// Client returns the key r's failures are counted under.
func (l *Limiter) Client(r *http.Request) string {
	if l.cfg.TrustedHops > 0 {
		var hops []string
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, a := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(a))
			}
		}
		if i := len(hops) - l.cfg.TrustedHops; i >= 0 && i < len(hops) && hops[i] != "" {
			return hops[i]
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Blocked reports whether client must wait, and for how long.
func (l *Limiter) Blocked(client string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.clients[client]
	if !ok {
		return 0, false
	}
	left := f.first.Add(l.cfg.Window).Sub(now)
	if left <= 0 {
		delete(l.clients, client)
		return 0, false
	}
	return left, f.n >= l.cfg.Failures
}

// Fail counts a wrong credential from client and reports, as Blocked
// does, whether this one is already past the limit: counted and checked at
// once, so that concurrent guesses cannot slip past the limit together.
func (l *Limiter) Fail(client string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.clients[client]
	if ok && now.Sub(f.first) >= l.cfg.Window {
		ok = false
	}
	if !ok {
		if len(l.clients) >= l.cfg.Capacity {
			l.forgetStale(now)
		}
		f = &failures{first: now}
		l.clients[client] = f
	}
	f.n++
	return f.first.Add(l.cfg.Window).Sub(now), f.n > l.cfg.Failures
}

// Succeed clears client's failures.
func (l *Limiter) Succeed(client string) {
	l.mu.Lock()
	delete(l.clients, client)
	l.mu.Unlock()
}

// forgetStale drops the records whose window ended, and if none did, the
// oldest; l.mu is held.
func (l *Limiter) forgetStale(now time.Time) {
	var oldest string
	var at time.Time
	for k, f := range l.clients {
		if now.Sub(f.first) >= l.cfg.Window {
			delete(l.clients, k)
			continue
		}
		if oldest == "" || f.first.Before(at) {
			oldest, at = k, f.first
		}
	}
	if len(l.clients) >= l.cfg.Capacity {
		delete(l.clients, oldest)
	}
}
