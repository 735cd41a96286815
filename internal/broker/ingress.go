package broker

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	amqp "github.com/rabbitmq/amqp091-go"
)

// MaxAttributeBytes limits the total size of an event's attributes and
// extensions, which travel as AMQP headers: they must fit one AMQP frame
// (RabbitMQ's frame_max is 128 KiB by default) or RabbitMQ closes the
// connection.
const MaxAttributeBytes = 64 << 10

// headersSize approximates the encoded size of an AMQP header table.
func headersSize(t amqp.Table) int {
	n := 0
	for k, v := range t {
		n += len(k) + 6
		switch x := v.(type) {
		case string:
			n += len(x)
		case []byte:
			n += len(x)
		default:
			n += 8
		}
	}
	return n
}

// DefaultMaxBodyBytes is the ingress's default request body limit (10 MiB).
const DefaultMaxBodyBytes = 10 << 20

// ingress is the broker's HTTP front door. It mirrors eventing-rabbitmq
// cmd/ingress/main.go (ServeHTTP and send): POST only (405), path "/" only
// (404), a binary or structured CloudEvent (400 otherwise), published with
// confirms, 202 once RabbitMQ has confirmed, 500 on a nack or error. Beyond
// upstream it limits the body size (413), answers 503 while RabbitMQ is
// unreachable (upstream answers 500), checks senders when it has Senders
// (401, 403), and says why in the response body.
//
// Once closed (the broker is stopping) it answers 503 with Retry-After to
// every event except the replies its own dispatchers forward, which carry
// replyToken in the headerReplyToken header, and the events of the
// internal ingress: in-flight deliveries still end with what they send
// published.
type ingress struct {
	exchange   string
	maxBody    int64
	publish    func(ctx context.Context, exchange string, msg amqp.Publishing) error
	log        *slog.Logger
	m          *metrics
	replyToken string
	senders    *Senders
	closed     atomic.Bool
}

// headerReplyToken marks a reply a dispatcher forwards to its own broker's
// ingress. The token is random per broker and never leaves the process and
// its loopback ingress.
const headerReplyToken = "Edgewatch-Broker-Reply"

// headerReplyFrom names the function a forwarded reply comes from; it is
// believed only beside a valid headerReplyToken.
const headerReplyFrom = "Edgewatch-Broker-Reply-From"

// isOwnReply reports whether r is a reply forwarded by this broker's dispatchers.
func (in *ingress) isOwnReply(r *http.Request) bool {
	got := r.Header.Get(headerReplyToken)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(in.replyToken)) == 1
}

// ServeHTTP implements http.Handler.
func (in *ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) { in.serve(w, r, false) }

// internalIngress is the ingress as the pipeline's own functions reach it:
// it keeps taking events after CloseIngress.
type internalIngress struct{ in *ingress }

func (i internalIngress) ServeHTTP(w http.ResponseWriter, r *http.Request) { i.in.serve(w, r, true) }

// serve handles one request; internal requests come from the pipeline's
// own functions, whose work in flight may still send events while the
// broker stops.
func (in *ingress) serve(w http.ResponseWriter, r *http.Request, internal bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		in.reject(w, http.StatusMethodNotAllowed, rejectMethod, "only POST is allowed")
		return
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	if uri != "/" {
		in.reject(w, http.StatusNotFound, rejectPath, "events are accepted on / only")
		return
	}
	if in.closed.Load() && !internal && !in.isOwnReply(r) {
		w.Header().Set("Retry-After", "1")
		in.reject(w, http.StatusServiceUnavailable, "stopping", "the broker is stopping and takes no new events")
		return
	}
	sender, ok := in.sender(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgewatch broker"`)
		in.reject(w, http.StatusUnauthorized, rejectUnauthorized, "no valid sender token: send Authorization: Bearer TOKEN (a producer's token, or the operator's that edgewatch up writes to its state directory)")
		return
	}
	body, status, err := readBody(w, r, in.maxBody)
	if err != nil {
		reason := rejectInvalidEvent
		if status == http.StatusRequestEntityTooLarge {
			reason = rejectTooLarge
		}
		in.reject(w, status, reason, err.Error())
		return
	}
	ev, err := DecodeEvent(r.Context(), r.Header, body)
	if err != nil {
		in.reject(w, http.StatusBadRequest, rejectInvalidEvent, err.Error())
		return
	}
	if in.senders != nil {
		if err := in.senders.Allow.Allows(sender, ev.Type()); err != nil {
			in.reject(w, http.StatusForbidden, rejectForbidden, err.Error())
			return
		}
	}
	msg := toPublishing(ev, r.Header.Get(headerTraceParent), r.Header.Get(headerTraceState))
	if n := headersSize(msg.Headers); n > MaxAttributeBytes {
		in.reject(w, http.StatusBadRequest, rejectInvalidEvent, fmt.Sprintf("attributes and extensions take %d bytes, more than the %d a RabbitMQ message header can carry", n, MaxAttributeBytes))
		return
	}
	if err := in.publish(r.Context(), in.exchange, msg); err != nil {
		if errors.Is(err, ErrUnavailable) {
			w.Header().Set("Retry-After", "1")
			in.reject(w, http.StatusServiceUnavailable, rejectUnavailable, err.Error())
			return
		}
		in.log.Error("broker ingress publish failed", "id", ev.ID(), "type", ev.Type(), "error", err)
		in.reject(w, http.StatusInternalServerError, rejectPublishFailed, err.Error())
		return
	}
	in.m.ingressAccepted.Inc()
	w.WriteHeader(http.StatusAccepted)
}

func (in *ingress) reject(w http.ResponseWriter, status int, reason, msg string) {
	in.m.ingressRejected.WithLabelValues(reason).Inc()
	switch {
	case status == http.StatusServiceUnavailable:
		// RabbitMQ is away; the connection's loss is logged once, not per request.
		in.log.Debug("broker ingress refused an event", "status", status, "reason", msg)
	case status >= 500:
		in.log.Warn("broker ingress refused an event", "status", status, "reason", msg)
	default:
		in.log.Debug("broker ingress refused a request", "status", status, "reason", msg)
	}
	http.Error(w, msg, status)
}

// sender names who sent r: the function whose reply a dispatcher forwards,
// or the owner of the request's token. Without Senders every request is
// anonymous and taken; with them, ok is false when r carries no known token.
func (in *ingress) sender(r *http.Request) (name string, ok bool) {
	if in.isOwnReply(r) {
		return r.Header.Get(headerReplyFrom), true
	}
	if in.senders == nil {
		return "", true
	}
	return in.senders.lookup(r)
}

// readBody reads the request body up to max bytes. It returns 413 for a
// larger body and 400 for a body that cannot be read.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, int, error) {
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds the limit of %d bytes", r.ContentLength, max)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the limit of %d bytes", max)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading body: %v", err)
	}
	return body, 0, nil
}

// DecodeEvent reads a CloudEvent from an HTTP request's headers and body in
// binary or structured content mode (sdk-go's HTTP binding) and validates
// it. The error says why the request is not a valid CloudEvent.
func DecodeEvent(ctx context.Context, header http.Header, body []byte) (*event.Event, error) {
	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	defer func() { _ = msg.Finish(nil) }()
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, errors.New("not a CloudEvent: binary mode needs a ce-specversion header, structured mode a Content-Type of application/cloudevents+json")
	}
	ev, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("not a valid CloudEvent: %v", err)
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("not a valid CloudEvent: %v", err)
	}
	return ev, nil
}
