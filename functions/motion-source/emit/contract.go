package emit

// The event contract's names this package writes (docs/events.md).
const (
	TypeMotionDetected = "dev.edgewatch.motion.detected"
	ContentTypeJPEG    = "image/jpeg"
	ExtCamera          = "camera"
	ExtRegionX         = "regionx"
	ExtRegionY         = "regiony"
	ExtRegionW         = "regionw"
	ExtRegionH         = "regionh"
	ExtFrameWidth      = "framewidth"
	ExtFrameHeight     = "frameheight"
	ExtLat             = "lat"
	ExtLon             = "lon"
)

// reserved are the extensions the contract defines; K_CE_OVERRIDES may not
// change them.
func reserved(name string) bool {
	switch name {
	case ExtCamera, ExtRegionX, ExtRegionY, ExtRegionW, ExtRegionH, ExtFrameWidth, ExtFrameHeight, ExtLat, ExtLon:
		return true
	}
	return false
}
