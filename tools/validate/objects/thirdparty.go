package objects

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Go types of eventing-rabbitmq, the RabbitMQ Cluster Operator and the
// Prometheus Operator are not obtainable from the module proxy here (or would
// drag in a second Knative), so these structs mirror the fields of their
// CRD schemas that a deployment sets. Strict decoding into them rejects
// unknown fields; Validate repeats the checks their webhooks and operators
// make.

// RabbitmqBrokerConfig mirrors eventing.knative.dev/v1alpha1 RabbitmqBrokerConfig
// from knative-extensions/eventing-rabbitmq.
type RabbitmqBrokerConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RabbitmqBrokerConfigSpec `json:"spec,omitempty"`
}

// RabbitmqBrokerConfigSpec mirrors the spec of a RabbitmqBrokerConfig.
type RabbitmqBrokerConfigSpec struct {
	RabbitmqClusterReference *RabbitmqClusterReference `json:"rabbitmqClusterReference,omitempty"`
	QueueType                string                    `json:"queueType,omitempty"`
	Vhost                    string                    `json:"vhost,omitempty"`
}

// RabbitmqClusterReference names an operator-managed RabbitmqCluster or a
// Secret describing an external RabbitMQ (never both).
type RabbitmqClusterReference struct {
	Name             string                       `json:"name,omitempty"`
	Namespace        string                       `json:"namespace,omitempty"`
	ConnectionSecret *corev1.LocalObjectReference `json:"connectionSecret,omitempty"`
}

// Validate repeats eventing-rabbitmq's webhook checks.
func (c *RabbitmqBrokerConfig) Validate() error {
	var errs []error
	ref := c.Spec.RabbitmqClusterReference
	switch {
	case ref == nil:
		errs = append(errs, errors.New("spec.rabbitmqClusterReference is required"))
	case ref.Name == "" && (ref.ConnectionSecret == nil || ref.ConnectionSecret.Name == ""):
		errs = append(errs, errors.New("spec.rabbitmqClusterReference needs name or connectionSecret.name"))
	case ref.Name != "" && ref.ConnectionSecret != nil:
		errs = append(errs, errors.New("spec.rabbitmqClusterReference: name and connectionSecret are mutually exclusive"))
	}
	switch c.Spec.QueueType {
	case "", "quorum", "classic":
	default:
		errs = append(errs, fmt.Errorf("spec.queueType %q: must be quorum or classic", c.Spec.QueueType))
	}
	return errors.Join(errs...)
}

// RabbitmqCluster mirrors rabbitmq.com/v1beta1 RabbitmqCluster from the
// RabbitMQ Cluster Operator.
type RabbitmqCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RabbitmqClusterSpec `json:"spec,omitempty"`
}

// RabbitmqClusterSpec mirrors the spec of a RabbitmqCluster.
type RabbitmqClusterSpec struct {
	Replicas         *int32                        `json:"replicas,omitempty"`
	Image            string                        `json:"image,omitempty"`
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	Service          *struct {
		Type           corev1.ServiceType     `json:"type,omitempty"`
		Annotations    map[string]string      `json:"annotations,omitempty"`
		Labels         map[string]string      `json:"labels,omitempty"`
		IPFamilyPolicy *corev1.IPFamilyPolicy `json:"ipFamilyPolicy,omitempty"`
	} `json:"service,omitempty"`
	Persistence *struct {
		StorageClassName *string            `json:"storageClassName,omitempty"`
		Storage          *resource.Quantity `json:"storage,omitempty"`
		EmptyDir         *struct {
			Medium    corev1.StorageMedium `json:"medium,omitempty"`
			SizeLimit *resource.Quantity   `json:"sizeLimit,omitempty"`
		} `json:"emptyDir,omitempty"`
	} `json:"persistence,omitempty"`
	Resources   *corev1.ResourceRequirements `json:"resources,omitempty"`
	Affinity    *corev1.Affinity             `json:"affinity,omitempty"`
	Tolerations []corev1.Toleration          `json:"tolerations,omitempty"`
	Rabbitmq    *struct {
		AdditionalPlugins []string `json:"additionalPlugins,omitempty"`
		AdditionalConfig  string   `json:"additionalConfig,omitempty"`
		AdvancedConfig    string   `json:"advancedConfig,omitempty"`
		EnvConfig         string   `json:"envConfig,omitempty"`
		ErlangInetConfig  string   `json:"erlangInetConfig,omitempty"`
	} `json:"rabbitmq,omitempty"`
	TLS *struct {
		SecretName             string `json:"secretName,omitempty"`
		CaSecretName           string `json:"caSecretName,omitempty"`
		DisableNonTLSListeners bool   `json:"disableNonTLSListeners,omitempty"`
	} `json:"tls,omitempty"`
	Override                      map[string]any `json:"override,omitempty"`
	SecretBackend                 map[string]any `json:"secretBackend,omitempty"`
	TerminationGracePeriodSeconds *int64         `json:"terminationGracePeriodSeconds,omitempty"`
	DelayStartSeconds             *int32         `json:"delayStartSeconds,omitempty"`
	SkipPostDeploySteps           bool           `json:"skipPostDeploySteps,omitempty"`
	AutoEnableAllFeatureFlags     bool           `json:"autoEnableAllFeatureFlags,omitempty"`
}

