package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/edgewatch/edgewatch/functions/caption/dedup"
	"github.com/edgewatch/edgewatch/functions/caption/incidentevent"
	"github.com/edgewatch/edgewatch/functions/caption/internal/contract"
	"github.com/edgewatch/edgewatch/functions/caption/vlm"
)

// maxDataBytes bounds an incident event's data: the contract's largest
// snapshot and room for the other fields.
const maxDataBytes = contract.MaxImageBase64Len + 64<<10

// captioned lists the classes caption describes; the Triggers deliver no
// others.
var captioned = map[string]bool{"knife": true, "gun": true}

// service is the started function: configuration, VLM client (nil when not
// configured), the once-per-incident group and the metrics.
type service struct {
	cfg     config
	client  *vlm.Client
	group   *dedup.Group[*event.Event]
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time
}

// handle answers one event: the caption event, or a *cehttp.Result error
// whose status tells the broker whether to try again.
func (s *service) handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if n := len(e.Data()); n > maxDataBytes {
		return nil, s.badInput(e, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("event data is %d bytes, more than the %d allowed", n, maxDataBytes))
	}
	in, snap, err := readIncident(e)
	if err != nil {
		return nil, s.badInput(e, http.StatusBadRequest, err.Error())
	}
	log := s.log.With("incident", in.IncidentID, "camera", in.Camera, "class", in.Class, "event_id", e.ID())
	if s.client == nil {
		s.metrics.events.WithLabelValues(outcomeNotConfigured).Inc()
		log.Warn("caption: not configured, answering 503 so the incident ends on the dead-letter sink")
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "caption is not configured: %s is not set", KeyVLMURL)
	}

	out, src, err := s.group.Do(ctx, context.WithoutCancel(ctx), dedupKey(e),
		func(callCtx context.Context) (*event.Event, error) {
			callCtx, cancel := context.WithTimeout(callCtx, s.cfg.Timeout)
			defer cancel()
			return s.describe(callCtx, log, in, snap)
		})
	if err != nil {
		s.metrics.events.WithLabelValues(outcomeFailed).Inc()
		status, msg := s.failure(ctx, err)
		log.Warn("caption: no caption", "status", status, "err", msg, "source", src.String())
		return nil, cehttp.NewResult(status, "%s", msg)
	}
	switch src {
	case dedup.Called:
		s.metrics.events.WithLabelValues(outcomeCaptioned).Inc()
	case dedup.Shared:
		s.metrics.events.WithLabelValues(outcomeDuplicate).Inc()
		s.metrics.cacheHits.WithLabelValues(hitInFlight).Inc()
		log.Info("caption: repeated incident answered by the call in flight")
	case dedup.Cached:
		s.metrics.events.WithLabelValues(outcomeDuplicate).Inc()
		s.metrics.cacheHits.WithLabelValues(hitCache).Inc()
		log.Info("caption: repeated incident answered from the cache")
	}
	reply := out.Clone()
	return &reply, nil
}

// dedupKey is the key of an event in the once-per-event group: its source
// and id, which identify a CloudEvent. alert gives the opened event of an
// incident one id, so this is also once per incident.
func dedupKey(e event.Event) string { return e.Source() + "\n" + e.ID() }

// badInput counts and logs an event that cannot be captioned and returns the
// error for its status.
func (s *service) badInput(e event.Event, status int, reason string) error {
	s.metrics.events.WithLabelValues(outcomeBadInput).Inc()
	s.log.Warn("caption: rejected event", "event_id", e.ID(), "type", e.Type(), "source", e.Source(),
		"status", status, "reason", reason)
	return cehttp.NewResult(status, "%s", reason)
}

// readIncident checks the event's attributes and reads its incident and
// snapshot. Errors are reasons for a 400.
func readIncident(e event.Event) (incidentevent.Incident, incidentevent.Snapshot, error) {
	var none incidentevent.Snapshot
	if e.Type() != contract.TypeIncidentOpened {
		return incidentevent.Incident{}, none, fmt.Errorf("event type %q is not %s", e.Type(), contract.TypeIncidentOpened)
	}
	if ct := e.DataContentType(); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != contract.ContentTypeJSON {
			return incidentevent.Incident{}, none, fmt.Errorf("data content type %q is not %s", ct, contract.ContentTypeJSON)
		}
	}
	in, err := incidentevent.Decode(e.Data())
	if err != nil {
		return in, none, err
	}
	if !captioned[in.Class] {
		return in, none, fmt.Errorf("class %q is not captioned: only knife and gun incidents are", in.Class)
	}
	for ext, want := range map[string]string{contract.ExtCamera: in.Camera, contract.ExtClass: in.Class, contract.ExtIncident: in.IncidentID} {
		if got, ok := e.Extensions()[ext]; ok && fmt.Sprint(got) != want {
			return in, none, fmt.Errorf("extension %s %q does not match the data's %q", ext, got, want)
		}
	}
	snap, err := in.Snapshot()
	return in, snap, err
}

