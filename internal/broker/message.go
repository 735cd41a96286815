package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Header names of the RabbitMQ message format (eventing-rabbitmq
// pkg/rabbit/message.go).
const (
	headerPrefix      = "ce-"
	rabbitPrefix      = "x-"
	headerContentType = "content-type"
	headerSpecVersion = "specversion"
	headerTraceParent = "traceparent"
	headerTraceState  = "tracestate"
)

// Extensions the dispatcher adds to a dead-lettered event, as Knative's
// event delivery documents them.
const (
	ExtErrorDest = "knativeerrordest"
	ExtErrorCode = "knativeerrorcode"
	ExtErrorData = "knativeerrordata"
)

var ceSpecs = spec.WithPrefix(headerPrefix)

// toPublishing turns an event into the RabbitMQ message the broker
// publishes. It mirrors eventing-rabbitmq pkg/rabbit/message.go
// CloudEventToRabbitMQMessage: the headers are the unprefixed attributes
// (specversion, id, time in RFC 3339 UTC and content-type always; type,
// source, subject and dataschema when set), traceparent/tracestate when
// given, and every extension as is; the body is the event data; MessageId is
// the event id; the message is persistent. Like upstream it always writes
// time, so an event without one travels with the zero time.
func toPublishing(ev *event.Event, traceParent, traceState string) amqp.Publishing {
	headers := amqp.Table{
		headerContentType: ev.DataContentType(),
		headerSpecVersion: ev.SpecVersion(),
		"time":            types.Timestamp{Time: ev.Time().UTC()}.String(),
		"id":              ev.ID(),
	}
	if ev.Type() != "" {
		headers["type"] = ev.Type()
	}
	if ev.Source() != "" {
		headers["source"] = ev.Source()
	}
	if ev.Subject() != "" {
		headers["subject"] = ev.Subject()
	}
	if ev.DataSchema() != "" {
		headers["dataschema"] = ev.DataSchema()
	}
	if traceParent != "" {
		headers[headerTraceParent] = traceParent
		headers[headerTraceState] = traceState
	}
	for k, v := range ev.Extensions() {
		headers[k] = tableValue(v)
	}
	return amqp.Publishing{
		Headers:      headers,
		MessageId:    ev.ID(),
		ContentType:  ev.DataContentType(),
		Body:         ev.Data(),
		DeliveryMode: amqp.Persistent,
	}
}

// tableValue converts an extension value into a type an AMQP table can
// carry. CloudEvents' canonical string form is used for the types AMQP lacks
// (URI, URI-reference, timestamp).
func tableValue(v any) any {
	switch x := v.(type) {
	case string, bool, int32, int64, int, float64, []byte:
		return x
	case time.Time:
		return types.Timestamp{Time: x}.String()
	default:
		if s, err := types.Format(v); err == nil {
			return s
		}
		return fmt.Sprint(v)
	}
}

// errUnparsable marks a message that is not a CloudEvent.
var errUnparsable = errors.New("message is not a CloudEvent")

// fromDelivery reads a RabbitMQ message back into an event. It mirrors
// eventing-rabbitmq pkg/rabbit/message.go NewMessageFromDelivery and
// ReadBinary: header keys lower-cased with "ce-" stripped, traceparent and
// tracestate kept apart, x-* headers skipped, known attributes set, every
// other header a string extension; a structured content type reads the body
// as a structured event. The second and third results are the trace headers.
func fromDelivery(ctx context.Context, d *amqp.Delivery) (*event.Event, string, string, error) {
	headers := make(map[string]string, len(d.Headers))
	var tp, ts string
	for k, v := range d.Headers {
		key := strings.TrimPrefix(strings.ToLower(k), headerPrefix)
		switch key {
		case headerTraceParent:
			tp = fmt.Sprint(v)
			continue
		case headerTraceState:
			ts = fmt.Sprint(v)
			continue
		}
		headers[key] = fmt.Sprint(v)
	}
	m := &deliveryMessage{body: d.Body, headers: headers}
	if f := format.Lookup(d.ContentType); f != nil {
		m.format = f
	} else if v := ceSpecs.Version(headers[headerSpecVersion]); v != nil {
		m.version = v
	} else {
		return nil, tp, ts, fmt.Errorf("%w: no valid specversion header", errUnparsable)
	}
	ev, err := binding.ToEvent(ctx, m)
	if err != nil {
		return nil, tp, ts, fmt.Errorf("%w: %v", errUnparsable, err)
	}
	if err := ev.Validate(); err != nil {
		return nil, tp, ts, fmt.Errorf("%w: %v", errUnparsable, err)
	}
	return ev, tp, ts, nil
}

// deliveryMessage is a binding.Message over the parts of a RabbitMQ message.
type deliveryMessage struct {
	body    []byte
	headers map[string]string
	format  format.Format
	version spec.Version
}

var (
	_ binding.Message               = (*deliveryMessage)(nil)
	_ binding.MessageMetadataReader = (*deliveryMessage)(nil)
)

// GetAttribute implements binding.MessageMetadataReader.
func (m *deliveryMessage) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	if m.version == nil {
		return nil, nil
	}
	attr := m.version.AttributeFromKind(k)
	if attr == nil {
		return nil, nil
	}
	key := attr.Name()
	if k == spec.DataContentType {
		key = headerContentType
	}
	if v, ok := m.headers[key]; ok {
		return attr, v
	}
	return attr, nil
}

// GetExtension implements binding.MessageMetadataReader.
func (m *deliveryMessage) GetExtension(name string) any {
	if v, ok := m.headers[name]; ok {
		return v
	}
	return nil
}

// ReadEncoding implements binding.Message.
func (m *deliveryMessage) ReadEncoding() binding.Encoding {
	switch {
	case m.version != nil:
		return binding.EncodingBinary
	case m.format != nil:
		return binding.EncodingStructured
	}
	return binding.EncodingUnknown
}

// ReadStructured implements binding.Message.
func (m *deliveryMessage) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.format == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.format, bytes.NewReader(m.body))
}

// ReadBinary implements binding.Message.
func (m *deliveryMessage) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	for k, v := range m.headers {
		var err error
		switch {
		case k == headerContentType:
			err = w.SetAttribute(m.version.AttributeFromKind(spec.DataContentType), v)
		case strings.HasPrefix(k, rabbitPrefix):
			continue
		default:
			if attr := m.version.Attribute(headerPrefix + k); attr != nil {
				err = w.SetAttribute(attr, v)
			} else {
				err = w.SetExtension(k, v)
			}
		}
		if err != nil {
			return err
		}
	}
	if m.body != nil {
		return w.SetData(bytes.NewReader(m.body))
	}
	return nil
}

// Finish implements binding.Message.
func (m *deliveryMessage) Finish(error) error { return nil }
