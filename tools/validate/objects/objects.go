// Package objects decodes every object of a manifest into its real Go type,
// strictly, and then asks Knative's own code about it: SetDefaults followed
// by Validate, with the cluster's feature flags in the context, which is what
// Knative's admission webhooks do when the object is applied. Kinds whose Go
// types are not obtainable (the RabbitMQ operator's and Prometheus
// Operator's) are decoded into local structs that mirror their schemas.
package objects

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	eventingv1alpha1 "knative.dev/eventing/pkg/apis/eventing/v1alpha1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

// Object is a decoded, defaulted and validated object.
type Object struct {
	// Doc is the document the object came from.
	Doc manifest.Document
	// Value is a pointer to the decoded object, e.g. *eventingv1.Trigger.
	Value any
}

// knative is what Knative's API types implement.
type knative interface {
	apis.Defaultable
	apis.Validatable
}

// selfValidating is what the local mirrors of third-party types implement.
type selfValidating interface {
	Validate() error
}

// kind knows how to make an empty object of one apiVersion and kind.
type kind struct {
	newObject func() any
}

// Validator decodes and validates documents against one cluster
// configuration.
type Validator struct {
	ctx   context.Context
	kinds map[string]kind
}

// NewValidator returns a Validator for a cluster configured as c.
func NewValidator(ctx context.Context, c Cluster) (*Validator, error) {
	vctx, err := c.Context(ctx)
	if err != nil {
		return nil, err
	}
	return &Validator{ctx: vctx, kinds: knownKinds()}, nil
}

func key(apiVersion, kind string) string { return apiVersion + ", Kind=" + kind }

// knownKinds lists every apiVersion and kind the deployment may contain.
func knownKinds() map[string]kind {
	k := map[string]kind{}
	add := func(apiVersion, name string, f func() any) { k[key(apiVersion, name)] = kind{newObject: f} }

	add("serving.knative.dev/v1", "Service", func() any { return &servingv1.Service{} })
	add("eventing.knative.dev/v1", "Broker", func() any { return &eventingv1.Broker{} })
	add("eventing.knative.dev/v1", "Trigger", func() any { return &eventingv1.Trigger{} })
	add("eventing.knative.dev/v1alpha1", "EventPolicy", func() any { return &eventingv1alpha1.EventPolicy{} })
	add("sources.knative.dev/v1", "SinkBinding", func() any { return &sourcesv1.SinkBinding{} })
	add("sources.knative.dev/v1", "ContainerSource", func() any { return &sourcesv1.ContainerSource{} })
	add("sources.knative.dev/v1", "ApiServerSource", func() any { return &sourcesv1.ApiServerSource{} })
	add("sources.knative.dev/v1", "PingSource", func() any { return &sourcesv1.PingSource{} })

	add("eventing.knative.dev/v1alpha1", "RabbitmqBrokerConfig", func() any { return &RabbitmqBrokerConfig{} })
	add("rabbitmq.com/v1beta1", "RabbitmqCluster", func() any { return &RabbitmqCluster{} })
	add("monitoring.coreos.com/v1", "PodMonitor", func() any { return &PodMonitor{} })
	add("monitoring.coreos.com/v1", "ServiceMonitor", func() any { return &ServiceMonitor{} })

	add("v1", "Namespace", func() any { return &corev1.Namespace{} })
	add("v1", "ConfigMap", func() any { return &corev1.ConfigMap{} })
	add("v1", "Secret", func() any { return &corev1.Secret{} })
	add("v1", "Service", func() any { return &corev1.Service{} })
	add("v1", "ServiceAccount", func() any { return &corev1.ServiceAccount{} })
	add("v1", "PersistentVolumeClaim", func() any { return &corev1.PersistentVolumeClaim{} })
	add("apps/v1", "Deployment", func() any { return &appsv1.Deployment{} })
	add("apps/v1", "StatefulSet", func() any { return &appsv1.StatefulSet{} })
	add("apps/v1", "DaemonSet", func() any { return &appsv1.DaemonSet{} })
	add("batch/v1", "Job", func() any { return &batchv1.Job{} })
	add("rbac.authorization.k8s.io/v1", "Role", func() any { return &rbacv1.Role{} })
	add("rbac.authorization.k8s.io/v1", "RoleBinding", func() any { return &rbacv1.RoleBinding{} })
	add("rbac.authorization.k8s.io/v1", "ClusterRole", func() any { return &rbacv1.ClusterRole{} })
	add("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", func() any { return &rbacv1.ClusterRoleBinding{} })
	add("policy/v1", "PodDisruptionBudget", func() any { return &policyv1.PodDisruptionBudget{} })
	add("networking.k8s.io/v1", "NetworkPolicy", func() any { return &networkingv1.NetworkPolicy{} })
	return k
}

