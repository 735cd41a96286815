package contract

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	alert "github.com/edgewatch/edgewatch/functions/alert"
	caption "github.com/edgewatch/edgewatch/functions/caption"
	dashboardpg "github.com/edgewatch/edgewatch/functions/dashboard/postgres"
	detect "github.com/edgewatch/edgewatch/functions/detect"
	motionsource "github.com/edgewatch/edgewatch/functions/motion-source"
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
	sameInt(t, "MaxImageSide", caption.MaxImageSide, MaxImageSide)
	sameInt(t, "MaxEventBytes", caption.MaxEventBytes, MaxEventBytes)
	sameJSONShape(t, reflect.TypeFor[caption.Caption](), reflect.TypeFor[Caption]())
}

func TestMotionSourceCopyOfContract(t *testing.T) {
	same(t, "TypeMotionDetected", motionsource.TypeMotionDetected, TypeMotionDetected)
	same(t, "ExtCamera", motionsource.ExtCamera, ExtCamera)
	same(t, "ExtRegionX", motionsource.ExtRegionX, ExtRegionX)
	same(t, "ExtRegionY", motionsource.ExtRegionY, ExtRegionY)
	same(t, "ExtRegionW", motionsource.ExtRegionW, ExtRegionW)
	same(t, "ExtRegionH", motionsource.ExtRegionH, ExtRegionH)
	same(t, "ExtFrameWidth", motionsource.ExtFrameWidth, ExtFrameWidth)
	same(t, "ExtFrameHeight", motionsource.ExtFrameHeight, ExtFrameHeight)
	same(t, "ExtLat", motionsource.ExtLat, ExtLat)
	same(t, "ExtLon", motionsource.ExtLon, ExtLon)
	same(t, "ExtTrack", motionsource.ExtTrack, ExtTrack)
	same(t, "ExtTracks", motionsource.ExtTracks, ExtTracks)
	same(t, "ContentTypeJPEG", motionsource.ContentTypeJPEG, ContentTypeJPEG)
	same(t, "CameraSource", motionsource.CameraSource("cam-1"), CameraSource("cam-1"))
}

func TestDetectCopyOfContract(t *testing.T) {
	same(t, "TypeMotionDetected", detect.TypeMotionDetected, TypeMotionDetected)
	same(t, "DetectionTypePrefix", detect.DetectionTypePrefix, DetectionTypePrefix)
	for _, c := range Classes {
		same(t, "DetectionType("+c+")", detect.DetectionType(c), DetectionType(c))
	}
	if got := detect.Classes(); !reflect.DeepEqual(got, Classes) {
		t.Errorf("Classes: copy says %v, contract says %v", got, Classes)
	}
	same(t, "ExtCamera", detect.ExtCamera, ExtCamera)
	same(t, "ExtClass", detect.ExtClass, ExtClass)
	same(t, "ExtRegionX", detect.ExtRegionX, ExtRegionX)
	same(t, "ExtRegionY", detect.ExtRegionY, ExtRegionY)
	same(t, "ExtRegionW", detect.ExtRegionW, ExtRegionW)
	same(t, "ExtRegionH", detect.ExtRegionH, ExtRegionH)
	same(t, "ExtFrameWidth", detect.ExtFrameWidth, ExtFrameWidth)
	same(t, "ExtFrameHeight", detect.ExtFrameHeight, ExtFrameHeight)
	same(t, "ExtLat", detect.ExtLat, ExtLat)
	same(t, "ExtLon", detect.ExtLon, ExtLon)
	same(t, "ExtTrack", detect.ExtTrack, ExtTrack)
	same(t, "ExtTracks", detect.ExtTracks, ExtTracks)
	same(t, "ContentTypeJPEG", detect.ContentTypeJPEG, ContentTypeJPEG)
	same(t, "ContentTypeJSON", detect.ContentTypeJSON, ContentTypeJSON)
	same(t, "CameraSource", detect.CameraSource("cam-1"), CameraSource("cam-1"))
	sameJSONShape(t, reflect.TypeFor[detect.Detection](), reflect.TypeFor[Detection]())
}

func TestAlertCopyOfContract(t *testing.T) {
	same(t, "TypeMotionDetected", alert.TypeMotionDetected, TypeMotionDetected)
	same(t, "TypeDetectionAccident", alert.TypeDetectionAccident, TypeDetectionAccident)
	same(t, "TypeDetectionFire", alert.TypeDetectionFire, TypeDetectionFire)
	same(t, "TypeDetectionGun", alert.TypeDetectionGun, TypeDetectionGun)
	same(t, "TypeDetectionKnife", alert.TypeDetectionKnife, TypeDetectionKnife)
	same(t, "TypeIncidentOpened", alert.TypeIncidentOpened, TypeIncidentOpened)
	same(t, "TypeIncidentUpdated", alert.TypeIncidentUpdated, TypeIncidentUpdated)
	same(t, "TypeIncidentClosed", alert.TypeIncidentClosed, TypeIncidentClosed)
	same(t, "TypeCaptionCreated", alert.TypeCaptionCreated, TypeCaptionCreated)
	same(t, "DetectionTypePrefix", alert.DetectionTypePrefix, DetectionTypePrefix)
	same(t, "ReadModelView", alert.ReadModelView, ReadModelView)
	same(t, "IncidentChannel", alert.IncidentChannel("s1"), IncidentChannel("s1"))
	sameInt(t, "MaxImageSide", alert.MaxImageSide, MaxImageSide)
	sameInt(t, "MaxEventBytes", alert.MaxEventBytes, MaxEventBytes)
	same(t, "ExtCamera", alert.ExtCamera, ExtCamera)
	same(t, "ExtClass", alert.ExtClass, ExtClass)
	same(t, "ExtIncident", alert.ExtIncident, ExtIncident)
	same(t, "ExtErrorDest", alert.ExtErrorDest, ExtErrorDest)
	same(t, "ExtErrorCode", alert.ExtErrorCode, ExtErrorCode)
	same(t, "ExtErrorData", alert.ExtErrorData, ExtErrorData)
	same(t, "ContentTypeJSON", alert.ContentTypeJSON, ContentTypeJSON)
	same(t, "CameraSource", alert.CameraSource("cam-1"), CameraSource("cam-1"))
}

func TestDashboardCopyOfContract(t *testing.T) {
	same(t, "ReadModelView", dashboardpg.ReadModelView, ReadModelView)
	same(t, "IncidentChannel", dashboardpg.IncidentChannel("s1"), IncidentChannel("s1"))
}

func same(t *testing.T, name, copy, canonical string) {
	t.Helper()
	if copy != canonical {
		t.Errorf("%s: copy says %q, contract says %q", name, copy, canonical)
	}
}

// TestGuardCopiesAreIdentical keeps the request guard of alert and caption
// one file in two modules.
func TestGuardCopiesAreIdentical(t *testing.T) {
	for _, name := range []string{"guard.go", "guard_test.go", "receiver_test.go"} {
		a, err := os.ReadFile(filepath.Join("..", "..", "functions", "alert", "guard", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := os.ReadFile(filepath.Join("..", "..", "functions", "caption", "guard", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, c) {
			t.Errorf("functions/alert/guard/%s and functions/caption/guard/%s differ", name, name)
		}
	}
}

func sameInt(t *testing.T, name string, copy, canonical int) {
	t.Helper()
	if copy != canonical {
		t.Errorf("%s: copy says %d, contract says %d", name, copy, canonical)
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
