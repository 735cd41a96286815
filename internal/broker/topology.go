package broker

import (
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

// Binding argument keys. They mirror eventing-rabbitmq pkg/rabbit/binding.go
// (BindingKey, and the "x-match": "all" every binding carries).
const (
	bindingKeyTrigger = "x-knative-trigger"
	bindingKeyMatch   = "x-match"
)

// Queue types Config.QueueType accepts.
const (
	QueueTypeQuorum  = "quorum"
	QueueTypeClassic = "classic"
)

// names computes the RabbitMQ object names of one broker. The formats mirror
// eventing-rabbitmq pkg/rabbitmqnaming/naming.go; where upstream suffixes
// Trigger objects with the Trigger's UID, the local broker has none and uses
// the broker UID, which keeps everything of one broker instance under one
// suffix.
type names struct {
	ns, broker, uid string
}

// exchange is the broker's headers exchange: b.<ns>.<broker>.<uid>.
func (n names) exchange() string { return fmt.Sprintf("b.%s.%s.%s", n.ns, n.broker, n.uid) }

// dlx is the broker's dead-letter exchange: b.<ns>.<broker>.dlx.<uid>.
func (n names) dlx() string { return fmt.Sprintf("b.%s.%s.dlx.%s", n.ns, n.broker, n.uid) }

// dlq is the broker's dead-letter queue: b.<ns>.<broker>.dlq.<uid>.
func (n names) dlq() string { return fmt.Sprintf("b.%s.%s.dlq.%s", n.ns, n.broker, n.uid) }

// triggerQueue is a Trigger's queue: <ns>.<trigger>.<uid> (upstream's
// CreateTriggerQueueRabbitName).
func (n names) triggerQueue(t triggers.Trigger) string {
	return fmt.Sprintf("%s.%s.%s", t.Namespace, t.Name, n.uid)
}

// triggerDLX is a Trigger's dead-letter exchange: t.<ns>.<trigger>.dlx.<uid>.
func (n names) triggerDLX(t triggers.Trigger) string {
	return fmt.Sprintf("t.%s.%s.dlx.%s", t.Namespace, t.Name, n.uid)
}

// triggerDLQ is a Trigger's dead-letter queue: t.<ns>.<trigger>.dlq.<uid>.
func (n names) triggerDLQ(t triggers.Trigger) string {
	return fmt.Sprintf("t.%s.%s.dlq.%s", t.Namespace, t.Name, n.uid)
}

// deadLetterExchange is where a Trigger's failed events go: its own DLX when
// it has a dead-letter sink, the broker's otherwise (as eventing-rabbitmq
// pkg/reconciler/trigger/trigger.go chooses DLXName).
func (n names) deadLetterExchange(t triggers.Trigger) string {
	if t.DeadLetterSink() != nil {
		return n.triggerDLX(t)
	}
	return n.dlx()
}

// topology declares and deletes the exchanges, queues and bindings of one
// broker. Every declaration is idempotent, so sessions re-run the part they
// need after a reconnection.
type topology struct {
	names     names
	queueType string
	triggers  []triggers.Trigger
}

func (tp topology) declareExchange(ch *amqp.Channel, name string) error {
	// Mirrors eventing-rabbitmq pkg/rabbit/exchange.go: headers, durable,
	// not auto-deleted.
	if err := ch.ExchangeDeclare(name, amqp.ExchangeHeaders, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", name, err)
	}
	return nil
}

func (tp topology) declareQueue(ch *amqp.Channel, name, deadLetterExchange string) error {
	// Mirrors eventing-rabbitmq pkg/rabbit/queue.go (durable, quorum by
	// default) and its dead-letter-exchange policy, given here as a queue
	// argument.
	args := amqp.Table{}
	if tp.queueType == QueueTypeQuorum {
		args[amqp.QueueTypeArg] = amqp.QueueTypeQuorum
	}
	if deadLetterExchange != "" {
		args["x-dead-letter-exchange"] = deadLetterExchange
	}
	if _, err := ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		return fmt.Errorf("declare queue %s: %w", name, err)
	}
	return nil
}

