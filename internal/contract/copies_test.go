package contract

import (
	"reflect"
	"strings"
	"testing"

	caption "github.com/edgewatch/edgewatch/functions/caption"
)

// The function modules cannot import this package, so each keeps a copy of
// the part of the contract it speaks. These tests fail when a copy drifts.

func TestCaptionCopyOfContract(t *testing.T) {
	same(t, "TypeIncidentOpened", caption.TypeIncidentOpened, TypeIncidentOpened)
	same(t, "TypeCaptionCreated", caption.TypeCaptionCreated, TypeCaptionCreated)
	same(t, "ExtCamera", caption.ExtCamera, ExtCamera)
	same(t, "ExtClass", caption.ExtClass, ExtClass)
	same(t, "ExtIncident", caption.ExtIncident, ExtIncident)
	same(t, "ContentTypeJSON", caption.ContentTypeJSON, ContentTypeJSON)
	same(t, "CameraSource", caption.CameraSource("cam-1"), CameraSource("cam-1"))
	sameJSONShape(t, reflect.TypeFor[caption.Caption](), reflect.TypeFor[Caption]())
}

func same(t *testing.T, name, copy, canonical string) {
	t.Helper()
	if copy != canonical {
		t.Errorf("%s: copy says %q, contract says %q", name, copy, canonical)
	}
}

// sameJSONShape checks that two structs marshal to the same JSON fields with
// the same kinds of value.
func sameJSONShape(t *testing.T, copy, canonical reflect.Type) {
	t.Helper()
	want := jsonFields(canonical)
	got := jsonFields(copy)
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("%s.%s: copy has %q, contract has %q", copy.Name(), name, got[name], kind)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s.%s: field not in the contract", copy.Name(), name)
		}
	}
}

func jsonFields(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || tag == "" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		kind := ft.Kind().String()
		if ft.Kind() == reflect.Struct && ft.Name() != "Time" {
			kind = "struct"
			for name, k := range jsonFields(ft) {
				out[tag+"."+name] = k
			}
		}
		out[tag] = kind
	}
	return out
}
