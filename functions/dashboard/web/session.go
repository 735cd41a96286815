package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// SessionConfig bounds the sessions the login form opens. Zero fields take
// the defaults.
type SessionConfig struct {
	// Idle ends a session not used for this long [30 min].
	Idle time.Duration
	// Max ends a session this long after the login, used or not [12 h].
	Max time.Duration
	// Capacity caps the sessions held; past it the least recently used
	// ends [10000].
	Capacity int
}

// Session defaults.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionMax      = 12 * time.Hour
	DefaultSessionCapacity = 10000
)

// sessionIDBytes is the entropy of a session id: 256 bits from crypto/rand.
const sessionIDBytes = 32

// session is what the server keeps of one login.
type session struct {
	created, used time.Time
}

// Sessions are the logins of this process, held in memory and keyed by the
// SHA-256 of their ids, so that the map holds no usable id and a lookup's
// timing says nothing about the id sought. A process holds only the
// sessions it opened: a restart, and so a changed token, ends every one.
type Sessions struct {
	cfg SessionConfig
	now func() time.Time

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

// NewSessions returns an empty store.
func NewSessions(cfg SessionConfig, now func() time.Time) *Sessions {
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultSessionIdle
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultSessionMax
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultSessionCapacity
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{cfg: cfg, now: now, byID: map[[sha256.Size]byte]*session{}}
}

// Create opens a session and returns its id: 256 random bits, URL-safe.
func (s *Sessions) Create() (string, error) {
	b := make([]byte, sessionIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for len(s.byID) >= s.cfg.Capacity {
		s.evictLeastUsed()
	}
	s.byID[sha256.Sum256([]byte(id))] = &session{created: now, used: now}
	return id, nil
}

// Valid reports whether id names a live session, and marks it used.
func (s *Sessions) Valid(id string) bool {
	if id == "" {
		return false
	}
	key := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.byID[key]
	if !ok {
		return false
	}
	if s.ended(ses, now) {
		delete(s.byID, key)
		return false
	}
	ses.used = now
	return true
}

// Revoke ends the session id names, if any.
func (s *Sessions) Revoke(id string) {
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	delete(s.byID, key)
	s.mu.Unlock()
}

// Len returns the number of sessions held, the ended ones dropped first.
func (s *Sessions) Len() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	return len(s.byID)
}

// MaxAge is how long a new session's cookie may live.
func (s *Sessions) MaxAge() time.Duration { return s.cfg.Max }

func (s *Sessions) ended(ses *session, now time.Time) bool {
	return now.Sub(ses.used) >= s.cfg.Idle || now.Sub(ses.created) >= s.cfg.Max
}

// expire drops the ended sessions; s.mu is held.
func (s *Sessions) expire(now time.Time) {
	for k, ses := range s.byID {
		if s.ended(ses, now) {
			delete(s.byID, k)
		}
	}
}

// evictLeastUsed drops the session used longest ago; s.mu is held.
func (s *Sessions) evictLeastUsed() {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for k, ses := range s.byID {
		if first || ses.used.Before(at) {
			oldest, at, first = k, ses.used, false
		}
	}
	delete(s.byID, oldest)
}
