package triggers

import (
	"fmt"
	"net/url"
)

// Knative Service references are the only kind of ref the local broker can
// address (ksvc:NAME in kn's shorthand).
const (
	ServiceAPIVersion = "serving.knative.dev/v1"
	ServiceKind       = "Service"
)

// Resolver maps a Destination to the URL events for it are POSTed to.
// namespace is the Trigger's namespace, used when the ref names none.
type Resolver interface {
	Resolve(d Destination, namespace string) (*url.URL, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(d Destination, namespace string) (*url.URL, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(d Destination, namespace string) (*url.URL, error) {
	return f(d, namespace)
}

// StaticResolver resolves Knative Service refs from a fixed table of local
// addresses and takes absolute URIs as they are. A relative URI next to a ref
// is joined onto the ref's address, as Knative does.
type StaticResolver struct {
	services map[string]string
}

// NewStaticResolver returns a resolver for the given Service addresses. A key
// is a Service name ("detect") or "namespace/name" to tell apart Services of
// the same name; the value is the base URL, e.g. "http://127.0.0.1:8081/".
func NewStaticResolver(services map[string]string) StaticResolver {
	m := make(map[string]string, len(services))
	for k, v := range services {
		m[k] = v
	}
	return StaticResolver{services: m}
}

// Resolve implements Resolver.
func (r StaticResolver) Resolve(d Destination, namespace string) (*url.URL, error) {
	if d.Ref == nil {
		if d.URI == "" {
			return nil, fmt.Errorf("destination has neither ref nor uri")
		}
		u, err := url.Parse(d.URI)
		if err != nil {
			return nil, fmt.Errorf("destination uri: %w", err)
		}
		if !u.IsAbs() {
			return nil, fmt.Errorf("destination uri %q is not absolute", d.URI)
		}
		return u, nil
	}
	ref := d.Ref
	if ref.APIVersion != ServiceAPIVersion || ref.Kind != ServiceKind {
		return nil, fmt.Errorf("destination ref %s %s/%s: only %s %s can be resolved locally", ref.APIVersion, ref.Kind, ref.Name, ServiceAPIVersion, ServiceKind)
	}
	ns := ref.Namespace
	if ns == "" {
		ns = namespace
	}
	raw, ok := r.services[ns+"/"+ref.Name]
	if !ok {
		raw, ok = r.services[ref.Name]
	}
	if !ok {
		return nil, fmt.Errorf("destination ref ksvc:%s (namespace %s): no local address configured", ref.Name, ns)
	}
	base, err := url.Parse(raw)
	if err != nil || !base.IsAbs() {
		return nil, fmt.Errorf("address %q of ksvc:%s is not an absolute URL", raw, ref.Name)
	}
	if d.URI == "" {
		return base, nil
	}
	rel, err := url.Parse(d.URI)
	if err != nil {
		return nil, fmt.Errorf("destination uri: %w", err)
	}
	if rel.IsAbs() {
		return nil, fmt.Errorf("destination uri %q must be relative when ref is set", d.URI)
	}
	return base.ResolveReference(rel), nil
}
