package vlm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// StatusError is a non-2xx answer of the endpoint, with the error the body
// described when it had the OpenAI shape {"error":{"message","type","code"}}.
type StatusError struct {
	StatusCode int
	Message    string
	Type       string
	Code       string
}

// Error describes the answer.
func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vlm: endpoint answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Type != "" || e.Code != "" {
		fmt.Fprintf(&b, " (type %q, code %q)", e.Type, e.Code)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: on rate
// limiting (429), a request timeout (408) and server errors (5xx).
func (e *StatusError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout ||
		e.StatusCode >= 500
}

// ResponseError is a 2xx reply the client could not use: not JSON, too large
// or without any message content.
type ResponseError struct {
	Reason string
}

// Error describes the reply.
func (e *ResponseError) Error() string { return "vlm: unusable reply: " + e.Reason }

// Retryable reports whether errors returned by Client.Complete are worth
// another try: transport failures (refused connections, timeouts), unusable
// replies and retryable statuses are; other statuses (bad request, bad
// credentials, unknown model) are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Retryable()
	}
	return true
}

// decodeStatusError reads an error answer. OpenAI-compatible servers put the
// reason in {"error":{"message":...}}; some (older vLLM, llama.cpp) put a
// string in "error" or a "message"/"detail" at the top level; anything else
// is kept as a short plain-text excerpt.
func decodeStatusError(resp *http.Response) *StatusError {
	se := &StatusError{StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &body) == nil {
		var obj struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		var str string
		switch {
		case json.Unmarshal(body.Error, &obj) == nil && obj.Message != "":
			se.Message, se.Type, se.Code = obj.Message, obj.Type, codeString(obj.Code)
		case json.Unmarshal(body.Error, &str) == nil && str != "":
			se.Message = str
		case body.Message != "":
			se.Message = body.Message
		case len(body.Detail) > 0:
			se.Message = string(body.Detail)
		}
	}
	if se.Message == "" {
		se.Message = excerpt(string(raw))
	}
	return se
}

// codeString renders an error code that servers send as a string or a number.
func codeString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}

func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
