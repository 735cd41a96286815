package emit

// The event contract's names this package writes (docs/events.md); the
// function package's events.go holds the copy the contract tests check, and
// a test there keeps the two equal.
const (
	// TypeMotionDetected is the type of every event sent.
	TypeMotionDetected = "dev.edgewatch.motion.detected"
	// ContentTypeJPEG is the data's content type.
	ContentTypeJPEG = "image/jpeg"
	// ExtCamera is the camera id.
	ExtCamera = "camera"
	// ExtRegionX, ExtRegionY, ExtRegionW and ExtRegionH are the region's box
	// in full-frame pixels.
	ExtRegionX = "regionx"
	ExtRegionY = "regiony"
	ExtRegionW = "regionw"
	ExtRegionH = "regionh"
	// ExtFrameWidth and ExtFrameHeight are the full frame's size.
	ExtFrameWidth  = "framewidth"
	ExtFrameHeight = "frameheight"
	// ExtLat and ExtLon are the camera's location as decimal strings.
	ExtLat = "lat"
	ExtLon = "lon"
	// ExtTrack is the id of the motion track that made the image due, and
	// ExtTracks the comma-separated ids of every track the image shows.
	ExtTrack  = "track"
	ExtTracks = "tracks"
)

// reserved are the extensions the contract defines; K_CE_OVERRIDES may not
// change them.
func reserved(name string) bool {
	switch name {
	case ExtCamera, ExtRegionX, ExtRegionY, ExtRegionW, ExtRegionH, ExtFrameWidth, ExtFrameHeight, ExtLat, ExtLon,
		ExtTrack, ExtTracks:
		return true
	}
	return false
}