// Kinds lists the apiVersions and kinds the Validator knows, sorted.
func (v *Validator) Kinds() []string {
	out := make([]string, 0, len(v.kinds))
	for k := range v.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Validate decodes doc strictly into its Go type, applies Knative's defaults
// and runs Knative's validation (or the local mirror's). The returned errors
// are each one finding; warnings Knative raises are not errors.
func (v *Validator) Validate(doc manifest.Document) (Object, []error) {
	if doc.APIVersion == "" || doc.Kind == "" {
		return Object{Doc: doc}, []error{errors.New("apiVersion and kind are required")}
	}
	k, ok := v.kinds[key(doc.APIVersion, doc.Kind)]
	if !ok {
		return Object{Doc: doc}, []error{fmt.Errorf("unknown apiVersion/kind %s/%s: the validator knows %s",
			doc.APIVersion, doc.Kind, strings.Join(v.Kinds(), "; "))}
	}
	obj := k.newObject()
	if err := manifest.DecodeStrict(doc.YAML, obj); err != nil {
		return Object{Doc: doc}, []error{fmt.Errorf("strict decoding: %w", err)}
	}
	var errs []error
	if m, ok := obj.(metav1.Object); ok && m.GetName() == "" && m.GetGenerateName() == "" {
		errs = append(errs, errors.New("metadata.name is required"))
	}
	switch o := obj.(type) {
	case knative:
		o.SetDefaults(v.ctx)
		if fe := o.Validate(v.ctx).Filter(apis.ErrorLevel); fe != nil {
			for _, e := range fe.WrappedErrors() {
				err := fmt.Errorf("knative: %w", e)
				if _, ok := o.(*servingv1.Service); ok && strings.Contains(e.Message, "must not set the field(s)") {
					err = fmt.Errorf("%w (a field behind a config-features flag: enable it in the cluster's knative-serving/config-features patch if it is meant)", err)
				}
				errs = append(errs, err)
			}
		}
	case selfValidating:
		if err := o.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, workloadChecks(obj)...)
	return Object{Doc: doc, Value: obj}, errs
}

// workloadChecks catches what the API server would reject for built-in
// workloads: a selector that does not select the pod template.
func workloadChecks(obj any) []error {
	var sel *metav1.LabelSelector
	var podLabels map[string]string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sel, podLabels = o.Spec.Selector, o.Spec.Template.Labels
	case *appsv1.StatefulSet:
		sel, podLabels = o.Spec.Selector, o.Spec.Template.Labels
	case *appsv1.DaemonSet:
		sel, podLabels = o.Spec.Selector, o.Spec.Template.Labels
	default:
		return nil
	}
	if sel == nil {
		return []error{errors.New("spec.selector is required")}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return []error{fmt.Errorf("spec.selector: %w", err)}
	}
	if s.Empty() || !s.Matches(labels.Set(podLabels)) {
		return []error{fmt.Errorf("spec.selector %s does not select spec.template.metadata.labels %v", s, podLabels)}
	}
	return nil
}
