// Package dialnexa is a client for the parts of the DialNexa API that reassign uses:
// PATCH /organization-phone-numbers/{id}, the paged list of numbers and the agent list.
// It knows nothing of plans or runs: one call is one request, and every answer other
// than 2xx is an *APIError.
package dialnexa

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
	"time"
)

// MaxBody is the most of a response body the client reads.
const MaxBody = 1 << 20

// MaxPageSize is the largest page the list endpoint serves.
const MaxPageSize = 100

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
	now       func() time.Time // reads a Unix-time rate-limit reset when an answer has no Date
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
	return &Client{http: &c, base: strings.TrimRight(u.String(), "/"), key: &key, auth: &auth, userAgent: userAgent, now: time.Now}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Answer is a 2xx answer to a PATCH.
type Answer struct {
	StatusCode int
	RequestID  string
	Number     PhoneNumber
	Note       string // why Number is empty, when the body could not be read
	Budget     Budget // what the answer said of the rate limit
}

// Patch sends one PATCH for number id with the given JSON body. A non-2xx answer is an
// *APIError; any other error is a transport failure (connection, timeout).
func (c *Client) Patch(ctx context.Context, id string, body []byte) (*Answer, error) {
	rep, err := c.do(ctx, http.MethodPatch, "/organization-phone-numbers/"+url.PathEscape(id), body)
	if err != nil {
		return nil, err
	}
	u := &Answer{StatusCode: rep.status, RequestID: rep.requestID, Budget: rep.budget}
	switch {
	case rep.readErr != "":
		u.Note = "answer body unreadable: " + rep.readErr
	case len(rep.data) > MaxBody:
		u.Note = "answer body over 1 MiB, not read"
	case len(bytes.TrimSpace(rep.data)) == 0:
		u.Note = "answer body empty"
	default:
		if err := json.Unmarshal(rep.data, &u.Number); err != nil {
			u.Note = "answer body is not the documented JSON: " + c.redact(err.Error())
			u.Number = PhoneNumber{}
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

// NumberPage is one page of GET /organization-phone-numbers, with what the page says of
// the whole listing.
type NumberPage struct {
	Numbers    []PhoneNumber
	Total      int    // numbers in all pages; -1 when the API did not say
	TotalPages int    // -1 when the API did not say
	Budget     Budget // what the answer said of the rate limit
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
	rep, err := c.get(ctx, "/organization-phone-numbers?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var raw struct {
		Data  *[]PhoneNumber `json:"data"`
		Items *[]PhoneNumber `json:"items"`
		Total *int           `json:"total"`
		Meta  struct {
			Total      *int `json:"total"`
			TotalPages *int `json:"totalPages"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(rep.data, &raw); err != nil {
		return nil, fmt.Errorf("list page is not the documented JSON: %s", c.redact(err.Error()))
	}
	p := &NumberPage{Total: -1, TotalPages: -1, Budget: rep.budget}
	switch {
	case raw.Data != nil:
		p.Numbers = *raw.Data
		p.Total, p.TotalPages = orMinus1(raw.Meta.Total), orMinus1(raw.Meta.TotalPages)
	case raw.Items != nil:
		p.Numbers = *raw.Items
		p.Total = orMinus1(raw.Total)
	default:
		return nil, errors.New(`list page is not the documented JSON: neither "data" nor "items" holds a list`)
	}
	for i := range p.Numbers {
		c.redactNumber(&p.Numbers[i])
	}
	return p, nil
}

func orMinus1(n *int) int {
	if n == nil {
		return -1
	}
	return *n
}

// Agent is one agent of the organisation. Name is its display name, "" when the API
// sent none. Inbound says whether the agent may take inbound numbers, from the agent's
// boolean "inbound" field; nil when the answer has none (the API's reference documents
// none; the sandbox sends it, for its outbound-only agent).
type Agent struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Inbound *bool  `json:"inbound,omitempty"`
}

// ListAgents returns every agent of the organisation.
func (c *Client) ListAgents(ctx context.Context) ([]Agent, error) {
	rep, err := c.get(ctx, "/agents")
	if err != nil {
		return nil, err
	}
	var raw struct {
		Agents []struct {
			ID      string          `json:"id"`
			Name    json.RawMessage `json:"name"`    // a string, or anything else taken as no name
			Inbound json.RawMessage `json:"inbound"` // a boolean, or anything else taken as not said
		} `json:"agents"`
	}
	if err := json.Unmarshal(rep.data, &raw); err != nil || raw.Agents == nil {
		return nil, errors.New(`agent list is not the documented JSON ({"agents": [...]})`)
	}
	agents := make([]Agent, 0, len(raw.Agents))
	for _, a := range raw.Agents {
		var name string
		_ = json.Unmarshal(a.Name, &name)
		agent := Agent{ID: c.redact(a.ID), Name: c.redact(name)}
		if inbound := false; len(a.Inbound) > 0 && string(a.Inbound) != "null" && json.Unmarshal(a.Inbound, &inbound) == nil {
			agent.Inbound = &inbound
		}
		agents = append(agents, agent)
	}
	return agents, nil
}

// reply is a 2xx answer as read: at most MaxBody+1 bytes of its body.
type reply struct {
	status    int
	requestID string
	data      []byte
	readErr   string // the body broke off (the request itself was answered)
	budget    Budget
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
		return nil, &TransportError{err: err, msg: c.redact(err.Error())}
	}
	req.Header.Set("Authorization", string(*c.auth))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &TransportError{err: err, msg: c.redact(err.Error())}
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	rep := &reply{status: resp.StatusCode, requestID: c.redact(resp.Header.Get("X-Request-Id")), data: data,
		budget: ParseBudget(resp.Header, c.now())}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &APIError{StatusCode: resp.StatusCode, RequestID: rep.requestID, Budget: rep.budget}
		e.RetryAfter, _ = ParseRetryAfter(retryAfter(resp.Header), serverTime(resp.Header, c.now()))
		e.Message = c.redact(errorMessage(resp, data, readErr))
		return nil, e
	}
	if readErr != nil {
		rep.readErr = c.redact(readErr.Error())
	}
	return rep, nil
}

// retryAfter is the answer's Retry-After; failing that, the longest Retry-After-<name>
// in seconds, which NestJS's throttler sends for a named throttler instead.
func retryAfter(h http.Header) string {
	if v := h.Get("Retry-After"); v != "" {
		return v
	}
	best, bestN := "", int64(-1)
	for k, vs := range h {
		if len(vs) == 0 || !hasPrefixFold(k, "retry-after-") {
			continue
		}
		if n, ok := parseCount(strings.TrimSpace(vs[0])); ok && n > bestN {
			best, bestN = strings.TrimSpace(vs[0]), n
		}
	}
	return best
}

// ParseRetryAfter reads a Retry-After header: delay-seconds (RFC 9110: ASCII digits; a
// decimal fraction such as "1.5" is tolerated) or an HTTP date, relative to now (the
// client reads a date against the answer's Date, so that its own clock's skew does not
// count). It
// reports false for an absent or unreadable value (a sign, an exponent, "Inf"); a date in
// the past is 0. Either form is read as at most a day, however far off it points.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := ParseSeconds(v, maxBudgetReset); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now) // saturates at the extremes of time.Duration
	return min(max(d, 0), maxBudgetReset), true
}

// get is a read: any body that is not whole is an error.
func (c *Client) get(ctx context.Context, pathQuery string) (*reply, error) {
	rep, err := c.do(ctx, http.MethodGet, pathQuery, nil)
	switch {
	case err != nil:
		return nil, err
	case rep.readErr != "":
		return nil, errors.New("answer body unreadable: " + rep.readErr)
	case len(rep.data) > MaxBody:
		return nil, errors.New("answer body over 1 MiB, not read")
	}
	return rep, nil
}

func (c *Client) redact(s string) string {
	return Redact(s, *c.key)
}
