package job

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MaxBody is the most of a response body the client reads.
const MaxBody = 1 << 20

// Secret is an API key. It prints and marshals as "[redacted]" so that it cannot reach
// a log line or an error message by accident.
type Secret string

func (Secret) String() string                  { return "[redacted]" }
func (Secret) MarshalText() ([]byte, error)    { return []byte("[redacted]"), nil }
func (s Secret) GoString() string              { return s.String() }
func (s Secret) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// ErrInsecureURL is returned by NewClient for a base URL that is not https and not on a
// loopback host.
var ErrInsecureURL = errors.New("base URL must be https (plain http is allowed only on a loopback host)")

// Client sends the API requests. It follows no redirect, reads at most MaxBody of a
// response and never puts its key in an error.
type Client struct {
	http *http.Client
	base string
	// key is behind a pointer: fmt prints an unexported field without calling its
	// methods, so a Secret held here directly would show in a %v of the Client.
	key       *Secret
	auth      *Secret // "Bearer " and the key, built once
	userAgent string
}

// NewClient checks the base URL and returns a client that uses a copy of hc, changed
// only so that it follows no redirect (the key must not travel elsewhere).
func NewClient(hc *http.Client, baseURL string, key Secret, userAgent string) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		// url.Error repeats the whole URL, credentials included: name the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("base URL is not a URL: %s", Redact(err.Error(), key))
	}
	if u.User != nil {
		return nil, fmt.Errorf("base URL must not carry credentials")
	}
	shown := Redact(u.Redacted(), key)
	if u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("base URL %q is not an http(s) URL with a host", shown)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// The request path is appended to the base: a query or fragment would swallow it.
		return nil, fmt.Errorf("base URL must not have a query or fragment")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s", ErrInsecureURL, shown)
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	auth := "Bearer " + key
	return &Client{http: &c, base: strings.TrimRight(u.String(), "/"), key: &key, auth: &auth, userAgent: userAgent}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PhoneNumber is what the API answers for a number. AgentID is the response's
// agent_id, or inbound_agent_id when that is the field it sent.
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