// rabbitConfLine is one "key = value" line of rabbitmq.conf (sysctl format).
var rabbitConfLine = regexp.MustCompile(`^[a-z0-9_.$-]+\s*=\s*\S.*$`)

// Validate checks what the operator would refuse or RabbitMQ would fail to
// boot with.
func (c *RabbitmqCluster) Validate() error {
	var errs []error
	if r := c.Spec.Replicas; r != nil && *r < 0 {
		errs = append(errs, fmt.Errorf("spec.replicas %d: must not be negative", *r))
	}
	if c.Spec.Rabbitmq != nil {
		for i, line := range strings.Split(c.Spec.Rabbitmq.AdditionalConfig, "\n") {
			t := strings.TrimSpace(line)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if !rabbitConfLine.MatchString(t) {
				errs = append(errs, fmt.Errorf("spec.rabbitmq.additionalConfig line %d %q: not a rabbitmq.conf \"key = value\" line", i+1, t))
			}
		}
	}
	return errors.Join(errs...)
}

// The Prometheus Operator mirrors below hold the fields of monitoring.coreos.com/v1
// that scrape configurations commonly set; a field missing here is reported as
// unknown, and belongs here if the operator's CRD has it.

// RelabelConfig mirrors the Prometheus Operator's RelabelConfig.
type RelabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// NamespaceSelector mirrors the Prometheus Operator's NamespaceSelector.
type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

// HTTPEndpoint holds the scrape settings PodMonitor and ServiceMonitor
// endpoints share. Authentication and TLS blocks are kept as free-form
// objects: their contents reference Secrets and are the operator's to check.
type HTTPEndpoint struct {
	Path                     string              `json:"path,omitempty"`
	Scheme                   string              `json:"scheme,omitempty"`
	Params                   map[string][]string `json:"params,omitempty"`
	Interval                 string              `json:"interval,omitempty"`
	ScrapeTimeout            string              `json:"scrapeTimeout,omitempty"`
	HonorLabels              bool                `json:"honorLabels,omitempty"`
	HonorTimestamps          *bool               `json:"honorTimestamps,omitempty"`
	TrackTimestampsStaleness *bool               `json:"trackTimestampsStaleness,omitempty"`
	TLSConfig                map[string]any      `json:"tlsConfig,omitempty"`
	BearerTokenSecret        map[string]any      `json:"bearerTokenSecret,omitempty"`
	BasicAuth                map[string]any      `json:"basicAuth,omitempty"`
	OAuth2                   map[string]any      `json:"oauth2,omitempty"`
	Authorization            map[string]any      `json:"authorization,omitempty"`
	ProxyURL                 *string             `json:"proxyUrl,omitempty"`
	FollowRedirects          *bool               `json:"followRedirects,omitempty"`
	EnableHTTP2              *bool               `json:"enableHttp2,omitempty"`
	Relabelings              []RelabelConfig     `json:"relabelings,omitempty"`
	MetricRelabelings        []RelabelConfig     `json:"metricRelabelings,omitempty"`
}

// PodMetricsEndpoint mirrors one entry of a PodMonitor's podMetricsEndpoints.
type PodMetricsEndpoint struct {
	Port          *string `json:"port,omitempty"`
	PortNumber    *int32  `json:"portNumber,omitempty"`
	FilterRunning *bool   `json:"filterRunning,omitempty"`
	HTTPEndpoint  `json:",inline"`
}

// PodMonitor mirrors monitoring.coreos.com/v1 PodMonitor.
type PodMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		JobLabel            string               `json:"jobLabel,omitempty"`
		PodTargetLabels     []string             `json:"podTargetLabels,omitempty"`
		PodMetricsEndpoints []PodMetricsEndpoint `json:"podMetricsEndpoints"`
		Selector            metav1.LabelSelector `json:"selector"`
		NamespaceSelector   *NamespaceSelector   `json:"namespaceSelector,omitempty"`
		SampleLimit         *uint64              `json:"sampleLimit,omitempty"`
		TargetLimit         *uint64              `json:"targetLimit,omitempty"`
		LabelLimit          *uint64              `json:"labelLimit,omitempty"`
		AttachMetadata      map[string]any       `json:"attachMetadata,omitempty"`
		ScrapeClass         *string              `json:"scrapeClass,omitempty"`
	} `json:"spec"`
}

