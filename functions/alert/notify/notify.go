// Package notify sends incident notifications. It defines the Notifier that
// every channel implements (one package per channel, none importing another),
// the errors that say whether a failed send may be retried, URL redaction so
// no secret reaches a log, and the Dispatcher that drains the outbox after
// commit.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
)

// Kind says what happened to the incident.
type Kind string

// The kinds of notification.
const (
	// KindOpened announces a new incident.
	KindOpened Kind = "opened"
	// KindClosed announces that an incident went quiet.
	KindClosed Kind = "closed"
)

// Message is one notification, ready for any channel.
type Message struct {
	Kind     Kind
	Incident incident.Incident
	// Title is a short, plain-ASCII headline.
	Title string
	// Text is the body in plain text.
	Text string
	// Link opens the incident on the live map; empty when no map URL is
	// configured.
	Link string
}

// Notifier sends a message on one channel. An error that wraps an *Error
// with Retry set may succeed later; any other error is final.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// Error is a failed send that knows whether to try again.
type Error struct {
	// Retry is true when a later attempt may succeed (5xx, 429, network).
	Retry bool
	// After is how long the channel asked us to wait (Retry-After), or 0.
	After time.Duration
	// Err is what went wrong, already redacted.
	Err error
}

// Error returns the message of the wrapped error.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err may succeed on a later attempt, and how long
// the channel asked to wait.
func Retryable(err error) (bool, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.Retry, e.After
	}
	return false, 0
}

// CheckResponse turns an HTTP answer into nil (2xx) or an *Error: 429 and 5xx
// may be retried, honouring Retry-After (seconds or an HTTP date) or X's
// x-rate-limit-reset (Unix seconds); other codes are final. The body is read
// for at most 512 bytes of explanation.
func CheckResponse(resp *http.Response, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	reason := strings.TrimSpace(string(buf[:n]))
	err := fmt.Errorf("status %d: %s", resp.StatusCode, reason)
	retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return &Error{Retry: retry, After: retryAfter(resp.Header, now), Err: err}
}

func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if v := h.Get("X-Rate-Limit-Reset"); v != "" {
		if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			if t := time.Unix(s, 0); t.After(now) {
				return t.Sub(now)
			}
		}
	}
	return 0
}

// SendError wraps an error from http.Client.Do: network failures may be
// retried, and the URL (which may hold a token) is redacted.
func SendError(err error) error {
	return &Error{Retry: true, Err: RedactError(err)}
}

// Redact returns the URL with everything that may be a secret replaced:
// user info, path and query. Only the scheme and host remain.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[redacted url]"
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		out += "/[redacted]"
	}
	return out
}

// RedactError replaces the URL inside a *url.Error with its redacted form.
func RedactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, Redact(ue.URL), errors.Unwrap(ue))
	}
	return err
}
