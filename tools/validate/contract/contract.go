// Package contract checks the Triggers of a deployment against edgewatch's
// event contract: every Trigger filters on a type someone produces, every
// type reaches at least one Trigger, and every Trigger can survive a failing
// subscriber (retries and a dead-letter sink), on a RabbitMQ Broker that
// honours only exact attribute filters.
package contract

// Contract is what the validator needs to know of the event contract.
// Edgewatch, in table_gen.go, is edgewatch's own, generated from the
// repository's internal/contract by `go generate ./...`.
type Contract struct {
	// Types are the exact event types, e.g. "dev.edgewatch.motion.detected".
	Types []string
	// Classes are the incident classes ("accident", "fire", ...).
	Classes []string
	// External are the types published for consumers outside edgewatch
	// (the contract's ExternalTypes): no committed Trigger needs to take them.
	External []string
}

// HasType reports whether t is one of the contract's event types.
func (c Contract) HasType(t string) bool { return contains(c.Types, t) }

// HasClass reports whether class is one of the contract's incident classes.
func (c Contract) HasClass(class string) bool { return contains(c.Classes, class) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
