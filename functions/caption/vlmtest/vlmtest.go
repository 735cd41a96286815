// Package vlmtest is a stand-in for a vision-language model endpoint: an HTTP
// server that speaks the OpenAI-compatible chat-completions wire format
// (POST /v1/chat/completions) and checks every request against it, then
// answers with a deterministic reply that says plainly it is a demo stand-in
// and that no model ran. Tests use it to check what the caption function
// sends and to inject failures; the local runner can use it in demo mode,
// where no real model is reachable.
package vlmtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Model is the model name the stand-in reports when Options.Model is empty.
const Model = "edgewatch-demo-stand-in"

// Path is the only path the stand-in serves.
const Path = "/v1/chat/completions"

// CaptionPrefix starts every caption the stand-in writes.
const CaptionPrefix = "[demo stand-in, no model ran]"

// Options shape a stand-in.
type Options struct {
	// APIKey, when set, must arrive as "Authorization: Bearer <APIKey>";
	// other requests get 401.
	APIKey string
	// Model, when set, must be the request's model (404 model_not_found
	// otherwise) and is reported in replies; when empty, any model is
	// accepted and replies report Model.
	Model string
	// Delay is how long each reply waits (cut short when the client goes).
	Delay time.Duration
}

// Request is what a valid request asked for.
type Request struct {
	Authorization string
	Model         string
	MaxTokens     int
	Prompt        string
	Image         []byte
}

// Handler is the stand-in as an http.Handler, for callers that serve it on an
// address of their own.
type Handler struct {
	opts Options

	mu       sync.Mutex
	calls    int
	requests []Request
	status   int
	hold     chan struct{}
}

// NewHandler returns a stand-in handler.
func NewHandler(opts Options) *Handler { return &Handler{opts: opts} }

// Server is a stand-in listening on 127.0.0.1 on a free port; URL is its base
// URL (use it as VLM_URL).
type Server struct {
	*httptest.Server
	*Handler
}

// NewServer starts a stand-in on 127.0.0.1:0. Close it when done.
func NewServer(opts Options) *Server {
	h := NewHandler(opts)
	return &Server{Server: httptest.NewServer(h), Handler: h}
}

// Close stops the server, releasing any replies held by Hold first.
func (s *Server) Close() {
	s.Handler.release()
	s.Server.Close()
}

// Calls returns how many requests reached the chat-completions path, valid
// or not.
func (h *Handler) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// maxRecorded bounds the requests a stand-in remembers, so that a long demo
// or benchmark does not grow without end.
const maxRecorded = 1000

// Requests returns the valid requests received so far, oldest first (the
// latest 1000 at most).
func (h *Handler) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

// SetStatus makes every later valid request fail with status and an
// OpenAI-shaped error body; 0 restores normal replies.
func (h *Handler) SetStatus(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = status
}

// Hold makes replies wait until the returned release function is called
// (Close also releases them). Requests are still counted as they arrive.
func (h *Handler) Hold() (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold == nil {
		h.hold = make(chan struct{})
	}
	return h.release
}

func (h *Handler) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold != nil {
		close(h.hold)
		h.hold = nil
	}
}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeError(w, http.StatusNotFound, "no route for "+r.URL.Path, "invalid_request_error", "not_found")
		return
	}
	h.mu.Lock()
	h.calls++
	status, hold := h.status, h.hold
	h.mu.Unlock()

	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "use POST", "invalid_request_error", "method_not_allowed")
		return
	}
	if h.opts.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+h.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
		return
	}
	req, err := h.parse(r)
	if err != nil {
		writeError(w, err.status, err.msg, "invalid_request_error", err.code)
		return
	}
	if !h.wait(r, hold) {
		return
	}
	if status != 0 {
		writeError(w, status, fmt.Sprintf("stand-in told to fail with %d", status), "server_error", "")
		return
	}
	h.mu.Lock()
	if len(h.requests) == maxRecorded {
		h.requests = append(h.requests[:0], h.requests[1:]...)
	}
	h.requests = append(h.requests, req)
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, h.reply(req))
}

