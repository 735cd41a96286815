// Package chat sends incident notifications to Slack or Discord incoming
// webhooks.
package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
)

// Flavor is the chat service's webhook dialect.
type Flavor string

// The supported dialects.
const (
	// Slack posts {"text": …} with mrkdwn.
	Slack Flavor = "slack"
	// Discord posts {"content": …} with mentions turned off.
	Discord Flavor = "discord"
)

// discordLimit is Discord's content limit, in characters.
const discordLimit = 2000

// Config configures the chat notifier.
type Config struct {
	// URL is the incoming webhook URL; it holds a secret and is never
	// logged.
	URL string
	// Flavor is the dialect; empty picks Discord for discord.com and
	// discordapp.com hosts and Slack otherwise.
	Flavor Flavor
}

// Notifier posts to one incoming webhook.
type Notifier struct {
	url    string
	flavor Flavor
	client *http.Client
}

// New returns a chat notifier.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("chat: the webhook URL is not a URL")
	}
	f := cfg.Flavor
	if f == "" {
		f = Slack
		if h := u.Hostname(); strings.HasSuffix(h, "discord.com") || strings.HasSuffix(h, "discordapp.com") {
			f = Discord
		}
	}
	if f != Slack && f != Discord {
		return nil, fmt.Errorf("chat: flavor %q is neither slack nor discord", f)
	}
	return &Notifier{url: cfg.URL, flavor: f, client: client}, nil
}

// slackEscape escapes the three characters Slack's mrkdwn reserves, so text
// from the field (a caption) cannot ping a channel or forge a link.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Body returns the JSON the webhook receives for m.
func (n *Notifier) Body(m notify.Message) ([]byte, error) {
	if n.flavor == Discord {
		text := "**" + m.Title + "**\n" + m.Text
		if m.Link != "" {
			text += "\n" + m.Link
		}
		if utf8.RuneCountInString(text) > discordLimit {
			text = string([]rune(text)[:discordLimit-1]) + "…"
		}
		return json.Marshal(map[string]any{
			"content":          text,
			"allowed_mentions": map[string]any{"parse": []string{}},
		})
	}
	text := "*" + slackEscape(m.Title) + "*\n" + slackEscape(m.Text)
	if m.Link != "" {
		text += "\n<" + m.Link + "|Open the incident map>"
	}
	return json.Marshal(map[string]string{"text": text})
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	body, err := n.Body(m)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("chat: %w", notify.RedactError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("chat: %w", notify.SendError(err))
	}
	defer resp.Body.Close()
	if err := notify.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("chat %s %s: %w", n.flavor, notify.Redact(n.url), err)
	}
	return nil
}
