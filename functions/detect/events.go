package function

import "time"

// Contract constants detect uses; internal/contract's tests compare them
// with the project's contract (docs/events.md).
const (
	// TypeMotionDetected is the type of the events detect consumes.
	TypeMotionDetected = "dev.edgewatch.motion.detected"
	// DetectionTypePrefix starts the type of every detection event; the
	// incident class follows it.
	DetectionTypePrefix = "dev.edgewatch.detection."

	// ExtCamera is the camera id extension.
	ExtCamera = "camera"
	// ExtClass is the incident class extension of detection events.
	ExtClass = "class"
	// ExtRegionX, ExtRegionY, ExtRegionW and ExtRegionH give the motion
	// region's box in full-frame pixels.
	ExtRegionX = "regionx"
	ExtRegionY = "regiony"
	ExtRegionW = "regionw"
	ExtRegionH = "regionh"
	// ExtFrameWidth and ExtFrameHeight give the full frame's size.
	ExtFrameWidth  = "framewidth"
	ExtFrameHeight = "frameheight"
	// ExtLat and ExtLon give the camera's location as decimal strings.
	ExtLat = "lat"
	ExtLon = "lon"
	// ExtTrack and ExtTracks name the motion tracks an image shows; detect
	// carries them from the motion event onto its detections.
	ExtTrack  = "track"
	ExtTracks = "tracks"

	// ContentTypeJPEG is the content type of motion events.
	ContentTypeJPEG = "image/jpeg"
	// ContentTypeJSON is the content type of detection events.
	ContentTypeJSON = "application/json"
)

// Classes returns the incident classes, in contract order.
func Classes() []string { return []string{"accident", "fire", "gun", "knife"} }

// DetectionType returns the exact event type for an incident class.
func DetectionType(class string) string { return DetectionTypePrefix + class }

// CameraSource returns the CloudEvent source of a camera-originated event.
func CameraSource(camera string) string { return "/cameras/" + camera }

// Box is a rectangle in full-frame pixels.
type Box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Frame is the size of the full camera frame in pixels.
type Frame struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Object is one detected object of a detection event.
type Object struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
	Box        Box     `json:"box"`
}

// Detection is the data of a dev.edgewatch.detection.<class> event: the
// most confident object of the class at the top level, every object of the
// class in Objects.
type Detection struct {
	Camera     string    `json:"camera"`
	Class      string    `json:"class"`
	Label      string    `json:"label"`
	Confidence float64   `json:"confidence"`
	Box        Box       `json:"box"`
	Frame      Frame     `json:"frame"`
	Image      string    `json:"image"`
	MotionID   string    `json:"motion_id"`
	Location   *Location `json:"location,omitempty"`
	Model      string    `json:"model,omitempty"`
	DetectedAt time.Time `json:"detected_at"`
	Objects    []Object  `json:"objects,omitempty"`
}
