// Package triggers reads Knative Trigger manifests (eventing.knative.dev/v1)
// into the small set of routes the local broker needs, and resolves their
// destinations to local URLs.
//
// It reads what the RabbitMQ broker of eventing-rabbitmq honours and rejects
// what it would silently ignore, so a manifest that works locally means the
// same thing on a cluster:
//
//   - spec.filter.attributes: exact attribute matches (the only filter the
//     RabbitMQ broker applies); spec.filters is rejected.
//   - spec.subscriber and spec.delivery.deadLetterSink: a ref
//     (apiVersion, kind, name, namespace) and/or a uri.
//   - spec.delivery: retry, backoffPolicy (exponential|linear), backoffDelay
//     and timeout as ISO-8601 durations.
//   - the annotation rabbitmq.eventing.knative.dev/parallelism (1–1000).
//
// Decoding is strict: an unknown field, a bad duration or a bad annotation is
// an error that names the file and the field.
//
// Typical use:
//
//	ts, err := triggers.LoadDir("config/triggers")
//	res := triggers.NewStaticResolver(map[string]string{"detect": "http://127.0.0.1:8081/"})
//	u, err := res.Resolve(ts[0].Subscriber, ts[0].Namespace)
package triggers

import (
	"time"
)

// ParallelismAnnotation is the Trigger annotation that sets how many events
// the Trigger's dispatcher delivers at once. It mirrors eventing-rabbitmq
// pkg/reconciler/trigger/resources/dispatcher.go (ParallelismAnnotation).
const ParallelismAnnotation = "rabbitmq.eventing.knative.dev/parallelism"

// Parallelism bounds and default, as eventing-rabbitmq's webhook validates
// them (pkg/apis/eventing/v1alpha1/trigger_validation.go).
const (
	MinParallelism     = 1
	MaxParallelism     = 1000
	DefaultParallelism = 1
)

// Delivery defaults of eventing-rabbitmq v0.48.0: a delivery spec without
// retry gets 5 retries (pkg/reconciler/trigger/resources/dispatcher.go), the
// dispatcher's default backoff delay is 50 ms (cmd/dispatcher/main.go) and
// the default policy is exponential.
const (
	DefaultRetry        = 5
	DefaultBackoffDelay = 50 * time.Millisecond
)

// BackoffPolicy is how the delay between retries grows.
type BackoffPolicy string

// The two backoff policies Knative defines.
const (
	// BackoffExponential waits delay·2^n before retry n (n counts from 1).
	BackoffExponential BackoffPolicy = "exponential"
	// BackoffLinear waits delay·n before retry n (n counts from 1).
	BackoffLinear BackoffPolicy = "linear"
)

// Trigger is one Trigger manifest reduced to what the broker routes on.
type Trigger struct {
	// Name is metadata.name.
	Name string
	// Namespace is metadata.namespace ("default" when empty, as Kubernetes does).
	Namespace string
	// Broker is spec.broker.
	Broker string
	// Filter is spec.filter.attributes: every attribute must match exactly.
	// An empty filter matches every event.
	Filter map[string]string
	// Subscriber is spec.subscriber.
	Subscriber Destination
	// Delivery is spec.delivery, nil when the manifest has none.
	Delivery *Delivery
	// Parallelism is the rabbitmq.eventing.knative.dev/parallelism annotation
	// (DefaultParallelism when absent).
	Parallelism int
	// File is the path the Trigger was read from, for messages.
	File string
}

// Destination is a Knative duck Destination: a reference to an addressable
// object, a URI, or a URI relative to the reference.
type Destination struct {
	// Ref refers to an addressable object, nil when absent.
	Ref *Ref
	// URI is an absolute URL, or a URL relative to Ref's address when Ref is set.
	URI string
}

// Ref is a Knative KReference.
type Ref struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
}

// Delivery is a Knative DeliverySpec as the RabbitMQ broker honours it.
// Pointer fields are nil when the manifest leaves them out.
type Delivery struct {
	// Retry is the number of retries after the first attempt.
	Retry *int
	// BackoffPolicy is exponential or linear ("" when unset).
	BackoffPolicy BackoffPolicy
	// BackoffDelay is the base delay between retries.
	BackoffDelay *time.Duration
	// Timeout bounds each delivery attempt.
	Timeout *time.Duration
	// DeadLetterSink receives events whose delivery failed for good.
	DeadLetterSink *Destination
}

// RetryPolicy is the effective retry behaviour of a Trigger's dispatcher
// after eventing-rabbitmq's defaults have been applied.
type RetryPolicy struct {
	// Retries is the number of retries after the first attempt
	// (attempts = Retries + 1).
	Retries int
	// Policy is how the delay grows.
	Policy BackoffPolicy
	// Delay is the base delay.
	Delay time.Duration
	// Timeout bounds each attempt; zero means no bound.
	Timeout time.Duration
}

// RetryPolicy returns the Trigger's effective retry behaviour. Without a
// delivery spec there are no retries; with one but without retry there are
// DefaultRetry retries (as eventing-rabbitmq v0.48.0 does).
func (t Trigger) RetryPolicy() RetryPolicy {
	p := RetryPolicy{Policy: BackoffExponential, Delay: DefaultBackoffDelay}
	d := t.Delivery
	if d == nil {
		return p
	}
	p.Retries = DefaultRetry
	if d.Retry != nil {
		p.Retries = *d.Retry
	}
	if d.BackoffPolicy != "" {
		p.Policy = d.BackoffPolicy
	}
	if d.BackoffDelay != nil {
		p.Delay = *d.BackoffDelay
	}
	if d.Timeout != nil {
		p.Timeout = *d.Timeout
	}
	return p
}

// Backoff returns how long to wait before retry n (n counts from 1):
// delay·2^n for exponential, delay·n for linear, without jitter. It mirrors
// sdk-go v2 context/retry.go RetryParams.BackoffFor, which eventing-rabbitmq's
// dispatcher uses.
func (p RetryPolicy) Backoff(n int) time.Duration {
	if n < 1 {
		return 0
	}
	if p.Policy == BackoffLinear {
		return p.Delay * time.Duration(n)
	}
	if n > 62 {
		n = 62
	}
	return p.Delay * time.Duration(int64(1)<<uint(n))
}

// DeadLetterSink returns the Trigger's dead-letter sink, nil when it has none.
func (t Trigger) DeadLetterSink() *Destination {
	if t.Delivery == nil {
		return nil
	}
	return t.Delivery.DeadLetterSink
}
