// Package notifytest provides sample messages for the channels' tests.
package notifytest

import (
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/notify"
)

// Snapshot is a tiny JPEG-looking snapshot.
var Snapshot = []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9}

// Message returns a message about an open gun incident with a caption that
// tries markup and mentions, and a snapshot.
func Message(kind notify.Kind) notify.Message {
	opened := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	inc := incident.Incident{
		ID: "6f1c2b9e-5d7a-4c1e-9a0b-2f3e4d5c6b7a", Camera: "gate-2", Class: "gun", Status: incident.StatusOpen,
		FirstSeenAt: opened, LastSeenAt: opened.Add(3 * time.Second), OpenedAt: &opened, MaxConfidence: 0.91, Hits: 4,
		Location: &incident.Location{Lat: 48.8566, Lon: 2.3522}, Snapshot: Snapshot,
		Caption: "Man in a café jacket <@everyone> <!channel> & a black bag", CaptionModel: "smolvlm",
	}
	return notify.NewMessage(kind, inc, "https://map.example")
}
