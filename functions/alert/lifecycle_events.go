package function

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
	"github.com/edgewatch/edgewatch/functions/alert/lifecycle"
)

// newIncidentData returns the contract's Incident payload of inc; the
// snapshot is included when withImage is set.
func newIncidentData(inc incident.Incident, withImage bool) contract.Incident {
	data := contract.Incident{
		IncidentID: inc.ID, Camera: inc.Camera, Class: inc.Class, Status: string(inc.Status),
		LastSeenAt: inc.LastSeenAt, ClosedAt: inc.ClosedAt, Confidence: inc.MaxConfidence, Hits: inc.Hits,
		DetectionID: inc.BestDetectionID,
	}
	if inc.OpenedAt != nil {
		data.OpenedAt = *inc.OpenedAt
	}
	if inc.Location != nil {
		data.Location = &contract.Location{Lat: inc.Location.Lat, Lon: inc.Location.Lon}
	}
	if withImage && len(inc.Snapshot) > 0 {
		data.Image = base64.StdEncoding.EncodeToString(inc.Snapshot)
	}
	return data
}

// lifecycleData is the store's payload builder for updated and closed
// events.
func lifecycleData(inc incident.Incident, withImage bool) ([]byte, error) {
	return json.Marshal(newIncidentData(inc, withImage))
}

// lifecycleType maps an outbox kind to its event type.
func lifecycleType(kind string) (string, error) {
	switch kind {
	case lifecycle.KindUpdated:
		return contract.TypeIncidentUpdated, nil
	case lifecycle.KindClosed:
		return contract.TypeIncidentClosed, nil
	}
	return "", fmt.Errorf("unknown incident event kind %q", kind)
}

// lifecycleEvent builds the CloudEvent of an outbox job, with the same
// attributes as the opened event.
func lifecycleEvent(j lifecycle.Job) (event.Event, error) {
	t, err := lifecycleType(j.Kind)
	if err != nil {
		return event.Event{}, err
	}
	e := event.New()
	e.SetID(j.ID)
	e.SetType(t)
	e.SetSource(contract.CameraSource(j.Camera))
	e.SetSubject(j.IncidentID)
	e.SetTime(j.Time)
	e.SetExtension(contract.ExtCamera, j.Camera)
	e.SetExtension(contract.ExtClass, j.Class)
	e.SetExtension(contract.ExtIncident, j.IncidentID)
	if err := e.SetData(contract.ContentTypeJSON, json.RawMessage(j.Data)); err != nil {
		return event.Event{}, err
	}
	return e, nil
}

// sinkSender returns the function that sends outbox jobs to sink in binary
// mode: a 4xx answer is a permanent refusal, anything else not 2xx is
// retried.
func sinkSender(client *http.Client, sink string) (lifecycle.SendFunc, error) {
	c, err := cloudevents.NewClientHTTP(cehttp.WithTarget(sink), cehttp.WithClient(*client))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, j lifecycle.Job) error {
		e, err := lifecycleEvent(j)
		if err != nil {
			return lifecycle.Permanent(err)
		}
		res := c.Send(ctx, e)
		if cloudevents.IsACK(res) {
			return nil
		}
		var status *cehttp.Result
		if cloudevents.ResultAs(res, &status) && status.StatusCode >= 400 && status.StatusCode < 500 &&
			status.StatusCode != http.StatusRequestTimeout && status.StatusCode != http.StatusTooManyRequests {
			return lifecycle.Permanent(res)
		}
		return res
	}, nil
}
