package triggers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// The manifest shapes, decoded strictly: any field not declared here is an
// error.
type manifest struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   metadataDoc  `json:"metadata"`
	Spec       triggerSpec  `json:"spec"`
	Status     *interface{} `json:"status,omitempty"`
}

type metadataDoc struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type triggerSpec struct {
	Broker     string           `json:"broker"`
	Filter     *filterDoc       `json:"filter"`
	Filters    *json.RawMessage `json:"filters"`
	Subscriber *destinationDoc  `json:"subscriber"`
	Delivery   *deliveryDoc     `json:"delivery"`
}

type filterDoc struct {
	Attributes map[string]string `json:"attributes"`
}

type destinationDoc struct {
	Ref *refDoc `json:"ref"`
	URI string  `json:"uri"`
}

type refDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
}

type deliveryDoc struct {
	Retry          *int            `json:"retry"`
	BackoffPolicy  *string         `json:"backoffPolicy"`
	BackoffDelay   *string         `json:"backoffDelay"`
	Timeout        *string         `json:"timeout"`
	DeadLetterSink *destinationDoc `json:"deadLetterSink"`
}

// LoadDir reads every *.yaml and *.yml file of dir, in name order, and
// returns their Triggers. Trigger names must be unique per namespace. The
// directory's kustomization file, which lists the Triggers for kustomize,
// is not a Trigger and is skipped.
func LoadDir(dir string) ([]Trigger, error) {
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			if !isKustomization(f) {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("triggers: no *.yaml files in %s", dir)
	}
	var all []Trigger
	seen := map[string]string{}
	for _, f := range files {
		ts, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			key := t.Namespace + "/" + t.Name
			if prev, ok := seen[key]; ok {
				return nil, fmt.Errorf("triggers: %s: trigger %s is also defined in %s", f, key, prev)
			}
			seen[key] = f
			all = append(all, t)
		}
	}
	return all, nil
}

// isKustomization reports whether path is a kustomize kustomization file.
func isKustomization(path string) bool {
	switch filepath.Base(path) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// LoadFile reads one YAML file holding one or more Trigger documents
// separated by "---" lines.
func LoadFile(path string) ([]Trigger, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("triggers: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes the Trigger documents of data; name labels the errors
// (usually the file path). Empty documents are skipped.
func Parse(name string, data []byte) ([]Trigger, error) {
	var out []Trigger
	for i, doc := range splitDocuments(data) {
		if isBlank(doc) {
			continue
		}
		t, err := parseDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("triggers: %s (document %d): %w", name, i+1, err)
		}
		t.File = name
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("triggers: %s: no Trigger documents", name)
	}
	return out, nil
}

func parseDocument(doc []byte) (Trigger, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Trigger{}, fmt.Errorf("yaml: %w", err)
	}
	var raw any
	if err := json.Unmarshal(js, &raw); err != nil {
		return Trigger{}, fmt.Errorf("yaml: %w", err)
	}
	if err := checkFields("", raw, reflect.TypeOf(manifest{})); err != nil {
		return Trigger{}, err
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Trigger{}, fmt.Errorf("decode: %w", err)
	}
	if m.APIVersion != "eventing.knative.dev/v1" || m.Kind != "Trigger" {
		return Trigger{}, fmt.Errorf("apiVersion/kind: want eventing.knative.dev/v1 Trigger, got %q %q", m.APIVersion, m.Kind)
	}
	if m.Status != nil {
		return Trigger{}, errors.New("status: a manifest must not carry status")
	}
	if m.Metadata.Name == "" {
		return Trigger{}, errors.New("metadata.name: required")
	}
	t := Trigger{
		Name:        m.Metadata.Name,
		Namespace:   m.Metadata.Namespace,
		Broker:      m.Spec.Broker,
		Parallelism: DefaultParallelism,
	}
	if t.Namespace == "" {
		t.Namespace = "default"
	}
	if t.Broker == "" {
		return Trigger{}, errors.New("spec.broker: required")
	}
	if m.Spec.Filters != nil {
		return Trigger{}, errors.New("spec.filters: not supported by the RabbitMQ broker (it ignores them and would deliver every event); use spec.filter.attributes")
	}
	if m.Spec.Filter != nil {
		for k := range m.Spec.Filter.Attributes {
			if k == "" || strings.HasPrefix(strings.ToLower(k), "x-") {
				return Trigger{}, fmt.Errorf("spec.filter.attributes: %q is not a CloudEvents attribute name", k)
			}
		}
		t.Filter = m.Spec.Filter.Attributes
	}
	if m.Spec.Subscriber == nil {
		return Trigger{}, errors.New("spec.subscriber: required")
	}
	sub, err := destination("spec.subscriber", *m.Spec.Subscriber)
	if err != nil {
		return Trigger{}, err
	}
	t.Subscriber = sub
	if m.Spec.Delivery != nil {
		d, err := delivery(*m.Spec.Delivery)
		if err != nil {
			return Trigger{}, err
		}
		t.Delivery = d
	}
	if v, ok := m.Metadata.Annotations[ParallelismAnnotation]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < MinParallelism || n > MaxParallelism {
			return Trigger{}, fmt.Errorf("metadata.annotations[%s]: %q is not an integer from %d to %d", ParallelismAnnotation, v, MinParallelism, MaxParallelism)
		}
		t.Parallelism = n
	}
	return t, nil
}

