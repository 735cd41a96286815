// Package eventpolicy reads Knative EventPolicy manifests
// (eventing.knative.dev/v1alpha1) into the table the local broker enforces:
// which producer may send which event types to a broker.
//
// It decides as Knative's own verifier does (knative.dev/eventing
// pkg/auth.SubjectAndFiltersPass): the first policy, in file order, whose
// spec.from names the sender decides, and the event must pass that policy's
// filters; a sender that no policy names is refused. Knative's senders are
// OIDC identities; locally a sender is a function's name, resolved from
// spec.from as follows:
//
//   - a SinkBinding ref: the function it binds, named as the SinkBinding;
//   - a Trigger ref: the Trigger's subscriber, whose replies the broker
//     forwards with the Trigger's identity;
//   - sub: system:serviceaccount:<namespace>:<name>: the function <name>.
//
// Filters may be exact or prefix matches on the type attribute, or any of
// them; anything else is refused when the manifests load, so that a policy
// never means less locally than on a cluster.
package eventpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

// Operator is the sender name of the operator's token, which may send any
// event (to poke the pipeline with curl or edgewatch send).
const Operator = "operator"

// typeMatch is one filter on the type attribute.
type typeMatch struct{ exact, prefix string }

func (m typeMatch) matches(t string) bool {
	if m.exact != "" {
		return t == m.exact
	}
	return strings.HasPrefix(t, m.prefix)
}

func (m typeMatch) String() string {
	if m.exact != "" {
		return m.exact
	}
	return m.prefix + "*"
}

// policy is one EventPolicy that applies to the broker.
type policy struct {
	name    string
	senders []string
	// types are alternatives (any); nil lets every type through, as a
	// policy without filters does.
	types []typeMatch
	// unfiltered is true for a policy without filters.
	unfiltered bool
}

// Table is the local form of the EventPolicies that apply to one broker.
type Table struct{ policies []policy }

// Allows returns nil when sender may send an event of type t, and otherwise
// an error that says why not, for the 403 the ingress answers with.
func (tb *Table) Allows(sender, t string) error {
	if sender == Operator {
		return nil
	}
	for _, p := range tb.policies {
		for _, s := range p.senders {
			if s != sender {
				continue
			}
			if p.unfiltered {
				return nil
			}
			for _, m := range p.types {
				if m.matches(t) {
					return nil
				}
			}
			want := make([]string, len(p.types))
			for i, m := range p.types {
				want[i] = m.String()
			}
			return fmt.Errorf("EventPolicy %s lets %s send %s only, not %q", p.name, sender, strings.Join(want, ", "), t)
		}
	}
	if sender == "" {
		return fmt.Errorf("no sender identity: present a producer's token (Authorization: Bearer) to send %q", t)
	}
	return fmt.Errorf("no EventPolicy lets %s send events to this broker", sender)
}

