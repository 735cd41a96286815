package contract

import (
	"fmt"
	"sort"
	"strconv"

	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/edgewatch/edgewatch/tools/validate/objects"
	"github.com/edgewatch/edgewatch/tools/validate/report"
)

// RabbitMQ broker facts (knative-extensions/eventing-rabbitmq).
const (
	// BrokerClass is the broker.class annotation value of a RabbitMQ Broker.
	BrokerClass = "RabbitMQBroker"
	// ParallelismAnnotation sets a Trigger dispatcher's worker count, 1 to 1000.
	ParallelismAnnotation = "rabbitmq.eventing.knative.dev/parallelism"
	// DeadLetterService is the Knative Service every Trigger dead-letters to
	// (docs/events.md, "Dead letters").
	DeadLetterService = "alert"
)

const check = "contract"

// CheckTriggers checks every Trigger and Broker among objs against c and
// returns the problems found.
func CheckTriggers(c Contract, objs []objects.Object) *report.List {
	var l report.List
	brokers := map[string]*eventingv1.Broker{}
	services := map[string]bool{}
	brokerConfigs := map[string]bool{}
	var triggers []objects.Object
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *eventingv1.Broker:
			brokers[v.Namespace+"/"+v.Name] = v
			checkBroker(&l, o, v)
		case *servingv1.Service:
			services[v.Namespace+"/"+v.Name] = true
		case *objects.RabbitmqBrokerConfig:
			brokerConfigs[v.Namespace+"/"+v.Name] = true
		case *eventingv1.Trigger:
			triggers = append(triggers, o)
		}
	}
	for _, o := range objs {
		if b, ok := o.Value.(*eventingv1.Broker); ok && b.Spec.Config != nil && b.Spec.Config.Kind == "RabbitmqBrokerConfig" {
			ns := b.Spec.Config.Namespace
			if ns == "" {
				ns = b.Namespace
			}
			if !brokerConfigs[ns+"/"+b.Spec.Config.Name] {
				l.Addf(o.Doc.Path, o.Doc.ID(), check, "spec.config names RabbitmqBrokerConfig %s/%s, which is not in the tree", ns, b.Spec.Config.Name)
			}
		}
	}

	delivered := map[string][]string{}
	seen := map[string]string{}
	for _, o := range triggers {
		t := o.Value.(*eventingv1.Trigger)
		id := t.Namespace + "/" + t.Name
		if prev, dup := seen[id]; dup {
			l.Addf(o.Doc.Path, o.Doc.ID(), check, "Trigger %s is also defined in %s", id, prev)
		}
		seen[id] = o.Doc.Path
		add := func(format string, args ...any) { l.Addf(o.Doc.Path, o.Doc.ID(), check, format, args...) }

		if b, ok := brokers[t.Namespace+"/"+t.Spec.Broker]; !ok {
			add("spec.broker %q: no Broker of that name in namespace %q in the tree", t.Spec.Broker, t.Namespace)
		} else if b.Annotations[eventingv1.BrokerClassAnnotationKey] != BrokerClass {
			add("spec.broker %q is not a %s Broker; this deployment assumes RabbitMQ's semantics", t.Spec.Broker, BrokerClass)
		}
		if len(t.Spec.Filters) > 0 {
			add("spec.filters is ignored by the RabbitMQ broker (it would deliver every event); use spec.filter.attributes with exact values")
		}
		var attrs map[string]string
		if t.Spec.Filter != nil {
			attrs = t.Spec.Filter.Attributes
		}
		typ, hasType := attrs["type"]
		switch {
		case !hasType || typ == "":
			add("spec.filter.attributes.type is missing: the Trigger would receive every event of the Broker")
		case !c.HasType(typ):
			add("spec.filter.attributes.type %q is not an event type of the contract (internal/contract): no one produces it", typ)
		default:
			delivered[typ] = append(delivered[typ], t.Name)
		}
		if class, ok := attrs["class"]; ok && !c.HasClass(class) {
			add("spec.filter.attributes.class %q is not an incident class of the contract %v", class, c.Classes)
		}
		if v, ok := t.Annotations[ParallelismAnnotation]; ok {
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
				add("annotation %s %q: must be an integer from 1 to 1000", ParallelismAnnotation, v)
			}
		}
		checkRef(add, "spec.subscriber", t.Spec.Subscriber, t.Namespace, services)
		d := t.Spec.Delivery
		switch {
		case d == nil:
			add("spec.delivery is missing: the RabbitMQ dispatcher would not retry, and a failed event would be lost")
		default:
			if d.Retry == nil || *d.Retry < 1 {
				add("spec.delivery.retry must be at least 1")
			}
			if d.DeadLetterSink == nil {
				add("spec.delivery.deadLetterSink is missing: an event that runs out of retries would be lost")
			} else {
				ref := d.DeadLetterSink.Ref
				if ref == nil || ref.Kind != "Service" || ref.APIVersion != "serving.knative.dev/v1" || ref.Name != DeadLetterService {
					add("spec.delivery.deadLetterSink must be the Knative Service %q (docs/events.md, Dead letters)", DeadLetterService)
				}
				checkRef(add, "spec.delivery.deadLetterSink", *d.DeadLetterSink, t.Namespace, services)
			}
		}
	}

	for _, typ := range c.Types {
		if len(delivered[typ]) == 0 && !contains(c.External, typ) {
			l.Addf("config/triggers", "", check, "event type %q of the contract reaches no Trigger: its events would be dropped by the Broker", typ)
		}
	}
	return &l
}

// checkRef checks that a Knative Service reference names a Service of the
// tree, when the tree declares Services at all.
func checkRef(add func(string, ...any), at string, d duckv1.Destination, ns string, services map[string]bool) {
	if d.Ref == nil || d.Ref.Kind != "Service" || d.Ref.APIVersion != "serving.knative.dev/v1" || len(services) == 0 {
		return
	}
	refNS := d.Ref.Namespace
	if refNS == "" {
		refNS = ns
	}
	if !services[refNS+"/"+d.Ref.Name] {
		add("%s.ref names Knative Service %s/%s, which is not in the tree (have %v)", at, refNS, d.Ref.Name, keys(services))
	}
}

func checkBroker(l *report.List, o objects.Object, b *eventingv1.Broker) {
	if c := b.Annotations[eventingv1.BrokerClassAnnotationKey]; c != BrokerClass {
		l.Addf(o.Doc.Path, o.Doc.ID(), check, "annotation %s is %q, want %q", eventingv1.BrokerClassAnnotationKey, c, BrokerClass)
	}
	if b.Spec.Config == nil || b.Spec.Config.Kind != "RabbitmqBrokerConfig" {
		l.Addf(o.Doc.Path, o.Doc.ID(), check, "spec.config must reference a RabbitmqBrokerConfig")
	}
	if b.Spec.Delivery == nil || b.Spec.Delivery.DeadLetterSink == nil {
		l.Addf(o.Doc.Path, o.Doc.ID(), check, "spec.delivery with a deadLetterSink is required: it is the default of Triggers created by hand")
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Summary describes which Triggers deliver each type, for logs and docs.
func Summary(c Contract, objs []objects.Object) []string {
	by := map[string][]string{}
	for _, o := range objs {
		if t, ok := o.Value.(*eventingv1.Trigger); ok && t.Spec.Filter != nil {
			by[t.Spec.Filter.Attributes["type"]] = append(by[t.Spec.Filter.Attributes["type"]], t.Name)
		}
	}
	var out []string
	for _, typ := range c.Types {
		sort.Strings(by[typ])
		out = append(out, fmt.Sprintf("%s -> %v", typ, by[typ]))
	}
	return out
}