func destination(field string, d destinationDoc) (Destination, error) {
	if d.Ref == nil && d.URI == "" {
		return Destination{}, fmt.Errorf("%s: needs ref or uri", field)
	}
	out := Destination{URI: d.URI}
	if d.URI != "" {
		u, err := url.Parse(d.URI)
		if err != nil {
			return Destination{}, fmt.Errorf("%s.uri: %w", field, err)
		}
		if d.Ref == nil && !u.IsAbs() {
			return Destination{}, fmt.Errorf("%s.uri: %q must be absolute when there is no ref", field, d.URI)
		}
		if d.Ref != nil && u.IsAbs() {
			return Destination{}, fmt.Errorf("%s.uri: %q must be relative when ref is set", field, d.URI)
		}
	}
	if d.Ref != nil {
		r := *d.Ref
		if r.APIVersion == "" || r.Kind == "" || r.Name == "" {
			return Destination{}, fmt.Errorf("%s.ref: apiVersion, kind and name are required", field)
		}
		out.Ref = &Ref{APIVersion: r.APIVersion, Kind: r.Kind, Name: r.Name, Namespace: r.Namespace}
	}
	return out, nil
}

func delivery(d deliveryDoc) (*Delivery, error) {
	out := &Delivery{Retry: d.Retry}
	if d.Retry != nil && *d.Retry < 0 {
		return nil, fmt.Errorf("spec.delivery.retry: %d is negative", *d.Retry)
	}
	if d.BackoffPolicy != nil {
		switch p := BackoffPolicy(*d.BackoffPolicy); p {
		case BackoffExponential, BackoffLinear:
			out.BackoffPolicy = p
		default:
			return nil, fmt.Errorf("spec.delivery.backoffPolicy: %q is neither exponential nor linear", *d.BackoffPolicy)
		}
	}
	if d.BackoffDelay != nil {
		v, err := ParseISODuration(*d.BackoffDelay)
		if err != nil {
			return nil, fmt.Errorf("spec.delivery.backoffDelay: %w", err)
		}
		out.BackoffDelay = &v
	}
	if d.Timeout != nil {
		v, err := ParseISODuration(*d.Timeout)
		if err != nil {
			return nil, fmt.Errorf("spec.delivery.timeout: %w", err)
		}
		if v <= 0 {
			return nil, errors.New("spec.delivery.timeout: must be positive")
		}
		out.Timeout = &v
	}
	if d.DeadLetterSink != nil {
		dls, err := destination("spec.delivery.deadLetterSink", *d.DeadLetterSink)
		if err != nil {
			return nil, err
		}
		out.DeadLetterSink = &dls
	}
	return out, nil
}

// checkFields walks a decoded JSON value against the manifest types and
// names the first field that the types do not declare, with its full path
// (encoding/json only names the key).
func checkFields(path string, v any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch; the decoder reports it
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			fields[name] = f.Type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			p := k
			if path != "" {
				p = path + "." + k
			}
			if !ok {
				return fmt.Errorf("unknown field %q", p)
			}
			if err := checkFields(p, obj[k], ft); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if arr, ok := v.([]any); ok {
			for i, e := range arr {
				if err := checkFields(fmt.Sprintf("%s[%d]", path, i), e, t.Elem()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// splitDocuments cuts a YAML stream at "---" separator lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.SplitN(line[3:], "#", 2)[0]) == "" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, cur.Bytes())
}

// isBlank reports whether a document holds only comments and whitespace.
func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}