// Senders lists every sender some policy names, sorted.
func (tb *Table) Senders() []string {
	seen := map[string]bool{}
	for _, p := range tb.policies {
		for _, s := range p.senders {
			seen[s] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// The manifest shapes, decoded strictly.
type manifest struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   metadata `json:"metadata"`
	Spec       spec     `json:"spec"`
}

type metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type spec struct {
	To      []to     `json:"to"`
	From    []from   `json:"from"`
	Filters []filter `json:"filters"`
}

type to struct {
	Ref      *ref            `json:"ref"`
	Selector json.RawMessage `json:"selector"`
}

type from struct {
	Ref *ref    `json:"ref"`
	Sub *string `json:"sub"`
}

type ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
}

type filter struct {
	Exact  map[string]string `json:"exact"`
	Prefix map[string]string `json:"prefix"`
	Any    []filter          `json:"any"`
}

// LoadDir reads the EventPolicies of dir (every *.yaml file but the
// kustomization, in name order) that apply to the broker named broker in
// namespace, resolving Trigger refs through ts.
func LoadDir(dir, namespace, broker string, ts []triggers.Trigger) (*Table, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	tb := &Table{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("eventpolicy: %w", err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			p, applies, err := parse(doc, namespace, broker, ts)
			if err != nil {
				return nil, fmt.Errorf("eventpolicy: %s (document %d): %w", f, i+1, err)
			}
			if applies {
				tb.policies = append(tb.policies, p)
			}
		}
	}
	if len(tb.policies) == 0 {
		return nil, fmt.Errorf("eventpolicy: no EventPolicy in %s applies to broker %s/%s", dir, namespace, broker)
	}
	return tb, nil
}

// parse decodes one EventPolicy and reports whether it applies to the broker.
func parse(doc []byte, namespace, broker string, ts []triggers.Trigger) (policy, bool, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return policy{}, false, fmt.Errorf("yaml: %w", err)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return policy{}, false, fmt.Errorf("decode: %w", err)
	}
	if m.APIVersion != "eventing.knative.dev/v1alpha1" || m.Kind != "EventPolicy" {
		return policy{}, false, fmt.Errorf("apiVersion/kind: want eventing.knative.dev/v1alpha1 EventPolicy, got %q %q", m.APIVersion, m.Kind)
	}
	if m.Metadata.Namespace != namespace || !appliesTo(m.Spec.To, broker) {
		return policy{}, false, nil
	}
	p := policy{name: m.Metadata.Name, unfiltered: len(m.Spec.Filters) == 0}
	for i, f := range m.Spec.From {
		s, err := sender(f, namespace, ts)
		if err != nil {
			return policy{}, false, fmt.Errorf("spec.from[%d]: %w", i, err)
		}
		p.senders = append(p.senders, s)
	}
	if len(p.senders) == 0 {
		return policy{}, false, errors.New("spec.from: names no sender")
	}
	if len(m.Spec.Filters) > 1 {
		return policy{}, false, errors.New("spec.filters: only one filter (an exact or prefix match on type, or any of them) is understood locally")
	}
	if len(m.Spec.Filters) == 1 {
		if p.types, err = typeMatches(m.Spec.Filters[0]); err != nil {
			return policy{}, false, fmt.Errorf("spec.filters[0]: %w", err)
		}
	}
	return p, true, nil
}

// appliesTo reports whether spec.to includes the broker (an empty list
// applies to every resource of the namespace).
func appliesTo(tos []to, broker string) bool {
	if len(tos) == 0 {
		return true
	}
	for _, t := range tos {
		if t.Ref != nil && t.Ref.Kind == "Broker" && t.Ref.Name == broker {
			return true
		}
	}
	return false
}

// sender resolves one spec.from entry to a local function name.
func sender(f from, namespace string, ts []triggers.Trigger) (string, error) {
	switch {
	case f.Sub != nil:
		prefix := "system:serviceaccount:" + namespace + ":"
		if !strings.HasPrefix(*f.Sub, prefix) || strings.HasSuffix(*f.Sub, "*") {
			return "", fmt.Errorf("sub %q: want %s<name>", *f.Sub, prefix)
		}
		return strings.TrimPrefix(*f.Sub, prefix), nil
	case f.Ref != nil && f.Ref.Kind == "SinkBinding":
		return f.Ref.Name, nil
	case f.Ref != nil && f.Ref.Kind == "Trigger":
		for _, t := range ts {
			if t.Name == f.Ref.Name && t.Subscriber.Ref != nil {
				return t.Subscriber.Ref.Name, nil
			}
		}
		return "", fmt.Errorf("no Trigger %q with a subscriber ref", f.Ref.Name)
	case f.Ref != nil:
		return "", fmt.Errorf("ref of kind %q: only SinkBinding and Trigger refs are understood locally", f.Ref.Kind)
	}
	return "", errors.New("neither ref nor sub")
}

// typeMatches reads a filter made of exact or prefix matches on type.
func typeMatches(f filter) ([]typeMatch, error) {
	set := 0
	for _, b := range []bool{f.Exact != nil, f.Prefix != nil, f.Any != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("want exactly one of exact, prefix or any")
	}
	one := func(m map[string]string, exact bool) ([]typeMatch, error) {
		v, ok := m["type"]
		if len(m) != 1 || !ok || v == "" {
			return nil, errors.New("only a match on the type attribute is understood locally")
		}
		if exact {
			return []typeMatch{{exact: v}}, nil
		}
		return []typeMatch{{prefix: v}}, nil
	}
	switch {
	case f.Exact != nil:
		return one(f.Exact, true)
	case f.Prefix != nil:
		return one(f.Prefix, false)
	}
	var out []typeMatch
	for i, sub := range f.Any {
		ms, err := typeMatches(sub)
		if err != nil {
			return nil, fmt.Errorf("any[%d]: %w", i, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}
