package contract

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// schemaBase is the URL every schema's $id starts with.
const schemaBase = "https://edgewatch.dev/schemas/"

// Schemas validates event payloads against the contract's JSON Schemas.
type Schemas struct {
	byType map[string]*jsonschema.Schema
}

// LoadSchemas compiles the embedded JSON Schemas and maps each JSON event
// type to its schema.
func LoadSchemas() (*Schemas, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	compile := func(name string) (*jsonschema.Schema, error) {
		raw, err := schemaFiles.ReadFile("schemas/" + name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		// Each schema is added under its $id, so one can $ref another
		// by its file name.
		url := schemaBase + name
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		return c.Compile(url)
	}
	detection, err := compile("detection.schema.json")
	if err != nil {
		return nil, err
	}
	incident, err := compile("incident.schema.json")
	if err != nil {
		return nil, err
	}
	caption, err := compile("caption.schema.json")
	if err != nil {
		return nil, err
	}
	updated, err := compile("incident-updated.schema.json")
	if err != nil {
		return nil, err
	}
	closed, err := compile("incident-closed.schema.json")
	if err != nil {
		return nil, err
	}
	s := &Schemas{byType: map[string]*jsonschema.Schema{
		TypeIncidentOpened:  incident,
		TypeIncidentUpdated: updated,
		TypeIncidentClosed:  closed,
		TypeCaptionCreated:  caption,
	}}
	for _, class := range Classes() {
		s.byType[DetectionType(class)] = detection
	}
	return s, nil
}

// Validate checks a JSON payload of the given event type against its schema.
// A detection payload must also name the class its type names.
func (s *Schemas) Validate(eventType string, data []byte) error {
	schema, ok := s.byType[eventType]
	if !ok {
		return fmt.Errorf("no JSON schema for event type %q", eventType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: invalid JSON: %w", eventType, err)
	}
	if err := schema.Validate(doc); err != nil {
		return fmt.Errorf("%s: %w", eventType, err)
	}
	if class, ok := strings.CutPrefix(eventType, DetectionTypePrefix); ok {
		var d struct {
			Class string `json:"class"`
		}
		if err := json.Unmarshal(data, &d); err != nil || d.Class != class {
			return fmt.Errorf("%s: data class %q does not match the type", eventType, d.Class)
		}
	}
	return nil
}

// Types lists every event type of the contract.
func Types() []string {
	t := []string{TypeMotionDetected}
	for _, c := range Classes() {
		t = append(t, DetectionType(c))
	}
	return append(t, TypeIncidentOpened, TypeIncidentUpdated, TypeIncidentClosed, TypeCaptionCreated)
}