// wait sleeps for the configured delay and any hold; false when the client
// went away first.
func (h *Handler) wait(r *http.Request, hold chan struct{}) bool {
	if h.opts.Delay > 0 {
		t := time.NewTimer(h.opts.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

type badRequest struct {
	status    int
	msg, code string
}

// wireRequest is the request as the chat-completions API defines it, decoded
// on its own here so the stand-in checks the wire format, not a shared type.
type wireRequest struct {
	Model     string `json:"model"`
	MaxTokens *int   `json:"max_tokens"`
	Stream    bool   `json:"stream"`
	Messages  []struct {
		Role    string `json:"role"`
		Content []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL *struct {
				URL string `json:"url"`
			} `json:"image_url"`
		} `json:"content"`
	} `json:"messages"`
}

func (h *Handler) parse(r *http.Request) (Request, *badRequest) {
	bad := func(msg string) (Request, *badRequest) {
		return Request{}, &badRequest{status: http.StatusBadRequest, msg: msg, code: "invalid_request"}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return bad("Content-Type must be application/json")
	}
	var wr wireRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 32<<20))
	if err := dec.Decode(&wr); err != nil {
		return bad("body is not a JSON chat-completions request: " + err.Error())
	}
	if wr.Model == "" {
		return bad("model is required")
	}
	want := h.opts.Model
	if want != "" && wr.Model != want {
		return Request{}, &badRequest{status: http.StatusNotFound,
			msg: fmt.Sprintf("The model %q does not exist.", wr.Model), code: "model_not_found"}
	}
	if wr.Stream {
		return bad("the stand-in does not stream")
	}
	out := Request{Authorization: r.Header.Get("Authorization"), Model: wr.Model}
	if wr.MaxTokens != nil {
		if *wr.MaxTokens < 1 {
			return bad("max_tokens must be at least 1")
		}
		out.MaxTokens = *wr.MaxTokens
	}
	if len(wr.Messages) == 0 {
		return bad("messages must not be empty")
	}
	for _, m := range wr.Messages {
		if m.Role != "user" {
			continue
		}
		for _, p := range m.Content {
			switch p.Type {
			case "text":
				out.Prompt += p.Text
			case "image_url":
				if p.ImageURL == nil {
					return bad("image_url part without image_url")
				}
				img, err := decodeDataURL(p.ImageURL.URL)
				if err != nil {
					return bad(err.Error())
				}
				if out.Image != nil {
					return bad("the stand-in takes one image")
				}
				out.Image = img
			default:
				return bad(fmt.Sprintf("unknown content part type %q", p.Type))
			}
		}
	}
	if out.Prompt == "" || out.Image == nil {
		return bad("a user message needs a text part and an image_url part")
	}
	return out, nil
}

func decodeDataURL(u string) ([]byte, error) {
	const prefix = "data:image/jpeg;base64,"
	if !strings.HasPrefix(u, prefix) {
		return nil, fmt.Errorf("image url must be a %s… data URL", prefix)
	}
	img, err := base64.StdEncoding.DecodeString(u[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("image data URL: %w", err)
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(img)); err != nil {
		return nil, fmt.Errorf("image is not a JPEG: %w", err)
	}
	return img, nil
}

// Caption returns the caption the stand-in writes for an image: a fixed
// sentence naming the image's size and hash, so the same image always gets
// the same words and nobody mistakes them for a model's.
func Caption(img []byte) string {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return CaptionPrefix + " The snapshot is not a readable JPEG."
	}
	sum := sha256.Sum256(img)
	return fmt.Sprintf("%s Snapshot of %dx%d pixels, sha256 %s. A vision-language model would describe "+
		"the person's clothing and its colours, build, what they carry and which way they move here.",
		CaptionPrefix, cfg.Width, cfg.Height, hex.EncodeToString(sum[:6]))
}

func (h *Handler) reply(req Request) map[string]any {
	text := Caption(req.Image)
	sum := sha256.Sum256(req.Image)
	model := h.opts.Model
	if model == "" {
		model = Model
	}
	prompt := len(req.Prompt)/4 + 64
	completion := len(strings.Fields(text))
	return map[string]any{
		"id":      "chatcmpl-demo-" + hex.EncodeToString(sum[:8]),
		"object":  "chat.completion",
		"created": 0,
		"model":   model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": text},
			"finish_reason": "stop",
		}},
		"usage": map[string]any{
			"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
		},
	}
}

func writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": code,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
