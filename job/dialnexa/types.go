package dialnexa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Secret is an API key. It prints and marshals as "[redacted]" so that it cannot reach
// a log line or an error message by accident.
type Secret string

func (Secret) String() string                  { return "[redacted]" }
func (Secret) MarshalText() ([]byte, error)    { return []byte("[redacted]"), nil }
func (s Secret) GoString() string              { return s.String() }
func (s Secret) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// Redact removes key, and the secret half of a "key_id:secret" key, from s.
func Redact(s string, key Secret) string {
	k := string(key)
	if k == "" {
		return s
	}
	s = strings.ReplaceAll(s, k, "[redacted]")
	if _, secret, ok := strings.Cut(k, ":"); ok && len(secret) >= 8 {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// PhoneNumber is what the API answers for a number. AgentID is the answer's agent_id,
// or inbound_agent_id when that is the field it sent (the API's page shows both).
type PhoneNumber struct {
	ID          string
	PhoneNumber string
	AgentID     string // "" when no agent is attached
	Nickname    string
	Label       string
	Status      string
	CountryCode string
	Type        string
}

// UnmarshalJSON reads a number as the API sends it: agent_id or inbound_agent_id, and
// null for an empty field.
func (p *PhoneNumber) UnmarshalJSON(b []byte) error {
	var w struct {
		ID             string `json:"id"`
		PhoneNumber    string `json:"phone_number"`
		AgentID        string `json:"agent_id"`
		InboundAgentID string `json:"inbound_agent_id"`
		Nickname       string `json:"nickname"`
		Label          string `json:"label"`
		Status         string `json:"status"`
		CountryCode    string `json:"country_code"`
		Type           string `json:"type"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	agent := w.AgentID
	if agent == "" {
		agent = w.InboundAgentID
	}
	*p = PhoneNumber{
		ID: w.ID, PhoneNumber: w.PhoneNumber, AgentID: agent, Nickname: w.Nickname,
		Label: w.Label, Status: w.Status, CountryCode: w.CountryCode, Type: w.Type,
	}
	return nil
}

// APIError is an answer other than 2xx. Message is the API's message (a list joined
// with "; "), or a description of a body that was not the error envelope.
type APIError struct {
	StatusCode int
	Message    string
	RequestID  string
	RetryAfter time.Duration // the Retry-After, as ParseRetryAfter reads it; 0 when none
	Budget     Budget        // what the answer said of the rate limit
}

func (e *APIError) Error() string {
	text := http.StatusText(e.StatusCode)
	status := strings.TrimSpace(fmt.Sprintf("%d %s", e.StatusCode, text))
	if e.Message == "" || e.Message == text {
		return status
	}
	return status + ": " + e.Message
}

// TransportError is a request that got no answer: connection refused or reset, a
// timeout. Its text has the key removed; Unwrap gives the cause, so that
// errors.Is(err, context.DeadlineExceeded) still works.
type TransportError struct {
	err error
	msg string
}

func (e *TransportError) Error() string { return e.msg }
func (e *TransportError) Unwrap() error { return e.err }

// errorMessage reads the error envelope {statusCode, message, error}, where message is
// a string or a list; for anything else it describes what came back.
func errorMessage(resp *http.Response, data []byte, readErr error) string {
	if readErr != nil {
		return "answer body unreadable: " + readErr.Error()
	}
	if len(data) > MaxBody {
		return "answer body over 1 MiB, not read"
	}
	var env struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil {
		var one string
		var list []string
		switch {
		case json.Unmarshal(env.Message, &one) == nil && one != "":
			return one
		case json.Unmarshal(env.Message, &list) == nil && len(list) > 0:
			return strings.Join(list, "; ")
		case env.Error != "":
			return env.Error
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc := resp.Header.Get("Location"); loc != "" {
			return "redirect to " + loc + " not followed"
		}
		return "redirect not followed"
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "empty answer body"
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "unknown type"
	}
	return fmt.Sprintf("answer is not the API's JSON error (%s, %d bytes)", ct, len(data))
}