// Validate checks the PodMonitor the way the Prometheus Operator would, and
// refuses an empty selector (which would scrape every pod of the namespace).
func (m *PodMonitor) Validate() error {
	var errs []error
	if err := checkSelector(&m.Spec.Selector, "pod"); err != nil {
		errs = append(errs, err)
	}
	if len(m.Spec.PodMetricsEndpoints) == 0 {
		errs = append(errs, errors.New("spec.podMetricsEndpoints is empty"))
	}
	for i, e := range m.Spec.PodMetricsEndpoints {
		at := fmt.Sprintf("spec.podMetricsEndpoints[%d]", i)
		if e.Port != nil && e.PortNumber != nil {
			errs = append(errs, fmt.Errorf("%s: set at most one of port and portNumber", at))
		}
		errs = append(errs, endpointChecks(at, e.Scheme, e.Interval, e.ScrapeTimeout, e.Relabelings, e.MetricRelabelings)...)
	}
	return errors.Join(errs...)
}

// checkSelector refuses an empty selector, which would select every object
// of its kind in the namespace, and one Kubernetes cannot parse.
func checkSelector(sel *metav1.LabelSelector, kind string) error {
	if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		return fmt.Errorf("spec.selector is empty: it would select every %s", kind)
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return fmt.Errorf("spec.selector: %w", err)
	}
	return nil
}

// Endpoint mirrors one entry of a ServiceMonitor's endpoints.
type Endpoint struct {
	Port         string `json:"port,omitempty"`
	HTTPEndpoint `json:",inline"`
}

// ServiceMonitor mirrors monitoring.coreos.com/v1 ServiceMonitor.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		TargetLabels      []string             `json:"targetLabels,omitempty"`
		PodTargetLabels   []string             `json:"podTargetLabels,omitempty"`
		Endpoints         []Endpoint           `json:"endpoints"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *NamespaceSelector   `json:"namespaceSelector,omitempty"`
		SampleLimit       *uint64              `json:"sampleLimit,omitempty"`
		TargetLimit       *uint64              `json:"targetLimit,omitempty"`
		LabelLimit        *uint64              `json:"labelLimit,omitempty"`
		AttachMetadata    map[string]any       `json:"attachMetadata,omitempty"`
		ScrapeClass       *string              `json:"scrapeClass,omitempty"`
	} `json:"spec"`
}

// Validate checks the ServiceMonitor the way the Prometheus Operator would.
func (m *ServiceMonitor) Validate() error {
	var errs []error
	if err := checkSelector(&m.Spec.Selector, "Service"); err != nil {
		errs = append(errs, err)
	}
	if len(m.Spec.Endpoints) == 0 {
		errs = append(errs, errors.New("spec.endpoints is empty"))
	}
	for i, e := range m.Spec.Endpoints {
		at := fmt.Sprintf("spec.endpoints[%d]", i)
		if e.Port == "" {
			errs = append(errs, fmt.Errorf("%s: port (a Service port name) is required", at))
		}
		errs = append(errs, endpointChecks(at, e.Scheme, e.Interval, e.ScrapeTimeout, e.Relabelings, e.MetricRelabelings)...)
	}
	return errors.Join(errs...)
}

// promDuration is the Prometheus Operator's Duration pattern.
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

// relabelActions are the actions Prometheus accepts (lower case, as the
// operator's schema allows either case).
var relabelActions = map[string]bool{
	"": true, "replace": true, "keep": true, "drop": true, "hashmod": true, "labelmap": true,
	"labeldrop": true, "labelkeep": true, "lowercase": true, "uppercase": true, "keepequal": true, "dropequal": true,
}

func endpointChecks(at, scheme, interval, timeout string, relabelings ...[]RelabelConfig) []error {
	var errs []error
	if scheme != "" && scheme != "http" && scheme != "https" {
		errs = append(errs, fmt.Errorf("%s.scheme %q: must be http or https", at, scheme))
	}
	for name, d := range map[string]string{"interval": interval, "scrapeTimeout": timeout} {
		if d != "" && !promDuration.MatchString(d) {
			errs = append(errs, fmt.Errorf("%s.%s %q: not a Prometheus duration", at, name, d))
		}
	}
	for _, list := range relabelings {
		for j, r := range list {
			rat := fmt.Sprintf("%s relabeling %d", at, j)
			if !relabelActions[strings.ToLower(r.Action)] {
				errs = append(errs, fmt.Errorf("%s: unknown action %q", rat, r.Action))
			}
			if r.Regex != "" {
				if _, err := regexp.Compile("^(?:" + r.Regex + ")$"); err != nil {
					errs = append(errs, fmt.Errorf("%s: regex: %w", rat, err))
				}
			}
			act := strings.ToLower(r.Action)
			if (act == "" || act == "replace" || act == "hashmod") && r.TargetLabel == "" {
				errs = append(errs, fmt.Errorf("%s: action %q needs targetLabel", rat, r.Action))
			}
		}
	}
	return errs
}