func (tp topology) bind(ch *amqp.Channel, queue, exchange string, filter map[string]string, trigger string) error {
	// Mirrors eventing-rabbitmq pkg/rabbit/binding.go and
	// pkg/reconciler/trigger/trigger.go: the Trigger's filter attributes,
	// x-knative-trigger and x-match: all.
	args := amqp.Table{bindingKeyMatch: "all"}
	for k, v := range filter {
		args[k] = v
	}
	if trigger != "" {
		args[bindingKeyTrigger] = trigger
	}
	if err := ch.QueueBind(queue, "", exchange, false, args); err != nil {
		return fmt.Errorf("bind %s to %s: %w", queue, exchange, err)
	}
	return nil
}

// declareBroker declares the broker exchange, the broker DLX and the broker
// DLQ bound to it, where the dead letters of Triggers without a dead-letter
// sink wait.
func (tp topology) declareBroker(ch *amqp.Channel) error {
	n := tp.names
	if err := tp.declareExchange(ch, n.exchange()); err != nil {
		return err
	}
	if err := tp.declareExchange(ch, n.dlx()); err != nil {
		return err
	}
	if err := tp.declareQueue(ch, n.dlq(), ""); err != nil {
		return err
	}
	return tp.bind(ch, n.dlq(), n.dlx(), nil, "")
}

// declareTrigger declares a Trigger's queue and its binding to the broker
// exchange (which it declares too, so the call stands alone).
func (tp topology) declareTrigger(ch *amqp.Channel, t triggers.Trigger) error {
	n := tp.names
	if err := tp.declareExchange(ch, n.exchange()); err != nil {
		return err
	}
	if err := tp.declareExchange(ch, n.deadLetterExchange(t)); err != nil {
		return err
	}
	if err := tp.declareQueue(ch, n.triggerQueue(t), n.deadLetterExchange(t)); err != nil {
		return err
	}
	return tp.bind(ch, n.triggerQueue(t), n.exchange(), t.Filter, t.Name)
}

// declareTriggerDLQ declares a Trigger's DLX and DLQ (only for Triggers with
// a dead-letter sink).
func (tp topology) declareTriggerDLQ(ch *amqp.Channel, t triggers.Trigger) error {
	n := tp.names
	if err := tp.declareExchange(ch, n.triggerDLX(t)); err != nil {
		return err
	}
	if err := tp.declareQueue(ch, n.triggerDLQ(t), ""); err != nil {
		return err
	}
	return tp.bind(ch, n.triggerDLQ(t), n.triggerDLX(t), nil, "")
}

// declareAll declares the whole topology.
func (tp topology) declareAll(ch *amqp.Channel) error {
	if err := tp.declareBroker(ch); err != nil {
		return err
	}
	for _, t := range tp.triggers {
		if t.DeadLetterSink() != nil {
			if err := tp.declareTriggerDLQ(ch, t); err != nil {
				return err
			}
		}
		if err := tp.declareTrigger(ch, t); err != nil {
			return err
		}
	}
	return nil
}

// queues and exchanges list every object of the topology, for deletion.
func (tp topology) queues() []string {
	n := tp.names
	out := []string{n.dlq()}
	for _, t := range tp.triggers {
		out = append(out, n.triggerQueue(t))
		if t.DeadLetterSink() != nil {
			out = append(out, n.triggerDLQ(t))
		}
	}
	return out
}

func (tp topology) exchanges() []string {
	n := tp.names
	out := []string{n.exchange(), n.dlx()}
	for _, t := range tp.triggers {
		if t.DeadLetterSink() != nil {
			out = append(out, n.triggerDLX(t))
		}
	}
	return out
}

// deleteAll deletes every queue and exchange of the topology, messages
// included. Objects already gone are not an error.
func (tp topology) deleteAll(ch *amqp.Channel) error {
	for _, q := range tp.queues() {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("delete queue %s: %w", q, err)
		}
	}
	for _, e := range tp.exchanges() {
		if err := ch.ExchangeDelete(e, false, false); err != nil {
			return fmt.Errorf("delete exchange %s: %w", e, err)
		}
	}
	return nil
}
