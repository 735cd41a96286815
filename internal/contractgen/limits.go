package contractgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// limit is a constant taken from the JSON Schemas: every place it names
// must hold the same value.
type limit struct {
	name   string
	doc    string
	places []place
}

// place is a value in one schema, addressed by a JSON Pointer (RFC 6901).
type place struct {
	file    string
	pointer string
}

// schemaLimits lists the constants the schemas define and where.
func schemaLimits() []limit {
	const d, i, c = "detection.schema.json", "incident.schema.json", "caption.schema.json"
	return []limit{
		{"CameraIDPattern", "is the regular expression every camera id matches.", []place{
			{d, "/$defs/id/pattern"}, {i, "/properties/camera/pattern"}, {c, "/properties/camera/pattern"}}},
		{"MaxIDLen", "is the most characters of an incident, detection or motion id.", []place{
			{d, "/properties/motion_id/maxLength"}, {i, "/properties/incident_id/maxLength"},
			{i, "/properties/detection_id/maxLength"}, {c, "/properties/incident_id/maxLength"},
			{c, "/properties/detection_id/maxLength"}}},
		{"MaxLabelLen", "is the most characters of a detected object's label.", []place{
			{d, "/properties/label/maxLength"}, {d, "/properties/objects/items/properties/label/maxLength"}}},
		{"MaxModelLen", "is the most characters of a model's name.", []place{
			{d, "/properties/model/maxLength"}, {c, "/properties/model/maxLength"}}},
		{"MaxCaptionLen", "is the most characters of a caption.", []place{
			{c, "/properties/caption/maxLength"}}},
		{"MaxImageBase64Len", "is the most base64 characters of an event's JPEG image.", []place{
			{d, "/properties/image/maxLength"}, {i, "/properties/image/maxLength"}}},
		{"MaxObjects", "is the most objects one detection lists.", []place{
			{d, "/properties/objects/maxItems"}}},
		{"MaxFrameSide", "is the most pixels a side of a camera frame.", []place{
			{d, "/$defs/frame/properties/width/maximum"}, {d, "/$defs/frame/properties/height/maximum"}}},
	}
}

// limits are the values read from the schemas.
type limits struct {
	list   []limit
	values map[string]any
	// classEnums are each schema's enum of the class property.
	classEnums map[string][]string
}

func readLimits(dir string) (limits, error) {
	lim := limits{list: schemaLimits(), values: map[string]any{}, classEnums: map[string][]string{}}
	docs := map[string]any{}
	load := func(file string) (any, error) {
		if doc, ok := docs[file]; ok {
			return doc, nil
		}
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		docs[file] = doc
		return doc, nil
	}
	for _, l := range lim.list {
		for _, p := range l.places {
			doc, err := load(p.file)
			if err != nil {
				return lim, err
			}
			v, ok := lookup(doc, p.pointer)
			if !ok {
				return lim, fmt.Errorf("%s: nothing at %s (%s)", p.file, p.pointer, l.name)
			}
			if prev, seen := lim.values[l.name]; seen && fmt.Sprint(prev) != fmt.Sprint(v) {
				return lim, fmt.Errorf("%s: %s is %v, elsewhere %v (%s)", p.file, p.pointer, v, prev, l.name)
			}
			lim.values[l.name] = v
		}
	}
	for file := range docs {
		v, ok := lookup(docs[file], "/properties/class/enum")
		if !ok {
			return lim, fmt.Errorf("%s: no class enum", file)
		}
		for _, e := range v.([]any) {
			s, ok := e.(string)
			if !ok {
				return lim, fmt.Errorf("%s: class enum holds %v, not a string", file, e)
			}
			lim.classEnums[file] = append(lim.classEnums[file], s)
		}
	}
	return lim, nil
}

// lookup resolves a JSON Pointer in a decoded document.
func lookup(doc any, pointer string) (any, bool) {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// decls renders the limits as Go constants.
func (lim limits) decls() []byte {
	var b bytes.Buffer
	b.WriteString("\n// Limits stated by the JSON Schemas (internal/contract/schemas).\nconst (\n")
	for _, l := range lim.list {
		b.WriteString("\t// " + l.name + " " + l.doc + "\n")
		switch v := lim.values[l.name].(type) {
		case string:
			b.WriteString("\t" + l.name + " = " + quoteGo(v) + "\n")
		default:
			b.WriteString("\t" + l.name + " = " + fmt.Sprint(v) + "\n")
		}
	}
	b.WriteString(")\n")
	return b.Bytes()
}

// quoteGo quotes s as a Go string literal, raw when it can be.
func quoteGo(s string) string {
	if strings.ContainsAny(s, "`\n") {
		return strconv.Quote(s)
	}
	return "`" + s + "`"
}
