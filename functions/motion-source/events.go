package function

// A copy of the event contract's constants this module uses (docs/events.md,
// internal/contract). The contract's tests keep it in step.
const (
	// TypeMotionDetected is a region of motion cut from a camera frame.
	TypeMotionDetected = "dev.edgewatch.motion.detected"
	// ExtCamera is the camera id.
	ExtCamera = "camera"
	// ExtRegionX, ExtRegionY, ExtRegionW and ExtRegionH give the motion
	// region's box in full-frame pixels.
	ExtRegionX = "regionx"
	ExtRegionY = "regiony"
	ExtRegionW = "regionw"
	ExtRegionH = "regionh"
	// ExtFrameWidth and ExtFrameHeight give the full frame's size in pixels.
	ExtFrameWidth  = "framewidth"
	ExtFrameHeight = "frameheight"
	// ExtLat and ExtLon give the camera's location as decimal strings.
	ExtLat = "lat"
	ExtLon = "lon"
	// ExtTrack is the id of the motion track that made the image due, and
	// ExtTracks the comma-separated ids of every track the image shows.
	ExtTrack  = "track"
	ExtTracks = "tracks"
	// ContentTypeJPEG is the content type of a motion event's data.
	ContentTypeJPEG = "image/jpeg"
)

// CameraSource returns the CloudEvent source of a camera-originated event.
func CameraSource(camera string) string { return "/cameras/" + camera }
