package objects

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventingconfig "knative.dev/eventing/pkg/apis/feature"
	"knative.dev/pkg/apis"
	servingconfig "knative.dev/serving/pkg/apis/config"
	asconfig "knative.dev/serving/pkg/autoscaler/config"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

// Namespaces and names of the Knative ConfigMaps whose data changes what
// Knative's webhooks accept.
const (
	ServingNamespace  = "knative-serving"
	EventingNamespace = "knative-eventing"
	FeaturesConfig    = "config-features"
	AutoscalerConfig  = "config-autoscaler"
	DefaultsConfig    = "config-defaults"
)

// Cluster is the part of a cluster's Knative configuration that validation
// depends on: the data of Knative's own ConfigMaps as this repository patches
// them. A missing map means Knative's defaults.
type Cluster struct {
	ServingFeatures   map[string]string
	ServingAutoscaler map[string]string
	ServingDefaults   map[string]string
	EventingFeatures  map[string]string
}

// ClusterFromDocuments collects the Knative ConfigMaps (config-features,
// config-autoscaler, config-defaults in knative-serving; config-features in
// knative-eventing) found among docs, e.g. the patches in config/cluster.
func ClusterFromDocuments(docs []manifest.Document) (Cluster, error) {
	var c Cluster
	for _, d := range docs {
		if d.APIVersion != "v1" || d.Kind != "ConfigMap" {
			continue
		}
		var cm corev1.ConfigMap
		if err := manifest.DecodeStrict(d.YAML, &cm); err != nil {
			return c, fmt.Errorf("%s: %s: %w", d.Path, d.ID(), err)
		}
		switch {
		case d.Namespace == ServingNamespace && d.Name == FeaturesConfig:
			c.ServingFeatures = cm.Data
		case d.Namespace == ServingNamespace && d.Name == AutoscalerConfig:
			c.ServingAutoscaler = cm.Data
		case d.Namespace == ServingNamespace && d.Name == DefaultsConfig:
			c.ServingDefaults = cm.Data
		case d.Namespace == EventingNamespace && d.Name == FeaturesConfig:
			c.EventingFeatures = cm.Data
		}
	}
	return c, nil
}

// Context returns a context carrying the cluster's configuration the way
// Knative's webhooks see it, for SetDefaults and Validate of a new object.
func (c Cluster) Context(ctx context.Context) (context.Context, error) {
	features, err := servingconfig.NewFeaturesConfigFromMap(c.ServingFeatures)
	if err != nil {
		return nil, fmt.Errorf("knative-serving/config-features: %w", err)
	}
	autoscaler, err := asconfig.NewConfigFromMap(c.ServingAutoscaler)
	if err != nil {
		return nil, fmt.Errorf("knative-serving/config-autoscaler: %w", err)
	}
	defaults, err := servingconfig.NewDefaultsConfigFromMap(c.ServingDefaults)
	if err != nil {
		return nil, fmt.Errorf("knative-serving/config-defaults: %w", err)
	}
	flags, err := eventingconfig.NewFlagsConfigFromMap(c.EventingFeatures)
	if err != nil {
		return nil, fmt.Errorf("knative-eventing/config-features: %w", err)
	}
	ctx = servingconfig.ToContext(ctx, &servingconfig.Config{
		Defaults: defaults, Features: features, Autoscaler: autoscaler,
	})
	ctx = eventingconfig.ToContext(ctx, flags)
	return apis.WithinCreate(ctx), nil
}
