package notify

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
)

// NewMessage describes an incident event in words. mapURL, when set, is the
// live map's base URL; the message links to the incident there.
func NewMessage(kind Kind, inc incident.Incident, mapURL string) Message {
	class := strings.ToUpper(inc.Class[:1]) + inc.Class[1:]
	m := Message{Kind: kind, Incident: inc}
	var b strings.Builder
	switch kind {
	case KindClosed:
		m.Title = fmt.Sprintf("%s incident closed on camera %s", class, inc.Camera)
		fmt.Fprintf(&b, "%s on camera %s is over", class, inc.Camera)
		if inc.OpenedAt != nil && inc.ClosedAt != nil {
			fmt.Fprintf(&b, " after %s", inc.ClosedAt.Sub(*inc.OpenedAt).Round(time.Second))
		}
		fmt.Fprintf(&b, " (%d detections, best confidence %.0f%%).", inc.Hits, inc.MaxConfidence*100)
	default:
		m.Title = fmt.Sprintf("%s detected on camera %s", class, inc.Camera)
		fmt.Fprintf(&b, "%s on camera %s", class, inc.Camera)
		if inc.OpenedAt != nil {
			fmt.Fprintf(&b, " at %s", inc.OpenedAt.UTC().Format("2006-01-02 15:04:05 MST"))
		}
		fmt.Fprintf(&b, ", confidence %.0f%%, %d detections.", inc.MaxConfidence*100, inc.Hits)
	}
	if inc.Location != nil {
		fmt.Fprintf(&b, " Location %.5f, %.5f.", inc.Location.Lat, inc.Location.Lon)
	}
	if inc.Caption != "" {
		fmt.Fprintf(&b, " Suspect: %s", inc.Caption)
	}
	m.Text = b.String()
	if mapURL != "" {
		m.Link = strings.TrimRight(mapURL, "/") + "/?incident=" + url.QueryEscape(inc.ID)
	}
	return m
}
