package emit

import "github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"

// reserved are the extensions the contract defines; K_CE_OVERRIDES may not
// change them.
func reserved(name string) bool {
	switch name {
	case contract.ExtCamera, contract.ExtRegionX, contract.ExtRegionY, contract.ExtRegionW, contract.ExtRegionH, contract.ExtFrameWidth, contract.ExtFrameHeight, contract.ExtLat, contract.ExtLon,
		contract.ExtTrack, contract.ExtTracks:
		return true
	}
	return false
}
