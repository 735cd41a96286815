// Package dryrun sends every object of the deployment tree to a real
// kube-apiserver as a server-side dry run (DryRun=All) with strict field
// validation, after installing Knative Serving's and Eventing's CRDs, so that
// each object meets exactly the schema checks, core API validation and
// built-in admission of a cluster, and nothing is stored.
//
// It complements the in-process validation of package objects: the API
// server enforces the CRDs' OpenAPI schemas (types, enums, required fields,
// unknown fields where the schema is closed), object metadata rules (names,
// label values), the core API's validation of Deployments, ConfigMaps and
// Secrets, and namespace existence; Knative's webhook checks (e.g.
// containerConcurrency bounds, feature flags) stay with the in-process
// validation, since no webhook runs here. Kinds whose CRDs cannot be
// obtained here (RabbitMQ, eventing-rabbitmq, Prometheus Operator) are
// skipped and reported as such.
package dryrun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

// DefaultNamespace is where namespaced objects without a namespace go, as
// the overlays' namespace: edgewatch puts them.
const DefaultNamespace = "edgewatch"

// Status is the outcome of one object.
type Status int

// The outcomes of Check.
const (
	// Passed means the API server accepted the dry-run create (or update).
	Passed Status = iota
	// Skipped means the object's kind cannot be served here; see Unobtainable.
	Skipped
	// Failed means the API server rejected the object, or it could not be sent.
	Failed
)

// Outcome is what happened to one object.
type Outcome struct {
	// Doc is the object as rendered.
	Doc manifest.Document
	// Status says whether it passed, was skipped or failed.
	Status Status
	// Message is the API server's rejection, or why the object was skipped.
	Message string
	// Warnings are the API server's warning headers for the request.
	Warnings []string
}

// Unobtainable reports why a kind is not served by this API server and is
// skipped rather than failed: the CRDs of eventing-rabbitmq, the RabbitMQ
// Cluster Operator and the Prometheus Operator are not published as Go
// modules reachable here. Any other unknown kind is a failure (a misspelt
// apiVersion or kind, say).
func Unobtainable(gk schema.GroupKind) (string, bool) {
	switch {
	case gk.Group == "rabbitmq.com":
		return "no CRD: the RabbitMQ Cluster Operator's CRDs are not obtainable here", true
	case gk.Group == "eventing.knative.dev" && strings.HasPrefix(gk.Kind, "Rabbitmq"):
		return "no CRD: eventing-rabbitmq's CRDs are not obtainable here", true
	case gk.Group == "monitoring.coreos.com":
		return "no CRD: the Prometheus Operator's CRDs are not obtainable here", true
	case gk.Group == "kustomize.config.k8s.io":
		return "a kustomize build instruction, not an API object", true
	}
	return "", false
}

// Checker dry-runs objects against one API server. Its methods are not
// safe for concurrent use.
type Checker struct {
	client   dynamic.Interface
	mapper   meta.ResettableRESTMapper
	warnings *warningRecorder
	// Attempts is how often a request failing for a transient reason
	// (timeout, throttling, connection refused) is sent; default 5.
	Attempts int
}

// NewChecker returns a Checker for the API server cfg reaches.
func NewChecker(cfg *rest.Config) (*Checker, error) {
	cfg = rest.CopyConfig(cfg)
	w := &warningRecorder{}
	cfg.WarningHandler = w
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return &Checker{client: client, mapper: mapper, warnings: w, Attempts: 5}, nil
}

// Client returns the dynamic client the Checker uses.
func (c *Checker) Client() dynamic.Interface { return c.client }

// EnsureNamespaces creates (for real) each namespace that does not exist,
// so that objects can be dry-run inside it.
func (c *Checker) EnsureNamespaces(ctx context.Context, names []string) error {
	res := corev1.SchemeGroupVersion.WithResource("namespaces")
	for _, n := range names {
		ns := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": n},
		}}
		err := c.retry(ctx, func() error {
			_, err := c.client.Resource(res).Create(ctx, ns, metav1.CreateOptions{})
			return err
		})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", n, err)
		}
	}
	return nil
}

// Check dry-runs one object: a create, or an update where the object
// already exists (a namespace EnsureNamespaces made, say).
func (c *Checker) Check(ctx context.Context, d manifest.Document) Outcome {
	out := Outcome{Doc: d}
	fail := func(format string, args ...any) Outcome {
		out.Status = Failed
		out.Message = fmt.Sprintf(format, args...)
		return out
	}
	u, err := toUnstructured(d.YAML)
	if err != nil {
		return fail("not a valid object: %v", err)
	}
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return fail("apiVersion and kind are required")
	}
	if reason, ok := Unobtainable(gvk.GroupKind()); ok {
		if _, err := c.mapping(gvk); err != nil {
			out.Status = Skipped
			out.Message = reason
			return out
		}
	}
	m, err := c.mapping(gvk)
	if err != nil {
		return fail("the API server serves no %s (misspelt apiVersion or kind?): %v", gvk, err)
	}
	var ri dynamic.ResourceInterface = c.client.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(DefaultNamespace)
		}
		ri = c.client.Resource(m.Resource).Namespace(u.GetNamespace())
	} else {
		u.SetNamespace("")
	}

	c.warnings.reset()
	err = c.retry(ctx, func() error {
		_, err := ri.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		existing, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		u.SetResourceVersion(existing.GetResourceVersion())
		_, err = ri.Update(ctx, u, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
		return err
	})
	out.Warnings = c.warnings.take()
	if err != nil {
		return fail("%v", err)
	}
	out.Status = Passed
	return out
}

// mapping finds the resource serving gvk, refreshing discovery once when it
// is not found (a CRD established a moment ago may not be listed yet).
func (c *Checker) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

// retry calls f until it succeeds, fails for a reason retrying cannot fix,
// or Attempts are spent, backing off between attempts.
func (c *Checker) retry(ctx context.Context, f func() error) error {
	attempts := max(c.Attempts, 1)
	delay := 250 * time.Millisecond
	var err error
	for i := 0; i < attempts; i++ {
		if err = f(); err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(delay):
		}
		delay *= 2
	}
	return err
}

// transient reports whether err may go away when the request is repeated.
func transient(err error) bool {
	var ne net.Error
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) ||
		errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused")
}

// warningRecorder keeps the warning headers of the current request.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader records one warning.
func (w *warningRecorder) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	w.msgs = append(w.msgs, text)
	w.mu.Unlock()
}

func (w *warningRecorder) reset() { w.take() }

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}
