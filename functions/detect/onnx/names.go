package onnx

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// pyString matches one Python string literal as repr writes it: in single
// quotes, or in double quotes when the text holds a single quote.
const pyString = `'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"`

// Names returns the class labels an Ultralytics export carries in its
// "names" metadata, in class-index order: a Python dict repr
// ("{0: 'person', 1: 'bicycle'}", YOLOv5 v7 and YOLOv8/YOLO11) or list repr
// ("['person', 'bicycle']", older YOLOv5). ok is false when the model has
// no such metadata; an entry that cannot be read is an error.
func (m *Model) Names() (names []string, ok bool, err error) {
	v, ok := m.Metadata["names"]
	if !ok {
		return nil, false, nil
	}
	v = strings.TrimSpace(v)
	dictEntry := regexp.MustCompile(`(\d+)\s*:\s*(?:` + pyString + `)`)
	listEntry := regexp.MustCompile(pyString)
	switch {
	case strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}"):
		byIndex := map[int]string{}
		for _, e := range dictEntry.FindAllStringSubmatch(v, -1) {
			i, err := strconv.Atoi(e[1])
			if err != nil || i < 0 || i > 100000 {
				return nil, true, fmt.Errorf("names metadata: index %q", e[1])
			}
			byIndex[i] = unquote(e[2] + e[3])
		}
		for i := 0; i < len(byIndex); i++ {
			name, found := byIndex[i]
			if !found {
				return nil, true, fmt.Errorf("names metadata: no name for class %d", i)
			}
			names = append(names, name)
		}
	case strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]"):
		for _, e := range listEntry.FindAllStringSubmatch(v, -1) {
			names = append(names, unquote(e[1]+e[2]))
		}
	default:
		return nil, true, fmt.Errorf("names metadata %.40q is neither a dict nor a list", v)
	}
	if len(names) == 0 {
		return nil, true, fmt.Errorf("names metadata %.40q holds no names", v)
	}
	return names, true, nil
}

// unquote undoes the escapes repr writes for a quote or a backslash.
func unquote(s string) string {
	return strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`).Replace(s)
}
