package savings

import (
	"fmt"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"
)

// Defaults that no manifest states: Knative's scale-to-zero grace period,
// and what a detect pod costs, taken from the V100 prototype (1,237 MiB of
// GPU memory loaded, about 30 s to pull and start a CUDA image on a warm
// node, about 60 ms per 416×416 YOLOv4 inference).
const (
	DefaultGracePeriod = 30 * time.Second
	DefaultColdStart   = 30 * time.Second
	DefaultServiceTime = 60 * time.Millisecond
	DefaultMiBPerPod   = 1237
)

// knativeService is the part of a Knative Service the model reads.
type knativeService struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				ContainerConcurrency *int `json:"containerConcurrency"`
				Containers           []struct {
					Resources struct {
						Limits map[string]string `json:"limits"`
					} `json:"resources"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// configMap is the part of config-autoscaler the model reads.
type configMap struct {
	Data map[string]string `json:"data"`
}

// Deployed reads the model's settings from a Knative Service manifest (its
// autoscaling annotations, container concurrency and GPU limit) and, when
// autoscaler is not empty, from a config-autoscaler ConfigMap (its
// scale-to-zero-grace-period). Knative's defaults fill what they leave out;
// cold start, service time and memory per pod get the package defaults.
func Deployed(service, autoscaler []byte) (Config, error) {
	c := Config{StableWindow: 60 * time.Second, GracePeriod: DefaultGracePeriod, Target: 100, Utilization: 0.7,
		ContainerConcurrency: 0, MaxScale: 0, ColdStart: DefaultColdStart, ServiceTime: DefaultServiceTime,
		GPUsPerPod: 0, MiBPerPod: DefaultMiBPerPod}
	var s knativeService
	if err := yaml.Unmarshal(service, &s); err != nil {
		return c, fmt.Errorf("service manifest: %w", err)
	}
	if s.Kind != "Service" {
		return c, fmt.Errorf("service manifest: kind %q, want a Knative Service", s.Kind)
	}
	a := s.Spec.Template.Metadata.Annotations
	var err error
	set := func(key string, parse func(string) error) {
		if v, ok := a["autoscaling.knative.dev/"+key]; ok && err == nil {
			if perr := parse(v); perr != nil {
				err = fmt.Errorf("service %s: annotation autoscaling.knative.dev/%s: %w", s.Metadata.Name, key, perr)
			}
		}
	}
	set("window", durationInto(&c.StableWindow))
	set("scale-to-zero-pod-retention-period", durationInto(&c.Retention))
	set("target", floatInto(&c.Target, 1))
	set("target-utilization-percentage", floatInto(&c.Utilization, 100))
	set("min-scale", intInto(&c.MinScale))
	set("max-scale", intInto(&c.MaxScale))
	if err != nil {
		return c, err
	}
	spec := s.Spec.Template.Spec
	if spec.ContainerConcurrency != nil && *spec.ContainerConcurrency > 0 {
		c.ContainerConcurrency = *spec.ContainerConcurrency
	} else {
		c.ContainerConcurrency = int(c.Target)
	}
	if c.MaxScale == 0 {
		// Unbounded in Knative; the model needs a bound.
		c.MaxScale = 10
	}
	for _, ctr := range spec.Containers {
		if g, ok := ctr.Resources.Limits["nvidia.com/gpu"]; ok {
			n, perr := strconv.ParseFloat(g, 64)
			if perr != nil {
				return c, fmt.Errorf("service %s: limit nvidia.com/gpu %q: %w", s.Metadata.Name, g, perr)
			}
			c.GPUsPerPod += n
		}
	}
	if len(autoscaler) > 0 {
		var cm configMap
		if err := yaml.Unmarshal(autoscaler, &cm); err != nil {
			return c, fmt.Errorf("config-autoscaler: %w", err)
		}
		if v, ok := cm.Data["scale-to-zero-grace-period"]; ok {
			if err := durationInto(&c.GracePeriod)(v); err != nil {
				return c, fmt.Errorf("config-autoscaler scale-to-zero-grace-period: %w", err)
			}
		}
	}
	return c, nil
}

func durationInto(d *time.Duration) func(string) error {
	return func(v string) error {
		x, err := time.ParseDuration(v)
		if err == nil {
			*d = x
		}
		return err
	}
}

func floatInto(f *float64, div float64) func(string) error {
	return func(v string) error {
		x, err := strconv.ParseFloat(v, 64)
		if err == nil {
			*f = x / div
		}
		return err
	}
}

func intInto(n *int) func(string) error {
	return func(v string) error {
		x, err := strconv.Atoi(v)
		if err == nil {
			*n = x
		}
		return err
	}
}