// wireNumber is a number as the API sends it; decoding into it directly (not through a
// custom UnmarshalJSON) reads each body once. A JSON null leaves a field empty, as an
// absent one: plain strings cost less to decode than pointers.
type wireNumber struct {
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

// number takes agent_id, or inbound_agent_id when agent_id is null, empty or absent.
func (w *wireNumber) number() PhoneNumber {
	agent := w.AgentID
	if agent == "" {
		agent = w.InboundAgentID
	}
	return PhoneNumber{
		ID: w.ID, PhoneNumber: w.PhoneNumber, AgentID: agent, Nickname: w.Nickname,
		Label: w.Label, Status: w.Status, CountryCode: w.CountryCode, Type: w.Type,
	}
}

// UnmarshalJSON accepts both agent_id and inbound_agent_id, and nulls.
func (p *PhoneNumber) UnmarshalJSON(b []byte) error {
	var w wireNumber
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = w.number()
	return nil
}

// APIError is an answer other than 2xx. Message is the API's message (a list joined
// with "; "), or a description of a body that was not the error envelope.
type APIError struct {
	StatusCode int
	Message    string
	RequestID  string
	RetryAfter string // the raw Retry-After header
}

func (e *APIError) Error() string {
	text := http.StatusText(e.StatusCode)
	status := strings.TrimSpace(fmt.Sprintf("%d %s", e.StatusCode, text))
	if e.Message == "" || e.Message == text {
		return status
	}
	return status + ": " + e.Message
}

// Answer is a 2xx answer to a PATCH.
type Answer struct {
	StatusCode int
	RequestID  string
	Number     PhoneNumber
	Note       string // why Number is empty, when the body could not be read
}

// Patch sends one PATCH for number id with the given JSON body. A non-2xx answer is an
// *APIError; any other error is a transport failure (connection, timeout).
func (c *Client) Patch(ctx context.Context, id string, body []byte) (*Answer, error) {
	rep, err := c.do(ctx, http.MethodPatch, "/organization-phone-numbers/"+url.PathEscape(id), body)
	if err != nil {
		return nil, err
	}
	u := &Answer{StatusCode: rep.status, RequestID: rep.requestID}
	data := rep.data
	switch {
	case rep.readErr != "":
		u.Note = "answer body unreadable: " + rep.readErr
	case len(data) > MaxBody:
		u.Note = "answer body over 1 MiB, not read"
	case len(bytes.TrimSpace(data)) == 0:
		u.Note = "answer body empty"
	default:
		if w, err := decodeNumber(data); err != nil {
			u.Note = "answer body is not the documented JSON: " + c.redact(err.Error())
		} else {
			u.Number = w.number()
		}
	}
	c.redactNumber(&u.Number)
	return u, nil
}

// redactNumber cleans every field of n: each may reach the report or a log line.
func (c *Client) redactNumber(n *PhoneNumber) {
	for _, f := range []*string{&n.ID, &n.PhoneNumber, &n.AgentID, &n.Nickname, &n.Label, &n.Status, &n.CountryCode, &n.Type} {
		*f = c.redact(*f)
	}
}

// NumberPage is one page of GET /organization-phone-numbers.
type NumberPage struct {
	Numbers    []PhoneNumber
	Total      int // numbers in all pages; 0 when the API did not say
	TotalPages int // 0 when the API did not say
}

// ListFilter narrows a listing of numbers; empty fields do not filter.
type ListFilter struct {
	CountryCode, Type string
}

// ListNumbers reads one page (1-based) of the workspace's numbers. It accepts both
// documented shapes: {data, meta{total, totalPages}} and {items, total}.
func (c *Client) ListNumbers(ctx context.Context, page, limit int, f ListFilter) (*NumberPage, error) {
	q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
	if f.CountryCode != "" {
		q.Set("country_code", f.CountryCode)
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	data, err := c.get(ctx, "/organization-phone-numbers?"+q.Encode())
	if err != nil {
		return nil, err
	}
	raw, err := decodeNumberPage(data)
	if err != nil {
		return nil, fmt.Errorf("list page is not the documented JSON: %s", c.redact(err.Error()))
	}
	p := &NumberPage{Total: raw.metaTotal, TotalPages: raw.metaTP}
	items := raw.data
	if raw.data == nil {
		items, p.Total = raw.items, raw.total
	}
	p.Numbers = make([]PhoneNumber, len(items))
	for i := range items {
		p.Numbers[i] = items[i].number()
		c.redactNumber(&p.Numbers[i])
	}
	return p, nil
}

// ListAgents returns the ids of every agent of the organisation.
func (c *Client) ListAgents(ctx context.Context) ([]string, error) {
	data, err := c.get(ctx, "/agents")
	if err != nil {
		return nil, err
	}
	var raw struct {
		Agents []struct {
			ID string `json:"id"`
		} `json:"agents"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.Agents == nil {
		return nil, errors.New("agent list is not the documented JSON ({\"agents\": [...]})")
	}
	ids := make([]string, 0, len(raw.Agents))
	for _, a := range raw.Agents {
		ids = append(ids, a.ID)
	}
	return ids, nil
}

// reply is a 2xx answer as read: at most MaxBody+1 bytes of its body.
type reply struct {
	status    int
	requestID string
	data      []byte
	readErr   string // the body broke off (the request itself was answered)
}

// do sends one request. A non-2xx answer is an *APIError; a transport failure is an
// error without the key in it.
func (c *Client) do(ctx context.Context, method, pathQuery string, body []byte) (*reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", string(*c.auth))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, errors.New(c.redact(err.Error()))
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	rep := &reply{status: resp.StatusCode, requestID: c.redact(resp.Header.Get("X-Request-Id")), data: data}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &APIError{StatusCode: resp.StatusCode, RequestID: rep.requestID, RetryAfter: c.redact(resp.Header.Get("Retry-After"))}
		e.Message = c.redact(errorMessage(resp, data, readErr))
		return nil, e
	}
	if readErr != nil {
		rep.readErr = c.redact(readErr.Error())
	}
	return rep, nil
}

// get is a read: any body that is not whole is an error.
func (c *Client) get(ctx context.Context, pathQuery string) ([]byte, error) {
	rep, err := c.do(ctx, http.MethodGet, pathQuery, nil)
	switch {
	case err != nil:
		return nil, err
	case rep.readErr != "":
		return nil, errors.New("answer body unreadable: " + rep.readErr)
	case len(rep.data) > MaxBody:
		return nil, errors.New("answer body over 1 MiB, not read")
	}
	return rep.data, nil
}

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

// redact removes the key, and the secret part of a key_id:secret key, from s.
func (c *Client) redact(s string) string {
	return Redact(s, *c.key)
}

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