// describe asks the VLM about one snapshot and builds the caption event.
func (s *service) describe(ctx context.Context, log *slog.Logger, in incidentevent.Incident, snap incidentevent.Snapshot) (*event.Event, error) {
	req := vlm.NewImageRequest(s.cfg.Model, s.cfg.prompt(in.Class), snap.JPEG, s.cfg.MaxTokens)
	start := time.Now()
	resp, err := s.client.Complete(ctx, req)
	took := time.Since(start)
	if err != nil {
		outcome, _, _ := s.classify(err)
		s.metrics.observeCall(outcome, took)
		return nil, err
	}
	s.metrics.observeCall(callOK, took)
	attrs := []any{"model", resp.Model, "took_s", took.Seconds(), "image_bytes", len(snap.JPEG)}
	if u := resp.Usage; u != nil {
		s.metrics.tokens.WithLabelValues(tokensIn).Add(float64(u.PromptTokens))
		s.metrics.tokens.WithLabelValues(tokensOut).Add(float64(u.CompletionTokens))
		attrs = append(attrs, "prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens)
	}
	ev, err := s.captionEvent(in, resp)
	if err != nil {
		return nil, err
	}
	log.Info("caption: created", attrs...)
	return ev, nil
}

// captionEvent builds the dev.edgewatch.caption.created event of an incident.
func (s *service) captionEvent(in incidentevent.Incident, resp *vlm.ChatResponse) (*event.Event, error) {
	model := resp.Model
	if model == "" {
		model = s.cfg.Model
	}
	now := s.now().UTC()
	ev := event.New()
	ev.SetID(CaptionID(in.IncidentID))
	ev.SetType(contract.TypeCaptionCreated)
	ev.SetSource(contract.CameraSource(in.Camera))
	ev.SetTime(now)
	ev.SetExtension(contract.ExtCamera, in.Camera)
	ev.SetExtension(contract.ExtClass, in.Class)
	ev.SetExtension(contract.ExtIncident, in.IncidentID)
	err := ev.SetData(contract.ContentTypeJSON, contract.Caption{
		IncidentID:  in.IncidentID,
		DetectionID: in.DetectionID,
		Camera:      in.Camera,
		Class:       in.Class,
		Caption:     truncate(resp.Text(), contract.MaxCaptionLen),
		Model:       truncate(model, contract.MaxModelLen),
		CreatedAt:   now,
	})
	if err != nil {
		return nil, fmt.Errorf("encode caption: %w", err)
	}
	return &ev, nil
}

// classify names the outcome of a failed VLM call and the status caption
// answers with: 5xx where another try may help (the broker retries, then
// dead-letters), 500 when caption itself is misconfigured (dead-lettered
// after the retries, so nothing is lost while it is fixed), 422 when the
// endpoint rejected this snapshot.
func (s *service) classify(err error) (outcome string, status int, msg string) {
	var se *vlm.StatusError
	var re *vlm.ResponseError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return callTimeout, http.StatusGatewayTimeout, fmt.Sprintf("VLM did not answer within %s", s.cfg.Timeout)
	case errors.As(err, &se):
		switch {
		case se.StatusCode == http.StatusTooManyRequests:
			return callRateLimited, http.StatusServiceUnavailable, "VLM is rate limiting: " + se.Error()
		case se.Retryable():
			return callServerError, http.StatusBadGateway, "VLM failed: " + se.Error()
		case se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden ||
			se.StatusCode == http.StatusNotFound:
			return callMisconfigured, http.StatusInternalServerError,
				"caption is misconfigured (check VLM_URL, VLM_MODEL and VLM_API_KEY): " + se.Error()
		default:
			return callRejected, http.StatusUnprocessableEntity, "VLM rejected the snapshot: " + se.Error()
		}
	case errors.As(err, &re):
		return callBadResponse, http.StatusBadGateway, err.Error()
	default:
		return callUnreachable, http.StatusBadGateway, "VLM unreachable: " + err.Error()
	}
}

// failure returns the status and message for an event whose caption failed.
// The API key never appears in the message, whatever the endpoint echoed.
func (s *service) failure(ctx context.Context, err error) (int, string) {
	var status int
	var msg string
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		status, msg = http.StatusServiceUnavailable, "request ended before the caption was ready: "+err.Error()
	} else {
		_, status, msg = s.classify(err)
	}
	if s.cfg.APIKey != "" {
		msg = strings.ReplaceAll(msg, s.cfg.APIKey, "[redacted]")
	}
	return status, msg
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
