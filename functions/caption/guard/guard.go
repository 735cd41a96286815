// Package guard checks an HTTP request before the CloudEvents SDK reads it:
// the body is read up to a limit, never beyond (413 with the reason when it
// is larger), and it must be one well-formed CloudEvent in binary or
// structured mode (400 with the reason otherwise, 415 for a batch). The
// SDK alone would read any body whole and answer a malformed structured
// event with a bare 500. Functions wrap their CloudEvents handler with it.
//
// functions/alert/guard and functions/caption/guard are the same file, one
// copy per function module (each module builds alone); internal/contract's
// tests keep them identical.
package guard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Reasons a request is refused, as passed to Options.Refused.
const (
	ReasonTooLarge  = "too_large"
	ReasonMalformed = "malformed"
	ReasonBatch     = "batch"
)

// Options configure the guard.
type Options struct {
	// MaxBytes is the largest body read.
	MaxBytes int64
	// Refused, if set, is told of every refusal, to count it.
	Refused func(reason string, status int, message string)
}

// Handler returns next behind the guard. Requests other than POST (health
// checks) pass untouched.
func Handler(next http.Handler, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		refuse := func(reason string, status int, format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			if o.Refused != nil {
				o.Refused(reason, status, msg)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, msg+"\n")
		}
		if r.ContentLength > o.MaxBytes {
			refuse(ReasonTooLarge, http.StatusRequestEntityTooLarge,
				"request body is %d bytes, more than the %d allowed for one event", r.ContentLength, o.MaxBytes)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.MaxBytes))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			refuse(ReasonTooLarge, http.StatusRequestEntityTooLarge,
				"request body is more than the %d bytes allowed for one event", o.MaxBytes)
			return
		case err != nil:
			refuse(ReasonMalformed, http.StatusBadRequest, "request body could not be read: %v", err)
			return
		}
		if reason, status, msg := check(r, body); status != 0 {
			refuse(reason, status, "%s", msg)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// check parses body as the SDK will and says why it cannot be one event.
func check(r *http.Request, body []byte) (reason string, status int, msg string) {
	probe := r.Clone(r.Context())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	m := cehttp.NewMessageFromHttpRequest(probe)
	switch m.ReadEncoding() {
	case binding.EncodingUnknown:
		return ReasonMalformed, http.StatusBadRequest, fmt.Sprintf("not a CloudEvent: no ce-specversion header (binary mode) "+
			"and content type %q is not application/cloudevents+json (structured mode)", clip(r.Header.Get("Content-Type")))
	case binding.EncodingBatch:
		return ReasonBatch, http.StatusUnsupportedMediaType,
			"batched CloudEvents (application/cloudevents-batch+json) are not accepted: send one event per request"
	}
	mode := "binary"
	if m.ReadEncoding() == binding.EncodingStructured {
		mode = "structured"
	}
	e, err := binding.ToEvent(r.Context(), m)
	if err != nil {
		return ReasonMalformed, http.StatusBadRequest, fmt.Sprintf("malformed %s-mode CloudEvent: %s", mode, clip(err.Error()))
	}
	if err := e.Validate(); err != nil {
		return ReasonMalformed, http.StatusBadRequest, fmt.Sprintf("invalid %s-mode CloudEvent: %s", mode, clip(err.Error()))
	}
	return "", 0, ""
}

// clip shortens a value for a message.
func clip(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}
